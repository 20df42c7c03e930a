package surveil

import (
	"testing"
	"time"

	"venue/engine"
)

// feed drives a Surveillance with hand-made events and a hand-made
// market, for detector tests at their thresholds.
type feed struct {
	s       *Surveillance
	m       *Market
	now     int64
	pos     int64
	nextID  uint64
	nextTID uint64
}

const feedInst uint32 = 7

func newFeed(r Rules) *feed {
	f := &feed{s: New(r), m: NewMarket(), now: int64(10 * time.Hour), nextID: 1}
	f.m.onInstrument(engine.InstrumentInfo{ID: feedInst, Symbol: [16]byte{'T', 'E', 'S', 'T'}, TickSize: 1, LotSize: 1, State: engine.TradingStateOpen})
	f.level(engine.SideBuy, 99, 50)
	f.level(engine.SideSell, 101, 50)
	return f
}

func (f *feed) wait(d time.Duration) { f.now += int64(d) }

func (f *feed) level(side engine.Side, px, qty int64) { f.m.onLevel(feedInst, side, px, qty, 1) }

func (f *feed) emit(ev Event) {
	f.pos += 128
	ev.Instrument, ev.ClusterTime, ev.LogPosition = feedInst, f.now, f.pos
	f.s.OnEvent(&ev, f.m)
}

// order places a resting DAY order and returns its id.
func (f *feed) order(acct string, side engine.Side, px, qty int64) uint64 {
	id := f.nextID
	f.nextID++
	f.emit(Event{Kind: KindNew, Account: MakeName(acct), Principal: MakeName(acct), OrderID: id, Side: side,
		Price: px, Quantity: qty, Leaves: qty, TimeInForce: engine.TimeInForceDay})
	return id
}

// ioc sends an IOC order that trades nothing (it only teaches sizes).
func (f *feed) ioc(acct string, side engine.Side, px, qty int64) {
	id := f.nextID
	f.nextID++
	f.emit(Event{Kind: KindNew, Account: MakeName(acct), Principal: MakeName(acct), OrderID: id, Side: side,
		Price: px, Quantity: qty, Leaves: qty, TimeInForce: engine.TimeInForceIOC})
	f.emit(Event{Kind: KindCancel, Reason: engine.ReasonIOCRemainder, Account: MakeName(acct), OrderID: id, Side: side,
		Price: px, Quantity: qty, TimeInForce: engine.TimeInForceIOC})
}

func (f *feed) cancel(acct string, id uint64, side engine.Side, px, qty, cum int64) {
	f.emit(Event{Kind: KindCancel, Reason: engine.ReasonClientRequest, Account: MakeName(acct), Principal: MakeName(acct),
		OrderID: id, Side: side, Price: px, Quantity: qty, Cum: cum})
}

// trade reports a trade between an aggressive and a passive account, as
// the Recorder would hand it on (maker first), and prints it on the tape.
func (f *feed) trade(aggr, aggrPrincipal string, side engine.Side, px, qty int64, passive, passivePrincipal string) {
	f.nextTID++
	tid := f.nextTID
	aID, pID := f.nextID, f.nextID+1
	f.nextID += 2
	ag := Event{Kind: KindFill, Aggressor: true, Account: MakeName(aggr), Principal: MakeName(aggrPrincipal), OrderID: aID,
		Side: side, Price: px, Quantity: qty, LastPx: px, LastQty: qty, TradeID: tid}
	pa := Event{Kind: KindFill, Account: MakeName(passive), Principal: MakeName(passivePrincipal), OrderID: pID,
		Side: opposite(side), Price: px, Quantity: qty, LastPx: px, LastQty: qty, TradeID: tid}
	ag.Counter = Counterparty{Known: true, OrderID: pID, Account: pa.Account, Principal: pa.Principal}
	pa.Counter = Counterparty{Known: true, OrderID: aID, Account: ag.Account, Principal: ag.Principal}
	f.m.onTrade(feedInst, px, qty, side, f.now)
	f.emit(pa)
	f.emit(ag)
}

// sweep reports one aggressive order filling at each of prices, against
// a passive account, each fill qty lots.
func (f *feed) sweep(aggr string, side engine.Side, prices []int64, qty int64, passive string) {
	aID := f.nextID
	f.nextID++
	for _, px := range prices {
		f.nextTID++
		pID := f.nextID
		f.nextID++
		pa := Event{Kind: KindFill, Account: MakeName(passive), Principal: MakeName(passive), OrderID: pID,
			Side: opposite(side), Price: px, Quantity: qty, LastPx: px, LastQty: qty, TradeID: f.nextTID}
		ag := Event{Kind: KindFill, Aggressor: true, Account: MakeName(aggr), Principal: MakeName(aggr), OrderID: aID,
			Side: side, Price: prices[len(prices)-1], Quantity: qty * int64(len(prices)), LastPx: px, LastQty: qty, TradeID: f.nextTID}
		ag.Counter = Counterparty{Known: true, OrderID: pID, Account: pa.Account, Principal: pa.Principal}
		pa.Counter = Counterparty{Known: true, OrderID: aID, Account: ag.Account, Principal: ag.Principal}
		f.m.onTrade(feedInst, px, qty, side, f.now)
		f.emit(pa)
		f.emit(ag)
	}
}

// teach gives an account a typical order size.
func (f *feed) teach(acct string, qty int64) {
	for range f.s.rules.TypicalMin {
		f.ioc(acct, engine.SideBuy, 90, qty)
	}
}

func (f *feed) close() {
	f.emit(Event{Kind: KindState, TradingState: engine.TradingStateClosed})
}

// count returns how many alerts of type t the run raised.
func count(alerts []Alert, t Type) int {
	n := 0
	for _, a := range alerts {
		if a.Type == t {
			n++
		}
	}
	return n
}

// expectAlerts checks a table case: want alerts of type t (0 or more).
func expectAlerts(t *testing.T, f *feed, typ Type, want bool) []Alert {
	t.Helper()
	alerts := f.s.Finish()
	if got := count(alerts, typ) > 0; got != want {
		t.Fatalf("%s alert: got %v, want %v\n%s", typ, got, want, describe(alerts))
	}
	return alerts
}
