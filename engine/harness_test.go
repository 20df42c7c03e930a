package engine

import (
	"fmt"
	"strings"
	"testing"
)

// recEgress records every report as a compact line, and the raw bytes.
type recEgress struct {
	lines []string
	raw   []byte
}

func (r *recEgress) Send(s SessionID, msg []byte) {
	r.raw = append(r.raw, msg...)
	r.lines = append(r.lines, r.line(s, msg))
}

func (*recEgress) line(s SessionID, msg []byte) string {
	return fmt.Sprintf("s%d %s", s, renderReport(msg))
}

// renderReport is a short text form of a report for test expectations.
func renderReport(msg []byte) string {
	t, body, err := Decode(msg)
	if err != nil {
		return "undecodable: " + err.Error()
	}
	switch t {
	case TemplateExecutionReport:
		r := ExecutionReport(body)
		s := fmt.Sprintf("ER %v id=%d cl=%s st=%v px=%d qty=%d leaves=%d cum=%d", r.ExecType(), r.OrderID(), r.ClOrdID(),
			r.OrdStatus(), r.Price(), r.Quantity(), r.LeavesQty(), r.CumQty())
		if len(r.OrigClOrdID()) > 0 {
			s += fmt.Sprintf(" orig=%s", r.OrigClOrdID())
		}
		if r.ExecType() == ExecTypeTrade {
			s += fmt.Sprintf(" last=%d@%d trade=%d aggr=%d", r.LastQty(), r.LastPx(), r.TradeID(), r.Aggressor())
		}
		if r.Reason() != ReasonNone {
			s += fmt.Sprintf(" reason=%v", r.Reason())
		}
		return s
	case TemplateCancelReject:
		r := CancelReject(body)
		return fmt.Sprintf("CXLREJ %v id=%d cl=%s orig=%s st=%v reason=%v", r.ResponseTo(), r.OrderID(), r.ClOrdID(), r.OrigClOrdID(), r.OrdStatus(), r.Reason())
	case TemplateBusinessReject:
		r := BusinessReject(body)
		return fmt.Sprintf("BREJ %v reason=%v", TemplateID(r.RefTemplateID()), r.Reason())
	case TemplateMassCancelReport:
		r := MassCancelReport(body)
		return fmt.Sprintf("MCR %v count=%d reason=%v", r.Scope(), r.CancelledCount(), r.Reason())
	case TemplateInstrumentDefinition:
		r := InstrumentDefinition(body)
		return fmt.Sprintf("DEF %d %s %v last=%d", r.Instrument(), r.Symbol(), r.State(), r.Last())
	}
	return t.String()
}

// recSink records market-data calls as lines.
type recSink struct{ lines []string }

func (s *recSink) OnInstrument(d InstrumentInfo, pos, now int64) {
	s.lines = append(s.lines, fmt.Sprintf("I %d %s %v @%d", d.ID, d.SymbolString(), d.State, pos))
}
func (s *recSink) OnLevel(inst uint32, side Side, px, qty int64, n int32, pos, now int64) {
	s.lines = append(s.lines, fmt.Sprintf("L %d %v %d %d/%d @%d", inst, side, px, qty, n, pos))
}
func (s *recSink) OnTrade(inst uint32, id uint64, px, qty int64, aggr Side, pos, now int64) {
	s.lines = append(s.lines, fmt.Sprintf("T %d #%d %d@%d %v @%d", inst, id, qty, px, aggr, pos))
}
func (s *recSink) OnTradingState(inst uint32, st TradingState, pos, now int64) {
	s.lines = append(s.lines, fmt.Sprintf("S %d %v @%d", inst, st, pos))
}
func (s *recSink) OnApplied(pos, now int64) { s.lines = append(s.lines, fmt.Sprintf("A @%d", pos)) }

// fakeTimers records scheduled timers.
type fakeTimers struct{ deadlines map[int64]int64 }

func (f *fakeTimers) ScheduleTimer(id, deadline int64) { f.deadlines[id] = deadline }
func (f *fakeTimers) CancelTimer(id int64)             { delete(f.deadlines, id) }

// Sessions of the standard harness.
const (
	sAdmin SessionID = 1
	sT1    SessionID = 10
	sT2    SessionID = 20
	sGW    SessionID = 30
)

// harness drives an engine with a standard setup: admin ADMIN; traders T1
// (account A1, also A3) and T2 (account A2); gateway GW carrying G1
// (account G1); instruments 1 ALPHA and 2 BETA, tick 1, lot 1, open.
type harness struct {
	t      testing.TB
	e      *Engine
	eg     *recEgress
	md     *recSink
	timers *fakeTimers
	pos    int64
	now    int64
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	h := &harness{t: t, eg: &recEgress{}, md: &recSink{}, timers: &fakeTimers{deadlines: map[int64]int64{}}, now: 1000}
	e, err := New(Config{BootstrapAdmin: "ADMIN", CancelOnDisconnectDefault: true, Egress: h.eg, Timers: h.timers, MarketData: h.md})
	if err != nil {
		t.Fatal(err)
	}
	h.e = e
	h.open(sAdmin, "ADMIN")
	h.mustAck(principalCmd("T1", RoleTrader), principalCmd("T2", RoleTrader), principalCmd("GW", RoleGateway),
		principalCmd("G1", RoleTrader), principalCmd("G2", RoleTrader),
		accountCmd("A1", "T1", STPModeNone), accountCmd("A3", "T1", STPModeNone), accountCmd("A2", "T2", STPModeNone),
		accountCmd("G1", "G1", STPModeNone), accountCmd("G2", "G2", STPModeNone),
		instrumentCmd(1, "ALPHA", TradingStateOpen), instrumentCmd(2, "BETA", TradingStateOpen))
	h.open(sT1, "T1")
	h.open(sT2, "T2")
	h.open(sGW, "GW")
	h.eg.lines, h.md.lines = nil, nil
	return h
}

func (h *harness) open(s SessionID, principal string) {
	h.pos += 64
	h.e.OnSessionOpen(s, []byte(principal), h.pos, h.now)
}

func (h *harness) close(s SessionID) []string {
	h.pos += 64
	n := len(h.eg.lines)
	h.e.OnSessionClose(s, CloseTimeout, h.pos, h.now)
	return h.eg.lines[n:]
}

// send applies one command and returns the report lines it produced.
func (h *harness) send(s SessionID, msg []byte) []string {
	h.t.Helper()
	h.pos += 128
	n := len(h.eg.lines)
	h.e.OnSessionMessage(s, h.pos, h.now, msg)
	if err := h.e.Check(); err != nil {
		h.t.Fatalf("after %s: %v", renderCommand(msg), err)
	}
	return h.eg.lines[n:]
}

func (h *harness) timer(id int64) []string {
	h.pos += 64
	n := len(h.eg.lines)
	h.e.OnTimerEvent(id, h.pos, h.now)
	return h.eg.lines[n:]
}

func (h *harness) mustAck(msgs ...[]byte) {
	h.t.Helper()
	for _, m := range msgs {
		got := h.send(sAdmin, m)
		if len(got) != 1 || !strings.HasSuffix(got[0], "reason=None") {
			h.t.Fatalf("%s: %v", renderCommand(m), got)
		}
	}
}

// expect compares report lines with want.
func (h *harness) expect(got []string, want ...string) {
	h.t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		h.t.Fatalf("reports:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func renderCommand(msg []byte) string {
	t, body, err := Decode(msg)
	if err != nil {
		return fmt.Sprintf("undecodable(%v)", err)
	}
	return string(AppendMessageText(nil, t, body))
}

// Command builders.

type no struct {
	seq       uint64
	px, qty   int64
	inst      uint32
	side      Side
	typ       OrdType
	tif       TimeInForce
	flags     uint8
	acct, cl  string
	principal string
}

func newOrderCmd(o no) []byte {
	if o.side == 0 {
		o.side = SideBuy
	}
	if o.typ == 0 {
		o.typ = OrdTypeLimit
	}
	if o.inst == 0 {
		o.inst = 1
	}
	b, m := AppendNewOrder(nil)
	m.SetSenderSeq(o.seq)
	m.SetPrice(o.px)
	m.SetQuantity(o.qty)
	m.SetInstrument(o.inst)
	m.SetSide(o.side)
	m.SetOrdType(o.typ)
	m.SetTimeInForce(o.tif)
	m.SetFlags(o.flags)
	m.SetAccount(o.acct)
	m.SetPrincipal(o.principal)
	m.SetClOrdID(o.cl)
	return b
}

type cx struct {
	seq                   uint64
	id                    uint64
	inst                  uint32
	side                  Side
	acct, cl, orig, princ string
	px, qty               int64
	typ                   OrdType
	tif                   TimeInForce
	flags                 uint8
}

func (c *cx) defaults() {
	if c.side == 0 {
		c.side = SideBuy
	}
	if c.inst == 0 {
		c.inst = 1
	}
	if c.typ == 0 {
		c.typ = OrdTypeLimit
	}
}

func cancelCmd(c cx) []byte {
	c.defaults()
	b, m := AppendCancelOrder(nil)
	m.SetSenderSeq(c.seq)
	m.SetOrderID(c.id)
	m.SetInstrument(c.inst)
	m.SetSide(c.side)
	m.SetAccount(c.acct)
	m.SetPrincipal(c.princ)
	m.SetClOrdID(c.cl)
	m.SetOrigClOrdID(c.orig)
	return b
}

func replaceCmd(c cx) []byte {
	c.defaults()
	b, m := AppendReplaceOrder(nil)
	m.SetSenderSeq(c.seq)
	m.SetOrderID(c.id)
	m.SetPrice(c.px)
	m.SetQuantity(c.qty)
	m.SetInstrument(c.inst)
	m.SetSide(c.side)
	m.SetOrdType(c.typ)
	m.SetTimeInForce(c.tif)
	m.SetFlags(c.flags)
	m.SetAccount(c.acct)
	m.SetPrincipal(c.princ)
	m.SetClOrdID(c.cl)
	m.SetOrigClOrdID(c.orig)
	return b
}

func massCancelCmd(scope MassCancelScope, inst uint32, acct, principal, cl string) []byte {
	b, m := AppendMassCancel(nil)
	m.SetScope(scope)
	m.SetInstrument(inst)
	m.SetAccount(acct)
	m.SetPrincipal(principal)
	m.SetClOrdID(cl)
	return b
}

func statusCmd(id uint64, acct, cl string) []byte {
	b, m := AppendOrderStatusRequest(nil)
	m.SetOrderID(id)
	m.SetInstrument(1)
	m.SetSide(SideBuy)
	m.SetAccount(acct)
	m.SetClOrdID(cl)
	return b
}

func sessionStatusCmd(principal string, st SessionState, cod, reset bool) []byte {
	b, m := AppendSessionStatus(nil)
	m.SetState(st)
	m.SetPrincipal(principal)
	if cod {
		m.SetCancelOnDisconnect(1)
	}
	if reset {
		m.SetResetSeq(1)
	}
	return b
}

func principalCmd(name string, role Role) []byte {
	b, m := AppendSetPrincipal(nil)
	m.SetPrincipal(name)
	m.SetRole(role)
	return b
}

func accountCmd(acct, principal string, stp STPMode) []byte {
	b, m := AppendSetAccount(nil)
	m.SetAccount(acct)
	m.SetPrincipal(principal)
	m.SetEnabled(1)
	m.SetSTPMode(stp)
	return b
}

func instrumentCmd(id uint32, sym string, st TradingState) []byte {
	b, m := AppendAddInstrument(nil)
	m.SetInstrument(id)
	m.SetSymbol(sym)
	m.SetTickSize(1)
	m.SetLotSize(1)
	m.SetState(st)
	return b
}

func stateCmd(id uint32, st TradingState, at int64) []byte {
	b, m := AppendSetTradingState(nil)
	m.SetInstrument(id)
	m.SetState(st)
	m.SetEffectiveTime(at)
	return b
}

// get1 returns the index stored for k, or -1.
func (t *nameIndex) get1(k [16]byte) int32 {
	if v, ok := t.get(k); ok {
		return v
	}
	return -1
}
