package orderbook

import (
	"runtime"
	"sync"
	"unsafe"
)

// A book's large arrays (the order table, its links, the levels) are
// placed in memory the kernel backs with 2 MiB pages where it can, instead
// of the Go heap's 4 KiB pages. With one book per instrument, a command
// usually finds its book out of cache, and each of its dependent misses
// (the order, then its level and queue neighbours) also missed the TLB:
// a hundred books of 100 KiB span 2,500 small pages, more than the
// second-level TLB holds, and a page walk under a virtual machine's nested
// paging reads several more lines. Five huge pages cover them all.
//
// Linux gives an anonymous mapping huge pages when it is advised to
// (MADV_HUGEPAGE; transparent huge pages are often in madvise mode) and
// the advised range covers whole 2 MiB-aligned pages. The Go heap advises
// nothing, so the arrays come from chunks of memory mapped apart,
// 2 MiB-aligned, advised, and carved into blocks one after another
// (bigArena). Where mapping fails, or off Linux, the arrays come from the
// Go heap as before: only placement differs, never what a book does.
//
// Memory outside the Go heap is not collected, so a book's blocks are
// held by a bookMem that the book points at, and freed when the book (and
// so its bookMem) is collected (runtime.AddCleanup), or at once when the
// book replaces an array (it grew, or Restore replaced the whole book's
// state, which brings its own bookMem). A chunk is unmapped when its last
// block is freed, but the chunk blocks are carved from is kept and reused.
// The arrays hold no Go pointers (the collector does not scan the chunks),
// and every access to a chunk is an access to the book it belongs to, made
// on the book's goroutine; only the arena's own records are shared, under
// its mutex, with the runtime's cleanup goroutine.
const (
	// hugePageBytes is the size and alignment of a transparent huge page
	// on amd64 and arm64 (with 4 KiB base pages).
	hugePageBytes = 2 << 20
	// bigBlockMinBytes: an array smaller than this stays on the Go heap. It
	// spans a page or two, and a book that small (a test's, or an
	// instrument's that barely trades) is not worth a chunk's memory.
	bigBlockMinBytes = 4 << 10
	// bigBlockAlignBytes aligns every block to a cache line, so that the
	// arrays' entries share lines as they were laid out to (two orders or
	// two levels a line).
	bigBlockAlignBytes = 64
	// bigChunkBytes is the size of a chunk that blocks are carved from;
	// a block larger than that gets a chunk of its own, rounded up to
	// whole huge pages.
	bigChunkBytes = hugePageBytes
)

// bigChunk is one mapping that blocks are carved from.
type bigChunk struct {
	base  unsafe.Pointer
	bytes uintptr
	// arena is the arena the chunk belongs to, which its blocks are freed
	// to (tests make arenas of their own).
	arena *bigArena
	// used is where the next block starts; dirty is how far blocks ever
	// reached, below which freed memory must be cleared before reuse (the
	// kernel hands out a mapping zeroed).
	used, dirty uintptr
	live        int // blocks carved and not freed
}

// bigBlock is one array's memory: from a chunk, or from the Go heap when
// chunk is nil (then the garbage collector frees it and free does
// nothing).
type bigBlock struct {
	chunk *bigChunk
	base  unsafe.Pointer
	bytes uintptr
}

// bigMapper maps and unmaps chunks; see bigmem_linux.go. map returns
// zeroed memory of bytes (a multiple of hugePageBytes) at a hugePageBytes
// boundary, or an error.
type bigMapper struct {
	mapChunk   func(bytes uintptr) (unsafe.Pointer, error)
	unmapChunk func(base unsafe.Pointer, bytes uintptr) error
}

// bigArena carves blocks from chunks. One serves the whole process.
type bigArena struct {
	mu     sync.Mutex
	mapper bigMapper
	cur    *bigChunk // the chunk blocks are carved from, nil before the first
	// failed is set when mapping failed once: every block comes from the Go
	// heap after that, without a system call each.
	failed bool
	// Counters for tests and diagnostics.
	chunks     int // chunks mapped and not unmapped
	chunkBytes uintptr
	blocks     int // blocks carved and not freed
}

// bigMem is the arena books take their arrays from.
var bigMem = &bigArena{mapper: hugeMapper}

// alloc returns a zeroed block of at least bytes, or ok false: the caller
// then allocates from the Go heap.
func (a *bigArena) alloc(bytes uintptr) (bigBlock, bool) {
	bytes = (bytes + bigBlockAlignBytes - 1) &^ (bigBlockAlignBytes - 1)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.failed || a.mapper.mapChunk == nil {
		return bigBlock{}, false
	}
	c := a.cur
	if c == nil || c.bytes-c.used < bytes {
		size := (max(bytes, bigChunkBytes) + hugePageBytes - 1) &^ (hugePageBytes - 1)
		base, err := a.mapper.mapChunk(size)
		if err != nil {
			a.failed = true
			return bigBlock{}, false
		}
		c = &bigChunk{base: base, bytes: size, arena: a}
		a.chunks++
		a.chunkBytes += size
		if old := a.cur; old != nil && old.live == 0 {
			a.unmap(old)
		}
		a.cur = c
	}
	blk := bigBlock{chunk: c, base: unsafe.Add(c.base, c.used), bytes: bytes}
	if c.used < c.dirty {
		clear(unsafe.Slice((*byte)(blk.base), min(bytes, c.dirty-c.used)))
	}
	c.used += bytes
	c.dirty = max(c.dirty, c.used)
	c.live++
	a.blocks++
	return blk, true
}

// freeBlock returns blk to its chunk's arena; a block from the Go heap is
// left to the collector.
func freeBlock(blk bigBlock) {
	if blk.chunk != nil {
		blk.chunk.arena.free(blk)
	}
}

// free returns blk, one of a's, to its chunk. A chunk whose blocks are all
// free is unmapped, unless blocks are being carved from it: then it starts
// over.
func (a *bigArena) free(blk bigBlock) {
	c := blk.chunk
	a.mu.Lock()
	defer a.mu.Unlock()
	c.live--
	a.blocks--
	assert(c.live >= 0, "bigArena: block freed twice")
	if c.live > 0 {
		return
	}
	if c == a.cur {
		c.used = 0
		return
	}
	a.unmap(c)
}

// unmap unmaps chunk c, which holds no blocks. An unmap that fails leaks
// the chunk's address range, which is all it can do.
func (a *bigArena) unmap(c *bigChunk) {
	_ = a.mapper.unmapChunk(c.base, c.bytes)
	a.chunks--
	a.chunkBytes -= c.bytes
}

// bigArrayKind names the book's arrays held in a bookMem.
const (
	bigOrders = iota
	bigLinks
	bigLevels
	bigArrayKinds
)

// bookMem holds the blocks of one book's arrays, one per kind. Its held
// blocks are freed when it is collected, which is when its book is (or
// when Restore gave the book another state and bookMem).
type bookMem struct {
	held *bookBlocks
}

// bookBlocks is what a bookMem's cleanup frees. It is apart from bookMem
// because a cleanup's argument must not keep the object it watches.
type bookBlocks struct {
	blocks [bigArrayKinds]bigBlock
}

func newBookMem() *bookMem {
	m := &bookMem{held: new(bookBlocks)}
	runtime.AddCleanup(m, freeBookBlocks, m.held)
	return m
}

func freeBookBlocks(h *bookBlocks) {
	for k := range h.blocks {
		freeBlock(h.blocks[k])
		h.blocks[k] = bigBlock{}
	}
}

// bigArray returns a zeroed array of n Ts for kind's array of the book
// that m belongs to, and the block of the array it replaces, which the
// caller frees with freeBlock once it has copied what it needs from it.
// T must hold no pointers: the collector does not see inside a chunk.
func bigArray[T any](m *bookMem, kind int, n int) (arr []T, old bigBlock) {
	old = m.held.blocks[kind]
	m.held.blocks[kind] = bigBlock{}
	var zero T
	bytes := uintptr(n) * unsafe.Sizeof(zero)
	if bytes < bigBlockMinBytes {
		return make([]T, n), old
	}
	blk, ok := bigMem.alloc(bytes)
	if !ok {
		return make([]T, n), old
	}
	m.held.blocks[kind] = blk
	return unsafe.Slice((*T)(blk.base), n), old
}
