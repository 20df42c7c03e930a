package orderbook

import "testing"

// collidingIDs returns n ids, from 1 up, whose home slot in b's order table
// is the same, so that they fill one probe run and freeing any of them
// shifts the ones after it back (moveOrder).
func collidingIDs(b *Book, n int) []OrderID {
	var ids []OrderID
	home := b.orderHome(1)
	for id := OrderID(1); len(ids) < n; id++ {
		if b.orderHome(id) == home {
			ids = append(ids, id)
		}
	}
	return ids
}

// TestOrderTableMoves drives a book whose orders share one probe run
// through every path that frees a slot while other slots are held: a
// self-trade cancel in the middle of a queue walk (Book.cursor), a filled
// maker retired while others wait (filledMakers), a replace that trades
// and rests again (Book.kept), mass cancels (the sweep's cursor) and a
// plain cancel. The book must agree with the reference book after every
// command, check out, and some order must have moved.
func TestOrderTableMoves(t *testing.T) {
	scenarios := []struct {
		name  string
		build func(ids []OrderID) []command
	}{
		{"self-trade cancel in a queue walk", func(ids []OrderID) []command {
			var cmds []command
			for i, id := range ids[:6] {
				cmds = append(cmds, submit(id, Account(1+i%2), Sell, 100, 1))
			}
			taker := submit(ids[6], 1, Buy, 100, 2)
			taker.order.STP = STPCancelResting
			return append(cmds, taker)
		}},
		{"makers filled in one walk", func(ids []OrderID) []command {
			var cmds []command
			for _, id := range ids[:6] {
				cmds = append(cmds, submit(id, 2, Sell, 100, 1))
			}
			return append(cmds, submit(ids[6], 1, Buy, 101, 4))
		}},
		{"makers filled out of slot order", func(ids []OrderID) []command {
			// A replace sends the first maker to the back of its queue
			// in its slot, so the queue holds the makers in another order
			// than their slots do.
			cmds := []command{submit(ids[0], 2, Sell, 100, 1), submit(ids[1], 2, Sell, 100, 1)}
			cmds = append(cmds, command{kind: cmdReplace, id: ids[0], price: 100, qty: 1})
			return append(cmds, submit(ids[2], 1, Buy, 100, 2), submit(ids[3], 1, Buy, 100, 1))
		}},
		{"replace trades and rests", func(ids []OrderID) []command {
			var cmds []command
			for _, id := range ids[:4] {
				cmds = append(cmds, submit(id, 2, Sell, 100, 1))
			}
			cmds = append(cmds, submit(ids[4], 1, Buy, 90, 5))
			return append(cmds, command{kind: cmdReplace, id: ids[4], price: 100, qty: 6})
		}},
		{"replace trades and is filled", func(ids []OrderID) []command {
			cmds := []command{submit(ids[0], 1, Buy, 90, 2)}
			for _, id := range ids[1:5] {
				cmds = append(cmds, submit(id, 2, Sell, 100, 1))
			}
			return append(cmds, command{kind: cmdReplace, id: ids[0], price: 100, qty: 2})
		}},
		{"mass cancels", func(ids []OrderID) []command {
			var cmds []command
			for i, id := range ids[:8] {
				cmds = append(cmds, submit(id, Account(1+i%2), Side(i%3/2), 100+int64(i%3)*10, 1))
			}
			return append(cmds, command{kind: cmdCancelAccount, account: 1}, command{kind: cmdCancelAll})
		}},
		{"cancel at the front of a run", func(ids []OrderID) []command {
			var cmds []command
			for _, id := range ids[:6] {
				cmds = append(cmds, submit(id, 1, Buy, 100, 1))
			}
			return append(cmds, command{kind: cmdCancel, id: ids[0]}, command{kind: cmdCancel, id: ids[2]})
		}},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			var rec, refRec recorder
			b := New(Config{}, &rec)
			ref := newRefBook(Config{}, &refRec)
			ids := collidingIDs(b, 8)
			slots := map[OrderID]int32{}
			moved := false
			for i, c := range sc.build(ids) {
				if d := applyBoth(c, b, ref, &rec, &refRec); d != "" {
					t.Fatalf("command %d (%v): %s", i, c, d)
				}
				for _, id := range ids {
					oi, ok := b.lookupOrder(id)
					if was, seen := slots[id]; ok && seen && was != oi {
						moved = true
					}
					if ok {
						slots[id] = oi
					}
				}
			}
			if len(b.orders) != ordersSlotsMin {
				t.Fatalf("the order table grew to %d slots: the ids no longer collide", len(b.orders))
			}
			if !moved && sc.name != "mass cancels" && sc.name != "replace trades and is filled" && sc.name != "makers filled out of slot order" {
				t.Fatal("no order moved")
			}
		})
	}
}

// TestOrderTableGrows fills a book past its order table's load limit
// twice, with orders on several levels: every order is found at its new
// slot, in the same queue order.
func TestOrderTableGrows(t *testing.T) {
	var rec, refRec recorder
	b := New(Config{}, &rec)
	ref := newRefBook(Config{}, &refRec)
	n := 4 * ordersSlotsMin
	for i := range n {
		price := 100 - int64(i%5)
		if i%2 == 1 {
			price += 20
		}
		c := submit(OrderID(1+i*7), Account(1+i%3), Side(i%2), price, 1+int64(i%4))
		if d := applyBoth(c, b, ref, &rec, &refRec); d != "" {
			t.Fatalf("order %d: %s", i, d)
		}
	}
	if len(b.orders) <= ordersSlotsMin || b.Len() != n {
		t.Fatalf("%d slots for %d orders (%d live)", len(b.orders), n, b.Len())
	}
	for _, c := range []command{
		submit(OrderID(10*n), 9, Buy, 200, int64(n)),
		{kind: cmdCancelAll},
	} {
		if d := applyBoth(c, b, ref, &rec, &refRec); d != "" {
			t.Fatalf("%v: %s", c, d)
		}
	}
}

func submit(id OrderID, a Account, s Side, price, qty int64) command {
	return command{kind: cmdSubmit, order: Order{ID: id, Account: a, Side: s, Price: price, Quantity: qty}}
}

// TestOrderTableRetireBatchMoves fills more makers of one probe run in one
// level than a batch of filled makers holds: retiring a full batch shifts
// the rest of the run back, the maker just filled among them, whose new
// slot the batch must hold (it once held the old one, and a later retire
// freed the wrong slot).
func TestOrderTableRetireBatchMoves(t *testing.T) {
	var rec, refRec recorder
	cfg := Config{OrdersHint: 64}
	b := New(cfg, &rec)
	ref := newRefBook(cfg, &refRec)
	ids := collidingIDs(b, 2*filledMakersMax+8)
	slots := len(b.orders)
	var cmds []command
	for _, id := range ids[:len(ids)-1] {
		cmds = append(cmds, submit(id, 1, Sell, 100, 1))
	}
	cmds = append(cmds, submit(ids[len(ids)-1], 2, Buy, 100, int64(len(ids)-3)))
	for i, c := range cmds {
		if d := applyBoth(c, b, ref, &rec, &refRec); d != "" {
			t.Fatalf("command %d (%v): %s", i, c, d)
		}
	}
	if len(b.orders) != slots {
		t.Fatalf("the order table grew from %d to %d slots: the ids no longer collide", slots, len(b.orders))
	}
}
