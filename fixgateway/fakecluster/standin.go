package fakecluster

import (
	"venue/engine"
)

// StandIn is a small stand-in for the engine service, written to the
// engine's wire schema and its documented rules, for gateway tests until
// the engine service itself is available to drive: principals and accounts,
// SenderSeq exactly-once, ClOrdID uniqueness, price-time matching of limit
// and market orders (Day, GTC, IOC; FOK treated as IOC), post-only, cancel,
// cancel/replace, mass cancel, order status, cancel-on-disconnect, and
// expiry of DAY orders when an instrument closes. It is not the venue's
// engine: it is deliberately naive (linear scans of the resting orders) and
// remembers every order.
type StandIn struct {
	send func(session int64, msg []byte)

	sessions    map[int64]string
	principals  map[string]*siPrincipal
	instruments map[uint32]*siInstrument
	instOrder   []uint32
	orders      []*siOrder         // every order ever accepted, in time priority
	byID        []*siOrder         // the same, by id-1
	byClOrd     map[clKey]*siOrder // account+ClOrdID -> order, current and superseded
	bootstrap   string
	ctxSession  int64
	ctxPos      int64
	ctxTime     int64
	execID      uint64
	tradeID     uint64
	out         []byte
}

type clKey struct{ account, clOrdID string }

type siPrincipal struct {
	name      string
	role      engine.Role
	session   int64
	senderSeq uint64
	cod       bool
	accounts  map[string]bool
}

type siInstrument struct {
	def   engine.AddInstrument // a copy of the definition
	state engine.TradingState
}

type siOrder struct {
	id                   uint64
	clOrdID, origClOrdID string
	account, principal   string
	inst                 uint32
	side                 engine.Side
	ordType              engine.OrdType
	tif                  engine.TimeInForce
	flags                uint8
	price, qty, cum      int64
	notional             int64
	status               engine.OrdStatus
	reason               engine.Reason
	live                 bool
	resting              bool // in StandIn.orders
}

func (o *siOrder) leaves() int64 {
	if !o.live {
		return 0
	}
	return o.qty - o.cum
}

// NewStandIn returns a stand-in engine whose reports go to send and whose
// first admin is bootstrapAdmin.
func NewStandIn(bootstrapAdmin string, send func(session int64, msg []byte)) *StandIn {
	e := &StandIn{
		send: send, sessions: map[int64]string{}, principals: map[string]*siPrincipal{},
		instruments: map[uint32]*siInstrument{}, byClOrd: map[clKey]*siOrder{}, bootstrap: bootstrapAdmin,
	}
	e.principal(bootstrapAdmin).role = engine.RoleAdmin
	return e
}

func (e *StandIn) principal(name string) *siPrincipal {
	p := e.principals[name]
	if p == nil {
		p = &siPrincipal{name: name, accounts: map[string]bool{}}
		e.principals[name] = p
	}
	return p
}

// OnSessionOpen implements Service.
func (e *StandIn) OnSessionOpen(id int64, principal []byte, _, _ int64) {
	e.sessions[id] = string(principal)
	if p := e.principals[string(principal)]; p != nil && p.role != engine.RoleGateway {
		p.session = id
	}
}

// OnSessionClose implements Service: principals whose reports went to the
// session are disconnected (cancel-on-disconnect applies).
func (e *StandIn) OnSessionClose(id int64, pos, t int64) {
	e.ctxSession, e.ctxPos, e.ctxTime = 0, pos, t
	delete(e.sessions, id)
	for _, p := range e.sortedPrincipals() {
		if p.session == id {
			e.disconnect(p)
		}
	}
}

func (e *StandIn) sortedPrincipals() []*siPrincipal {
	// Deterministic order: by name.
	names := make([]string, 0, len(e.principals))
	for n := range e.principals {
		names = append(names, n)
	}
	sortStrings(names)
	out := make([]*siPrincipal, len(names))
	for i, n := range names {
		out[i] = e.principals[n]
	}
	return out
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

func (e *StandIn) disconnect(p *siPrincipal) {
	p.session = 0
	if !p.cod {
		return
	}
	for _, o := range append([]*siOrder(nil), e.orders...) {
		if o.live && o.principal == p.name && o.tif == engine.TimeInForceDay {
			e.cancel(o, engine.ReasonCancelOnDisconnect, "")
		}
	}
}

// OnSessionMessage implements Service.
func (e *StandIn) OnSessionMessage(id int64, pos, t int64, payload []byte) {
	e.ctxSession, e.ctxPos, e.ctxTime = id, pos, t
	tmpl, body, err := engine.Decode(payload)
	if err != nil {
		e.businessReject(tmpl, engine.ReasonMalformed, nil, nil)
		return
	}
	switch tmpl {
	case engine.TemplateNewOrder:
		e.onNewOrder(engine.NewOrder(body))
	case engine.TemplateCancelOrder:
		e.onCancel(engine.CancelOrder(body))
	case engine.TemplateReplaceOrder:
		e.onReplace(engine.ReplaceOrder(body))
	case engine.TemplateMassCancel:
		e.onMassCancel(engine.MassCancel(body))
	case engine.TemplateOrderStatusRequest:
		e.onStatus(engine.OrderStatusRequest(body))
	case engine.TemplateInstrumentListRequest:
		e.onInstrumentList(engine.InstrumentListRequest(body))
	case engine.TemplateSessionStatus:
		e.onSessionStatus(engine.SessionStatus(body))
	case engine.TemplateAddInstrument, engine.TemplateSetTradingState, engine.TemplateSetAccount, engine.TemplateSetPrincipal:
		e.onAdmin(tmpl, body)
	default:
		e.businessReject(tmpl, engine.ReasonUnknownTemplate, nil, nil)
	}
}

// actor returns the principal a command acts for.
func (e *StandIn) actor(named []byte) *siPrincipal {
	own := e.principals[e.sessions[e.ctxSession]]
	if own == nil {
		return nil
	}
	if own.role != engine.RoleGateway {
		if len(named) == 0 || string(named) == own.name {
			return own
		}
		return nil
	}
	p := e.principals[string(named)]
	if p == nil || p.role != engine.RoleTrader {
		return nil
	}
	if p.session == 0 {
		p.session = e.ctxSession
	}
	return p
}

func (e *StandIn) duplicate(p *siPrincipal, seq uint64) bool {
	if seq == 0 {
		return false
	}
	if seq <= p.senderSeq {
		return true
	}
	p.senderSeq = seq
	return false
}

func (e *StandIn) onAdmin(t engine.TemplateID, body []byte) {
	own := e.principals[e.sessions[e.ctxSession]]
	if own == nil || own.role != engine.RoleAdmin {
		e.businessReject(t, engine.ReasonNotAuthorized, nil, nil)
		return
	}
	switch t {
	case engine.TemplateAddInstrument:
		m := engine.AddInstrument(body)
		in := &siInstrument{def: engine.AddInstrument(append([]byte(nil), m...)), state: m.State()}
		if _, ok := e.instruments[m.Instrument()]; !ok {
			e.instOrder = append(e.instOrder, m.Instrument())
		}
		e.instruments[m.Instrument()] = in
	case engine.TemplateSetPrincipal:
		m := engine.SetPrincipal(body)
		e.principal(string(m.Principal())).role = m.Role()
	case engine.TemplateSetAccount:
		m := engine.SetAccount(body)
		e.principal(string(m.Principal())).accounts[string(m.Account())] = m.Enabled() != 0
	case engine.TemplateSetTradingState:
		m := engine.SetTradingState(body)
		e.setState(m.Instrument(), m.State())
	}
}

// setState changes a trading state; closing expires the DAY orders.
func (e *StandIn) setState(id uint32, s engine.TradingState) {
	in := e.instruments[id]
	if in == nil {
		return
	}
	in.state = s
	if s != engine.TradingStateClosed {
		return
	}
	for _, o := range append([]*siOrder(nil), e.orders...) {
		if o.live && o.inst == id && o.tif == engine.TimeInForceDay {
			o.status = engine.OrdStatusExpired
			e.finish(o)
			e.exec(o, engine.ExecTypeExpired, engine.ReasonNone, 0, 0, 0, e.ownerSession(o))
		}
	}
}

func (e *StandIn) onSessionStatus(m engine.SessionStatus) {
	p := e.actor(m.Principal())
	if p == nil {
		e.businessReject(engine.TemplateSessionStatus, engine.ReasonNotAuthorized, m.Principal(), nil)
		return
	}
	switch m.State() {
	case engine.SessionStateLoggedOn:
		p.session = e.ctxSession
		p.cod = m.CancelOnDisconnect() != 0
		if m.ResetSeq() != 0 {
			p.senderSeq = 0
		}
	case engine.SessionStateLoggedOff:
		if p.session == e.ctxSession {
			e.disconnect(p)
		}
	}
}

func (e *StandIn) onInstrumentList(m engine.InstrumentListRequest) {
	if len(e.instOrder) == 0 {
		e.businessReject(engine.TemplateInstrumentListRequest, engine.ReasonUnknownInstrument, m.Principal(), m.RequestID())
		return
	}
	for i, id := range e.instOrder {
		in := e.instruments[id]
		var r engine.InstrumentDefinition
		e.out, r = engine.AppendInstrumentDefinition(e.out[:0])
		r.SetTickSize(in.def.TickSize())
		r.SetLotSize(in.def.LotSize())
		r.SetReferencePrice(in.def.ReferencePrice())
		r.SetInstrument(id)
		r.SetBandBps(in.def.BandBps())
		r.SetPriceDecimals(in.def.PriceDecimals())
		r.SetState(in.state)
		r.SetSymbolBytes(in.def.Symbol())
		r.SetRequestIDBytes(m.RequestID())
		r.SetLogPosition(e.ctxPos)
		r.SetClusterTime(e.ctxTime)
		if i == len(e.instOrder)-1 {
			r.SetLast(1)
		}
		e.send(e.ctxSession, e.out)
	}
}

func (e *StandIn) businessReject(t engine.TemplateID, r engine.Reason, principal, ref []byte) {
	var b engine.BusinessReject
	e.out, b = engine.AppendBusinessReject(e.out[:0])
	b.SetLogPosition(e.ctxPos)
	b.SetClusterTime(e.ctxTime)
	b.SetRefTemplateID(uint16(t))
	b.SetReason(r)
	b.SetPrincipalBytes(principal)
	b.SetRefIDBytes(ref)
	e.send(e.ctxSession, e.out)
}

func (e *StandIn) ownerSession(o *siOrder) int64 {
	if p := e.principals[o.principal]; p != nil {
		return p.session
	}
	return 0
}

// exec reports order o to session.
func (e *StandIn) exec(o *siOrder, et engine.ExecType, reason engine.Reason, lastPx, lastQty int64, trade uint64, session int64) {
	if session == 0 {
		return
	}
	e.execID++
	var r engine.ExecutionReport
	e.out, r = engine.AppendExecutionReport(e.out[:0])
	r.SetExecID(e.execID)
	r.SetOrderID(o.id)
	r.SetTradeID(trade)
	r.SetPrice(o.price)
	r.SetQuantity(o.qty)
	r.SetLeavesQty(o.leaves())
	r.SetCumQty(o.cum)
	r.SetLastPx(lastPx)
	r.SetLastQty(lastQty)
	r.SetCumNotional(o.notional)
	r.SetLogPosition(e.ctxPos)
	r.SetClusterTime(e.ctxTime)
	r.SetInstrument(o.inst)
	r.SetReason(reason)
	r.SetSide(o.side)
	r.SetOrdType(o.ordType)
	r.SetTimeInForce(o.tif)
	r.SetExecType(et)
	r.SetOrdStatus(o.status)
	r.SetFlags(o.flags)
	r.SetAccount(o.account)
	r.SetPrincipal(o.principal)
	r.SetClOrdID(o.clOrdID)
	r.SetOrigClOrdID(o.origClOrdID)
	e.send(session, e.out)
}
