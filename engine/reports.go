package engine

// Report encoding. Every report is built in e.out (its first e.outLen
// bytes), sent, and forgotten:
// Egress must copy what it keeps. Reports about an order go to its
// principal's current session; answers to a command that concern no order
// (rejects before an order exists, business rejects, mass cancel reports,
// instrument definitions) go to the session that sent it.

// beginExec starts an ExecutionReport on order o with the next ExecID.
func (e *Engine) beginExec(o *order, et ExecType, reason Reason) ExecutionReport {
	e.nextExecID++
	r := WriteExecutionReport(e.out[:])
	e.outLen = ExecutionReportLength
	_ = r[ExecutionReportBlockLength-1] // one bounds check for all the setters
	r.SetExecID(e.nextExecID)
	r.SetOrderID(o.id)
	r.SetPrice(o.price)
	r.SetQuantity(o.qty)
	r.SetLeavesQty(o.leaves())
	r.SetCumQty(o.cum)
	r.SetCumNotional(o.cumNotional)
	r.SetLogPosition(e.ctx.logPosition)
	r.SetClusterTime(e.ctx.clusterTime)
	r.SetInstrument(o.instrument)
	r.SetReason(reason)
	r.SetSide(o.side)
	r.SetOrdType(o.ordType)
	r.SetTimeInForce(o.tif)
	r.SetExecType(et)
	r.SetOrdStatus(o.status)
	if in := e.ctx.inst; in != nil && in.info.ID == o.instrument {
		r.SetTradingState(in.info.State) // the book being driven: no lookup
	} else {
		r.SetTradingState(e.stateOf(o.instrument))
	}
	r.SetFlags(o.flags)
	// Names and ClOrdIDs the engine keeps were validated where they
	// entered, so they are already NUL-padded: whole-array copies.
	r.SetAccountKey(&e.accounts[o.account].name)
	r.SetPrincipalKey(&e.principals[o.principal].name)
	r.SetClOrdIDKey(&o.clOrdID)
	if o.id == e.ctx.replacedID {
		r.SetOrigClOrdIDKey(&e.ctx.origClOrdID)
		if et == ExecTypeReplaced {
			r.SetOrigPrice(e.ctx.origPrice)
			r.SetOrigQuantity(e.ctx.origQty)
		}
	}
	return r
}

// stateOf returns an instrument's trading state; the context's instrument
// answers without a lookup.
func (e *Engine) stateOf(id uint32) TradingState {
	if in := e.ctx.inst; in != nil && in.info.ID == id {
		return in.info.State
	}
	if in := e.instrument(id); in != nil {
		return in.info.State
	}
	return 0
}

// sendToOwner sends e.out to the current session of order o's principal.
func (e *Engine) sendToOwner(o *order) { e.sendToPrincipal(o.principal) }

func (e *Engine) sendToPrincipal(p int32) { e.send(e.principals[p].session) }

// sendToRequester sends e.out to the session that sent the command.
func (e *Engine) sendToRequester() { e.send(e.ctx.session) }

// send hands e.out to the report tap, then to session sid through Egress
// (sid 0: nowhere to send it, counted Undeliverable). Every report leaves
// the engine through here.
func (e *Engine) send(sid SessionID) {
	msg := e.out[:e.outLen]
	if e.tap != nil {
		e.tap.OnReport(sid, msg)
	}
	if sid == 0 {
		e.counters.Undeliverable++
		return
	}
	e.egress.Send(sid, msg)
}

// execReport sends a report of order o without fill details.
func (e *Engine) execReport(o *order, et ExecType, reason Reason) {
	e.beginExec(o, et, reason)
	e.sendToOwner(o)
}

// statusReport answers a status request, a resend or a duplicate with
// order o's present state, to the requester.
// reason None reports the reason the order ended, if it did.
func (e *Engine) statusReport(o *order, reason Reason) {
	if reason == ReasonNone {
		reason = o.reason
	}
	e.beginExec(o, ExecTypeOrderStatus, reason)
	e.sendToRequester()
}

// rejectNewOrder answers a NewOrder refused before it became an order
// (no order id) with an ExecutionReport Rejected built from the command.
func (e *Engine) rejectNewOrder(m NewOrder, reason Reason) {
	e.nextExecID++
	r := WriteExecutionReport(e.out[:])
	e.outLen = ExecutionReportLength
	r.SetExecID(e.nextExecID)
	r.SetPrice(m.Price())
	r.SetQuantity(m.Quantity())
	r.SetLogPosition(e.ctx.logPosition)
	r.SetClusterTime(e.ctx.clusterTime)
	r.SetInstrument(m.Instrument())
	r.SetReason(reason)
	r.SetSide(m.Side())
	r.SetOrdType(m.OrdType())
	r.SetTimeInForce(m.TimeInForce())
	r.SetExecType(ExecTypeRejected)
	r.SetOrdStatus(OrdStatusRejected)
	r.SetTradingState(e.stateOf(m.Instrument()))
	r.SetFlags(m.Flags())
	r.SetAccountBytes(m.Account())
	r.SetPrincipalBytes(m.Principal())
	r.SetClOrdIDBytes(m.ClOrdID())
	e.sendToRequester()
}

// cancelRejectFields is what a CancelReject reports.
type cancelRejectFields struct {
	orderID     uint64
	instrument  uint32
	reason      Reason
	responseTo  CxlRejResponseTo
	status      OrdStatus
	account     [accountNameBytes]byte
	principal   [principalNameBytes]byte
	clOrdID     [clOrdIDBytes]byte
	origClOrdID [clOrdIDBytes]byte
}

func (e *Engine) cancelReject(f *cancelRejectFields) {
	r := WriteCancelReject(e.out[:])
	e.outLen = CancelRejectLength
	r.SetOrderID(f.orderID)
	r.SetLogPosition(e.ctx.logPosition)
	r.SetClusterTime(e.ctx.clusterTime)
	r.SetInstrument(f.instrument)
	r.SetReason(f.reason)
	r.SetResponseTo(f.responseTo)
	r.SetOrdStatus(f.status)
	r.SetAccountKey(&f.account)
	r.SetPrincipalKey(&f.principal)
	r.SetClOrdIDKey(&f.clOrdID)
	r.SetOrigClOrdIDKey(&f.origClOrdID)
	e.sendToRequester()
}

// businessReject answers a command that cannot be applied at all, and
// acknowledges an accepted admin command (reason ReasonNone).
func (e *Engine) businessReject(t TemplateID, reason Reason, principal, refID []byte) {
	e.businessRejectOn(t, reason, principal, refID, nil, 0)
}

// businessRejectOn is businessReject for a command that named an account
// or an instrument: the reject carries them.
func (e *Engine) businessRejectOn(t TemplateID, reason Reason, principal, refID, account []byte, instrument uint32) {
	r := WriteBusinessReject(e.out[:])
	e.outLen = BusinessRejectLength
	r.SetLogPosition(e.ctx.logPosition)
	r.SetClusterTime(e.ctx.clusterTime)
	r.SetRefTemplateID(uint16(t))
	r.SetReason(reason)
	// Both come from wire fields no wider than these, so they always fit.
	r.SetPrincipalBytes(principal)
	r.SetRefIDBytes(refID)
	r.SetAccountBytes(account)
	r.SetInstrument(instrument)
	e.sendToRequester()
}
