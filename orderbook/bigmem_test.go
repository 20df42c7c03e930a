package orderbook

import (
	"errors"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"
)

// heapMapper is a bigMapper over Go-heap memory, so that the arena's
// bookkeeping can be tested anywhere: it counts what is mapped and
// fails when told to.
type heapMapper struct {
	fail   bool
	mapped map[unsafe.Pointer][]byte
}

func (h *heapMapper) mapper() bigMapper {
	return bigMapper{
		mapChunk: func(bytes uintptr) (unsafe.Pointer, error) {
			if h.fail {
				return nil, errors.New("test: mapping refused")
			}
			buf := make([]byte, bytes+hugePageBytes)
			off := (hugePageBytes - uintptr(unsafe.Pointer(&buf[0]))%hugePageBytes) % hugePageBytes
			p := unsafe.Pointer(&buf[off])
			h.mapped[p] = buf
			return p, nil
		},
		unmapChunk: func(base unsafe.Pointer, bytes uintptr) error {
			if _, ok := h.mapped[base]; !ok {
				return errors.New("test: not mapped")
			}
			delete(h.mapped, base)
			return nil
		},
	}
}

func newHeapMapper() *heapMapper { return &heapMapper{mapped: map[unsafe.Pointer][]byte{}} }

func TestBigArenaCarvesFreesAndReuses(t *testing.T) {
	hm := newHeapMapper()
	a := &bigArena{mapper: hm.mapper()}
	b1, ok := a.alloc(100)
	if !ok || b1.bytes != 128 || uintptr(b1.base)%hugePageBytes != 0 {
		t.Fatalf("first block %+v ok %v: want 128 bytes at a huge page boundary", b1, ok)
	}
	b2, _ := a.alloc(64)
	if uintptr(b2.base) != uintptr(b1.base)+128 || b2.chunk != b1.chunk {
		t.Fatalf("second block not carved after the first: %p after %p", b2.base, b1.base)
	}
	// Dirty the blocks, free them both: the chunk, still the one blocks are
	// carved from, starts over, and hands out cleared memory.
	fill(b1, 0xAB)
	fill(b2, 0xCD)
	a.free(b1)
	a.free(b2)
	if a.blocks != 0 || a.chunks != 1 || len(hm.mapped) != 1 {
		t.Fatalf("after freeing all: %d blocks, %d chunks, %d mapped; want 0, 1, 1", a.blocks, a.chunks, len(hm.mapped))
	}
	b3, _ := a.alloc(192)
	if b3.base != b1.base {
		t.Fatalf("emptied chunk not reused: %p, want %p", b3.base, b1.base)
	}
	for i, v := range unsafe.Slice((*byte)(b3.base), b3.bytes) {
		if v != 0 {
			t.Fatalf("reused block byte %d is %#x, want 0", i, v)
		}
	}
	// A block larger than a chunk gets a chunk of its own, whole huge pages;
	// the old chunk, still holding b3, stays mapped until b3 is freed.
	big, _ := a.alloc(bigChunkBytes + 1)
	if big.chunk == b3.chunk || big.chunk.bytes != 2*hugePageBytes || a.chunks != 2 {
		t.Fatalf("large block: chunk of %d bytes, %d chunks; want its own of %d, 2 chunks", big.chunk.bytes, a.chunks, 2*hugePageBytes)
	}
	a.free(b3)
	if a.chunks != 1 || len(hm.mapped) != 1 || a.chunkBytes != 2*hugePageBytes {
		t.Fatalf("old chunk emptied: %d chunks (%d bytes), %d mapped; want 1, 1", a.chunks, a.chunkBytes, len(hm.mapped))
	}
	a.free(big)
	if a.blocks != 0 || a.chunks != 1 {
		t.Fatalf("all freed: %d blocks, %d chunks; want 0 and the current chunk", a.blocks, a.chunks)
	}
}

func fill(b bigBlock, v byte) {
	for i := range unsafe.Slice((*byte)(b.base), b.bytes) {
		*(*byte)(unsafe.Add(b.base, i)) = v
	}
}

func TestBigArenaFallsBackToHeap(t *testing.T) {
	hm := newHeapMapper()
	hm.fail = true
	a := &bigArena{mapper: hm.mapper()}
	if _, ok := a.alloc(bigBlockMinBytes); ok || !a.failed {
		t.Fatalf("alloc with mapping refused: ok %v failed %v; want false, true", ok, a.failed)
	}
	hm.fail = false
	if _, ok := a.alloc(bigBlockMinBytes); ok {
		t.Fatal("alloc after a refusal mapped a chunk; want the heap from then on")
	}
	freeBlock(bigBlock{}) // a heap block: nothing to do
	none := &bigArena{}
	if _, ok := none.alloc(bigBlockMinBytes); ok {
		t.Fatal("alloc without a mapper (not Linux) succeeded")
	}
}

// withArena runs f with books taking their arrays from a, then restores
// the process's arena.
func withArena(a *bigArena, f func()) {
	saved := bigMem
	bigMem = a
	defer func() { bigMem = saved }()
	f()
}

// TestBookMemPaths fills books far past their hint, their order tables
// and levels growing (both in the book's arrays from chunks, and with
// mapping refused from the Go heap), then plays random commands on them,
// against the reference book.
func TestBookMemPaths(t *testing.T) {
	const hint, resting, commands = 200, 1500, 2000
	for _, refuse := range []bool{false, true} {
		t.Run("refuse="+strconv.FormatBool(refuse), func(t *testing.T) {
			hm := newHeapMapper()
			hm.fail = refuse
			withArena(&bigArena{mapper: hm.mapper()}, func() {
				cfg := Config{OrdersHint: hint}
				var rec, refRec recorder
				b, ref := New(cfg, &rec), newRefBook(cfg, &refRec)
				slots, levels := len(b.orders), cap(b.levels)
				if inChunk := b.mem.held.blocks[bigOrders].chunk != nil; inChunk == refuse {
					t.Fatalf("orders in a chunk: %v with mapping refused %v", inChunk, refuse)
				}
				g := newGenerator(1)
				g.cfg, g.nextID = cfg, resting+1
				for i := range resting {
					side, price := Buy, int64(1000-1-i)
					if i%2 == 1 {
						side, price = Sell, int64(1000+1+i)
					}
					c := submit(OrderID(1+i), Account(1+i%3), side, price, 1+int64(i%4))
					if d := applyBoth(c, b, ref, &rec, &refRec); d != "" {
						t.Fatalf("resting order %d: %s", i, d)
					}
				}
				if len(b.orders) == slots || cap(b.levels) == levels {
					t.Fatalf("order table %d -> %d slots, levels %d -> %d: want both grown",
						slots, len(b.orders), levels, cap(b.levels))
				}
				if inChunk := b.mem.held.blocks[bigLevels].chunk != nil; inChunk == refuse {
					t.Fatalf("grown levels in a chunk: %v with mapping refused %v", inChunk, refuse)
				}
				for i := range commands {
					c := g.next()
					if d := applyBoth(c, b, ref, &rec, &refRec); d != "" {
						t.Fatalf("command %d (%v): %s", i, c, d)
					}
				}
			})
		})
	}
}

// TestBookMemFreed checks that a collected book's blocks go back to the
// arena, and that so do those of the state Restore replaced.
func TestBookMemFreed(t *testing.T) {
	a := &bigArena{mapper: newHeapMapper().mapper()}
	blocks := func() int {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.blocks
	}
	withArena(a, func() {
		b := New(Config{OrdersHint: 1000}, nil)
		if blocks() != bigArrayKinds {
			t.Fatalf("a book of 1000 orders holds %d blocks, want %d", blocks(), bigArrayKinds)
		}
		b.Submit(Order{ID: 1, Price: 10, Quantity: 1})
		if err := b.Restore(b.AppendSnapshot(nil)); err != nil {
			t.Fatal(err)
		}
		waitBlocks(t, blocks, bigArrayKinds) // the replaced state's freed
		if _, ok := b.Order(1); !ok || b.mem.held.blocks[bigOrders].chunk == nil {
			t.Fatal("restored book lost its order or its arrays")
		}
		runtime.KeepAlive(b)
		b = nil
		waitBlocks(t, blocks, 0)
	})
	if a.chunks != 1 {
		t.Fatalf("%d chunks mapped after every block was freed, want the current one", a.chunks)
	}
}

// waitBlocks collects garbage until the arena holds want blocks, which
// cleanups free on their own goroutine, or a deadline passes.
func waitBlocks(t *testing.T, blocks func() int, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for blocks() != want {
		if time.Now().After(deadline) {
			t.Fatalf("arena holds %d blocks, want %d", blocks(), want)
		}
		runtime.GC()
		runtime.Gosched()
	}
}

// TestBigMemHugePages logs how much of the books' memory the kernel backs
// with huge pages (AnonHugePages rising). It asserts only that the books'
// arrays are in chunks where mapping works: whether the kernel finds huge
// pages depends on its settings and on fragmentation.
func TestBigMemHugePages(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("huge pages are advised on Linux only")
	}
	before := anonHugeKiB(t)
	books := make([]*Book, 100)
	for i := range books {
		books[i] = New(Config{OrdersHint: 625}, nil)
		if books[i].mem.held.blocks[bigOrders].chunk == nil {
			t.Skip("mapping refused: arrays on the Go heap")
		}
		for id := range 500 {
			books[i].Submit(Order{ID: OrderID(id + 1), Side: Side(id & 1), Price: 1000 + int64(id%50) - 50*int64(id&1), Quantity: 1})
		}
	}
	t.Logf("AnonHugePages %d kB -> %d kB; THP %s", before, anonHugeKiB(t), thpMode())
	runtime.KeepAlive(books)
}

func anonHugeKiB(t *testing.T) int {
	data, err := os.ReadFile("/proc/self/smaps_rollup")
	if err != nil {
		t.Skipf("no smaps_rollup: %v", err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "AnonHugePages:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return n
		}
	}
	return 0
}

func thpMode() string {
	data, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(data))
}
