package engine

// onMassCancel cancels, by scope:
//
//   - Account: every live order of the account, in every instrument;
//   - Instrument: every live order in the instrument of the accounts the
//     principal trades (an Admin: of every account);
//   - AccountInstrument: the account's live orders in the instrument;
//   - Principal: the live orders the principal entered.
//
// A Side limits any scope to that side's orders; they are then cancelled
// in order-id order (without it, in book order, bids first).
//
// Each cancelled order gets an ExecutionReport (reason MassCancel) to its
// owner; the requester gets a MassCancelReport with the count.
func (e *Engine) onMassCancel(s *session, m MassCancel) {
	if !ValidChars(m.ClOrdID()) {
		e.counters.Malformed++
		e.massCancelReport(m, ReasonMalformed)
		return
	}
	named := m.PrincipalKey()
	p, r := e.actor(s, &named)
	if r != ReasonNone {
		e.counters.NotAuthorized++
		e.massCancelReport(m, r)
		return
	}
	if e.duplicate(p, m.SenderSeq()) {
		e.businessRejectOn(TemplateMassCancel, ReasonDuplicateMessage, m.Principal(), m.ClOrdID(), m.Account(), m.Instrument())
		return
	}
	e.ctx.cancelReason = ReasonMassCancel
	e.massCancelReport(m, e.massCancel(p, m))
}

func (e *Engine) massCancel(p int32, m MassCancel) Reason {
	scope, side := m.Scope(), m.Side()
	if scope == MassCancelScopePrincipal {
		if side != 0 {
			e.cancelMatching(func(o *order) bool { return o.principal == p && o.side == side }, ReasonMassCancel)
			return ReasonNone
		}
		e.cancelPrincipalOrders(p, false, ReasonMassCancel)
		return ReasonNone
	}
	var in *instrument
	if scope != MassCancelScopeAccount {
		if in = e.instrument(m.Instrument()); in == nil {
			return ReasonUnknownInstrument
		}
	}
	if scope == MassCancelScopeInstrument {
		if side != 0 {
			pr, id := &e.principals[p], in.info.ID
			e.cancelMatching(func(o *order) bool {
				return o.instrument == id && o.side == side && (pr.role == RoleAdmin || pr.mayTrade(o.account))
			}, ReasonMassCancel)
			return ReasonNone
		}
		e.cancelInstrumentFor(p, in)
		return ReasonNone
	}
	a, ok := e.accountIdx.get(m.AccountKey())
	if !ok {
		return ReasonUnknownAccount
	}
	if !e.principals[p].mayTrade(a) {
		e.counters.NotAuthorized++
		return ReasonNotAuthorized
	}
	if side != 0 {
		e.cancelMatching(func(o *order) bool {
			return o.account == a && o.side == side && (in == nil || o.instrument == in.info.ID)
		}, ReasonMassCancel)
		return ReasonNone
	}
	if in != nil {
		e.ctx.inst = in
		in.book.CancelAccount(accountToBook(a))
		return ReasonNone
	}
	for _, in := range e.instruments {
		e.ctx.inst = in
		in.book.CancelAccount(accountToBook(a))
	}
	return ReasonNone
}

// cancelInstrumentFor cancels the orders in instrument in of the accounts
// principal p trades, or every order if p is an Admin.
func (e *Engine) cancelInstrumentFor(p int32, in *instrument) {
	e.ctx.inst = in
	pr := &e.principals[p]
	if pr.role == RoleAdmin {
		in.book.CancelAll()
		return
	}
	for _, a := range pr.accounts {
		in.book.CancelAccount(accountToBook(a))
	}
}

func (e *Engine) massCancelReport(m MassCancel, reason Reason) {
	r := WriteMassCancelReport(e.out[:])
	e.outLen = MassCancelReportLength
	r.SetLogPosition(e.ctx.logPosition)
	r.SetClusterTime(e.ctx.clusterTime)
	r.SetInstrument(m.Instrument())
	r.SetCancelledCount(e.ctx.cancelled)
	r.SetReason(reason)
	r.SetScope(m.Scope())
	r.SetAccountBytes(m.Account())
	r.SetPrincipalBytes(m.Principal())
	r.SetClOrdIDBytes(m.ClOrdID())
	e.sendToRequester()
}

// onOrderStatusRequest answers with the order's present state (an
// ExecutionReport OrderStatus), or, for an order the engine does not know
// (or no longer remembers), one with OrdStatus Rejected and reason
// UnknownOrder.
func (e *Engine) onOrderStatusRequest(s *session, m OrderStatusRequest) {
	named := m.PrincipalKey()
	p, r := e.actor(s, &named)
	if r != ReasonNone {
		e.counters.NotAuthorized++
		e.unknownStatus(m, r)
		return
	}
	a, ok := e.accountIdx.get(m.AccountKey())
	if !ok {
		e.unknownStatus(m, ReasonUnknownAccount)
		return
	}
	if !e.principals[p].mayTrade(a) {
		e.counters.NotAuthorized++
		e.unknownStatus(m, ReasonNotAuthorized)
		return
	}
	id := m.ClOrdIDKey()
	oi, _, ok := e.lookupOrder(a, &targetRef{orderID: m.OrderID(), orig: &id})
	if !ok {
		e.unknownStatus(m, ReasonUnknownOrder)
		return
	}
	e.statusReport(e.orders.at(oi), ReasonNone)
}

func (e *Engine) unknownStatus(m OrderStatusRequest, reason Reason) {
	e.nextExecID++
	r := WriteExecutionReport(e.out[:])
	e.outLen = ExecutionReportLength
	r.SetExecID(e.nextExecID)
	r.SetOrderID(m.OrderID())
	r.SetLogPosition(e.ctx.logPosition)
	r.SetClusterTime(e.ctx.clusterTime)
	r.SetInstrument(m.Instrument())
	r.SetReason(reason)
	r.SetSide(m.Side())
	r.SetExecType(ExecTypeOrderStatus)
	r.SetOrdStatus(OrdStatusRejected)
	r.SetTradingState(e.stateOf(m.Instrument()))
	r.SetAccountBytes(m.Account())
	r.SetPrincipalBytes(m.Principal())
	r.SetClOrdIDBytes(m.ClOrdID())
	e.sendToRequester()
}

// onInstrumentListRequest answers with one InstrumentDefinition per
// instrument, by id, the last with Last=1; with no instruments listed, a
// business reject (UnknownInstrument) ends the answer instead. Anyone may
// ask: a Gateway for itself (Principal empty or its own name) as well as
// for a Trader it carries.
func (e *Engine) onInstrumentListRequest(s *session, m InstrumentListRequest) {
	if r := e.listRequester(s, m.PrincipalKey()); r != ReasonNone {
		e.counters.NotAuthorized++
		e.businessReject(TemplateInstrumentListRequest, r, m.Principal(), m.RequestID())
		return
	}
	if len(e.instruments) == 0 {
		e.businessReject(TemplateInstrumentListRequest, ReasonUnknownInstrument, m.Principal(), m.RequestID())
		return
	}
	for i, in := range e.instruments {
		r := WriteInstrumentDefinition(e.out[:])
		e.outLen = InstrumentDefinitionLength
		putInstrumentInfo(r, &in.info)
		r.SetLogPosition(e.ctx.logPosition)
		r.SetClusterTime(e.ctx.clusterTime)
		r.SetRequestIDBytes(m.RequestID())
		if i == len(e.instruments)-1 {
			r.SetLast(1)
		}
		e.sendToRequester()
	}
}

// listRequester authorizes an instrument list request: a Gateway session
// may ask for itself, which is no command for a Trader (so it makes no
// Trader's reports go to the gateway); everyone else as for any command.
func (e *Engine) listRequester(s *session, named [principalNameBytes]byte) Reason {
	if s != nil {
		if own := e.sessionPrincipal(s); own != nilIndex {
			pr := &e.principals[own]
			if pr.role == RoleGateway && (named == ([principalNameBytes]byte{}) || named == pr.name) {
				return ReasonNone
			}
		}
	}
	_, r := e.actor(s, &named)
	return r
}

func putInstrumentInfo(r InstrumentDefinition, info *InstrumentInfo) {
	r.SetTickSize(info.TickSize)
	r.SetLotSize(info.LotSize)
	r.SetReferencePrice(info.ReferencePrice)
	r.SetInstrument(info.ID)
	r.SetBandBps(info.BandBps)
	r.SetPriceDecimals(info.PriceDecimals)
	r.SetState(info.State)
	r.SetSymbolBytes(info.Symbol[:])
}
