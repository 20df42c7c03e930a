package engine

import "venue/orderbook"

// onNewOrder applies a NewOrder: checks in a fixed order (so the reported
// reason is deterministic), then a new live order submitted to its book.
// Rejects before the order exists carry OrderID 0 and are not remembered.
func (e *Engine) onNewOrder(s *session, m NewOrder) {
	_ = m[NewOrderBlockLength-1] // Decode guarantees it; one check for all the accessors
	acct, id := m.accountRef(), m.clOrdIDRef()
	// The key's hash needs no lookup (see hashClID): the index slot it
	// names is on its way while the sender is checked.
	h := hashClID(acct, id)
	e.prefetchKey(h)
	if m.Flags()&^flagsKnown != 0 || !validName32(id) {
		e.counters.Malformed++
		e.rejectNewOrder(m, ReasonMalformed)
		return
	}
	p, r := e.actor(s, m.principalRef())
	if r != ReasonNone {
		e.counters.NotAuthorized++
		e.rejectNewOrder(m, r)
		return
	}
	if e.duplicate(p, m.SenderSeq()) {
		e.answerDuplicate(TemplateNewOrder, m.AccountKey(), m.ClOrdIDKey(), m.Principal(), m.Instrument())
		return
	}
	in, a, r := e.orderTarget(p, m.Instrument(), acct)
	if r != ReasonNone {
		e.rejectNewOrder(m, r)
		return
	}
	cl, found := e.orders.clFindID(a, id, h)
	if found {
		oi, current, ok := e.orders.resolve(e.orders.byClOrdID.slots[cl].ref)
		if ok && (current || m.Flags()&FlagPossResend != 0) {
			if m.Flags()&FlagPossResend != 0 {
				e.counters.Duplicates++
				e.statusReport(e.orders.at(oi), ReasonNone)
				return
			}
			e.rejectNewOrder(m, ReasonDuplicateClOrdID)
			return
		}
	}
	if r := e.entryAllowed(in, m.OrdType(), m.TimeInForce(), m.Side(), m.Price()); r != ReasonNone {
		e.rejectNewOrder(m, r)
		return
	}
	if e.orders.live >= LiveOrdersMax {
		e.counters.LimitExceeded++
		e.rejectNewOrder(m, ReasonLimitExceeded)
		return
	}
	ref, o := e.newLiveOrder(p, a, id, h, cl, found)
	o.instrument = m.Instrument()
	o.side, o.ordType, o.tif, o.flags = m.Side(), m.OrdType(), m.TimeInForce(), m.Flags()
	o.qty = m.Quantity()
	if o.ordType == OrdTypeLimit {
		o.price = m.Price()
	}
	e.submit(in, ref, o)
}

// orderTarget resolves and authorizes an order's instrument and account.
func (e *Engine) orderTarget(p int32, instrumentID uint32, acct *[accountNameBytes]byte) (*instrument, int32, Reason) {
	in := e.instrument(instrumentID)
	if in == nil {
		return nil, 0, ReasonUnknownInstrument
	}
	if a, ok := e.principals[p].tradedAccount(acct); ok {
		return in, a, ReasonNone
	}
	a, ok := e.accountIdx.find(acct)
	if !ok {
		return nil, 0, e.lookupFailed(validAccount(*acct), ReasonUnknownAccount)
	}
	if !e.principals[p].mayTrade(a) {
		e.counters.NotAuthorized++
		return nil, 0, ReasonNotAuthorized
	}
	return in, a, ReasonNone
}

// submit runs the new live order o (at r) through its book; the listener
// reports the rest.
func (e *Engine) submit(in *instrument, r orderRef, o *order) {
	// The order may be finished when Submit returns; the listener has
	// reported everything.
	e.ctx.inst = in
	e.ctx.taker = r
	in.book.Submit(orderbook.Order{
		ID: orderIDToBook(o.id), Account: orderbook.Account(o.account),
		Side: sideToBook(o.side), Type: typeToBook(o.ordType), TIF: tifToBook(o.tif),
		PostOnly: o.flags&FlagPostOnly != 0, STP: stpToBook(e.accounts[o.account].stp),
		Price: o.price, Quantity: o.qty, Tag: uint32(r),
	})
}

// entryAllowed applies the instrument's trading state to an order entering
// the book (a new order, or a replace at a new price):
//
//   - Open: allowed.
//   - Halted: refused (TradingHalted); cancels still work.
//   - Closed: refused (TradingClosed).
//   - PreOpen: the book is built but nothing trades (there is no opening
//     auction): limit GTC/DAY orders that would not trade are allowed;
//     market, IOC and FOK orders and limits that cross the book are refused
//     (TradingClosed).
func (e *Engine) entryAllowed(in *instrument, t OrdType, tif TimeInForce, side Side, price int64) Reason {
	switch in.info.State {
	case TradingStateOpen:
		return ReasonNone
	case TradingStateHalted:
		return ReasonTradingHalted
	case TradingStatePreOpen:
		if t == OrdTypeMarket || tif == TimeInForceIOC || tif == TimeInForceFOK || crosses(in.book, side, price) {
			return ReasonTradingClosed
		}
		return ReasonNone
	}
	return ReasonTradingClosed
}

// crosses reports whether a limit order at price on side would meet the
// best opposite level.
func crosses(b *orderbook.Book, side Side, price int64) bool {
	best, ok := b.Best(sideToBook(side) ^ 1)
	if !ok {
		return false
	}
	if side == SideBuy {
		return best.Price <= price
	}
	return best.Price >= price
}

// answerDuplicate answers a command whose SenderSeq was already applied:
// the order it named, if known, gets a status report; otherwise a business
// reject says it was a duplicate.
func (e *Engine) answerDuplicate(t TemplateID, acct [accountNameBytes]byte, id [clOrdIDBytes]byte, principal []byte, instrument uint32) {
	if a, ok := e.accountIdx.get(acct); ok {
		k := clKey{account: a, id: id}
		if oi, _, ok := e.orders.byClOrdHashed(&k, e.clKeyHash(&k)); ok {
			e.statusReport(e.orders.at(oi), ReasonDuplicateMessage)
			return
		}
	}
	e.businessRejectOn(t, ReasonDuplicateMessage, principal, chars(id[:]), chars(acct[:]), instrument)
}
