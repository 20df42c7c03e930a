package engine

import (
	"math"
	"math/bits"

	"venue/orderbook"
)

// bookListener turns the events of the book being driven (e.ctx.inst) into
// order-state updates, execution reports and market-data calls. The book
// calls it synchronously, in a fixed order, before the command returns.
type bookListener struct{ e *Engine }

var _ orderbook.Listener = (*bookListener)(nil)

// OnAccepted reports a new order: the incoming order of the command.
func (l *bookListener) OnAccepted(ev orderbook.Accepted) {
	e := l.e
	o := e.takerOrder(ev.ID)
	o.status = OrdStatusNew
	e.execReport(o, ExecTypeNew, ReasonNone)
}

// OnRejected reports a refused new order; a refused cancel or amend is
// left in the context for the command to answer with a cancel reject.
func (l *bookListener) OnRejected(ev orderbook.Rejected) {
	e := l.e
	if ev.Op != orderbook.OpSubmit {
		e.ctx.bookReject = reasonFromReject(ev.Reason)
		return
	}
	o := e.takerOrder(ev.ID)
	o.status, o.reason = OrdStatusRejected, reasonFromReject(ev.Reason)
	e.execReport(o, ExecTypeRejected, o.reason)
	e.finishOrder(e.ctx.taker)
}

// OnTrade updates both orders, reports the fill to each owner (maker
// first), and the trade to market data.
func (l *bookListener) OnTrade(ev orderbook.Trade) {
	e := l.e
	mi, m, tagged := e.orders.makerOrder(ev.MakerTag, uint64(ev.Maker))
	if !tagged {
		e.counters.MakerTagMisses++
	}
	t := e.takerOrder(ev.Taker)
	e.nextTradeID++
	e.fill(m, t.id, ev.Price, ev.Quantity, ev.MakerRemaining, false)
	e.fill(t, m.id, ev.Price, ev.Quantity, ev.TakerRemaining, true)
	e.md.OnTrade(t.instrument, e.nextTradeID, ev.Price, ev.Quantity, t.side, e.ctx.logPosition, e.ctx.clusterTime)
	if ev.MakerRemaining == 0 {
		e.finishOrder(mi)
	}
	if ev.TakerRemaining == 0 {
		e.finishOrder(e.ctx.taker)
	}
}

// fill applies one fill to order o and reports it; contra is the order it
// traded with.
func (e *Engine) fill(o *order, contra uint64, price, qty, remaining int64, aggressor bool) {
	o.cum += qty
	o.cumNotional = addProduct(o.cumNotional, price, qty)
	assert(o.qty-o.cum == remaining, "fill: engine and book disagree on the open quantity")
	o.status = OrdStatusPartiallyFilled
	if remaining == 0 {
		o.status = OrdStatusFilled
	}
	r := e.beginExec(o, ExecTypeTrade, ReasonNone)
	r.SetTradeID(e.nextTradeID)
	r.SetLastPx(price)
	r.SetLastQty(qty)
	r.SetContraOrderID(contra)
	if aggressor {
		r.SetAggressor(1)
	}
	e.sendToOwner(o)
}

// OnCancelled reports an order leaving the book, or the dropped remainder
// of the incoming one.
func (l *bookListener) OnCancelled(ev orderbook.Cancelled) {
	e := l.e
	oi, o := e.eventOrder(ev.ID)
	assert(o.qty-o.cum == ev.Remaining, "cancelled: engine and book disagree on the open quantity")
	if ev.Reason == orderbook.CancelAmendedToFilled {
		e.replacedToFilled(oi)
		return
	}
	reason := e.cancelReason(o, ev.Reason)
	o.status, o.reason = OrdStatusCanceled, reason
	r := e.beginExec(o, ExecTypeCanceled, reason)
	if reason == ReasonClientRequest { // only onCancelOrder asks for it, having set cancelClOrdID
		r.SetClOrdIDKey(&e.ctx.cancelClOrdID)
		r.SetOrigClOrdIDKey(&o.clOrdID)
	}
	e.sendToOwner(o)
	e.ctx.cancelled++
	e.finishOrder(oi)
}

func (e *Engine) cancelReason(o *order, r orderbook.CancelReason) Reason {
	switch r {
	case orderbook.CancelRequested, orderbook.CancelMass:
		return e.ctx.cancelReason
	case orderbook.CancelUnfilled:
		if o.ordType == OrdTypeMarket {
			return ReasonMarketRemainder
		}
		return ReasonIOCRemainder
	case orderbook.CancelSelfTrade:
		return ReasonSelfTrade
	}
	panic("engine: assertion failed: unknown cancel reason " + r.String())
}

// OnReplaced applies an accepted amend: new price and quantity, the new
// ClOrdID, the old one remembered as superseded. If the order lost its
// priority, the matching events that follow treat it as the incoming order.
func (l *bookListener) OnReplaced(ev orderbook.Replaced) {
	e := l.e
	oi, o := e.eventOrder(ev.ID)
	e.ctx.taker = oi
	e.applyReplace(oi, ev.Price, ev.Quantity)
	assert(o.qty-o.cum == ev.Remaining, "replaced: engine and book disagree on the open quantity")
	o.status = OrdStatusNew
	if o.cum > 0 {
		o.status = OrdStatusPartiallyFilled
	}
	e.execReport(o, ExecTypeReplaced, ReasonNone)
}

// OnExpired reports a DAY order expired at the close.
func (l *bookListener) OnExpired(ev orderbook.Expired) {
	e := l.e
	oi, o := e.orders.liveOrder(uint64(ev.ID))
	o.status = OrdStatusExpired
	e.execReport(o, ExecTypeExpired, ReasonNone)
	e.finishOrder(oi)
}

// OnLevel passes a level change to market data.
func (l *bookListener) OnLevel(ev orderbook.Level) {
	e := l.e
	e.md.OnLevel(e.ctx.inst.info.ID, sideFromBook(ev.Side), ev.Price, ev.Quantity, ev.Count, e.ctx.logPosition, e.ctx.clusterTime)
}

// eventOrder returns live order id: the command's own order (the
// incoming one, or the one a cancel or replace names) without a lookup,
// any other through the id index.
func (e *Engine) eventOrder(id orderbook.OrderID) (orderRef, *order) {
	if r := e.ctx.taker; r != 0 {
		if o := e.orders.at(r); o.id == uint64(id) {
			return r, o
		}
	}
	return e.orders.liveOrder(uint64(id))
}

// takerOrder returns the incoming order of the command, checking that the
// book speaks of it.
func (e *Engine) takerOrder(id orderbook.OrderID) *order {
	r := e.ctx.taker
	assert(r != 0, "event for an order that is not the incoming one")
	o := e.orders.at(r)
	assert(o.id == uint64(id), "event for an order that is not the incoming one")
	return o
}

// addProduct returns sum + price*qty, saturating at the int64 limits: the
// average price of an absurd order may be wrong, but nothing wraps.
func addProduct(sum, price, qty int64) int64 {
	neg := price < 0
	p := uint64(price)
	if neg {
		p = uint64(-price)
	}
	hi, lo := bits.Mul64(p, uint64(qty))
	if hi != 0 || lo > math.MaxInt64 {
		if neg {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	v := int64(lo)
	if neg {
		v = -v
	}
	s := sum + v
	if (v > 0 && s < sum) || (v < 0 && s > sum) {
		if v > 0 {
			return math.MaxInt64
		}
		return math.MinInt64
	}
	return s
}

// Conversions between the wire's enums and the book's.

func sideToBook(s Side) orderbook.Side { return orderbook.Side(s - 1) }

func sideFromBook(s orderbook.Side) Side { return Side(s + 1) }

func tifToBook(t TimeInForce) orderbook.TimeInForce {
	switch t {
	case TimeInForceGTC:
		return orderbook.GTC
	case TimeInForceIOC:
		return orderbook.IOC
	case TimeInForceFOK:
		return orderbook.FOK
	}
	return orderbook.Day
}

func typeToBook(t OrdType) orderbook.OrderType {
	if t == OrdTypeMarket {
		return orderbook.Market
	}
	return orderbook.Limit
}

func stpToBook(m STPMode) orderbook.STPMode { return orderbook.STPMode(m) }

// reasonFromReject maps the book's reject reasons onto the wire's.
func reasonFromReject(r orderbook.RejectReason) Reason {
	switch r {
	case orderbook.RejectNone:
		return ReasonNone
	case orderbook.RejectUnknownOrder:
		return ReasonUnknownOrder
	case orderbook.RejectDuplicateID:
		return ReasonDuplicateOrderID
	case orderbook.RejectInvalid:
		return ReasonUnsupportedOrderType
	case orderbook.RejectQuantityNotPositive, orderbook.RejectQuantityTooLarge:
		return ReasonInvalidQuantity
	case orderbook.RejectLot:
		return ReasonOffLot
	case orderbook.RejectTick:
		return ReasonOffTick
	case orderbook.RejectPriceOutOfRange:
		return ReasonInvalidPrice
	case orderbook.RejectPriceOutsideBand:
		return ReasonOutsideBand
	case orderbook.RejectPostOnlyWouldTrade:
		return ReasonPostOnlyWouldTrade
	case orderbook.RejectFOKCannotFill:
		return ReasonFOKCannotFill
	case orderbook.RejectBookFull:
		return ReasonLimitExceeded
	}
	return ReasonMalformed
}

func orderIDToBook(id uint64) orderbook.OrderID { return orderbook.OrderID(id) }

func accountToBook(a int32) orderbook.Account { return orderbook.Account(a) }
