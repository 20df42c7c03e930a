package engine

// targetRef is how a cancel, replace or status request names an order.
type targetRef struct {
	orderID uint64 // 0: by origClOrdID
	// account and orig (the OrigClOrdID) point at the command's fields:
	// they are read where they lie, never copied.
	account    *[accountNameBytes]byte
	orig       *[clOrdIDBytes]byte
	instrument uint32
	side       Side
	// hash is the hash of (account, *orig) if hashed: the command's
	// account name and orig give it without resolving the account.
	hash   uint32
	hashed bool
}

// findTarget resolves and authorizes the order a cancel or replace names.
// It returns where the order is (0 if no order is known) and a reason
// to refuse the request: the order is unknown, not the caller's, named by
// a ClOrdID it was replaced from (a replace of a replaced order by its old
// ClOrdID), for another instrument or side, or already done.
func (e *Engine) findTarget(p int32, t *targetRef) (orderRef, Reason) {
	a, ok := e.principals[p].tradedAccount(t.account)
	if !ok {
		a, ok = e.accountIdx.find(t.account)
		if !ok {
			return 0, e.lookupFailed(validAccount(*t.account), ReasonUnknownAccount)
		}
		if !e.principals[p].mayTrade(a) {
			e.counters.NotAuthorized++
			return 0, ReasonNotAuthorized
		}
	}
	oi, stale, ok := e.lookupOrder(a, t)
	if !ok {
		return 0, e.lookupFailed(t.orderID != 0 || validName32(t.orig), ReasonUnknownOrder)
	}
	o := e.orders.at(oi)
	switch {
	case o.done():
		return oi, ReasonTooLateToCancel
	case stale || o.instrument != t.instrument || o.side != t.side:
		return oi, ReasonUnknownOrder
	}
	return oi, ReasonNone
}

// lookupFailed returns the reason for a failed lookup of an identifier:
// unknown if it was well formed, malformed (and counted) if not. Only
// valid identifiers are ever indexed, so a lookup that succeeds needs no
// separate check, and the check runs only when one fails.
func (e *Engine) lookupFailed(valid bool, unknown Reason) Reason {
	if valid {
		return unknown
	}
	e.counters.Malformed++
	return ReasonMalformed
}

// lookupOrder finds an order of account a by id, or by ClOrdID when the id
// is 0. stale reports a ClOrdID that is not the order's present one.
func (e *Engine) lookupOrder(a int32, t *targetRef) (r orderRef, stale, ok bool) {
	if t.orderID != 0 {
		r, ok = e.orders.get(t.orderID)
		if !ok || e.orders.at(r).account != a {
			return 0, false, false
		}
		o := e.orders.at(r)
		return r, !zeroClOrdID(t.orig) && !sameClOrdID(t.orig, &o.clOrdID), true
	}
	h := t.hash
	if !t.hashed {
		h = hashClID(&e.accounts[a].name, t.orig)
	}
	i, found := e.orders.clFindID(a, t.orig, h)
	if !found {
		return 0, false, false
	}
	if ref := e.orders.byClOrdID.slots[i].ref; !ref.isSuperseded() {
		return ref, false, true // the order's own ClOrdID: clFind compared it
	}
	r, _, ok = e.orders.resolve(e.orders.byClOrdID.slots[i].ref)
	if !ok {
		return 0, false, false
	}
	return r, !sameClOrdID(&e.orders.at(r).clOrdID, t.orig), true
}

// onCancelOrder applies a CancelOrder.
func (e *Engine) onCancelOrder(s *session, m CancelOrder) {
	_ = m[CancelOrderBlockLength-1] // Decode guarantees it; one check for all the accessors
	t := targetRef{orderID: m.OrderID(), account: m.accountRef(), orig: m.origClOrdIDRef(), instrument: m.Instrument(), side: m.Side()}
	if t.orderID == 0 {
		t.hash, t.hashed = hashClID(t.account, t.orig), true
		e.prefetchKey(t.hash)
	}
	// Account and OrigClOrdID are checked where a lookup fails (only valid
	// names are ever indexed): see findTarget.
	if !validName32(m.clOrdIDRef()) {
		e.counters.Malformed++
		e.refuseCancelOrder(m, 0, ReasonMalformed)
		return
	}
	p, r := e.actor(s, m.principalRef())
	if r != ReasonNone {
		e.counters.NotAuthorized++
		e.refuseCancelOrder(m, 0, r)
		return
	}
	if e.duplicate(p, m.SenderSeq()) {
		e.answerDuplicateTarget(TemplateCancelOrder, p, &t, m.Principal(), m.ClOrdID())
		return
	}
	oi, r := e.findTarget(p, &t)
	if r != ReasonNone {
		e.refuseCancelOrder(m, oi, r)
		return
	}
	e.ctx.cancelClOrdID = *m.clOrdIDRef()
	e.cancelLive(oi, ReasonClientRequest)
}

// refuseCancelOrder answers a CancelOrder with a cancel reject. The
// command's fields are copied whole, not trimmed (as every reject path
// always did), and only here, off the path that applies the cancel.
func (e *Engine) refuseCancelOrder(m CancelOrder, oi orderRef, r Reason) {
	f := cancelRejectFields{
		instrument: m.Instrument(), responseTo: CxlRejResponseToCancel, status: OrdStatusRejected,
		account: m.AccountKey(), principal: m.PrincipalKey(), clOrdID: m.ClOrdIDKey(), origClOrdID: m.OrigClOrdIDKey(),
		orderID: m.OrderID(),
	}
	e.refuseCancel(&f, oi, r)
}

// refuseCancel sends a cancel reject; when the order is known it names the
// order and its present status.
func (e *Engine) refuseCancel(f *cancelRejectFields, oi orderRef, r Reason) {
	f.reason = r
	if oi != 0 {
		o := e.orders.at(oi)
		f.orderID, f.status = o.id, o.status
	}
	e.cancelReject(f)
}

// answerDuplicateTarget answers a cancel or replace whose SenderSeq was
// already applied with the named order's status, if it is known.
func (e *Engine) answerDuplicateTarget(t TemplateID, p int32, ref *targetRef, principal, clOrdID []byte) {
	if a, ok := e.accountIdx.find(ref.account); ok && e.principals[p].mayTrade(a) {
		if oi, _, ok := e.lookupOrder(a, ref); ok {
			e.statusReport(e.orders.at(oi), ReasonDuplicateMessage)
			return
		}
	}
	e.businessRejectOn(t, ReasonDuplicateMessage, principal, clOrdID, chars(ref.account[:]), ref.instrument)
}

// onReplaceOrder applies a ReplaceOrder (cancel/replace): new price and
// total quantity (fills included, as FIX OrderQty), new ClOrdID. Priority
// is kept on a quantity decrease at the same price and lost otherwise (the
// book decides). Order type, time in force and post-only cannot change. A
// quantity below what is filled is refused; equal to it ends the order as
// Filled (reported Replaced).
func (e *Engine) onReplaceOrder(s *session, m ReplaceOrder) {
	_ = m[ReplaceOrderBlockLength-1] // Decode guarantees it; one check for all the accessors
	if m.Flags()&^flagsKnown != 0 || !validName32(m.clOrdIDRef()) {
		e.counters.Malformed++
		e.refuseReplaceOrder(m, 0, ReasonMalformed)
		return
	}
	p, r := e.actor(s, m.principalRef())
	if r != ReasonNone {
		e.counters.NotAuthorized++
		e.refuseReplaceOrder(m, 0, r)
		return
	}
	t := targetRef{orderID: m.OrderID(), account: m.accountRef(), orig: m.origClOrdIDRef(), instrument: m.Instrument(), side: m.Side()}
	if t.orderID == 0 {
		t.hash, t.hashed = hashClID(t.account, t.orig), true
	}
	if e.duplicate(p, m.SenderSeq()) {
		e.answerDuplicateTarget(TemplateReplaceOrder, p, &t, m.Principal(), m.ClOrdID())
		return
	}
	oi, r := e.findTarget(p, &t)
	if r == ReasonNone {
		r = e.replaceAllowed(oi, m)
	}
	if r != ReasonNone {
		e.refuseReplaceOrder(m, oi, r)
		return
	}
	o := e.orders.at(oi)
	e.ctx.inst = e.instrument(o.instrument)
	e.ctx.newClOrdID = *m.clOrdIDRef()
	e.ctx.newQty = m.Quantity()
	e.ctx.taker = oi
	if e.ctx.inst.book.Amend(orderIDToBook(o.id), m.Price(), m.Quantity()) != 0 {
		// Rejected: nothing changed, so oi still names the live order.
		e.refuseReplaceOrder(m, oi, e.ctx.bookReject)
	}
}

// refuseReplaceOrder answers a ReplaceOrder with a cancel reject. As for
// refuseCancelOrder, the command's fields are copied whole, and only here,
// off the path that applies the replace.
func (e *Engine) refuseReplaceOrder(m ReplaceOrder, oi orderRef, r Reason) {
	f := cancelRejectFields{
		instrument: m.Instrument(), responseTo: CxlRejResponseToReplace, status: OrdStatusRejected,
		account: m.AccountKey(), principal: m.PrincipalKey(), clOrdID: m.ClOrdIDKey(), origClOrdID: m.OrigClOrdIDKey(),
		orderID: m.OrderID(),
	}
	e.refuseCancel(&f, oi, r)
}

// replaceAllowed checks a replace of live order oi against what may
// change, the new ClOrdID and the trading state.
func (e *Engine) replaceAllowed(oi orderRef, m ReplaceOrder) Reason {
	o := e.orders.at(oi)
	switch {
	case m.OrdType() != o.ordType || m.TimeInForce() != o.tif || (m.Flags()^o.flags)&FlagPostOnly != 0:
		return ReasonUnsupportedOrderType
	case e.orders.isCurrentID(o.account, m.clOrdIDRef(), hashClID(m.accountRef(), m.clOrdIDRef())):
		return ReasonDuplicateClOrdID
	case m.Quantity() < o.cum:
		return ReasonInvalidQuantity
	}
	in := e.instrument(o.instrument)
	if m.Price() == o.price && in.info.State != TradingStateHalted && in.info.State != TradingStateClosed {
		return ReasonNone // a same-price change never trades
	}
	return e.entryAllowed(in, o.ordType, o.tif, o.side, m.Price())
}
