package engine

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// logKind is the kind of one recorded log entry.
type logKind uint8

const (
	logOpen logKind = iota + 1
	logClose
	logMessage
	logTimer
)

// logEntry is one entry of a recorded cluster log.
type logEntry struct {
	kind      logKind
	session   SessionID
	principal string
	payload   []byte
	timerID   int64
	pos, now  int64
}

// outRecorder records every output byte of an engine: reports with their
// session, and market-data calls.
type outRecorder struct {
	buf bytes.Buffer
}

func (r *outRecorder) Send(s SessionID, msg []byte) {
	binary.Write(&r.buf, binary.LittleEndian, int64(s))
	r.buf.Write(msg)
}

// OnReport records the report tap's stream too (marked R): it must be as
// deterministic as Egress.
func (r *outRecorder) OnReport(s SessionID, msg []byte) {
	r.buf.WriteByte('R')
	binary.Write(&r.buf, binary.LittleEndian, int64(s))
	r.buf.Write(msg)
}
func (r *outRecorder) OnInstrument(d InstrumentInfo, pos, now int64) {
	fmt.Fprintf(&r.buf, "I%+v%d%d", d, pos, now)
}
func (r *outRecorder) OnLevel(inst uint32, side Side, px, qty int64, n int32, pos, now int64) {
	fmt.Fprintf(&r.buf, "L%d,%d,%d,%d,%d,%d,%d", inst, side, px, qty, n, pos, now)
}
func (r *outRecorder) OnTrade(inst uint32, id uint64, px, qty int64, aggr Side, pos, now int64) {
	fmt.Fprintf(&r.buf, "T%d,%d,%d,%d,%d,%d,%d", inst, id, px, qty, aggr, pos, now)
}
func (r *outRecorder) OnTradingState(inst uint32, st TradingState, pos, now int64) {
	fmt.Fprintf(&r.buf, "S%d,%d,%d,%d", inst, st, pos, now)
}
func (r *outRecorder) OnApplied(pos, now int64) { fmt.Fprintf(&r.buf, "A%d,%d", pos, now) }

// logTimers is the recording run's timer service: the deterministic
// driver appends a timer event once cluster time passes a deadline.
type logTimers struct{ pending map[int64]int64 }

func (t *logTimers) ScheduleTimer(id, deadline int64) { t.pending[id] = deadline }
func (t *logTimers) CancelTimer(id int64)             { delete(t.pending, id) }

// nopTimers ignores scheduling: a replaying engine gets its timer events
// from the log.
type nopTimers struct{}

func (nopTimers) ScheduleTimer(int64, int64) {}
func (nopTimers) CancelTimer(int64)          {}

func newLogEngine(t testing.TB, out *outRecorder, timers Timers) *Engine {
	e, err := New(Config{BootstrapAdmin: "ADMIN", CancelOnDisconnectDefault: true, Egress: out, ReportTap: out, MarketData: out, Timers: timers})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func apply(e *Engine, x *logEntry) {
	switch x.kind {
	case logOpen:
		e.OnSessionOpen(x.session, []byte(x.principal), x.pos, x.now)
	case logClose:
		e.OnSessionClose(x.session, CloseTimeout, x.pos, x.now)
	case logMessage:
		e.OnSessionMessage(x.session, x.pos, x.now, x.payload)
	case logTimer:
		e.OnTimerEvent(x.timerID, x.pos, x.now)
	}
}

// generator produces a random but reproducible command stream over
// several instruments, traders and a gateway, including rejects,
// duplicates, garbage, trading-state changes with timers and disconnects.
type generator struct {
	rng      *rand.Rand
	e        *Engine // the recording engine, which schedules timers
	timers   *logTimers
	log      []logEntry
	pos, now int64
	cl       map[string][]string // account -> ClOrdIDs sent
	seq      map[string]uint64
	n        int
}

var (
	genTraders  = []string{"T1", "T2", "T3"}
	genGwUsers  = []string{"G1", "G2", "G3"}
	genAccounts = map[string]string{"T1": "A1", "T2": "A2", "T3": "A3", "G1": "B1", "G2": "B2", "G3": "B3"}
)

func (g *generator) emit(x logEntry) {
	g.pos += 64 + int64(len(x.payload))
	g.now += 1 + int64(g.rng.IntN(1000))
	x.pos, x.now = g.pos, g.now
	g.log = append(g.log, x)
	apply(g.e, &g.log[len(g.log)-1])
	g.fireTimers()
}

// fireTimers appends the timer events whose deadlines passed, in
// correlation-id order.
func (g *generator) fireTimers() {
	var due []int64
	for id, d := range g.timers.pending {
		if d <= g.now {
			due = append(due, id)
		}
	}
	slices.Sort(due)
	for _, id := range due {
		delete(g.timers.pending, id)
		g.pos += 32
		g.log = append(g.log, logEntry{kind: logTimer, timerID: id, pos: g.pos, now: g.now})
		apply(g.e, &g.log[len(g.log)-1])
	}
}

func (g *generator) msg(s SessionID, b []byte) {
	g.emit(logEntry{kind: logMessage, session: s, payload: b})
}

func (g *generator) setup() {
	g.emit(logEntry{kind: logOpen, session: 1, principal: "ADMIN"})
	for i, p := range append(append([]string{}, genTraders...), genGwUsers...) {
		g.msg(1, principalCmd(p, RoleTrader))
		g.msg(1, accountCmd(genAccounts[p], p, STPMode(i%4)))
	}
	g.msg(1, principalCmd("GW", RoleGateway))
	for id := uint32(0); id < 4; id++ {
		g.msg(1, instrumentCmd(id, fmt.Sprintf("SYM%d", id), TradingStateOpen))
	}
	for i := range genTraders {
		g.emit(logEntry{kind: logOpen, session: SessionID(10 + i), principal: genTraders[i]})
	}
	g.emit(logEntry{kind: logOpen, session: 30, principal: "GW"})
	for _, p := range genGwUsers {
		g.msg(30, sessionStatusCmd(p, SessionStateLoggedOn, g.rng.IntN(2) == 0, false))
	}
}

// actor picks who sends the next command: a trader directly or a gateway
// user through the gateway session.
func (g *generator) actor() (SessionID, string, string) {
	if i := g.rng.IntN(6); i < 3 {
		return SessionID(10 + i), "", genAccounts[genTraders[i]]
	} else {
		p := genGwUsers[i-3]
		return 30, p, genAccounts[p]
	}
}

func (g *generator) nextSeq(principal string, s SessionID) uint64 {
	key := principal
	if key == "" {
		key = genTraders[s-10]
	}
	if g.rng.IntN(50) == 0 && g.seq[key] > 0 {
		return g.seq[key] // a duplicate
	}
	g.seq[key]++
	return g.seq[key]
}

func (g *generator) pickClOrd(acct string) string {
	ids := g.cl[acct]
	if len(ids) == 0 || g.rng.IntN(20) == 0 {
		return "nope"
	}
	return ids[len(ids)-1-g.rng.IntN(min(len(ids), 30))]
}

func (g *generator) step() {
	s, principal, acct := g.actor()
	inst := uint32(g.rng.IntN(4))
	side := Side(1 + g.rng.IntN(2))
	px := int64(95 + g.rng.IntN(11))
	switch r := g.rng.IntN(100); {
	case r < 55:
		g.n++
		cl := fmt.Sprintf("o%d", g.n)
		g.cl[acct] = append(g.cl[acct], cl)
		o := no{seq: g.nextSeq(principal, s), px: px, qty: int64(1 + g.rng.IntN(20)), inst: inst, side: side,
			tif:  []TimeInForce{TimeInForceDay, TimeInForceGTC, TimeInForceIOC, TimeInForceFOK}[g.rng.IntN(4)],
			acct: acct, cl: cl, principal: principal}
		if g.rng.IntN(10) == 0 {
			o.typ = OrdTypeMarket
		}
		if g.rng.IntN(15) == 0 {
			o.flags = FlagPostOnly
		}
		g.msg(s, newOrderCmd(o))
	case r < 75:
		g.n++
		g.msg(s, cancelCmd(cx{seq: g.nextSeq(principal, s), inst: inst, side: side, acct: acct, princ: principal,
			cl: fmt.Sprintf("c%d", g.n), orig: g.pickClOrd(acct)}))
	case r < 90:
		g.n++
		cl := fmt.Sprintf("r%d", g.n)
		orig := g.pickClOrd(acct)
		g.cl[acct] = append(g.cl[acct], cl)
		g.msg(s, replaceCmd(cx{seq: g.nextSeq(principal, s), inst: inst, side: side, acct: acct, princ: principal,
			cl: cl, orig: orig, px: px, qty: int64(1 + g.rng.IntN(20))}))
	case r < 93:
		g.msg(s, statusCmd(uint64(g.rng.IntN(g.n+1)), acct, ""))
	case r < 95:
		scope := MassCancelScope(1 + g.rng.IntN(4))
		mc := massCancelCmd(scope, inst, acct, principal, "mc")
		MassCancel(mc[HeaderLength:]).SetSide(Side(g.rng.IntN(3))) // 0: both sides
		g.msg(s, mc)
	case r < 97:
		g.tradingStateChange()
	case r < 98:
		g.reconnect()
	default:
		garbage := make([]byte, g.rng.IntN(120))
		for i := range garbage {
			garbage[i] = byte(g.rng.Uint32())
		}
		if len(garbage) >= HeaderLength && g.rng.IntN(2) == 0 {
			binary.LittleEndian.PutUint16(garbage[4:], SchemaID)
			binary.LittleEndian.PutUint16(garbage[6:], SchemaVersion)
		}
		g.msg(s, garbage)
	}
}

func (g *generator) tradingStateChange() {
	inst := uint32(g.rng.IntN(4))
	if g.rng.IntN(4) == 0 {
		inst = AllInstruments
	}
	st := TradingState(1 + g.rng.IntN(4))
	var at int64
	if g.rng.IntN(2) == 0 {
		at = g.now + int64(g.rng.IntN(20000))
	}
	g.msg(1, stateCmd(inst, st, at))
	if g.rng.IntN(3) == 0 {
		g.msg(1, stateCmd(inst, TradingStateOpen, at+int64(g.rng.IntN(20000))))
	}
}

// reconnect closes a session (cancel-on-disconnect) and opens it again, or
// logs a gateway user off and on.
func (g *generator) reconnect() {
	if g.rng.IntN(2) == 0 {
		i := g.rng.IntN(len(genTraders))
		g.emit(logEntry{kind: logClose, session: SessionID(10 + i)})
		g.emit(logEntry{kind: logOpen, session: SessionID(10 + i), principal: genTraders[i]})
		return
	}
	p := genGwUsers[g.rng.IntN(len(genGwUsers))]
	g.msg(30, sessionStatusCmd(p, SessionStateLoggedOff, false, false))
	g.msg(30, sessionStatusCmd(p, SessionStateLoggedOn, g.rng.IntN(2) == 0, g.rng.IntN(4) == 0))
}

// recordLog generates a log of about n commands with seed.
func recordLog(t testing.TB, seed uint64, n int) ([]logEntry, *outRecorder) {
	out := &outRecorder{}
	timers := &logTimers{pending: map[int64]int64{}}
	g := &generator{rng: rand.New(rand.NewPCG(seed, 0x5eed)), timers: timers,
		cl: map[string][]string{}, seq: map[string]uint64{}}
	g.e = newLogEngine(t, out, timers)
	g.setup()
	for range n {
		g.step()
	}
	if err := g.e.Check(); err != nil {
		t.Fatal(err)
	}
	return g.log, out
}

func TestDeterminismTwoEnginesAndSnapshotInTheMiddle(t *testing.T) {
	const commands = 6000
	log, recorded := recordLog(t, 42, commands)

	// Two fresh engines replaying the same log.
	var outs [2]outRecorder
	var digests [2][32]byte
	for i := range outs {
		e := newLogEngine(t, &outs[i], nopTimers{})
		for j := range log {
			apply(e, &log[j])
		}
		digests[i] = e.Digest()
		if err := e.Check(); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(outs[0].buf.Bytes(), recorded.buf.Bytes()) || !bytes.Equal(outs[1].buf.Bytes(), recorded.buf.Bytes()) {
		t.Fatal("replays produced different output from the recording run")
	}
	if digests[0] != digests[1] {
		t.Fatal("replays reached different digests")
	}

	// Snapshot in the middle (at several points), restore, continue.
	for _, cut := range []int{len(log) / 3, len(log) / 2, len(log) - 5} {
		var before, after outRecorder
		e := newLogEngine(t, &before, nopTimers{})
		for j := range log[:cut] {
			apply(e, &log[j])
		}
		snap := e.AppendSnapshot(nil)
		r := newLogEngine(t, &after, nopTimers{})
		if err := r.OnStart(snap); err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		if r.Digest() != e.Digest() {
			t.Fatalf("cut %d: digest changed by snapshot and restore", cut)
		}
		for j := cut; j < len(log); j++ {
			apply(r, &log[j])
		}
		if r.Digest() != digests[0] {
			t.Fatalf("cut %d: restored engine ended at another digest", cut)
		}
		combined := append(before.buf.Bytes(), after.buf.Bytes()...)
		if !bytes.Equal(combined, outs[0].buf.Bytes()) {
			t.Fatalf("cut %d: output differs after restore (first difference at byte %d)", cut, firstDiff(combined, outs[0].buf.Bytes()))
		}
	}
	t.Logf("%d log entries, %d output bytes", len(log), outs[0].buf.Len())
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// The stream must exercise what it claims to: trades, rejects, replaces,
// expiries, timers and disconnect cancels all occur.
func TestGeneratedLogCoversTheEngine(t *testing.T) {
	log, _ := recordLog(t, 42, 6000)
	h := &harness{t: t, eg: &recEgress{}, md: &recSink{}}
	e, _ := New(Config{BootstrapAdmin: "ADMIN", CancelOnDisconnectDefault: true, Egress: h.eg, MarketData: h.md, Timers: nopTimers{}})
	for j := range log {
		apply(e, &log[j])
	}
	seen := map[string]bool{}
	for _, l := range h.eg.lines {
		for _, k := range []string{"ER Trade", "ER Replaced", "ER Expired", "reason=CancelOnDisconnect", "reason=DuplicateMessage",
			"CXLREJ", "BREJ", "MCR", "reason=SelfTrade", "reason=TradingHalted", "reason=FOKCannotFill", "ER OrderStatus"} {
			if contains(l, k) {
				seen[k] = true
			}
		}
	}
	timers := 0
	for _, x := range log {
		if x.kind == logTimer {
			timers++
		}
	}
	if len(seen) != 12 || timers == 0 {
		t.Fatalf("the generated log misses some behaviour: saw %v, %d timer events", seen, timers)
	}
}
