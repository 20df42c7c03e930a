package orderbook

import (
	"fmt"
	"runtime"
	"testing"
)

// TestFindBestNearAndFar empties the best level when the next non-empty
// level is one tick away, as far as the price table probes reach, and just
// beyond (where the btree walk takes over), with empty levels kept in
// between, on both sides and with a tick above 1.
func TestFindBestNearAndFar(t *testing.T) {
	for _, tick := range []int64{1, 5} {
		for _, gap := range []int64{1, 2, nextBestProbes, nextBestProbes + 1, 3 * nextBestProbes} {
			for _, side := range []Side{Buy, Sell} {
				t.Run(fmt.Sprintf("tick %d gap %d %v", tick, gap, side), func(t *testing.T) {
					checkFindBest(t, tick, gap, side)
				})
			}
		}
	}
}

func checkFindBest(t *testing.T, tick, gap int64, side Side) {
	b := New(Config{TickSize: tick}, nil)
	// away is the direction from the best level into the book.
	away := tick
	if side == Buy {
		away = -tick
	}
	best := 1000 * tick
	next := best + gap*away
	b.Submit(Order{ID: 1, Side: side, Price: best, Quantity: 1})
	b.Submit(Order{ID: 2, Side: side, Price: next, Quantity: 1})
	// Empty levels between the two, kept for reuse.
	for i := int64(1); i < gap; i += 2 {
		b.Submit(Order{ID: OrderID(100 + i), Side: side, Price: best + i*away, Quantity: 1})
		b.Cancel(OrderID(100 + i))
	}
	b.Cancel(1)
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
	if lv, ok := b.Best(side); !ok || lv.Price != next {
		t.Fatalf("best %+v %v, want price %d", lv, ok, next)
	}
	b.Cancel(2)
	if _, ok := b.Best(side); ok {
		t.Fatal("a best level on an empty side")
	}
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestLevelChurnDoesNotAllocate creates and purges as many levels as the
// level trees are primed for on a new book, on one side and on both: within
// a book's hint, levels come and go without allocating from the first.
func TestLevelChurnDoesNotAllocate(t *testing.T) {
	for _, hint := range []int{64, 625, 3750} {
		for sides := 1; sides <= 2; sides++ {
			perSide := min(hint/sides, levelsPerSidePrimedMax)
			b := New(Config{OrdersHint: hint}, nil)
			id := OrderID(1)
			churn := func() {
				for i := range perSide {
					for s := range sides {
						b.Submit(Order{ID: id, Side: Side(s), Price: 100_000 + int64(2*s-1)*(1+int64(i)), Quantity: 1})
						id++
					}
				}
				b.CancelAll()
			}
			if allocs := mallocs(func() { churn(); churn() }); allocs != 0 {
				t.Errorf("hint %d, %d levels on %d sides: %d allocations", hint, perSide, sides, allocs)
			}
			if err := b.Check(); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// mallocs counts the allocations f makes, on one thread as
// testing.AllocsPerRun does, but without its warm-up run: what is measured
// here is the first run on a new book.
func mallocs(f func()) uint64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.Mallocs - before.Mallocs
}

// TestTreePrimeKeys checks the key counts that leave the last leaf full
// and the nodes they make, against a btree of degree 16.
func TestTreePrimeKeys(t *testing.T) {
	for _, tc := range []struct{ n, keys, nodes int }{
		{0, 31, 1}, {31, 31, 1}, {32, 47, 3}, {47, 47, 3}, {48, 63, 4}, {500, 511, 32},
	} {
		if k := treePrimeKeys(tc.n); k != tc.keys || treeNodes(k) != tc.nodes {
			t.Errorf("treePrimeKeys(%d) = %d with %d nodes, want %d with %d", tc.n, k, treeNodes(k), tc.keys, tc.nodes)
		}
	}
}
