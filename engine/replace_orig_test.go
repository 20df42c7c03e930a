package engine

import "testing"

// A Replaced report carries the price and quantity the order had before;
// the fill the replace then caused does not.
func TestReplacedReportCarriesOrigPriceAndQuantity(t *testing.T) {
	h := newHarness(t)
	h.send(sT2, newOrderCmd(no{side: SideSell, px: 101, qty: 1, acct: "A2", cl: "s"}))
	h.send(sT1, newOrderCmd(no{px: 100, qty: 5, acct: "A1", cl: "b"}))
	h.eg.raw = nil
	h.send(sT1, replaceCmd(cx{acct: "A1", cl: "b2", orig: "b", px: 101, qty: 4}))
	got := reportsOf(t, h.eg.raw)
	if len(got) != 3 {
		t.Fatalf("%d reports, want Replaced and two Trades", len(got))
	}
	r := got[0]
	if r.ExecType() != ExecTypeReplaced || r.Price() != 101 || r.Quantity() != 4 || r.OrigPrice() != 100 || r.OrigQuantity() != 5 {
		t.Fatalf("%v px %d qty %d orig %d/%d, want Replaced 101/4 from 100/5",
			r.ExecType(), r.Price(), r.Quantity(), r.OrigPrice(), r.OrigQuantity())
	}
	for _, r := range got[1:] {
		if r.ExecType() != ExecTypeTrade || r.OrigPrice() != 0 || r.OrigQuantity() != 0 {
			t.Fatalf("%v orig %d/%d, want a Trade without", r.ExecType(), r.OrigPrice(), r.OrigQuantity())
		}
	}
	// A replace down to the filled quantity ends the order, still Replaced.
	h.eg.raw = nil
	h.send(sT1, replaceCmd(cx{acct: "A1", cl: "b3", orig: "b2", px: 101, qty: 1}))
	got = reportsOf(t, h.eg.raw)
	if len(got) != 1 || got[0].OrdStatus() != OrdStatusFilled || got[0].OrigPrice() != 101 || got[0].OrigQuantity() != 4 {
		t.Fatalf("replace to filled: %d reports, orig %d/%d", len(got), got[0].OrigPrice(), got[0].OrigQuantity())
	}
}
