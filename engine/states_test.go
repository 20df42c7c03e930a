package engine

import (
	"strconv"
	"testing"
)

func TestTradingStates(t *testing.T) {
	h := newHarness(t)
	h.send(sT1, newOrderCmd(no{px: 100, qty: 1, acct: "A1", cl: "rest"}))
	h.mustAck(stateCmd(1, TradingStateHalted, 0))
	h.expect(h.send(sT1, newOrderCmd(no{px: 100, qty: 1, acct: "A1", cl: "h"})),
		"s10 ER Rejected id=0 cl=h st=Rejected px=100 qty=1 leaves=0 cum=0 reason=TradingHalted")
	h.expect(h.send(sT1, replaceCmd(cx{acct: "A1", cl: "r", orig: "rest", px: 101, qty: 1})),
		"s10 CXLREJ Replace id=1 cl=r orig=rest st=New reason=TradingHalted")
	// Cancels are allowed while halted; the other instrument still trades.
	h.expect(h.send(sT1, cancelCmd(cx{acct: "A1", cl: "c", orig: "rest"})),
		"s10 ER Canceled id=1 cl=c st=Canceled px=100 qty=1 leaves=0 cum=0 orig=rest reason=ClientRequest")
	h.expect(h.send(sT1, newOrderCmd(no{inst: 2, px: 100, qty: 1, acct: "A1", cl: "beta"})),
		"s10 ER New id=2 cl=beta st=New px=100 qty=1 leaves=1 cum=0")

	// PreOpen builds the book without trading.
	h.mustAck(stateCmd(1, TradingStatePreOpen, 0))
	h.expect(h.send(sT2, newOrderCmd(no{side: SideSell, px: 101, qty: 1, acct: "A2", cl: "ask"})),
		"s20 ER New id=3 cl=ask st=New px=101 qty=1 leaves=1 cum=0")
	h.expect(h.send(sT1, newOrderCmd(no{px: 101, qty: 1, acct: "A1", cl: "cross"})),
		"s10 ER Rejected id=0 cl=cross st=Rejected px=101 qty=1 leaves=0 cum=0 reason=TradingClosed")
	h.expect(h.send(sT1, newOrderCmd(no{px: 99, qty: 1, acct: "A1", cl: "ioc", tif: TimeInForceIOC})),
		"s10 ER Rejected id=0 cl=ioc st=Rejected px=99 qty=1 leaves=0 cum=0 reason=TradingClosed")
	h.expect(h.send(sT1, newOrderCmd(no{px: 100, qty: 1, acct: "A1", cl: "bid"})),
		"s10 ER New id=4 cl=bid st=New px=100 qty=1 leaves=1 cum=0")
	h.expect(h.send(sT1, replaceCmd(cx{acct: "A1", cl: "bid2", orig: "bid", px: 101, qty: 1})),
		"s10 CXLREJ Replace id=4 cl=bid2 orig=bid st=New reason=TradingClosed")

	h.expect(h.send(sAdmin, stateCmd(1, TradingStateClosed, 0)),
		"s10 ER Expired id=4 cl=bid st=Expired px=100 qty=1 leaves=0 cum=0",
		"s20 ER Expired id=3 cl=ask st=Expired px=101 qty=1 leaves=0 cum=0",
		"s1 BREJ SetTradingState reason=None")
	h.expect(h.send(sT1, newOrderCmd(no{px: 99, qty: 1, acct: "A1", cl: "late"})),
		"s10 ER Rejected id=0 cl=late st=Rejected px=99 qty=1 leaves=0 cum=0 reason=TradingClosed")
	// Closed -> Halted is not a transition.
	h.expect(h.send(sAdmin, stateCmd(1, TradingStateHalted, 0)), "s1 BREJ SetTradingState reason=InvalidStateTransition")
	h.expect(h.send(sAdmin, stateCmd(7, TradingStateOpen, 0)), "s1 BREJ SetTradingState reason=UnknownInstrument")
	h.expect(h.send(sT1, stateCmd(1, TradingStateOpen, 0)), "s10 BREJ SetTradingState reason=NotAuthorized")
}

func TestDayOrdersExpireAtTheCloseByTimer(t *testing.T) {
	h := newHarness(t)
	h.send(sT1, newOrderCmd(no{px: 100, qty: 1, acct: "A1", cl: "day"}))
	h.send(sT1, newOrderCmd(no{px: 99, qty: 1, acct: "A1", cl: "gtc", tif: TimeInForceGTC}))
	h.send(sT1, newOrderCmd(no{inst: 2, px: 99, qty: 1, acct: "A1", cl: "beta"}))
	h.mustAck(stateCmd(AllInstruments, TradingStateClosed, 5000))
	if len(h.timers.deadlines) != 1 || h.timers.deadlines[1] != 5000 {
		t.Fatalf("timers %v", h.timers.deadlines)
	}
	// The timer survives a snapshot as state.
	h.restart()
	if ids, ds := h.e.PendingTimers(); len(ids) != 1 || ids[0] != 1 || ds[0] != 5000 {
		t.Fatalf("pending %v %v", ids, ds)
	}
	h.now = 5000
	h.md.lines = nil
	h.expect(h.timer(1),
		"s10 ER Expired id=1 cl=day st=Expired px=100 qty=1 leaves=0 cum=0",
		"s10 ER Expired id=3 cl=beta st=Expired px=99 qty=1 leaves=0 cum=0")
	if h.md.lines[0] != "S 1 Closed @"+itoa(h.pos) {
		t.Fatalf("market data %v", h.md.lines)
	}
	if h.md.lines[len(h.md.lines)-1] != "A @"+itoa(h.pos) {
		t.Fatalf("no OnApplied at the end: %v", h.md.lines)
	}
	h.expect(h.timer(1)) // fired already: ignored
	if h.e.Counters().StaleTimers != 1 {
		t.Fatal("stale timer not counted")
	}
	h.expect(h.send(sT1, statusCmd(2, "A1", "")),
		"s10 ER OrderStatus id=2 cl=gtc st=New px=99 qty=1 leaves=1 cum=0")
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestSetTradingStateInTheFutureNeedsTimers(t *testing.T) {
	h := newHarness(t)
	h.e.timers = nil
	h.expect(h.send(sAdmin, stateCmd(1, TradingStateClosed, 5000)), "s1 BREJ SetTradingState reason=InvalidDefinition")
}

func TestInstrumentAdmin(t *testing.T) {
	h := newHarness(t)
	h.expect(h.send(sT1, instrumentCmd(3, "GAMMA", TradingStateOpen)), "s10 BREJ AddInstrument reason=NotAuthorized")
	h.expect(h.send(sAdmin, instrumentCmd(3, "bad sym", TradingStateOpen)), "s1 BREJ AddInstrument reason=InvalidDefinition")
	h.expect(h.send(sAdmin, instrumentCmd(AllInstruments, "X", TradingStateOpen)), "s1 BREJ AddInstrument reason=InvalidDefinition")
	h.mustAck(instrumentCmd(0, "ZERO", TradingStatePreOpen))
	h.expect(h.send(sT1, newInstrumentList("r1")),
		"s10 DEF 0 ZERO PreOpen last=0", "s10 DEF 1 ALPHA Open last=0", "s10 DEF 2 BETA Open last=1")
	// Tick changes only while the book is empty.
	h.send(sT1, newOrderCmd(no{inst: 2, px: 100, qty: 1, acct: "A1", cl: "x"}))
	b, m := AppendAddInstrument(nil)
	m.SetInstrument(2)
	m.SetSymbol("BETA")
	m.SetTickSize(5)
	m.SetLotSize(1)
	m.SetState(TradingStateOpen)
	h.expect(h.send(sAdmin, b), "s1 BREJ AddInstrument reason=InvalidDefinition")
	h.send(sT1, cancelCmd(cx{inst: 2, acct: "A1", cl: "c", orig: "x"}))
	h.mustAck(b)
	h.expect(h.send(sT1, newOrderCmd(no{inst: 2, px: 101, qty: 1, acct: "A1", cl: "y"})),
		"s10 ER Rejected id=2 cl=y st=Rejected px=101 qty=1 leaves=0 cum=0 reason=OffTick")
}

func newInstrumentList(id string) []byte {
	b, m := AppendInstrumentListRequest(nil)
	m.SetRequestID(id)
	return b
}

func TestInstrumentParametersOutOfTheBooksRange(t *testing.T) {
	h := newHarness(t)
	for _, f := range []func(AddInstrument){
		func(m AddInstrument) { m.SetTickSize(1 << 62) },
		func(m AddInstrument) { m.SetLotSize(1 << 62) },
		func(m AddInstrument) { m.SetReferencePrice(1 << 62) },
		func(m AddInstrument) { m.SetReferencePrice(1 << 62); m.SetBandBps(100) },
	} {
		b, m := AppendAddInstrument(nil)
		m.SetInstrument(7)
		m.SetSymbol("HUGE")
		m.SetTickSize(1)
		m.SetLotSize(1)
		m.SetState(TradingStateOpen)
		f(m)
		h.expect(h.send(sAdmin, b), "s1 BREJ AddInstrument reason=InvalidDefinition")
	}
}
