package orderbook

import (
	"fmt"
	"runtime"
	"slices"
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

// TestWindowOverflow puts levels on prices that share a window slot (a
// window apart, negative prices included), on both sides: the first takes
// the slot and the others overflow; levels are then found, traded, emptied
// and purged in an order that frees the slot while overflow levels that
// share it live on, and a new level takes the freed slot.
func TestWindowOverflow(t *testing.T) {
	for _, side := range []Side{Buy, Sell} {
		t.Run(side.String(), func(t *testing.T) {
			b := New(Config{}, nil)
			w := int64(1) << b.windowBits
			prices := []int64{3*w + 5, 5, -w + 5, 2*w + 5}
			for i, p := range prices {
				if r := b.Submit(Order{ID: OrderID(i + 1), Side: side, Price: p, Quantity: int64(i + 1)}); r != RejectNone {
					t.Fatalf("submit at %d: %v", p, r)
				}
			}
			if got := b.sides[side].overflow; got != int32(len(prices)-1) {
				t.Fatalf("%d overflow levels, want %d", got, len(prices)-1)
			}
			checkLevels := func(want map[int64]int64) {
				t.Helper()
				if err := b.Check(); err != nil {
					t.Fatal(err)
				}
				for _, p := range prices {
					li, ok := b.lookupLevel(side, p)
					if q, live := want[p]; live != (ok && b.levels[li].count > 0) || (live && b.levels[li].total != q) {
						t.Fatalf("price %d: level %d found %v, want quantity %d (live %v)", p, li, ok, q, live)
					}
				}
			}
			checkLevels(map[int64]int64{prices[0]: 1, prices[1]: 2, prices[2]: 3, prices[3]: 4})
			// Empty the level in the window slot, purge, and check the
			// overflow levels are still found through the table.
			b.Cancel(1)
			for i := range emptyLevelsSlack + 3 { // with the first, one empty level beyond the slack over the three live
				p := 7*w + int64(i)
				if side == Buy {
					p = -7*w - int64(i)
				}
				b.Submit(Order{ID: OrderID(100 + i), Side: side, Price: p, Quantity: 1})
				b.Cancel(OrderID(100 + i))
			}
			if !b.purgeDue {
				t.Fatal("no purge due")
			}
			b.Cancel(99) // unknown: it only runs the purge
			checkLevels(map[int64]int64{prices[1]: 2, prices[2]: 3, prices[3]: 4})
			if li := b.windowLevel(side, prices[0]); b.levels[li].price != freePrice {
				t.Fatalf("window slot holds price %d after its level was purged", b.levels[li].price)
			}
			// A new price on the slot takes it again.
			b.Submit(Order{ID: 5, Side: side, Price: 4*w + 5, Quantity: 9})
			if li, ok := b.lookupLevel(side, 4*w+5); !ok || !b.isWindowLevel(li) {
				t.Fatalf("new level at a free slot: level %d found %v, not in the window", li, ok)
			}
			// Trade every level away from the other side.
			taker := Order{ID: 6, Side: side.opposite(), Type: Market, TIF: IOC, Quantity: 2 + 3 + 4 + 9}
			if r := b.Submit(taker); r != RejectNone {
				t.Fatalf("taker: %v", r)
			}
			if b.Len() != 0 {
				t.Fatalf("%d orders left", b.Len())
			}
			checkLevels(map[int64]int64{})
		})
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

// TestPendingLevels creates more levels than wait for the btree at once,
// far enough apart that finding the next best walks the tree, with the
// nearest created last so that they are still pending when the best
// empties: the walk must find them, and depth must list every level in
// order, on both sides.
func TestPendingLevels(t *testing.T) {
	const levels = 2*pendingLevelsMax + 3
	gap := int64(3 * nextBestProbes)
	for _, side := range []Side{Buy, Sell} {
		t.Run(side.String(), func(t *testing.T) {
			away := gap
			if side == Buy {
				away = -gap
			}
			best := int64(100_000)
			build := func() *Book {
				b := New(Config{}, nil)
				// The best first, then from the farthest level in.
				b.Submit(Order{ID: 1, Side: side, Price: best, Quantity: 1})
				for i := int64(levels - 1); i >= 1; i-- {
					b.Submit(Order{ID: OrderID(1 + i), Side: side, Price: best + i*away, Quantity: 1})
					if err := b.Check(); err != nil {
						t.Fatalf("level %d: %v", i, err)
					}
				}
				if b.sides[side].pending == 0 {
					t.Fatal("no level pending: the test does not reach the walk over pending levels")
				}
				return b
			}
			depth := build().AppendDepth(nil, side, levels+1)
			for i, lv := range depth {
				if lv.Price != best+int64(i)*away || lv.Count != 1 {
					t.Fatalf("depth %d: %+v", i, lv)
				}
			}
			if len(depth) != levels {
				t.Fatalf("depth has %d levels, want %d", len(depth), levels)
			}
			b := build()
			for i := int64(0); i < levels; i++ {
				if lv, ok := b.Best(side); !ok || lv.Price != best+i*away {
					t.Fatalf("after %d cancels: best %+v %v, want price %d", i, lv, ok, best+i*away)
				}
				b.Cancel(OrderID(1 + i))
				if err := b.Check(); err != nil {
					t.Fatalf("after %d cancels: %v", i+1, err)
				}
			}
			if _, ok := b.Best(side); ok || b.Len() != 0 {
				t.Fatalf("%d orders left", b.Len())
			}
		})
	}
}

// TestPurgeDropsPendingLevels makes a purge due while some of the empty
// levels, and a non-empty one, still wait for the tree: the purge drops
// every empty level, pending or not, and keeps the others.
func TestPurgeDropsPendingLevels(t *testing.T) {
	b := New(Config{}, nil)
	id := OrderID(1)
	submit := func(price int64) OrderID {
		b.Submit(Order{ID: id, Side: Buy, Price: price, Quantity: 1})
		id++
		return id - 1
	}
	submit(1000)
	// As many empty levels as do not make a purge due yet, then a level
	// that stays, then two more empty levels: the purge is due.
	for i := range int64(emptyLevelsSlack + 1) {
		b.Cancel(submit(998 - 2*i))
	}
	submit(999)
	b.Cancel(submit(1))
	if b.purgeDue {
		t.Fatal("purge due a level early")
	}
	b.Cancel(submit(3))
	var empty, full int
	for _, k := range b.pendingKeys[Buy][:b.sides[Buy].pending] {
		if b.levels[k.level].count == 0 {
			empty++
		} else {
			full++
		}
	}
	if !b.purgeDue || empty == 0 || full == 0 {
		t.Fatalf("purge due %v with %d empty and %d non-empty levels pending", b.purgeDue, empty, full)
	}
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
	b.Cancel(id) // unknown: rejected, after the purge that every command starts with
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
	depth := b.AppendDepth(nil, Buy, 10)
	if b.purgeDue || b.sides[Buy].empty != 0 || len(depth) != 2 || depth[0].Price != 1000 || depth[1].Price != 999 {
		t.Fatalf("after the purge: due %v, %d empty levels, depth %+v", b.purgeDue, b.sides[Buy].empty, depth)
	}
}

// TestMatchRetiresManyMakers fills more makers in one level than
// retireFilled takes at once, and some on the next level: afterwards the
// filled makers' ids are free again, the rest are still found, and the
// book checks out.
func TestMatchRetiresManyMakers(t *testing.T) {
	const makers = 2*filledMakersMax + 5
	b := New(Config{}, nil)
	for i := range OrderID(makers) {
		b.Submit(Order{ID: 1 + i, Side: Sell, Price: 100, Quantity: 1})
		b.Submit(Order{ID: 1001 + i, Side: Sell, Price: 101, Quantity: 1})
	}
	filled := int64(makers + 3) // every maker at 100 and three at 101
	if r := b.Submit(Order{ID: 5000, Side: Buy, Type: Market, Quantity: filled}); r != RejectNone {
		t.Fatalf("market order rejected: %v", r)
	}
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
	if b.Len() != makers-3 {
		t.Fatalf("%d orders left, want %d", b.Len(), makers-3)
	}
	for i := range OrderID(makers) {
		if _, ok := b.Order(1 + i); ok {
			t.Fatalf("filled maker %d still live", 1+i)
		}
		if _, ok := b.Order(1001 + i); ok != (i >= 3) {
			t.Fatalf("maker %d live %v", 1001+i, ok)
		}
	}
	// The filled makers' ids may come back, and the others still cancel.
	for i := range OrderID(makers) {
		if r := b.Submit(Order{ID: 1 + i, Side: Buy, Price: 90, Quantity: 1}); r != RejectNone {
			t.Fatalf("id %d again: %v", 1+i, r)
		}
	}
	for i := OrderID(3); i < makers; i++ {
		if r := b.Cancel(1001 + i); r != RejectNone {
			t.Fatalf("cancel %d: %v", 1001+i, r)
		}
	}
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestAgainstReferenceWideBook is TestAgainstReference on books hundreds of
// levels wide, where more than pendingLevelsMax new levels come between two
// walks of the tree and the best is often far from the next: the events
// must agree with the reference book, depth must list its levels, and a
// snapshot must restore to a book that goes on exactly as the original
// (same events, same digest), pending levels or not.
func TestAgainstReferenceWideBook(t *testing.T) {
	// Each snapshot period opens with a burst of new levels (farLevels),
	// which the depth and snapshot at its end then walk.
	const seeds, commands, snapshotEvery = 40, 1200, 211
	fullSeen := false
	for seed := uint64(0); seed < seeds; seed++ {
		g := newGenerator(seed)
		g.spread = 4 * pendingLevelsMax
		var rec, refRec, restoredRec recorder
		b := New(g.cfg, &rec)
		ref := newRefBook(g.cfg, &refRec)
		var restored *Book
		var burst []command
		for i := range commands {
			if i%snapshotEvery == 0 {
				burst = farLevels(g, i/snapshotEvery)
			}
			var c command
			if len(burst) > 0 {
				c, burst = burst[0], burst[1:]
			} else {
				c = g.next()
			}
			c.apply(b)
			c.apply(ref)
			at := fmt.Sprintf("seed %d command %d (%v)", seed, i, c)
			got := rec.take()
			if d := diffRecorded(got, refRec.take()); d != "" {
				t.Fatalf("%s: %s", at, d)
			}
			if err := b.Check(); err != nil {
				t.Fatalf("%s: %v", at, err)
			}
			for s := range b.sides {
				fullSeen = fullSeen || b.sides[s].pending == pendingLevelsMax
			}
			if restored != nil {
				c.apply(restored)
				if d := diffRecorded(restoredRec.take(), got); d != "" {
					t.Fatalf("%s: restored book: %s", at, d)
				}
			}
			if i%snapshotEvery != snapshotEvery-1 {
				continue
			}
			for _, s := range []Side{Buy, Sell} {
				if got, want := b.AppendDepth(nil, s, 4*g.spread), refDepth(ref, s); !slices.Equal(got, want) {
					t.Fatalf("%s: %v depth\n got %+v\nwant %+v", at, s, got, want)
				}
			}
			if restored != nil && restored.Digest() != b.Digest() {
				t.Fatalf("%s: a book restored %d commands ago no longer agrees", at, snapshotEvery)
			}
			restored = New(g.cfg, &restoredRec)
			if err := restored.Restore(b.AppendSnapshot(nil)); err != nil {
				t.Fatalf("%s: restore: %v", at, err)
			}
			copyTags(t, restored, b)
			if err := restored.Check(); err != nil {
				t.Fatalf("%s: restored: %v", at, err)
			}
		}
	}
	if !fullSeen {
		t.Fatal("no side ever held pendingLevelsMax pending levels: the test misses the settle of a full array")
	}
}

// farLevels returns orders that make 2*pendingLevelsMax+1 new levels on
// one side, beyond the prices the generator uses and beyond those of the
// bursts before (n counts them), so that they wait for the tree in a full
// array and more.
func farLevels(g *generator, n int) []command {
	side := Side(n % 2)
	away := g.cfg.TickSize
	if side == Buy {
		away = -away
	}
	var cmds []command
	for j := range int64(2*pendingLevelsMax + 1) {
		off := int64(g.spread) + 101 + int64(n)*(2*pendingLevelsMax+1) + j
		cmds = append(cmds, command{kind: cmdSubmit, order: Order{ID: g.nextID, Account: 1, Side: side,
			Price: g.mid + off*away, Quantity: g.cfg.LotSize}})
		g.nextID++
	}
	return cmds
}

// refDepth is the reference book's depth of side s, best first.
func refDepth(r *refBook, s Side) []Level {
	var out []Level
	for _, o := range r.side(s) {
		if n := len(out); n > 0 && out[n-1].Price == o.price {
			out[n-1].Quantity += o.open()
			out[n-1].Count++
			continue
		}
		out = append(out, Level{Side: s, Price: o.price, Quantity: o.open(), Count: 1})
	}
	return out
}
