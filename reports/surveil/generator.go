package surveil

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"

	"venue/engine"
)

// The generated day: its venue set-up and its flow. Prices are in ticks
// (tick 1, lot 1); cluster time starts at dayStartNs.
const (
	dayStartNs        = int64(9 * 3600 * 1e9) // 09:00 on the day's clock
	logEntryBytes     = 128                   // log position advance per command
	mmLevels          = 5                     // levels each market maker quotes per side
	mmQtyMin          = 5                     // market maker quote size, lots
	mmQtySpread       = 11                    // quote size is mmQtyMin + [0, mmQtySpread)
	takerQtyMax       = 8                     // taker order size is 1..takerQtyMax lots
	midStepPermille   = 20                    // chance per background step that a mid moves a tick, ‰
	replacePermille   = 200                   // share of requotes sent as a replace, ‰
	takerPermille     = 350                   // share of background steps that are a taker order, ‰
	closingPhaseNs    = int64(150e9)          // background after the requested events, before the close
	defaultStepNs     = int64(20e6)           // mean cluster time between background commands
	generatedRefPrice = 10_000
	dayAdmin          = "ADMIN"
)

// Accounts of the generated day. Market makers quote, takers cross the
// spread; every other account carries one injected abuse case.
var (
	dayMarketMakers = []string{"MM1", "MM2", "MM3"}
	dayTakers       = []string{"T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8"}
	daySymbols      = []string{"ALPHA", "BETA", "GAMMA"}
	// dayWeightsPermille is each instrument's share of the background flow.
	dayWeightsPermille = []int{600, 300, 100}
)

// DayConfig configures GenerateDay.
type DayConfig struct {
	Seed   uint64
	Events int   // order events of background flow to generate (the day then runs its closing phase and closes)
	StepNs int64 // mean cluster time between background commands (0: 20ms)
	Inject bool  // inject the abuse suite (InjectedCases)
	// Log, if set, receives the day as a recorded log (see Replay).
	Log io.Writer
}

// Injected is one abuse case the generator injected.
type Injected struct {
	Type       Type
	Account    string
	Instrument uint32
	Time       int64 // cluster time the case began
}

// DayResult describes a generated day.
type DayResult struct {
	Commands   uint64     // commands applied to the engine
	Events     uint64     // order events the Recorder handed on
	Injected   []Injected // what was injected, in order
	Start, End int64      // cluster time of the first and last command
}

// DayRules are the default rules plus what the generated day's venue
// declares: its linked accounts.
func DayRules() Rules {
	r := DefaultRules()
	r.Linked = [][]string{{"LINKA", "LINKB"}}
	return r
}

// ErrGenerator marks a generated command the engine did not accept.
var ErrGenerator = errors.New("surveil: generator")

// GenerateDay drives a real engine, in process and with a fake clock,
// through a trading day: set-up, background flow (market makers and
// takers on three instruments) with the abuse suite injected at fixed
// points if cfg.Inject, a closing phase, and the close. Every report and
// market-data change goes through a Recorder to h.
func GenerateDay(cfg DayConfig, h Handler) (DayResult, error) {
	g, err := newGenerator(cfg, h)
	if err != nil {
		return DayResult{}, err
	}
	return g.run()
}

// generator is one generated day in progress.
type generator struct {
	cfg      DayConfig
	e        *engine.Engine
	rec      *Recorder
	rng      *rand.Rand
	pos, now int64
	res      DayResult
	sessions map[string]engine.SessionID
	mid      []int64
	slots    []uint64 // market maker quotes: [mm][inst][side][level] -> ClOrdID number
	alive    []bool   // by ClOrdID number
	nextCl   uint64
	buf      []byte
	failed   error
	log      *logWriter
}

// tap keeps the generator's view of which of its orders are live.
type tap struct {
	g *generator
	h Handler
}

func (t tap) OnEvent(ev *Event, m *Market) {
	t.g.track(ev)
	t.h.OnEvent(ev, m)
}

func newGenerator(cfg DayConfig, h Handler) (*generator, error) {
	if cfg.StepNs <= 0 {
		cfg.StepNs = defaultStepNs
	}
	if cfg.Events < 0 {
		return nil, fmt.Errorf("%w: negative event count", ErrGenerator)
	}
	g := &generator{cfg: cfg, rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		now: dayStartNs, sessions: map[string]engine.SessionID{}, nextCl: 1}
	g.rec = NewRecorder(tap{g: g, h: h})
	e, err := engine.New(engine.Config{BootstrapAdmin: dayAdmin, Egress: g.rec, MarketData: g.rec})
	if err != nil {
		return nil, fmt.Errorf("surveil: generator: %w", err)
	}
	g.e = e
	if cfg.Log != nil {
		g.log = newLogWriter(cfg.Log, dayAdmin)
	}
	g.slots = make([]uint64, len(dayMarketMakers)*len(daySymbols)*2*mmLevels)
	for range daySymbols {
		g.mid = append(g.mid, generatedRefPrice)
	}
	return g, nil
}

func (g *generator) run() (DayResult, error) {
	g.setup()
	g.res.Start = g.now
	cases := g.schedule()
	for int(g.rec.Events) < g.cfg.Events && g.failed == nil {
		for len(cases) > 0 && int(g.rec.Events) >= cases[0].at {
			cases[0].run()
			cases = cases[1:]
		}
		g.background()
	}
	g.closingPhase()
	g.close()
	g.res.End, g.res.Events = g.now, g.rec.Events
	if g.log != nil && g.failed == nil {
		g.failed = g.log.flush()
	}
	return g.res, g.failed
}

// track follows the generator's own orders through their reports.
func (g *generator) track(ev *Event) {
	id := clNumber(ev.ClOrdID[:])
	switch ev.Kind {
	case KindNew, KindReplace:
		g.setAlive(id, ev.Leaves > 0)
		if ev.Kind == KindReplace {
			g.setAlive(clNumber(ev.OrigClOrdID[:]), false)
		}
	case KindFill:
		g.setAlive(id, ev.Leaves > 0)
	case KindCancel, KindExpire:
		g.setAlive(id, false)
		g.setAlive(clNumber(ev.OrigClOrdID[:]), false)
	}
}

func (g *generator) setAlive(id uint64, v bool) {
	if id == 0 || id >= g.nextCl {
		return
	}
	for uint64(len(g.alive)) <= id {
		g.alive = append(g.alive, false)
	}
	g.alive[id] = v
}

func (g *generator) isAlive(id uint64) bool {
	return id != 0 && id < uint64(len(g.alive)) && g.alive[id]
}

// clNumber parses a generated ClOrdID (a decimal number); 0 if it is not one.
func clNumber(b []byte) uint64 {
	var v uint64
	for _, c := range b {
		if c == 0 {
			break
		}
		if c < '0' || c > '9' {
			return 0
		}
		v = v*10 + uint64(c-'0')
	}
	return v
}

// advance moves the clock by an exponential inter-arrival time of mean
// StepNs.
func (g *generator) advance() {
	g.now += max(1, int64(g.rng.ExpFloat64()*float64(g.cfg.StepNs)))
}

// apply sends one command from an account's session.
func (g *generator) apply(from string, msg []byte) {
	g.pos += logEntryBytes
	g.res.Commands++
	s := g.sessions[from]
	if g.log != nil {
		g.log.record(logMessage, s, g.pos, g.now, msg)
	}
	g.e.OnSessionMessage(s, g.pos, g.now, msg)
	if g.log != nil && g.log.err != nil && g.failed == nil {
		g.failed = fmt.Errorf("surveil: writing recorded log: %w", g.log.err) // a reader that stopped: stop too
	}
}

func (g *generator) open(principal string) {
	g.pos += logEntryBytes
	id := engine.SessionID(len(g.sessions) + 1)
	g.sessions[principal] = id
	if g.log != nil {
		g.log.record(logOpen, id, g.pos, g.now, []byte(principal))
	}
	g.e.OnSessionOpen(id, []byte(principal), g.pos, g.now)
}

// accountsOfDay lists (account, principal) pairs besides the market
// makers and takers, whose account is their principal's name.
var accountsOfDay = [][2]string{
	{"WASH1", "WASH1"}, {"P9A", "P9"}, {"P9B", "P9"}, {"LINKA", "LINKA"}, {"LINKB", "LINKB"},
	{"SPOOF1", "SPOOF1"}, {"LAYER1", "LAYER1"}, {"MOMO1", "MOMO1"}, {"CLOSE1", "CLOSE1"},
	{"OTR1", "OTR1"}, {"STUFF1", "STUFF1"},
}

func (g *generator) setup() {
	g.open(dayAdmin)
	pairs := [][2]string{}
	for _, n := range append(append([]string{}, dayMarketMakers...), dayTakers...) {
		pairs = append(pairs, [2]string{n, n})
	}
	pairs = append(pairs, accountsOfDay...)
	principals := []string{}
	for _, p := range pairs {
		if _, ok := g.sessions[p[1]]; !ok && !contains(principals, p[1]) {
			principals = append(principals, p[1])
			g.admin(principalCmd(p[1]))
		}
		g.admin(accountCmd(p[0], p[1]))
	}
	for i, sym := range daySymbols {
		g.admin(instrumentCmd(uint32(i+1), sym))
	}
	for _, p := range principals {
		g.open(p)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func (g *generator) admin(msg []byte) { g.apply(dayAdmin, msg) }

func principalCmd(name string) []byte {
	msg, m := engine.AppendSetPrincipal(nil)
	m.SetPrincipal(name)
	m.SetRole(engine.RoleTrader)
	return msg
}

func accountCmd(account, principal string) []byte {
	msg, m := engine.AppendSetAccount(nil)
	m.SetAccount(account)
	m.SetPrincipal(principal)
	m.SetEnabled(1)
	m.SetSTPMode(engine.STPModeNone)
	return msg
}

func instrumentCmd(id uint32, symbol string) []byte {
	msg, m := engine.AppendAddInstrument(nil)
	m.SetInstrument(id)
	m.SetSymbol(symbol)
	m.SetTickSize(1)
	m.SetLotSize(1)
	m.SetReferencePrice(generatedRefPrice)
	m.SetState(engine.TradingStateOpen)
	return msg
}

// order sends a new order and returns its ClOrdID number.
func (g *generator) order(acct, principal string, inst uint32, side engine.Side, px, qty int64, tif engine.TimeInForce) uint64 {
	id := g.nextCl
	g.nextCl++
	var m engine.NewOrder
	g.buf, m = engine.AppendNewOrder(g.buf[:0])
	m.SetPrice(px)
	m.SetQuantity(qty)
	m.SetInstrument(inst)
	m.SetSide(side)
	m.SetOrdType(engine.OrdTypeLimit)
	m.SetTimeInForce(tif)
	m.SetAccount(acct)
	m.SetClOrdIDBytes(strconv.AppendUint(nil, id, 10))
	g.apply(principal, g.buf)
	return id
}

// cancel cancels an order by its ClOrdID number.
func (g *generator) cancel(acct, principal string, inst uint32, side engine.Side, orig uint64) {
	id := g.nextCl
	g.nextCl++
	var m engine.CancelOrder
	g.buf, m = engine.AppendCancelOrder(g.buf[:0])
	m.SetInstrument(inst)
	m.SetSide(side)
	m.SetAccount(acct)
	m.SetClOrdIDBytes(strconv.AppendUint(nil, id, 10))
	m.SetOrigClOrdIDBytes(strconv.AppendUint(nil, orig, 10))
	g.apply(principal, g.buf)
}

// replace moves an order to a new price and quantity; it returns the new
// ClOrdID number.
func (g *generator) replace(acct string, inst uint32, side engine.Side, orig uint64, px, qty int64) uint64 {
	id := g.nextCl
	g.nextCl++
	var m engine.ReplaceOrder
	g.buf, m = engine.AppendReplaceOrder(g.buf[:0])
	m.SetPrice(px)
	m.SetQuantity(qty)
	m.SetInstrument(inst)
	m.SetSide(side)
	m.SetOrdType(engine.OrdTypeLimit)
	m.SetTimeInForce(engine.TimeInForceDay)
	m.SetAccount(acct)
	m.SetClOrdIDBytes(strconv.AppendUint(nil, id, 10))
	m.SetOrigClOrdIDBytes(strconv.AppendUint(nil, orig, 10))
	g.apply(acct, g.buf)
	return id
}

func (g *generator) close() {
	g.advance()
	msg, m := engine.AppendSetTradingState(nil)
	m.SetInstrument(engine.AllInstruments)
	m.SetState(engine.TradingStateClosed)
	g.admin(msg)
}
