package engine

import "testing"

func TestNewOrderRestsAndTrades(t *testing.T) {
	h := newHarness(t)
	h.expect(h.send(sT1, newOrderCmd(no{px: 100, qty: 10, acct: "A1", cl: "b1"})),
		"s10 ER New id=1 cl=b1 st=New px=100 qty=10 leaves=10 cum=0")
	h.expect(h.send(sT2, newOrderCmd(no{side: SideSell, px: 99, qty: 4, acct: "A2", cl: "s1"})),
		"s20 ER New id=2 cl=s1 st=New px=99 qty=4 leaves=4 cum=0",
		"s10 ER Trade id=1 cl=b1 st=PartiallyFilled px=100 qty=10 leaves=6 cum=4 last=4@100 trade=1 aggr=0",
		"s20 ER Trade id=2 cl=s1 st=Filled px=99 qty=4 leaves=0 cum=4 last=4@100 trade=1 aggr=1")
}
