package surveil

import (
	"cmp"
	"math"
	"slices"

	"venue/engine"
)

// Surveillance bounds: whatever the length of the day, the detectors' state
// is at most these many entries (State reports the counts; Dropped what was
// ignored at a bound).
const (
	// accountsMax caps distinct accounts; later ones are not surveilled.
	accountsMax = 4096
	// accountInstrumentsMax caps (account, instrument) pairs; later ones are
	// not surveilled.
	accountInstrumentsMax = 16384
	// sideOrdersMax caps the live orders tracked per account, instrument and
	// side; past it the oldest is forgotten (it rested longest, so it is the
	// least likely spoof or layer).
	sideOrdersMax = 64
	// spoofCandidatesMax caps large orders awaiting their cancel per
	// account and instrument.
	spoofCandidatesMax = 8
	// closeRingLen is the aggressive fills kept per instrument for marking
	// the close; a close window busier than this is judged on its most
	// recent closeRingLen fills.
	closeRingLen = 8192
	// typicalWeight is the weight of a new order in the typical-size
	// moving average.
	typicalWeight = 1.0 / 32
)

// Surveillance runs every enabled detector over the event history. Feed
// it events in log order (it is a Handler; put it behind a Recorder) and
// call Finish at the end of the log. It reads no clock: every time is the
// log's cluster time.
type Surveillance struct {
	rules   Rules
	accts   map[Name]int32
	acct    []account
	pairs   map[pairKey]*acctInst
	insts   map[uint32]*instState
	linked  map[Name]int32
	alerts  alerts
	dropped Dropped
	first   int64
	last    int64
	lastPos int64
	started bool
	market  *Market
	tapes   []tapeDue   // alerts waiting for the tape after them, by due time
	scratch []sideOrder // reused by the layering detector's ladder search
}

// tapeDue is an alert whose chart needs the tape up to due.
type tapeDue struct {
	alert int
	due   int64
}

// Dropped counts what the detectors ignored at a bound.
type Dropped struct {
	Accounts   uint64 `json:"accounts"`
	Pairs      uint64 `json:"account_instruments"`
	SideOrders uint64 `json:"side_orders"`
	Alerts     uint64 `json:"alerts"`
	CloseFills uint64 `json:"close_fills"`
	SpoofCands uint64 `json:"spoof_candidates"`
}

// account is what is kept per account.
type account struct {
	name  Name
	burst burstState
}

type pairKey struct {
	acct int32
	inst uint32
}

// acctInst is what is kept per account and instrument.
type acctInst struct {
	acct     int32
	inst     uint32
	typical  ewma
	sides    [2]sideOrders // by sideIndex
	spoof    []spoofCand
	layer    [2]layerCand // by the layered side
	momentum momentumState
	otr      otrStats
}

// instState is what is kept per instrument.
type instState struct {
	typical ewma
	close   closeRing
}

// ewma is a typical order size: an exponentially weighted moving average.
type ewma struct {
	mean float64
	n    int
}

func (e *ewma) add(v float64) {
	e.n++
	if e.n == 1 {
		e.mean = v
		return
	}
	e.mean += (v - e.mean) * max(typicalWeight, 1/float64(e.n))
}

// New returns a Surveillance with rules r (call r.Validate first if r did
// not come from ParseRules or DefaultRules).
func New(r Rules) *Surveillance {
	s := &Surveillance{
		rules: r, accts: map[Name]int32{}, pairs: map[pairKey]*acctInst{}, insts: map[uint32]*instState{},
		linked: map[Name]int32{}, alerts: alerts{last: map[alertKey]int{}, gapNs: r.Merge.ns()},
	}
	for g, group := range r.Linked {
		for _, a := range group {
			s.linked[MakeName(a)] = int32(g)
		}
	}
	return s
}

// Rules returns the rules in force.
func (s *Surveillance) Rules() Rules { return s.rules }

func sideIndex(side engine.Side) int {
	if side == engine.SideSell {
		return 1
	}
	return 0
}

func opposite(side engine.Side) engine.Side {
	if side == engine.SideSell {
		return engine.SideBuy
	}
	return engine.SideSell
}

// OnEvent applies one event (Handler).
func (s *Surveillance) OnEvent(ev *Event, m *Market) {
	s.market = m
	if !s.started {
		s.first, s.started = ev.ClusterTime, true
	}
	s.last, s.lastPos = ev.ClusterTime, ev.LogPosition
	if len(s.tapes) > 0 && ev.ClusterTime >= s.tapes[0].due {
		s.captureTapes(ev.ClusterTime)
	}
	if ev.Kind == KindState {
		if ev.TradingState == engine.TradingStateClosed && s.rules.enabled(TypeMarkingClose) {
			s.onClose(ev)
		}
		return
	}
	ai := s.pair(ev.Account, ev.Instrument)
	if ai == nil {
		return
	}
	if ai.layer[0].active || ai.layer[1].active {
		s.layerSettle(ai, ev.ClusterTime)
	}
	s.countMessage(ai, ev)
	switch ev.Kind {
	case KindNew:
		s.onNew(ai, ev)
	case KindReplace:
		s.onReplace(ai, ev)
	case KindCancel, KindExpire:
		s.onCancel(ai, ev)
	case KindFill:
		s.onFill(ai, ev)
	}
}

// pair returns the state of an event's account and instrument, or nil at
// a bound.
func (s *Surveillance) pair(name Name, inst uint32) *acctInst {
	a, ok := s.accts[name]
	if !ok {
		if len(s.acct) >= accountsMax {
			s.dropped.Accounts++
			return nil
		}
		a = int32(len(s.acct))
		s.accts[name] = a
		s.acct = append(s.acct, account{name: name})
	}
	k := pairKey{a, inst}
	ai := s.pairs[k]
	if ai == nil {
		if len(s.pairs) >= accountInstrumentsMax {
			s.dropped.Pairs++
			return nil
		}
		ai = &acctInst{acct: a, inst: inst}
		s.pairs[k] = ai
	}
	return ai
}

func (s *Surveillance) inst(id uint32) *instState {
	in := s.insts[id]
	if in == nil {
		in = &instState{}
		s.insts[id] = in
	}
	return in
}

// typical returns the typical order size for an account on an instrument:
// its own once it has TypicalMin orders, else the instrument's once that
// has; 0 (none: nothing is large) before. Large orders are left out of the
// averages, so a few early ones cannot make the next ones look ordinary —
// which is also why an average needs TypicalMin samples before it counts:
// a first small order must not make every later one large.
func (s *Surveillance) typical(ai *acctInst) float64 {
	if ai.typical.n >= s.rules.TypicalMin {
		return ai.typical.mean
	}
	if in := s.insts[ai.inst]; in != nil && in.typical.n >= s.rules.TypicalMin {
		return in.typical.mean
	}
	return 0
}

// onNew tracks a new order and learns typical sizes from ordinary ones.
func (s *Surveillance) onNew(ai *acctInst, ev *Event) {
	typ := s.typical(ai)
	multiple := 0.0
	if typ > 0 {
		multiple = float64(ev.Quantity) / typ
	}
	large := multiple >= s.rules.Spoofing.SizeMultiple
	ai.layerRequote(ev)
	if !large {
		ai.typical.add(float64(ev.Quantity))
		s.inst(ev.Instrument).typical.add(float64(ev.Quantity))
	}
	if ev.Leaves == 0 || ev.TimeInForce == engine.TimeInForceIOC || ev.TimeInForce == engine.TimeInForceFOK {
		return // it will not rest
	}
	o := sideOrder{id: ev.OrderID, price: ev.Price, qty: ev.Quantity, placedAt: ev.ClusterTime, placedPos: ev.LogPosition,
		multiple: multiple, large: large, nearTouch: s.nearTouch(ev)}
	if ai.sides[sideIndex(ev.Side)].add(o) {
		s.dropped.SideOrders++
	}
}

// nearTouch reports whether a new order's price is within NearTouchTicks
// of its side's best price (an order that sets the best is at it).
func (s *Surveillance) nearTouch(ev *Event) bool {
	b := s.market.Book(ev.Instrument)
	if b == nil {
		return true
	}
	best, ok := b.Best(ev.Side)
	if !ok {
		return true
	}
	behind := best - ev.Price
	if ev.Side == engine.SideSell {
		behind = ev.Price - best
	}
	return behind <= s.rules.Spoofing.NearTouchTicks*b.Tick()
}

func (s *Surveillance) onReplace(ai *acctInst, ev *Event) {
	so := &ai.sides[sideIndex(ev.Side)]
	if o := so.find(ev.OrderID); o != nil {
		o.price, o.qty, o.cum = ev.Price, ev.Quantity, ev.Cum
		if ev.Leaves == 0 {
			so.remove(ev.OrderID)
		}
	}
}

// onCancel ends an order: a spoof or layer if the timing fits.
func (s *Surveillance) onCancel(ai *acctInst, ev *Event) {
	if ev.Kind == KindCancel {
		if s.rules.enabled(TypeSpoofing) {
			s.spoofCancel(ai, ev)
		}
		if s.rules.enabled(TypeLayering) {
			s.layerCancel(ai, ev)
		}
	}
	ai.sides[sideIndex(ev.Side)].remove(ev.OrderID)
}

func (s *Surveillance) onFill(ai *acctInst, ev *Event) {
	if s.rules.enabled(TypeWash) && ev.Aggressor {
		s.washFill(ai, ev)
	}
	if s.rules.enabled(TypeSpoofing) {
		s.spoofFill(ai, ev)
	}
	if s.rules.enabled(TypeLayering) {
		s.layerFill(ai, ev)
	}
	if s.rules.enabled(TypeMomentum) {
		s.momentumFill(ai, ev)
	}
	if ev.Aggressor {
		s.closeFill(ai, ev)
	}
	so := &ai.sides[sideIndex(ev.Side)]
	if ev.Leaves == 0 {
		so.remove(ev.OrderID)
	} else if o := so.find(ev.OrderID); o != nil {
		o.cum = ev.Cum
	}
}

// Finish ends the log: it raises the whole-day alerts (order-to-trade
// ratios) and any case still open, and returns every alert in a stable
// order. Call it once.
func (s *Surveillance) Finish() []Alert {
	keys := make([]pairKey, 0, len(s.pairs))
	for k := range s.pairs {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b pairKey) int { return cmp.Or(cmp.Compare(a.acct, b.acct), cmp.Compare(a.inst, b.inst)) })
	for _, k := range keys {
		s.layerSettle(s.pairs[k], math.MaxInt64)
		if s.rules.enabled(TypeOTR) {
			s.otrFinish(s.pairs[k])
		}
	}
	for i := range s.acct {
		s.burstFlush(int32(i))
	}
	s.captureTapes(math.MaxInt64)
	s.dropped.Alerts = s.alerts.dropped
	return s.alerts.sorted()
}

// Dropped returns what was ignored at a bound.
func (s *Surveillance) Dropped() Dropped { s.dropped.Alerts = s.alerts.dropped; return s.dropped }

// State sizes the detectors' state, to check it stays within its bounds.
type State struct {
	Accounts, Pairs, SideOrders, SpoofCandidates, Alerts int
}

// State returns the current size of the detectors' state.
func (s *Surveillance) State() State {
	st := State{Accounts: len(s.acct), Pairs: len(s.pairs), Alerts: len(s.alerts.list)}
	for _, ai := range s.pairs {
		st.SideOrders += len(ai.sides[0].orders) + len(ai.sides[1].orders)
		st.SpoofCandidates += len(ai.spoof)
	}
	return st
}

// newAlert fills the parts every alert has: names, the book and the tape.
func (s *Surveillance) newAlert(t Type, ai *acctInst, start, end, startPos, endPos int64, score float64, summary string) Alert {
	a := Alert{
		Type: t, Score: score, Account: s.acct[ai.acct].name.String(), Instrument: ai.inst,
		Start: start, End: end, StartPosition: startPos, EndPosition: endPos, Summary: summary,
	}
	return a
}

// addMarket names the alert's instrument and, unless the detector kept
// the book at the key moment, shows the book as it is now.
func (s *Surveillance) addMarket(a *Alert) {
	if s.market == nil {
		return
	}
	b := s.market.Book(a.Instrument)
	if b == nil {
		return
	}
	a.Symbol = b.Info.SymbolString()
	if a.Book.Bids == nil && a.Book.Asks == nil {
		a.Book = s.bookView(b)
	}
}

// captureTapes copies the tape around each alert whose margin has passed
// (all of them at the end of the log). The queue is in raise order, which
// is nearly due order; an entry due later only delays those behind it.
func (s *Surveillance) captureTapes(now int64) {
	n := 0
	for ; n < len(s.tapes) && s.tapes[n].due <= now; n++ {
		a := &s.alerts.list[s.tapes[n].alert]
		if b := s.market.Book(a.Instrument); b != nil {
			m := chartMargin(a)
			a.Tape = b.Tape(a.Start-m, a.End+m, tapePointsMax)
		}
	}
	s.tapes = append(s.tapes[:0], s.tapes[n:]...)
}

func (s *Surveillance) bookView(b *Book) BookView {
	bids, asks := b.Snapshot(bookDepth)
	return BookView{Time: s.last, LogPosition: s.lastPos, Bids: bids, Asks: asks}
}

func (s *Surveillance) raise(a Alert, counter Name) {
	k := alertKey{t: a.Type, acct: MakeName(a.Account), cp: counter, inst: a.Instrument}
	s.addMarket(&a)
	if i := s.alerts.add(k, a); i >= 0 && len(s.tapes) < alertsMax {
		l := &s.alerts.list[i]
		s.tapes = append(s.tapes, tapeDue{alert: i, due: l.End + chartMargin(l)})
	}
}
