package surveil

import "venue/engine"

// Handler receives the event history in log order. The event and the
// market are only valid during the call.
type Handler interface {
	OnEvent(ev *Event, m *Market)
}

// Recorder turns what the engine emits into the event history, in one pass:
// it is the engine's Egress (every report) and its MarketDataSink (the
// book, the tape, trading states), and hands each order event to a Handler
// with the market as it stands.
//
// The engine reports a trade to the maker first and then to the taker, with
// one TradeID; the Recorder holds the maker's fill until the taker's
// arrives so that each fill names its counterparty. It keeps nothing else
// per order: its memory is one pending fill plus the Market.
type Recorder struct {
	h       Handler
	market  *Market
	pending Event
	hasPend bool
	ev      Event
	// Events counts the order events handed on; Undecodable the reports
	// that did not decode.
	Events, Undecodable uint64
}

var (
	_ engine.Egress         = (*Recorder)(nil)
	_ engine.ReportTap      = (*Recorder)(nil)
	_ engine.MarketDataSink = (*Recorder)(nil)
)

// NewRecorder returns a Recorder handing events to h.
func NewRecorder(h Handler) *Recorder { return &Recorder{h: h, market: NewMarket()} }

// Market returns the book and tape the Recorder maintains.
func (r *Recorder) Market() *Market { return r.market }

// Send decodes one report (engine.Egress).
func (r *Recorder) Send(session engine.SessionID, msg []byte) {
	t, body, err := engine.Decode(msg)
	if err != nil {
		r.Undecodable++
		return
	}
	switch t {
	case engine.TemplateExecutionReport:
		if !r.ev.fromExecutionReport(engine.ExecutionReport(body), session) {
			return
		}
	case engine.TemplateCancelReject:
		r.ev.fromCancelReject(engine.CancelReject(body), session)
	default:
		return
	}
	r.onEvent(&r.ev)
}

func (r *Recorder) onEvent(ev *Event) {
	if ev.Kind != KindFill {
		r.flush()
		r.emit(ev)
		return
	}
	if !ev.Aggressor {
		r.flush()
		r.pending, r.hasPend = *ev, true
		return
	}
	if r.hasPend && r.pending.TradeID == ev.TradeID {
		m := &r.pending
		m.Counter = Counterparty{Known: true, OrderID: ev.OrderID, Account: ev.Account, Principal: ev.Principal}
		ev.Counter = Counterparty{Known: true, OrderID: m.OrderID, Account: m.Account, Principal: m.Principal}
		r.hasPend = false
		r.emit(m)
	}
	r.flush()
	r.emit(ev)
}

// flush hands on a maker fill whose taker report never came (the taker's
// principal had no session, so the engine sent it nowhere).
func (r *Recorder) flush() {
	if r.hasPend {
		r.hasPend = false
		r.emit(&r.pending)
	}
}

func (r *Recorder) emit(ev *Event) {
	r.Events++
	r.h.OnEvent(ev, r.market)
}

// OnReport decodes one report (engine.ReportTap): the way in when the
// engine runs as a cluster's service, whose Egress is the cluster's. The
// tap sees every report, delivered or not.
func (r *Recorder) OnReport(session engine.SessionID, msg []byte) { r.Send(session, msg) }

// OnInstrument records an instrument's definition (engine.MarketDataSink).
func (r *Recorder) OnInstrument(def engine.InstrumentInfo, logPosition, clusterTime int64) {
	r.market.onInstrument(def)
}

// OnLevel records a price level's new aggregate (engine.MarketDataSink).
func (r *Recorder) OnLevel(instrument uint32, side engine.Side, price, quantity int64, orders int32, logPosition, clusterTime int64) {
	r.market.onLevel(instrument, side, price, quantity, orders)
}

// OnTrade records a trade on the tape (engine.MarketDataSink).
func (r *Recorder) OnTrade(instrument uint32, tradeID uint64, price, quantity int64, aggressor engine.Side, logPosition, clusterTime int64) {
	r.market.onTrade(instrument, price, quantity, aggressor, clusterTime)
}

// OnTradingState hands on a trading-state change as a KindState event
// (engine.MarketDataSink).
func (r *Recorder) OnTradingState(instrument uint32, state engine.TradingState, logPosition, clusterTime int64) {
	r.flush()
	r.market.onState(instrument, state)
	r.ev = Event{Kind: KindState, Instrument: instrument, TradingState: state, LogPosition: logPosition, ClusterTime: clusterTime}
	r.emit(&r.ev)
}

// OnApplied ends one command: nothing of it is held back any more
// (engine.MarketDataSink).
func (r *Recorder) OnApplied(logPosition, clusterTime int64) {
	r.flush()
	r.market.now, r.market.pos = clusterTime, logPosition
}
