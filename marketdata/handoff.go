package marketdata

import (
	"sync/atomic"

	"golang.org/x/sys/cpu"
)

// tripleBuffer hands the latest View of one instrument from one writer (the
// service goroutine) to one reader (the publisher agent) without locks and
// without either side ever waiting: the writer fills its back buffer and
// swaps it with the middle one; the reader swaps the middle one with its
// front buffer when the dirty bit says there is something newer. The three
// indexes are always a permutation of 0, 1, 2, so neither side ever touches a
// buffer the other holds, and the atomic swaps order the copies. A pending
// middle buffer that is overwritten before the reader takes it is the
// conflation: at most one state per instrument is ever pending.
type tripleBuffer struct {
	views  [3]View
	middle atomic.Uint32 // index of the middle buffer | tripleDirty
	back   uint32        // writer-owned
	front  uint32        // reader-owned
}

const (
	tripleIndexMask = 0x3
	tripleDirty     = 0x4
)

func (t *tripleBuffer) init(depth int) {
	for i := range t.views {
		t.views[i].Bids = make([]Level, 0, depth)
		t.views[i].Asks = make([]Level, 0, depth)
	}
	t.back, t.front = 0, 2
	t.middle.Store(1)
}

// backView returns the buffer the writer may fill.
func (t *tripleBuffer) backView() *View { return &t.views[t.back] }

// publish makes the back buffer the newest state.
func (t *tripleBuffer) publish() {
	t.back = t.middle.Swap(t.back|tripleDirty) & tripleIndexMask
}

// acquire returns the newest published state and whether it is newer than
// what the previous acquire returned. Reader only.
func (t *tripleBuffer) acquire() (*View, bool) {
	if t.middle.Load()&tripleDirty == 0 {
		return &t.views[t.front], false
	}
	t.front = t.middle.Swap(t.front) & tripleIndexMask
	return &t.views[t.front], true
}

// indexRing is a bounded single-producer single-consumer queue of instrument
// indexes: the list of instruments with a pending update. Each instrument is
// in it at most once (its queued flag), so a ring as long as the instrument
// table never overflows.
type indexRing struct {
	slots []uint32
	mask  uint64
	_     cpu.CacheLinePad
	head  atomic.Uint64 // next slot to pop; consumer-owned
	_     cpu.CacheLinePad
	tail  atomic.Uint64 // next slot to push; producer-owned
	_     cpu.CacheLinePad
}

func newIndexRing(capacity int) *indexRing {
	n := 1
	for n < capacity {
		n <<= 1
	}
	return &indexRing{slots: make([]uint32, n), mask: uint64(n - 1)}
}

// push appends v; false when full.
func (r *indexRing) push(v uint32) bool {
	t := r.tail.Load()
	if t-r.head.Load() == uint64(len(r.slots)) {
		return false
	}
	r.slots[t&r.mask] = v
	r.tail.Store(t + 1)
	return true
}

// pop removes the oldest index; false when empty.
func (r *indexRing) pop() (uint32, bool) {
	h := r.head.Load()
	if h == r.tail.Load() {
		return 0, false
	}
	v := r.slots[h&r.mask]
	r.head.Store(h + 1)
	return v, true
}

// tradeRing is a bounded single-producer single-consumer queue of trades for
// the non-conflated trade channel. When it is full the producer drops the
// trade (and counts it) rather than wait.
type tradeRing struct {
	slots []TradeRecord
	mask  uint64
	_     cpu.CacheLinePad
	head  atomic.Uint64
	_     cpu.CacheLinePad
	tail  atomic.Uint64
	_     cpu.CacheLinePad
}

func newTradeRing(capacity int) *tradeRing {
	return &tradeRing{slots: make([]TradeRecord, capacity), mask: uint64(capacity - 1)}
}

func (r *tradeRing) push(t *TradeRecord) bool {
	tail := r.tail.Load()
	if tail-r.head.Load() == uint64(len(r.slots)) {
		return false
	}
	r.slots[tail&r.mask] = *t
	r.tail.Store(tail + 1)
	return true
}

// peek returns the oldest trade without removing it; nil when empty.
func (r *tradeRing) peek() *TradeRecord { return r.at(0) }

// at returns the i-th oldest trade without removing it; nil when there are
// not that many.
func (r *tradeRing) at(i int) *TradeRecord {
	h := r.head.Load()
	if h+uint64(i) >= r.tail.Load() {
		return nil
	}
	return &r.slots[(h+uint64(i))&r.mask]
}

func (r *tradeRing) advance() { r.head.Add(1) }

// advanceN removes the n oldest trades.
func (r *tradeRing) advanceN(n int) { r.head.Add(uint64(n)) }
