package fakecluster

import "venue/engine"

func (e *StandIn) rejectNew(m engine.NewOrder, r engine.Reason) {
	o := &siOrder{clOrdID: string(m.ClOrdID()), account: string(m.Account()), principal: string(m.Principal()),
		inst: m.Instrument(), side: m.Side(), ordType: m.OrdType(), tif: m.TimeInForce(), flags: m.Flags(),
		price: m.Price(), qty: m.Quantity(), status: engine.OrdStatusRejected}
	e.exec(o, engine.ExecTypeRejected, r, 0, 0, 0, e.ctxSession)
}

// lookup finds an order of account by id, or by ClOrdID (current or
// superseded) when id is 0; stale reports a superseded ClOrdID.
func (e *StandIn) lookup(account string, id uint64, clOrdID string) (o *siOrder, stale bool) {
	if id != 0 {
		if id > uint64(len(e.byID)) || e.byID[id-1].account != account {
			return nil, false
		}
		o = e.byID[id-1]
		return o, clOrdID != "" && clOrdID != o.clOrdID
	}
	o = e.byClOrd[clKey{account, clOrdID}]
	if o == nil {
		return nil, false
	}
	return o, o.clOrdID != clOrdID
}

func (e *StandIn) statusReport(o *siOrder, r engine.Reason) {
	if r == engine.ReasonNone {
		r = o.reason
	}
	e.exec(o, engine.ExecTypeOrderStatus, r, 0, 0, 0, e.ctxSession)
}

func (e *StandIn) onNewOrder(m engine.NewOrder) {
	p := e.actor(m.Principal())
	if p == nil {
		e.rejectNew(m, engine.ReasonNotAuthorized)
		return
	}
	if e.duplicate(p, m.SenderSeq()) {
		if o, _ := e.lookup(string(m.Account()), 0, string(m.ClOrdID())); o != nil {
			e.statusReport(o, engine.ReasonDuplicateMessage)
		} else {
			e.businessReject(engine.TemplateNewOrder, engine.ReasonDuplicateMessage, m.Principal(), m.ClOrdID())
		}
		return
	}
	in := e.instruments[m.Instrument()]
	switch {
	case in == nil:
		e.rejectNew(m, engine.ReasonUnknownInstrument)
		return
	case !p.accounts[string(m.Account())]:
		e.rejectNew(m, engine.ReasonNotAuthorized)
		return
	}
	if o, stale := e.lookup(string(m.Account()), 0, string(m.ClOrdID())); o != nil && ((o.live && !stale) || m.Flags()&2 != 0) {
		if m.Flags()&2 != 0 {
			e.statusReport(o, engine.ReasonNone)
			return
		}
		e.rejectNew(m, engine.ReasonDuplicateClOrdID)
		return
	}
	if r := e.entryAllowed(in, m.OrdType(), m.Side(), m.Price(), m.Quantity(), m.Flags()); r != engine.ReasonNone {
		e.rejectNew(m, r)
		return
	}
	o := &siOrder{id: uint64(len(e.byID) + 1), clOrdID: string(m.ClOrdID()), account: string(m.Account()),
		principal: p.name, inst: m.Instrument(), side: m.Side(), ordType: m.OrdType(), tif: m.TimeInForce(),
		flags: m.Flags() &^ 2, price: m.Price(), qty: m.Quantity(), status: engine.OrdStatusNew, live: true}
	e.byID = append(e.byID, o)
	e.byClOrd[clKey{o.account, o.clOrdID}] = o
	e.exec(o, engine.ExecTypeNew, engine.ReasonNone, 0, 0, 0, e.ownerSession(o))
	e.match(o)
}

func (e *StandIn) entryAllowed(in *siInstrument, t engine.OrdType, side engine.Side, price, qty int64, flags uint8) engine.Reason {
	switch {
	case in.state == engine.TradingStateClosed:
		return engine.ReasonTradingClosed
	case in.state == engine.TradingStateHalted:
		return engine.ReasonTradingHalted
	case qty <= 0 || qty%max(in.def.LotSize(), 1) != 0:
		return engine.ReasonInvalidQuantity
	case !t.Valid() || !side.Valid():
		return engine.ReasonMalformed
	case t == engine.OrdTypeLimit && (price <= 0 || price%max(in.def.TickSize(), 1) != 0):
		return engine.ReasonOffTick
	case flags&1 != 0 && e.crosses(in.def.Instrument(), side, t, price, nil):
		return engine.ReasonPostOnlyWouldTrade
	}
	return engine.ReasonNone
}

// crosses reports whether an order on side at price would trade now.
func (e *StandIn) crosses(inst uint32, side engine.Side, t engine.OrdType, price int64, self *siOrder) bool {
	return e.best(inst, side, t, price, self) != nil
}

// best returns the resting order an incoming one would trade with first.
func (e *StandIn) best(inst uint32, side engine.Side, t engine.OrdType, price int64, self *siOrder) *siOrder {
	var b *siOrder
	for _, o := range e.orders {
		if !o.live || o == self || o.inst != inst || o.side == side || o.ordType != engine.OrdTypeLimit {
			continue
		}
		if t == engine.OrdTypeLimit && ((side == engine.SideBuy && o.price > price) || (side == engine.SideSell && o.price < price)) {
			continue
		}
		if b == nil || (side == engine.SideBuy && o.price < b.price) || (side == engine.SideSell && o.price > b.price) {
			b = o // orders are in id (time) order, so the first at a price wins
		}
	}
	return b
}

// match trades the incoming order o against the book, then rests it or
// cancels what remains (IOC, FOK, market).
func (e *StandIn) match(o *siOrder) {
	for o.leaves() > 0 {
		r := e.best(o.inst, o.side, o.ordType, o.price, o)
		if r == nil {
			break
		}
		q := min(o.leaves(), r.leaves())
		e.tradeID++
		for _, x := range []*siOrder{r, o} {
			x.cum += q
			x.notional += q * r.price
			x.status = engine.OrdStatusPartiallyFilled
			if x.cum == x.qty {
				x.status = engine.OrdStatusFilled
				e.finish(x)
			}
			e.exec(x, engine.ExecTypeTrade, engine.ReasonNone, r.price, q, e.tradeID, e.ownerSession(x))
		}
	}
	if o.leaves() > 0 && (o.tif == engine.TimeInForceIOC || o.tif == engine.TimeInForceFOK || o.ordType == engine.OrdTypeMarket) {
		reason := engine.ReasonIOCRemainder
		if o.ordType == engine.OrdTypeMarket {
			reason = engine.ReasonMarketRemainder
		}
		e.cancel(o, reason, "")
		return
	}
	if o.live && !o.resting {
		o.resting = true
		e.orders = append(e.orders, o)
	}
}

// finish ends order o: it is no longer live and leaves the book.
func (e *StandIn) finish(o *siOrder) {
	o.live = false
	if !o.resting {
		return
	}
	o.resting = false
	for i, x := range e.orders {
		if x == o {
			e.orders = append(e.orders[:i], e.orders[i+1:]...)
			return
		}
	}
}

// cancel ends a live order; newClOrdID, when set, becomes its ClOrdID (a
// client's cancel request).
func (e *StandIn) cancel(o *siOrder, reason engine.Reason, newClOrdID string) {
	if newClOrdID != "" {
		o.origClOrdID, o.clOrdID = o.clOrdID, newClOrdID
		e.byClOrd[clKey{o.account, newClOrdID}] = o
	}
	o.status, o.reason = engine.OrdStatusCanceled, reason
	e.finish(o)
	e.exec(o, engine.ExecTypeCanceled, reason, 0, 0, 0, e.ownerSession(o))
}

type cxlFields struct {
	orderID              uint64
	clOrdID, origClOrdID []byte
	account, principal   []byte
	inst                 uint32
	side                 engine.Side
	to                   engine.CxlRejResponseTo
}

func (e *StandIn) cancelReject(f cxlFields, o *siOrder, r engine.Reason) {
	var c engine.CancelReject
	e.out, c = engine.AppendCancelReject(e.out[:0])
	c.SetOrderID(f.orderID)
	c.SetOrdStatus(engine.OrdStatusRejected)
	if o != nil {
		c.SetOrderID(o.id)
		c.SetOrdStatus(o.status)
	}
	c.SetLogPosition(e.ctxPos)
	c.SetClusterTime(e.ctxTime)
	c.SetInstrument(f.inst)
	c.SetReason(r)
	c.SetResponseTo(f.to)
	c.SetAccountBytes(f.account)
	c.SetPrincipalBytes(f.principal)
	c.SetClOrdIDBytes(f.clOrdID)
	c.SetOrigClOrdIDBytes(f.origClOrdID)
	e.send(e.ctxSession, e.out)
}

// target finds and checks the order a cancel or replace names.
func (e *StandIn) target(p *siPrincipal, f cxlFields) (*siOrder, engine.Reason) {
	if !p.accounts[string(f.account)] {
		return nil, engine.ReasonNotAuthorized
	}
	o, stale := e.lookup(string(f.account), f.orderID, string(f.origClOrdID))
	switch {
	case o == nil:
		return nil, engine.ReasonUnknownOrder
	case !o.live:
		return o, engine.ReasonTooLateToCancel
	case stale || o.inst != f.inst || o.side != f.side:
		return o, engine.ReasonUnknownOrder
	}
	return o, engine.ReasonNone
}

func (e *StandIn) duplicateTarget(t engine.TemplateID, f cxlFields) {
	if o, _ := e.lookup(string(f.account), f.orderID, string(f.origClOrdID)); o != nil {
		e.statusReport(o, engine.ReasonDuplicateMessage)
		return
	}
	e.businessReject(t, engine.ReasonDuplicateMessage, f.principal, f.clOrdID)
}

func (e *StandIn) onCancel(m engine.CancelOrder) {
	f := cxlFields{m.OrderID(), m.ClOrdID(), m.OrigClOrdID(), m.Account(), m.Principal(), m.Instrument(), m.Side(), engine.CxlRejResponseToCancel}
	p := e.actor(m.Principal())
	if p == nil {
		e.cancelReject(f, nil, engine.ReasonNotAuthorized)
		return
	}
	if e.duplicate(p, m.SenderSeq()) {
		e.duplicateTarget(engine.TemplateCancelOrder, f)
		return
	}
	o, r := e.target(p, f)
	if r != engine.ReasonNone {
		e.cancelReject(f, o, r)
		return
	}
	e.cancel(o, engine.ReasonClientRequest, string(m.ClOrdID()))
}

func (e *StandIn) onReplace(m engine.ReplaceOrder) {
	f := cxlFields{m.OrderID(), m.ClOrdID(), m.OrigClOrdID(), m.Account(), m.Principal(), m.Instrument(), m.Side(), engine.CxlRejResponseToReplace}
	p := e.actor(m.Principal())
	if p == nil {
		e.cancelReject(f, nil, engine.ReasonNotAuthorized)
		return
	}
	if e.duplicate(p, m.SenderSeq()) {
		e.duplicateTarget(engine.TemplateReplaceOrder, f)
		return
	}
	o, r := e.target(p, f)
	if r == engine.ReasonNone {
		r = e.replaceAllowed(o, m)
	}
	if r != engine.ReasonNone {
		e.cancelReject(f, o, r)
		return
	}
	o.origClOrdID, o.clOrdID = o.clOrdID, string(m.ClOrdID())
	e.byClOrd[clKey{o.account, o.clOrdID}] = o
	o.qty = m.Quantity()
	if m.Price() != o.price {
		// A price change loses priority: the order goes to the back.
		o.price = m.Price()
		e.requeue(o)
	}
	if o.cum == o.qty {
		o.status = engine.OrdStatusFilled
		e.finish(o)
	}
	e.exec(o, engine.ExecTypeReplaced, engine.ReasonNone, 0, 0, 0, e.ownerSession(o))
	if o.live {
		e.match(o)
	}
}

func (e *StandIn) replaceAllowed(o *siOrder, m engine.ReplaceOrder) engine.Reason {
	switch {
	case m.OrdType() != o.ordType || m.TimeInForce() != o.tif:
		return engine.ReasonUnsupportedOrderType
	case m.Quantity() < o.cum:
		return engine.ReasonInvalidQuantity
	}
	if x, stale := e.lookup(o.account, 0, string(m.ClOrdID())); x != nil && x.live && !stale {
		return engine.ReasonDuplicateClOrdID
	}
	in := e.instruments[o.inst]
	if o.ordType == engine.OrdTypeLimit && (m.Price() <= 0 || m.Price()%max(in.def.TickSize(), 1) != 0) {
		return engine.ReasonOffTick
	}
	return engine.ReasonNone
}

// requeue moves o behind every other order (time priority lost). Orders
// keep their ids; only the scan order changes.
func (e *StandIn) requeue(o *siOrder) {
	if !o.resting {
		return
	}
	for i, x := range e.orders {
		if x == o {
			copy(e.orders[i:], e.orders[i+1:])
			e.orders[len(e.orders)-1] = o
			return
		}
	}
}

func (e *StandIn) onMassCancel(m engine.MassCancel) {
	p := e.actor(m.Principal())
	reason := engine.ReasonNone
	var n uint32
	switch {
	case p == nil:
		reason = engine.ReasonNotAuthorized
	case e.duplicate(p, m.SenderSeq()):
		e.businessReject(engine.TemplateMassCancel, engine.ReasonDuplicateMessage, m.Principal(), m.ClOrdID())
		return
	default:
		for _, o := range append([]*siOrder(nil), e.orders...) {
			if o.live && o.principal == p.name && massMatch(m, o) {
				e.cancel(o, engine.ReasonMassCancel, "")
				n++
			}
		}
	}
	var r engine.MassCancelReport
	e.out, r = engine.AppendMassCancelReport(e.out[:0])
	r.SetLogPosition(e.ctxPos)
	r.SetClusterTime(e.ctxTime)
	r.SetInstrument(m.Instrument())
	r.SetCancelledCount(n)
	r.SetReason(reason)
	r.SetScope(m.Scope())
	r.SetAccountBytes(m.Account())
	r.SetPrincipalBytes(m.Principal())
	r.SetClOrdIDBytes(m.ClOrdID())
	e.send(e.ctxSession, e.out)
}

func massMatch(m engine.MassCancel, o *siOrder) bool {
	switch m.Scope() {
	case engine.MassCancelScopeAccount:
		return o.account == string(m.Account())
	case engine.MassCancelScopeInstrument:
		return o.inst == m.Instrument()
	case engine.MassCancelScopeAccountInstrument:
		return o.inst == m.Instrument() && o.account == string(m.Account())
	}
	return true
}

func (e *StandIn) onStatus(m engine.OrderStatusRequest) {
	p := e.actor(m.Principal())
	var o *siOrder
	reason := engine.ReasonUnknownOrder
	if p == nil || !p.accounts[string(m.Account())] {
		reason = engine.ReasonNotAuthorized
	} else {
		o, _ = e.lookup(string(m.Account()), m.OrderID(), string(m.ClOrdID()))
	}
	if o != nil {
		e.statusReport(o, engine.ReasonNone)
		return
	}
	x := &siOrder{id: m.OrderID(), clOrdID: string(m.ClOrdID()), account: string(m.Account()), principal: string(m.Principal()),
		inst: m.Instrument(), side: m.Side(), ordType: engine.OrdTypeLimit, status: engine.OrdStatusRejected}
	e.exec(x, engine.ExecTypeOrderStatus, reason, 0, 0, 0, e.ctxSession)
}

// Orders returns a copy of every order the stand-in accepted, for tests:
// (ClOrdID, account, cum, qty, live) per order in id order.
func (e *StandIn) Orders() []OrderView {
	out := make([]OrderView, 0, len(e.byID))
	for _, o := range e.byID {
		out = append(out, OrderView{ID: o.id, ClOrdID: o.clOrdID, Account: o.account, Qty: o.qty, Cum: o.cum, Live: o.live, Status: o.status})
	}
	return out
}

// OrderView is a test's view of one order.
type OrderView struct {
	ID      uint64
	ClOrdID string
	Account string
	Qty     int64
	Cum     int64
	Live    bool
	Status  engine.OrdStatus
}
