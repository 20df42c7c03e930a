package engine

import (
	"strconv"
	"testing"
	"unsafe"
)

// TestLimitsRelationships checks how the bounds relate, so that changing
// one cannot silently break another.
func TestLimitsRelationships(t *testing.T) {
	switch {
	case OrdersPerBookMax > LiveOrdersMax:
		t.Fatal("one book may hold more orders than the venue")
	case RememberedOrdersMax >= 1<<(31-refKindBits) || SupersededClOrdIDsMax >= 1<<(31-refKindBits):
		t.Fatal("ring indexes do not fit an orderRef")
	case AccountsPerPrincipalMax > AccountsMax:
		t.Fatal("a principal may trade more accounts than exist")
	case AccountsMax > 1<<31-1 || PrincipalsMax > 1<<31-1:
		t.Fatal("indexes must fit int32")
	case InstrumentsMax >= int(AllInstruments):
		t.Fatal("AllInstruments could be a real instrument")
	case SessionsMax <= 0 || PendingStateChangesMax <= 0:
		t.Fatal("a bound is not positive")
	case reportBufferBytes < max(ExecutionReportLength, CancelRejectLength, BusinessRejectLength, MassCancelReportLength, InstrumentDefinitionLength):
		t.Fatal("a report does not fit the report buffer")
	case OrderSlotsMin > OrderSlotsMax || OrderSlotsMax&(OrderSlotsMax-1) != 0 || OrderSlotsMin&(OrderSlotsMin-1) != 0:
		t.Fatal("the order table's bounds are not powers of two in order")
	case OrderSlotsMax >= 1<<(31-refKindBits) || LiveOrdersMax+RememberedOrdersMax >= 1<<(31-refKindBits):
		t.Fatal("table or spill indexes do not fit an orderRef")
	}
}

func TestInstrumentLimit(t *testing.T) {
	h := newHarness(t)
	for i := len(h.e.instruments); i < InstrumentsMax; i++ {
		h.mustAck(instrumentCmd(uint32(100+i), "S"+strconv.Itoa(i), TradingStateOpen))
	}
	h.expect(h.send(sAdmin, instrumentCmd(99999, "ONEMORE", TradingStateOpen)), "s1 BREJ AddInstrument reason=LimitExceeded")
	// Updating one that exists is still fine.
	h.mustAck(instrumentCmd(1, "ALPHA", TradingStateHalted))
}

func TestPendingStateChangeLimit(t *testing.T) {
	h := newHarness(t)
	for range PendingStateChangesMax {
		h.mustAck(stateCmd(1, TradingStateHalted, 1<<40))
	}
	h.expect(h.send(sAdmin, stateCmd(1, TradingStateHalted, 1<<40)), "s1 BREJ SetTradingState reason=LimitExceeded")
}

func TestBookLimitIsLimitExceeded(t *testing.T) {
	h := newHarness(t)
	// The book's own bound surfaces as LimitExceeded; lower it for the test.
	in := h.e.instrument(1)
	in.book = h.e.newBookWithMax(1, 1, 0, 1)
	h.send(sT1, newOrderCmd(no{px: 100, qty: 1, acct: "A1", cl: "a"}))
	h.expect(h.send(sT1, newOrderCmd(no{px: 99, qty: 1, acct: "A1", cl: "b"})),
		"s10 ER Rejected id=2 cl=b st=Rejected px=99 qty=1 leaves=0 cum=0 reason=LimitExceeded")
}

// TestHotPathDoesNotAllocate runs new orders, replaces (in place and
// requeued), fills and cancels through a gateway once the engine reached a
// steady state (rings full, tables grown): none may allocate.
func TestHotPathDoesNotAllocate(t *testing.T) {
	smallRings(t, 64, 64)
	h := newHarness(t)
	h.send(sGW, sessionStatusCmd("G1", SessionStateLoggedOn, false, false))
	h.send(sGW, sessionStatusCmd("G2", SessionStateLoggedOn, false, false))
	const cycle = 64
	var cmds [][]byte
	for i := range cycle {
		cl := "o" + strconv.Itoa(i)
		cmds = append(cmds,
			newOrderCmd(no{px: 100, qty: 10, acct: "G1", cl: cl, principal: "G1", tif: TimeInForceGTC}),
			replaceCmd(cx{acct: "G1", cl: cl + "r", orig: cl, princ: "G1", px: 100, qty: 8, tif: TimeInForceGTC}),
			replaceCmd(cx{acct: "G1", cl: cl + "s", orig: cl + "r", princ: "G1", px: 101, qty: 8, tif: TimeInForceGTC}),
			newOrderCmd(no{side: SideSell, px: 101, qty: 3, acct: "G2", cl: cl, principal: "G2", tif: TimeInForceIOC}),
			cancelCmd(cx{acct: "G1", cl: cl + "c", orig: cl + "s", princ: "G1"}),
		)
	}
	e := h.e
	e.egress, e.md = discardEgress{}, NopMarketDataSink{}
	tap := &countTap{}
	e.tap = tap // the tap is on the hot path too
	pos := h.pos
	run := func() {
		for _, c := range cmds {
			pos += 128
			e.OnSessionMessage(sGW, pos, pos, c)
		}
	}
	for range 20 {
		run() // reach the steady state
	}
	if err := e.Check(); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(20, run); n != 0 {
		t.Fatalf("%.1f allocations per cycle of %d commands", n, len(cmds))
	}
	if c := e.Counters(); c.Malformed+c.NotAuthorized+c.Duplicates != 0 {
		t.Fatalf("commands refused: %+v", c)
	}
	if tap.n == 0 {
		t.Fatal("the tap saw no report")
	}
}

// countTap counts reports without keeping them.
type countTap struct{ n int }

func (c *countTap) OnReport(SessionID, []byte) { c.n++ }

func TestOrderRecordIsTwoCacheLines(t *testing.T) {
	if n := unsafe.Sizeof(order{}); n != orderBytes {
		t.Fatalf("order is %d bytes, want %d: adjust orderPadBytes", n, orderBytes)
	}
}
