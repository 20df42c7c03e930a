package engine

// Sessions, principals and who may act for whom.
//
// A session authenticates as a principal (the cluster's authenticator
// decides; OnSessionOpen says who). What it may do depends on the
// principal's role:
//
//   - Trader: acts for itself only (a command's Principal is empty or its
//     own name), on the accounts SetAccount granted it.
//   - Gateway: carries many principals (a FIX gateway multiplexes its FIX
//     sessions onto one cluster session) and acts for the Trader named in
//     each command. SessionStatus LoggedOn makes the gateway's session the
//     principal's current one, so reports follow a restarted gateway.
//   - Admin: may also send the admin commands (instruments, trading states,
//     accounts, principals). The first admin is Config.BootstrapAdmin.
//
// Reports about an order go to its principal's current session: the last
// Trader/Admin session to open as it, or the gateway session that last
// logged it on (or first acted for it while it had none).

// OnSessionOpen registers a session that authenticated as principal. A
// session past SessionsMax, or with an unusable principal name, is counted
// and stays unknown, so its commands are refused as NotAuthorized.
func (e *Engine) OnSessionOpen(id SessionID, principal []byte, logPosition, clusterTime int64) {
	e.ctx.reset(id, logPosition, clusterTime)
	e.openSession(id, principal)
	e.md.OnApplied(logPosition, clusterTime)
}

func (e *Engine) openSession(id SessionID, name []byte) {
	if _, dup := e.sessions[id]; dup || id == 0 || len(e.sessions) >= SessionsMax ||
		len(name) > principalNameBytes || !ValidChars(name) {
		e.counters.IgnoredSessions++
		return
	}
	s := &session{id: id, principal: nilIndex}
	copy(s.name[:], name)
	e.sessions[id] = s
	e.sessionPrincipal(s)
}

// session returns the open session with id, or nil.
func (e *Engine) session(id SessionID) *session {
	if s := e.lastSession; s != nil && s.id == id {
		return s
	}
	s := e.sessions[id]
	if s != nil {
		e.lastSession = s
	}
	return s
}

// sessionPrincipal returns the principal a session acts as, resolving it
// if the principal was configured after the session opened. A direct
// (non-gateway) session becomes its principal's current session.
func (e *Engine) sessionPrincipal(s *session) int32 {
	if s.principal != nilIndex {
		return s.principal
	}
	p, ok := e.principalIdx.get(s.name)
	if !ok {
		return nilIndex
	}
	s.principal = p
	if pr := &e.principals[p]; pr.role != RoleGateway {
		pr.session = s.id
		pr.cod = e.cfg.CancelOnDisconnectDefault
	}
	return p
}

// OnSessionClose forgets a session; every principal whose reports went to
// it is disconnected (and its resting DAY orders cancelled if
// cancel-on-disconnect is on for it). The cancels are reported before the
// session is forgotten, to the closing session: the cluster drops what it
// can no longer deliver, but the report tap and an offline replay see
// every one of them, routed as they were meant to be.
func (e *Engine) OnSessionClose(id SessionID, reason CloseReason, logPosition, clusterTime int64) {
	e.ctx.reset(0, logPosition, clusterTime)
	if _, ok := e.sessions[id]; ok {
		for p := range e.principals {
			if e.principals[p].session == id {
				e.disconnect(int32(p))
			}
		}
		delete(e.sessions, id)
		e.lastSession = nil
	}
	e.md.OnApplied(logPosition, clusterTime)
}

// disconnect cancels principal p's resting DAY orders if it asked for it,
// reporting them to its current session (the closing session, or the
// gateway that logged it off, which keeps them for the FIX session), and
// only then leaves it without a session.
func (e *Engine) disconnect(p int32) {
	if e.principals[p].cod {
		e.cancelPrincipalOrders(p, true, ReasonCancelOnDisconnect)
	}
	e.principals[p].session = 0
}

// actor returns the principal a command from session s acts for, given the
// command's Principal field (zero: the session's own).
func (e *Engine) actor(s *session, named *[principalNameBytes]byte) (int32, Reason) {
	if s == nil {
		return nilIndex, ReasonNotAuthorized
	}
	own := e.sessionPrincipal(s)
	if own == nilIndex {
		return nilIndex, ReasonNotAuthorized
	}
	pr := &e.principals[own]
	if pr.role != RoleGateway {
		if zeroName(named) || sameName(named, &pr.name) {
			return own, ReasonNone
		}
		return nilIndex, ReasonNotAuthorized
	}
	p, ok := e.principalIdx.find(named)
	if !ok || e.principals[p].role != RoleTrader {
		return nilIndex, ReasonNotAuthorized
	}
	if q := &e.principals[p]; q.session == 0 {
		q.session = s.id
	}
	return p, ReasonNone
}

// admin returns the Admin principal of session s.
func (e *Engine) admin(s *session) (int32, bool) {
	if s == nil {
		return nilIndex, false
	}
	p := e.sessionPrincipal(s)
	return p, p != nilIndex && e.principals[p].role == RoleAdmin
}

// duplicate applies the exactly-once rule: a SenderSeq at or below the
// principal's high-water mark is a duplicate; a higher one becomes the mark.
// 0 disables the check.
func (e *Engine) duplicate(p int32, seq uint64) bool {
	if seq == 0 {
		return false
	}
	pr := &e.principals[p]
	if seq <= pr.senderSeq {
		e.counters.Duplicates++
		return true
	}
	pr.senderSeq = seq
	return false
}

// onSessionStatus applies a gateway's (or a trader's own) logon or logoff
// of a principal, and acknowledges it to the sender with a BusinessReject
// whose Reason is None, after the cancels a logoff causes: as an admin
// command is acknowledged, so that a gateway knows when the logon (and its
// SenderSeq reset) is in the log.
func (e *Engine) onSessionStatus(s *session, m SessionStatus) {
	named := m.PrincipalKey()
	p, r := e.actor(s, &named)
	if r != ReasonNone {
		e.counters.NotAuthorized++
		e.businessReject(TemplateSessionStatus, r, m.Principal(), nil)
		return
	}
	pr := &e.principals[p]
	switch m.State() {
	case SessionStateLoggedOn:
		pr.session = s.id
		pr.cod = m.CancelOnDisconnect() != 0
		if m.ResetSeq() != 0 {
			pr.senderSeq = 0
		}
	case SessionStateLoggedOff:
		if pr.session == s.id {
			e.disconnect(p)
		}
	}
	e.businessReject(TemplateSessionStatus, ReasonNone, m.Principal(), nil)
}

// cancelPrincipalOrders cancels principal p's live orders (only DAY ones
// if dayOnly), in order-id order, reporting reason.
func (e *Engine) cancelPrincipalOrders(p int32, dayOnly bool, reason Reason) {
	if e.principals[p].live == 0 {
		return
	}
	e.cancelMatching(func(o *order) bool {
		return o.principal == p && (!dayOnly || o.tif == TimeInForceDay)
	}, reason)
}

// cancelMatching cancels the live orders that match, in order-id order,
// reporting reason.
func (e *Engine) cancelMatching(match func(*order) bool, reason Reason) {
	ids := e.orders.appendLiveIDs(e.scratchIDs[:0], match)
	for _, id := range ids {
		// Cancelling one order changes no other (a cancel never trades).
		r, _ := e.orders.liveOrder(id)
		e.cancelLive(r, reason)
	}
	e.scratchIDs = ids[:0]
}

// cancelLive cancels one live resting order through its book.
func (e *Engine) cancelLive(oi orderRef, reason Reason) {
	o := e.orders.at(oi)
	in := e.instrument(o.instrument)
	assert(in != nil, "cancelLive: order of an unknown instrument")
	e.ctx.inst = in
	e.ctx.cancelReason = reason
	e.ctx.taker = oi
	r := in.book.Cancel(orderIDToBook(o.id))
	assert(r == 0, "cancelLive: a live order is not in its book")
}
