package engine

import (
	"strings"
	"testing"
)

func TestNewOrderRejects(t *testing.T) {
	tests := []struct {
		name string
		from SessionID
		o    no
		want string
	}{
		{"unknown instrument", sT1, no{inst: 9, px: 1, qty: 1, acct: "A1", cl: "x"}, "s10 ER Rejected id=0 cl=x st=Rejected px=1 qty=1 leaves=0 cum=0 reason=UnknownInstrument"},
		{"unknown account", sT1, no{px: 1, qty: 1, acct: "ZZ", cl: "x"}, "s10 ER Rejected id=0 cl=x st=Rejected px=1 qty=1 leaves=0 cum=0 reason=UnknownAccount"},
		{"another's account", sT1, no{px: 1, qty: 1, acct: "A2", cl: "x"}, "s10 ER Rejected id=0 cl=x st=Rejected px=1 qty=1 leaves=0 cum=0 reason=NotAuthorized"},
		{"acting for another", sT1, no{px: 1, qty: 1, acct: "A1", cl: "x", principal: "T2"}, "s10 ER Rejected id=0 cl=x st=Rejected px=1 qty=1 leaves=0 cum=0 reason=NotAuthorized"},
		{"unknown session", 99, no{px: 1, qty: 1, acct: "A1", cl: "x"}, "s99 ER Rejected id=0 cl=x st=Rejected px=1 qty=1 leaves=0 cum=0 reason=NotAuthorized"},
		{"gateway for nobody", sGW, no{px: 1, qty: 1, acct: "G1", cl: "x"}, "s30 ER Rejected id=0 cl=x st=Rejected px=1 qty=1 leaves=0 cum=0 reason=NotAuthorized"},
		{"gateway for a gateway", sGW, no{px: 1, qty: 1, acct: "G1", cl: "x", principal: "GW"}, "s30 ER Rejected id=0 cl=x st=Rejected px=1 qty=1 leaves=0 cum=0 reason=NotAuthorized"},
		{"empty ClOrdID", sT1, no{px: 1, qty: 1, acct: "A1"}, "s10 ER Rejected id=0 cl= st=Rejected px=1 qty=1 leaves=0 cum=0 reason=Malformed"},
		{"unknown flag", sT1, no{px: 1, qty: 1, acct: "A1", cl: "x", flags: 0x80}, "s10 ER Rejected id=0 cl=x st=Rejected px=1 qty=1 leaves=0 cum=0 reason=Malformed"},
		{"zero quantity", sT1, no{px: 1, acct: "A1", cl: "x"}, "s10 ER Rejected id=1 cl=x st=Rejected px=1 qty=0 leaves=0 cum=0 reason=InvalidQuantity"},
		{"post-only IOC", sT1, no{px: 1, qty: 1, acct: "A1", cl: "x", tif: TimeInForceIOC, flags: FlagPostOnly}, "s10 ER Rejected id=1 cl=x st=Rejected px=1 qty=1 leaves=0 cum=0 reason=UnsupportedOrderType"},
		{"FOK without liquidity", sT1, no{px: 1, qty: 1, acct: "A1", cl: "x", tif: TimeInForceFOK}, "s10 ER Rejected id=1 cl=x st=Rejected px=1 qty=1 leaves=0 cum=0 reason=FOKCannotFill"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.expect(h.send(tt.from, newOrderCmd(tt.o)), tt.want)
		})
	}
}

func TestDuplicateClOrdIDAmongLiveOrders(t *testing.T) {
	h := newHarness(t)
	h.send(sT1, newOrderCmd(no{px: 100, qty: 1, acct: "A1", cl: "c"}))
	h.expect(h.send(sT1, newOrderCmd(no{px: 101, qty: 1, acct: "A1", cl: "c"})),
		"s10 ER Rejected id=0 cl=c st=Rejected px=101 qty=1 leaves=0 cum=0 reason=DuplicateClOrdID")
	// The same ClOrdID on another account is another order.
	h.expect(h.send(sT1, newOrderCmd(no{px: 100, qty: 1, acct: "A3", cl: "c"})),
		"s10 ER New id=2 cl=c st=New px=100 qty=1 leaves=1 cum=0")
	// Once the order is done its ClOrdID may be used again.
	h.send(sT1, cancelCmd(cx{id: 1, acct: "A1", cl: "k"}))
	h.expect(h.send(sT1, newOrderCmd(no{px: 100, qty: 1, acct: "A1", cl: "c"})),
		"s10 ER New id=3 cl=c st=New px=100 qty=1 leaves=1 cum=0")
}

func TestIOCMarketAndPostOnly(t *testing.T) {
	h := newHarness(t)
	h.send(sT2, newOrderCmd(no{side: SideSell, px: 100, qty: 5, acct: "A2", cl: "s"}))
	h.expect(h.send(sT1, newOrderCmd(no{px: 100, qty: 7, acct: "A1", cl: "ioc", tif: TimeInForceIOC})),
		"s10 ER New id=2 cl=ioc st=New px=100 qty=7 leaves=7 cum=0",
		"s20 ER Trade id=1 cl=s st=Filled px=100 qty=5 leaves=0 cum=5 last=5@100 trade=1 aggr=0",
		"s10 ER Trade id=2 cl=ioc st=PartiallyFilled px=100 qty=7 leaves=2 cum=5 last=5@100 trade=1 aggr=1",
		"s10 ER Canceled id=2 cl=ioc st=Canceled px=100 qty=7 leaves=0 cum=5 reason=IOCRemainder")
	h.expect(h.send(sT1, newOrderCmd(no{typ: OrdTypeMarket, qty: 3, acct: "A1", cl: "mkt", tif: TimeInForceIOC})),
		"s10 ER New id=3 cl=mkt st=New px=0 qty=3 leaves=3 cum=0",
		"s10 ER Canceled id=3 cl=mkt st=Canceled px=0 qty=3 leaves=0 cum=0 reason=MarketRemainder")
	h.send(sT2, newOrderCmd(no{side: SideSell, px: 100, qty: 5, acct: "A2", cl: "s2"}))
	h.expect(h.send(sT1, newOrderCmd(no{px: 100, qty: 1, acct: "A1", cl: "po", flags: FlagPostOnly})),
		"s10 ER Rejected id=5 cl=po st=Rejected px=100 qty=1 leaves=0 cum=0 reason=PostOnlyWouldTrade")
}

func TestSelfTradePrevention(t *testing.T) {
	h := newHarness(t)
	h.mustAck(accountCmd("A1", "T1", STPModeCancelResting))
	h.send(sT1, newOrderCmd(no{side: SideSell, px: 100, qty: 5, acct: "A1", cl: "s"}))
	h.expect(h.send(sT1, newOrderCmd(no{px: 100, qty: 5, acct: "A1", cl: "b"})),
		"s10 ER New id=2 cl=b st=New px=100 qty=5 leaves=5 cum=0",
		"s10 ER Canceled id=1 cl=s st=Canceled px=100 qty=5 leaves=0 cum=0 reason=SelfTrade")
}

func TestCancel(t *testing.T) {
	h := newHarness(t)
	h.send(sT1, newOrderCmd(no{px: 100, qty: 10, acct: "A1", cl: "a"}))
	h.send(sT1, newOrderCmd(no{px: 99, qty: 10, acct: "A1", cl: "b"}))
	h.expect(h.send(sT1, cancelCmd(cx{acct: "A1", cl: "c1", orig: "a"})),
		"s10 ER Canceled id=1 cl=c1 st=Canceled px=100 qty=10 leaves=0 cum=0 orig=a reason=ClientRequest")
	h.expect(h.send(sT1, cancelCmd(cx{id: 2, acct: "A1", cl: "c2"})),
		"s10 ER Canceled id=2 cl=c2 st=Canceled px=99 qty=10 leaves=0 cum=0 orig=b reason=ClientRequest")
	h.expect(h.send(sT1, cancelCmd(cx{acct: "A1", cl: "c3", orig: "a"})),
		"s10 CXLREJ Cancel id=1 cl=c3 orig=a st=Canceled reason=TooLateToCancel")
	h.expect(h.send(sT1, cancelCmd(cx{acct: "A1", cl: "c4", orig: "nope"})),
		"s10 CXLREJ Cancel id=0 cl=c4 orig=nope st=Rejected reason=UnknownOrder")
	h.expect(h.send(sT1, cancelCmd(cx{id: 77, acct: "A1", cl: "c5"})),
		"s10 CXLREJ Cancel id=77 cl=c5 orig= st=Rejected reason=UnknownOrder")
	h.send(sT2, newOrderCmd(no{px: 98, qty: 1, acct: "A2", cl: "t2"}))
	h.expect(h.send(sT1, cancelCmd(cx{id: 3, acct: "A2", cl: "c6"})),
		"s10 CXLREJ Cancel id=3 cl=c6 orig= st=Rejected reason=NotAuthorized")
	// T1 naming the order by id under its own account does not find T2's.
	h.expect(h.send(sT1, cancelCmd(cx{id: 3, acct: "A1", cl: "c7"})),
		"s10 CXLREJ Cancel id=3 cl=c7 orig= st=Rejected reason=UnknownOrder")
	h.expect(h.send(sT2, cancelCmd(cx{id: 3, side: SideSell, acct: "A2", cl: "c8"})),
		"s20 CXLREJ Cancel id=3 cl=c8 orig= st=New reason=UnknownOrder")
}

func TestCancelAfterFullFill(t *testing.T) {
	h := newHarness(t)
	h.send(sT1, newOrderCmd(no{px: 100, qty: 2, acct: "A1", cl: "a"}))
	h.send(sT2, newOrderCmd(no{side: SideSell, px: 100, qty: 2, acct: "A2", cl: "s"}))
	h.expect(h.send(sT1, cancelCmd(cx{acct: "A1", cl: "c", orig: "a"})),
		"s10 CXLREJ Cancel id=1 cl=c orig=a st=Filled reason=TooLateToCancel")
}

func TestReplaceChain(t *testing.T) {
	h := newHarness(t)
	h.send(sT1, newOrderCmd(no{px: 100, qty: 10, acct: "A1", cl: "a"}))
	h.send(sT1, newOrderCmd(no{px: 100, qty: 5, acct: "A1", cl: "z"}))
	// Quantity down at the same price keeps priority.
	h.expect(h.send(sT1, replaceCmd(cx{acct: "A1", cl: "b", orig: "a", px: 100, qty: 8})),
		"s10 ER Replaced id=1 cl=b st=New px=100 qty=8 leaves=8 cum=0 orig=a")
	h.send(sT2, newOrderCmd(no{side: SideSell, px: 100, qty: 3, acct: "A2", cl: "s"}))
	// A replace naming the order by the ClOrdID it was replaced from is
	// refused, naming the order.
	h.expect(h.send(sT1, replaceCmd(cx{acct: "A1", cl: "c", orig: "a", px: 101, qty: 8})),
		"s10 CXLREJ Replace id=1 cl=c orig=a st=PartiallyFilled reason=UnknownOrder")
	h.expect(h.send(sT1, cancelCmd(cx{acct: "A1", cl: "c", orig: "a"})),
		"s10 CXLREJ Cancel id=1 cl=c orig=a st=PartiallyFilled reason=UnknownOrder")
	// Below the filled quantity: refused; a duplicate new ClOrdID: refused.
	h.expect(h.send(sT1, replaceCmd(cx{acct: "A1", cl: "c", orig: "b", px: 100, qty: 2})),
		"s10 CXLREJ Replace id=1 cl=c orig=b st=PartiallyFilled reason=InvalidQuantity")
	h.expect(h.send(sT1, replaceCmd(cx{acct: "A1", cl: "z", orig: "b", px: 100, qty: 4})),
		"s10 CXLREJ Replace id=1 cl=z orig=b st=PartiallyFilled reason=DuplicateClOrdID")
	h.expect(h.send(sT1, replaceCmd(cx{acct: "A1", cl: "c", orig: "b", px: 100, qty: 4, tif: TimeInForceGTC})),
		"s10 CXLREJ Replace id=1 cl=c orig=b st=PartiallyFilled reason=UnsupportedOrderType")
	// A new price loses priority and may trade at once.
	h.send(sT2, newOrderCmd(no{side: SideSell, px: 102, qty: 2, acct: "A2", cl: "s2"}))
	h.expect(h.send(sT1, replaceCmd(cx{acct: "A1", cl: "c", orig: "b", px: 102, qty: 8})),
		"s10 ER Replaced id=1 cl=c st=PartiallyFilled px=102 qty=8 leaves=5 cum=3 orig=b",
		"s20 ER Trade id=4 cl=s2 st=Filled px=102 qty=2 leaves=0 cum=2 last=2@102 trade=2 aggr=0",
		"s10 ER Trade id=1 cl=c st=PartiallyFilled px=102 qty=8 leaves=3 cum=5 orig=b last=2@102 trade=2 aggr=1")
	// Down to the filled quantity: done, as Filled.
	h.expect(h.send(sT1, replaceCmd(cx{acct: "A1", cl: "d", orig: "c", px: 102, qty: 5})),
		"s10 ER Replaced id=1 cl=d st=Filled px=102 qty=5 leaves=0 cum=5 orig=c")
	h.expect(h.send(sT1, cancelCmd(cx{acct: "A1", cl: "e", orig: "d"})),
		"s10 CXLREJ Cancel id=1 cl=e orig=d st=Filled reason=TooLateToCancel")
	h.expect(h.send(sT1, statusCmd(0, "A1", "b")),
		"s10 ER OrderStatus id=1 cl=d st=Filled px=102 qty=5 leaves=0 cum=5")
}

func TestOrderStatusAndAveragePrice(t *testing.T) {
	h := newHarness(t)
	h.send(sT2, newOrderCmd(no{side: SideSell, px: 100, qty: 1, acct: "A2", cl: "s1"}))
	h.send(sT2, newOrderCmd(no{side: SideSell, px: 103, qty: 1, acct: "A2", cl: "s2"}))
	h.send(sT1, newOrderCmd(no{px: 105, qty: 3, acct: "A1", cl: "b"}))
	h.send(sT1, statusCmd(3, "A1", ""))
	r := lastExec(t, h)
	if r.ExecType() != ExecTypeOrderStatus || r.CumQty() != 2 || r.CumNotional() != 203 || r.LeavesQty() != 1 {
		t.Fatalf("status %s", r)
	}
	h.expect(h.send(sT1, statusCmd(42, "A1", "")),
		"s10 ER OrderStatus id=42 cl= st=Rejected px=0 qty=0 leaves=0 cum=0 reason=UnknownOrder")
	h.expect(h.send(sT1, statusCmd(1, "A2", "")),
		"s10 ER OrderStatus id=1 cl= st=Rejected px=0 qty=0 leaves=0 cum=0 reason=NotAuthorized")
}

func lastExec(t *testing.T, h *harness) ExecutionReport {
	t.Helper()
	raw := h.eg.raw[len(h.eg.raw)-ExecutionReportLength:]
	tmpl, body, err := Decode(raw)
	if err != nil || tmpl != TemplateExecutionReport {
		t.Fatalf("last report is not an ExecutionReport: %v %v", tmpl, err)
	}
	return ExecutionReport(body)
}

func TestEveryReportCarriesPositionTimeAndState(t *testing.T) {
	h := newHarness(t)
	h.now = 777
	h.send(sT2, newOrderCmd(no{side: SideSell, px: 100, qty: 1, acct: "A2", cl: "s1"}))
	h.send(sT1, newOrderCmd(no{px: 100, qty: 1, acct: "A1", cl: "b"}))
	r := lastExec(t, h)
	if r.LogPosition() != h.pos || r.ClusterTime() != 777 || r.TradingState() != TradingStateOpen ||
		string(r.Principal()) != "T1" || string(r.Account()) != "A1" || r.Instrument() != 1 || r.ExecID() == 0 {
		t.Fatalf("report %s at position %d", r, h.pos)
	}
}

func TestExactlyOnce(t *testing.T) {
	h := newHarness(t)
	h.send(sGW, sessionStatusCmd("G1", SessionStateLoggedOn, false, false))
	h.expect(h.send(sGW, newOrderCmd(no{seq: 5, px: 100, qty: 1, acct: "G1", cl: "o1", principal: "G1"})),
		"s30 ER New id=1 cl=o1 st=New px=100 qty=1 leaves=1 cum=0")
	// The same command again (a gateway restarted before storing its
	// sequence number): a status report, not a second order.
	h.expect(h.send(sGW, newOrderCmd(no{seq: 5, px: 100, qty: 1, acct: "G1", cl: "o1", principal: "G1"})),
		"s30 ER OrderStatus id=1 cl=o1 st=New px=100 qty=1 leaves=1 cum=0 reason=DuplicateMessage")
	h.expect(h.send(sGW, newOrderCmd(no{seq: 4, px: 100, qty: 1, acct: "G1", cl: "never", principal: "G1"})),
		"s30 BREJ NewOrder reason=DuplicateMessage")
	h.expect(h.send(sGW, cancelCmd(cx{seq: 3, acct: "G1", cl: "x", orig: "o1", princ: "G1"})),
		"s30 ER OrderStatus id=1 cl=o1 st=New px=100 qty=1 leaves=1 cum=0 reason=DuplicateMessage")
	// Another principal's sequence is its own.
	h.send(sGW, sessionStatusCmd("G2", SessionStateLoggedOn, false, false))
	h.expect(h.send(sGW, newOrderCmd(no{seq: 1, px: 100, qty: 1, acct: "G2", cl: "o1", principal: "G2"})),
		"s30 ER New id=2 cl=o1 st=New px=100 qty=1 leaves=1 cum=0")
	// PossResend with a known ClOrdID: status; ClOrdID reused without it: reject.
	h.expect(h.send(sGW, newOrderCmd(no{seq: 6, px: 100, qty: 1, acct: "G1", cl: "o1", principal: "G1", flags: FlagPossResend})),
		"s30 ER OrderStatus id=1 cl=o1 st=New px=100 qty=1 leaves=1 cum=0")
	h.expect(h.send(sGW, newOrderCmd(no{seq: 7, px: 100, qty: 1, acct: "G1", cl: "o1", principal: "G1"})),
		"s30 ER Rejected id=0 cl=o1 st=Rejected px=100 qty=1 leaves=0 cum=0 reason=DuplicateClOrdID")
	// A logon with ResetSeq starts the sequence again.
	h.send(sGW, sessionStatusCmd("G1", SessionStateLoggedOn, false, true))
	h.expect(h.send(sGW, newOrderCmd(no{seq: 1, px: 100, qty: 1, acct: "G1", cl: "o2", principal: "G1"})),
		"s30 ER New id=3 cl=o2 st=New px=100 qty=1 leaves=1 cum=0")
	// The high-water mark survives a snapshot.
	h.restart()
	h.expect(h.send(sGW, newOrderCmd(no{seq: 1, px: 100, qty: 1, acct: "G1", cl: "o2", principal: "G1"})),
		"s30 ER OrderStatus id=3 cl=o2 st=New px=100 qty=1 leaves=1 cum=0 reason=DuplicateMessage")
}

// restart moves the harness to a fresh engine restored from a snapshot of
// the current one, checking the digest survives.
func (h *harness) restart() {
	h.t.Helper()
	snap := h.e.AppendSnapshot(nil)
	e, err := New(Config{BootstrapAdmin: "ADMIN", CancelOnDisconnectDefault: true, Egress: h.eg, Timers: h.timers, MarketData: h.md})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := e.OnStart(snap); err != nil {
		h.t.Fatal(err)
	}
	if e.Digest() != h.e.Digest() {
		h.t.Fatal("digest changed across snapshot and restore")
	}
	if err := e.Check(); err != nil {
		h.t.Fatal(err)
	}
	h.e = e
}

func TestPossResendOfUnknownClOrdIDIsANewOrder(t *testing.T) {
	h := newHarness(t)
	h.expect(h.send(sT1, newOrderCmd(no{px: 100, qty: 1, acct: "A1", cl: "n", flags: FlagPossResend})),
		"s10 ER New id=1 cl=n st=New px=100 qty=1 leaves=1 cum=0")
}

func TestRejectsCarryOnlyWhatTheCommandSaid(t *testing.T) {
	h := newHarness(t)
	got := h.send(sT1, newOrderCmd(no{px: 100, qty: 1, acct: "A1", cl: strings.Repeat("x", 32)}))
	if len(got) != 1 || !strings.Contains(got[0], "ER New") {
		t.Fatalf("a 32-character ClOrdID was refused: %v", got)
	}
}

func TestMalformedIdentifiersFoundWhereLookupsFail(t *testing.T) {
	h := newHarness(t)
	h.expect(h.send(sT1, newOrderCmd(no{px: 1, qty: 1, acct: "A 1", cl: "x"})),
		"s10 ER Rejected id=0 cl=x st=Rejected px=1 qty=1 leaves=0 cum=0 reason=Malformed")
	h.expect(h.send(sT1, cancelCmd(cx{acct: "A1", cl: "c", orig: "b\x01d"})),
		"s10 CXLREJ Cancel id=0 cl=c orig=b\x01d st=Rejected reason=Malformed")
	h.expect(h.send(sT1, cancelCmd(cx{acct: "A\x7f", cl: "c", orig: "x"})),
		"s10 CXLREJ Cancel id=0 cl=c orig=x st=Rejected reason=Malformed")
	if h.e.Counters().Malformed != 3 {
		t.Fatalf("malformed %d", h.e.Counters().Malformed)
	}
}
