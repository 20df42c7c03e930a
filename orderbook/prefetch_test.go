package orderbook

import (
	"math/rand/v2"
	"testing"
)

// upcomingOf is the hint a caller would give for command c.
func upcomingOf(c command) Upcoming {
	switch c.kind {
	case cmdSubmit:
		o := c.order
		return Upcoming{Op: OpSubmit, Side: o.Side, Type: o.Type, TIF: o.TIF, ID: o.ID, Price: o.Price, Quantity: o.Quantity}
	case cmdCancel:
		return Upcoming{Op: OpCancel, ID: c.id}
	case cmdAmend, cmdReplace:
		return Upcoming{Op: OpAmend, ID: c.id, Price: c.price, Quantity: c.qty}
	}
	return Upcoming{}
}

// hintAhead gives b every stage of the hints for the commands after i, as
// a caller holding the queue would, with the stages a command apart.
func hintAhead(b *Book, cmds []command, i int) {
	for stage := range PrefetchStages {
		if j := i + PrefetchStages - stage; j < len(cmds) {
			u := upcomingOf(cmds[j])
			b.Prefetch(&u, stage)
		}
	}
}

// junkHint returns a hint that need not match any command: any op, side,
// type, id and stage, and prices from far outside ±PriceMax.
func junkHint(rng *rand.Rand) (Upcoming, int) {
	prices := [...]int64{0, 1, -1, PriceMax, -PriceMax, PriceMax + 1, -PriceMax - 1, 1 << 62, -1 << 63, 1<<63 - 1}
	u := Upcoming{
		Op: Op(rng.IntN(5)), Side: Side(rng.IntN(3)), Type: OrderType(rng.IntN(3)), TIF: TimeInForce(rng.IntN(5)),
		ID: OrderID(rng.Uint64N(64)), Price: 990 + int64(rng.IntN(21)), Quantity: int64(rng.IntN(40)) - 2,
	}
	if rng.IntN(4) == 0 {
		u.Price = prices[rng.IntN(len(prices))]
	}
	if rng.IntN(8) == 0 {
		u.ID = OrderID(rng.Uint64())
	}
	return u, rng.IntN(PrefetchStages+2) - 1
}

// TestPrefetchChangesNothing drives a book that is given hints before
// every command, the right ones for the next commands and junk, against
// the reference book: the events must be identical and the invariants
// hold, since hints only read the book.
func TestPrefetchChangesNothing(t *testing.T) {
	seeds := 300
	if testing.Short() {
		seeds = 50
	}
	for seed := range uint64(seeds) {
		g := newGenerator(seed)
		rng := rand.New(rand.NewPCG(seed, 1))
		cmds := make([]command, 300)
		for i := range cmds {
			cmds[i] = g.next()
		}
		var rec, refRec recorder
		b := New(g.cfg, &rec)
		ref := newRefBook(g.cfg, &refRec)
		for i, c := range cmds {
			hintAhead(b, cmds, i)
			for range rng.IntN(3) {
				u, stage := junkHint(rng)
				b.Prefetch(&u, stage)
			}
			if d := applyBoth(c, b, ref, &rec, &refRec); d != "" {
				t.Fatalf("seed %d command %d (%v): %s", seed, i, c, d)
			}
		}
	}
}

// TestPrefetchDeepQueues hints takers that sweep several deep levels, so
// that the hints walk long queues, levels behind the best and emptied
// levels, against the reference book.
func TestPrefetchDeepQueues(t *testing.T) {
	var cmds []command
	id := OrderID(1)
	for round := range 20 {
		for lvl := range int64(6) {
			for range 12 {
				cmds = append(cmds, command{kind: cmdSubmit, order: Order{ID: id, Side: Sell, Price: 101 + lvl, Quantity: 1 + int64(id%3), Account: 1}})
				id++
			}
		}
		typ := []OrderType{Limit, Market}[round%2]
		cmds = append(cmds, command{kind: cmdSubmit, order: Order{ID: id, Side: Buy, Type: typ, Price: 103 + int64(round%4), Quantity: 40 + int64(round), TIF: IOC, Account: 2}})
		id++
		cmds = append(cmds, command{kind: cmdCancel, id: id - 5}, command{kind: cmdAmend, id: id - 7, price: 99, qty: 3})
	}
	var rec, refRec recorder
	b := New(Config{}, &rec)
	ref := newRefBook(Config{}, &refRec)
	for i, c := range cmds {
		hintAhead(b, cmds, i)
		if d := applyBoth(c, b, ref, &rec, &refRec); d != "" {
			t.Fatalf("command %d (%v): %s", i, c, d)
		}
	}
}

func TestPrefetchDoesNotAllocate(t *testing.T) {
	b := New(Config{OrdersHint: 64}, nil)
	for i := range int64(20) {
		b.Submit(Order{ID: OrderID(i + 1), Side: Side(i % 2), Price: 100 + 2*(i%2) - 1 + i%3, Quantity: 5})
	}
	hints := []Upcoming{
		{Op: OpSubmit, Side: Buy, ID: 99, Price: 103, Quantity: 30},
		{Op: OpSubmit, Side: Sell, Type: Market, ID: 99, Quantity: 30},
		{Op: OpCancel, ID: 7},
		{Op: OpAmend, Side: Buy, ID: 8, Price: 97, Quantity: 2},
	}
	allocs := testing.AllocsPerRun(100, func() {
		for i := range hints {
			for stage := range PrefetchStages {
				b.Prefetch(&hints[i], stage)
			}
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run", allocs)
	}
}

// FuzzPrefetch runs arbitrary command sequences, each command hinted at
// every stage beforehand along with a hint made from the input's bytes,
// on the book and the reference book: hints must never panic or change an
// event.
func FuzzPrefetch(f *testing.F) {
	// A resting sell, then a buy that trades (see FuzzCommands for the
	// layout).
	f.Add([]byte{0x10, 1, 5, 10, 0x00, 2, 5, 10}, uint64(0))
	// Rest on both sides, amend one across the spread, cancel the other.
	f.Add([]byte{0x10, 1, 7, 5, 0x00, 2, 3, 5, 12, 2, 8, 5, 9, 1, 0, 0}, uint64(1))
	// Several sells at two prices, then a market buy that takes them all.
	f.Add([]byte{0x10, 1, 5, 3, 0x10, 2, 5, 3, 0x10, 3, 6, 3, 0x10, 4, 6, 3, 0x08, 5, 0, 15}, uint64(2))
	f.Fuzz(func(t *testing.T, data []byte, seed uint64) {
		var rec, refRec recorder
		cfg := fuzzConfig(data)
		b := New(cfg, &rec)
		ref := newRefBook(cfg, &refRec)
		rng := rand.New(rand.NewPCG(seed, 2))
		cmds := commandsFromBytes(data)
		for i, c := range cmds {
			hintAhead(b, cmds, i)
			u, stage := junkHint(rng)
			b.Prefetch(&u, stage)
			if d := applyBoth(c, b, ref, &rec, &refRec); d != "" {
				t.Fatalf("command %d (%v): %s", i, c, d)
			}
		}
	})
}

// TestPrefetchSubmitAnyOrder runs SubmitOrder's own prefetch on orders
// with every field out of range, on an empty book and on one with both
// sides: it must not fault, and must change nothing.
func TestPrefetchSubmitAnyOrder(t *testing.T) {
	prices := [...]int64{0, 1, -1, PriceMax, -PriceMax, PriceMax + 1, -1 << 63, 1<<63 - 1}
	for _, full := range []bool{false, true} {
		b := New(Config{OrdersHint: 100}, nil)
		if full {
			b.Submit(Order{ID: 1, Side: Buy, Price: 99, Quantity: 5})
			b.Submit(Order{ID: 2, Side: Sell, Price: 101, Quantity: 5})
		}
		before := b.Digest()
		for _, p := range prices {
			for side := range Side(4) {
				for typ := range OrderType(3) {
					for tif := range TimeInForce(5) {
						o := Order{ID: OrderID(p), Side: side, Type: typ, TIF: tif, Price: p, Quantity: 1}
						b.prefetchSubmit(&o)
					}
				}
			}
		}
		if b.Digest() != before {
			t.Fatalf("full %v: prefetching changed the book", full)
		}
		if err := b.Check(); err != nil {
			t.Fatal(err)
		}
	}
}
