package engine

import (
	"bytes"
	"fmt"
	"testing"
)

// smallTable lowers the order table's bounds for one test.
func smallTable(t *testing.T, min, max int) {
	orderSlotsMin, orderSlotsMax = min, max
	t.Cleanup(func() { orderSlotsMin, orderSlotsMax = OrderSlotsMin, OrderSlotsMax })
}

// Where orders sit (their slab slot, the spill index, how often the table
// grew) must never show in the output: the recorded log replayed on tiny
// tables, where most orders spill or the table grows all the time, gives
// the same bytes and digest, with the invariants holding throughout and
// across a snapshot.
func TestOrderTableLayoutDoesNotChangeOutput(t *testing.T) {
	log, recorded := recordLog(t, 11, 4000)
	var want [32]byte
	{
		e := newLogEngine(t, &outRecorder{}, nopTimers{})
		for j := range log {
			apply(e, &log[j])
		}
		want = e.Digest()
	}
	for _, c := range []struct{ min, max, finished, superseded int }{
		{1, 1, RememberedOrdersMax, SupersededClOrdIDsMax},  // one slot: nearly everything spills
		{2, 8, RememberedOrdersMax, SupersededClOrdIDsMax},  // grows, then spills
		{1, 64, RememberedOrdersMax, SupersededClOrdIDsMax}, // spills, and grows with orders spilled
		{1, 256, 64, 32},
		{2, 1 << 20, RememberedOrdersMax, SupersededClOrdIDsMax},
		{4, 16, 8, 4}, // and forgets all the time
	} {
		t.Run(fmt.Sprintf("slots %d..%d rings %d,%d", c.min, c.max, c.finished, c.superseded), func(t *testing.T) {
			smallTable(t, c.min, c.max)
			smallRings(t, c.finished, c.superseded)
			var out, after outRecorder
			e := newLogEngine(t, &out, nopTimers{})
			cut := len(log) / 2
			for j := range log[:cut] {
				apply(e, &log[j])
				if j%211 == 0 {
					if err := e.Check(); err != nil {
						t.Fatalf("entry %d: %v", j, err)
					}
				}
			}
			r := newLogEngine(t, &after, nopTimers{})
			if err := r.Restore(e.AppendSnapshot(nil)); err != nil {
				t.Fatal(err)
			}
			for j := cut; j < len(log); j++ {
				apply(e, &log[j])
				apply(r, &log[j])
				if j%211 == 0 {
					if err := r.Check(); err != nil {
						t.Fatalf("entry %d after restore: %v", j, err)
					}
				}
			}
			if c.finished == RememberedOrdersMax {
				if !bytes.Equal(out.buf.Bytes(), recorded.buf.Bytes()) {
					t.Fatalf("output differs from the recording (first difference at byte %d)", firstDiff(out.buf.Bytes(), recorded.buf.Bytes()))
				}
				if e.Digest() != want {
					t.Fatal("digest differs from the recording's")
				}
			}
			if r.Digest() != e.Digest() {
				t.Fatal("restored engine ended at another digest")
			}
			if err := e.Check(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// A long-lived order whose id index entry is needed again moves to the
// spill index
// and keeps working: cancel by ClOrdID and by id, status, a fill.
func TestSpilledOrderKeepsWorking(t *testing.T) {
	smallTable(t, 4, 4)
	h := newHarness(t)
	h.send(sT1, newOrderCmd(no{px: 100, qty: 5, acct: "A1", cl: "old"}))
	for i := range 8 { // ids 2..9: id 5 and 9 share slot 1 with order 1
		cl := fmt.Sprintf("n%d", i)
		h.send(sT1, newOrderCmd(no{px: 90, qty: 1, acct: "A1", cl: cl}))
		h.send(sT1, cancelCmd(cx{acct: "A1", cl: "c" + cl, orig: cl}))
	}
	if h.e.orders.spill.count == 0 {
		t.Fatal("nothing spilled")
	}
	h.expect(h.send(sT1, statusCmd(1, "A1", "")),
		"s10 ER OrderStatus id=1 cl=old st=New px=100 qty=5 leaves=5 cum=0")
	h.expect(h.send(sT2, newOrderCmd(no{side: SideSell, px: 100, qty: 2, acct: "A2", cl: "s"})),
		"s20 ER New id=10 cl=s st=New px=100 qty=2 leaves=2 cum=0",
		"s10 ER Trade id=1 cl=old st=PartiallyFilled px=100 qty=5 leaves=3 cum=2 last=2@100 trade=1 aggr=0",
		"s20 ER Trade id=10 cl=s st=Filled px=100 qty=2 leaves=0 cum=2 last=2@100 trade=1 aggr=1")
	h.expect(h.send(sT1, cancelCmd(cx{acct: "A1", cl: "x", orig: "old"})),
		"s10 ER Canceled id=1 cl=x st=Canceled px=100 qty=5 leaves=0 cum=2 orig=old reason=ClientRequest")
	if err := h.e.Check(); err != nil {
		t.Fatal(err)
	}
}

// A spilled order goes home when the table grows and its slot is free;
// its ClOrdID still names it.
func TestSpilledOrderGoesHomeWhenTheTableGrows(t *testing.T) {
	smallTable(t, 2, 1<<10)
	smallRings(t, 1, 1)
	h := newHarness(t)
	h.send(sT1, newOrderCmd(no{px: 100, qty: 5, acct: "A1", cl: "old"}))
	for i := 0; h.e.orders.spill.count == 0; i++ {
		if i == 100 {
			t.Fatal("order 1 never spilled")
		}
		cl := fmt.Sprintf("n%d", i)
		h.send(sT1, newOrderCmd(no{px: 90, qty: 1, acct: "A1", cl: cl}))
		h.send(sT1, cancelCmd(cx{acct: "A1", cl: "c" + cl, orig: cl}))
	}
	slots := len(h.e.orders.direct)
	for i := 0; len(h.e.orders.direct) == slots; i++ {
		h.send(sT1, newOrderCmd(no{px: 80, qty: 1, acct: "A1", cl: fmt.Sprintf("r%d", i)}))
	}
	if h.e.orders.spill.count != 0 {
		t.Fatal("order 1 is still spilled")
	}
	if err := h.e.Check(); err != nil {
		t.Fatal(err)
	}
	h.expect(h.send(sT1, cancelCmd(cx{acct: "A1", cl: "x", orig: "old"})),
		"s10 ER Canceled id=1 cl=x st=Canceled px=100 qty=5 leaves=0 cum=0 orig=old reason=ClientRequest")
}

// An order the book refused on entry is remembered with the quantity it
// asked for, 0 or negative included (that is why it was refused); a
// snapshot holding it must restore. (Restore used to require a positive
// quantity of every order: found by FuzzEngineCommands.)
func TestRejectedOrderWithBadQuantitySurvivesRestore(t *testing.T) {
	h := newHarness(t)
	h.expect(h.send(sT1, newOrderCmd(no{px: 100, qty: 0, acct: "A1", cl: "zero"})),
		"s10 ER Rejected id=1 cl=zero st=Rejected px=100 qty=0 leaves=0 cum=0 reason=InvalidQuantity")
	h.expect(h.send(sT1, newOrderCmd(no{px: 100, qty: -5, acct: "A1", cl: "neg"})),
		"s10 ER Rejected id=2 cl=neg st=Rejected px=100 qty=-5 leaves=0 cum=0 reason=InvalidQuantity")
	h.restart()
	h.expect(h.send(sT1, statusCmd(2, "A1", "")),
		"s10 ER OrderStatus id=2 cl=neg st=Rejected px=100 qty=-5 leaves=0 cum=0 reason=InvalidQuantity")
}
