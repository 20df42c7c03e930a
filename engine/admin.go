package engine

import "venue/orderbook"

// Admin commands. Only a session whose own principal is an Admin may send
// them; each is acknowledged with a BusinessReject whose Reason is None
// (accepted) or says why it was refused.

// onAddInstrument lists a new instrument or updates one. An update may
// change the reference price, symbol and decimals at any time; tick, lot
// and band only while the book is empty (the book's parameters are fixed
// while it holds orders). State, on an update, goes through the trading
// state machine.
func (e *Engine) onAddInstrument(s *session, m AddInstrument) {
	if _, ok := e.admin(s); !ok {
		e.refuseAdmin(TemplateAddInstrument, ReasonNotAuthorized, m.Symbol(), nil, m.Instrument())
		return
	}
	r := e.addInstrument(m)
	e.businessRejectOn(TemplateAddInstrument, r, nil, m.Symbol(), nil, m.Instrument())
}

func (e *Engine) addInstrument(m AddInstrument) Reason {
	if !validSymbol(m.SymbolKey()) || m.TickSize() <= 0 || m.LotSize() <= 0 || m.ReferencePrice() < 0 ||
		m.BandBps() > basisPointsPerUnit || m.PriceDecimals() > maxPriceDecimals || m.Instrument() == AllInstruments {
		return ReasonInvalidDefinition
	}
	info := InstrumentInfo{
		ID: m.Instrument(), Symbol: m.SymbolKey(), PriceDecimals: m.PriceDecimals(), TickSize: m.TickSize(),
		LotSize: m.LotSize(), ReferencePrice: m.ReferencePrice(), BandBps: m.BandBps(), State: m.State(),
	}
	band := bandOf(info.ReferencePrice, info.BandBps)
	if !e.validBookParams(info.TickSize, info.LotSize, band, info.ReferencePrice) {
		return ReasonInvalidDefinition
	}
	in := e.instrument(info.ID)
	if in == nil {
		if len(e.instruments) >= InstrumentsMax {
			e.counters.LimitExceeded++
			return ReasonLimitExceeded
		}
		in = &instrument{info: info, band: band, book: e.newBook(info.TickSize, info.LotSize, band)}
		e.insertInstrument(in)
	} else {
		if r := e.updateInstrument(in, info, band); r != ReasonNone {
			return r
		}
	}
	if info.ReferencePrice > 0 {
		r := in.book.SetReference(info.ReferencePrice)
		assert(r == orderbook.RejectNone, "addInstrument: a checked reference price refused")
	} else {
		in.book.ClearReference()
	}
	e.md.OnInstrument(in.info, e.ctx.logPosition, e.ctx.clusterTime)
	return ReasonNone
}

// maxPriceDecimals keeps 10^decimals inside int64.
const maxPriceDecimals = 18

func (e *Engine) updateInstrument(in *instrument, info InstrumentInfo, band int64) Reason {
	if !transitionAllowed(in.info.State, info.State) {
		return ReasonInvalidStateTransition
	}
	paramsChange := info.TickSize != in.info.TickSize || info.LotSize != in.info.LotSize || band != in.band
	if paramsChange {
		if in.book.Len() > 0 {
			return ReasonInvalidDefinition
		}
		in.book = e.newBook(info.TickSize, info.LotSize, band)
	}
	to := info.State
	info.State = in.info.State
	in.info, in.band = info, band
	e.setState(in, to)
	return ReasonNone
}

// onSetTradingState changes one instrument's (or every instrument's)
// trading state now, or at EffectiveTime through a cluster timer.
func (e *Engine) onSetTradingState(s *session, m SetTradingState) {
	if _, ok := e.admin(s); !ok {
		e.refuseAdmin(TemplateSetTradingState, ReasonNotAuthorized, nil, nil, m.Instrument())
		return
	}
	e.businessRejectOn(TemplateSetTradingState, e.setTradingState(m), nil, nil, nil, m.Instrument())
}

func (e *Engine) setTradingState(m SetTradingState) Reason {
	id := m.Instrument()
	if id != AllInstruments && e.instrument(id) == nil {
		return ReasonUnknownInstrument
	}
	if m.EffectiveTime() > e.ctx.clusterTime {
		return e.schedule(id, m.State(), m.EffectiveTime())
	}
	if !e.applyState(id, m.State()) {
		return ReasonInvalidStateTransition
	}
	return ReasonNone
}

// onSetAccount creates an account or sets its STP mode, and grants
// (Enabled=1) or revokes (Enabled=0) the named principal's right to trade
// it; an empty Principal changes the account only.
func (e *Engine) onSetAccount(s *session, m SetAccount) {
	if _, ok := e.admin(s); !ok {
		e.refuseAdmin(TemplateSetAccount, ReasonNotAuthorized, m.Account(), m.Account(), 0)
		return
	}
	e.businessRejectOn(TemplateSetAccount, e.setAccount(m), m.Principal(), m.Account(), m.Account(), 0)
}

func (e *Engine) setAccount(m SetAccount) Reason {
	if !validAccount(m.AccountKey()) || (len(m.Principal()) > 0 && !validPrincipal(m.PrincipalKey())) || m.Enabled() > 1 {
		return ReasonInvalidDefinition
	}
	p := nilIndex
	if len(m.Principal()) > 0 {
		q, ok := e.principalIdx.get(m.PrincipalKey())
		if !ok {
			return ReasonNotAuthorized
		}
		p = q
	}
	a, ok := e.accountIdx.get(m.AccountKey())
	if !ok {
		if len(e.accounts) >= AccountsMax {
			e.counters.LimitExceeded++
			return ReasonLimitExceeded
		}
		a = int32(len(e.accounts))
		e.accounts = append(e.accounts, account{name: m.AccountKey()})
		e.accountIdx.put(m.AccountKey(), a)
	}
	e.accounts[a].stp = m.STPMode()
	if p == nilIndex {
		return ReasonNone
	}
	if m.Enabled() == 1 {
		return e.grant(p, a)
	}
	e.revoke(p, a)
	return ReasonNone
}

// grant lets principal p trade account a (kept sorted).
func (e *Engine) grant(p, a int32) Reason {
	pr := &e.principals[p]
	if pr.mayTrade(a) {
		return ReasonNone
	}
	if len(pr.accounts) >= AccountsPerPrincipalMax {
		e.counters.LimitExceeded++
		return ReasonLimitExceeded
	}
	i := len(pr.accounts)
	for i > 0 && pr.accounts[i-1] > a {
		i--
	}
	list := append(pr.accounts, 0)
	copy(list[i+1:], list[i:])
	list[i] = a
	pr.setAccounts(list, e.accounts)
	return ReasonNone
}

func (e *Engine) revoke(p, a int32) {
	pr := &e.principals[p]
	for i, v := range pr.accounts {
		if v == a {
			pr.setAccounts(append(pr.accounts[:i], pr.accounts[i+1:]...), e.accounts)
			return
		}
	}
}

// onSetPrincipal creates a principal or changes its role.
func (e *Engine) onSetPrincipal(s *session, m SetPrincipal) {
	if _, ok := e.admin(s); !ok {
		e.refuseAdmin(TemplateSetPrincipal, ReasonNotAuthorized, m.Principal(), nil, 0)
		return
	}
	e.businessReject(TemplateSetPrincipal, e.setPrincipal(m), m.Principal(), nil)
}

func (e *Engine) setPrincipal(m SetPrincipal) Reason {
	if !validPrincipal(m.PrincipalKey()) {
		return ReasonInvalidDefinition
	}
	if p, ok := e.principalIdx.get(m.PrincipalKey()); ok {
		e.principals[p].role = m.Role()
		return ReasonNone
	}
	if len(e.principals) >= PrincipalsMax {
		e.counters.LimitExceeded++
		return ReasonLimitExceeded
	}
	e.addPrincipal(m.PrincipalKey(), m.Role())
	return ReasonNone
}

func (e *Engine) addPrincipal(name [principalNameBytes]byte, role Role) int32 {
	p := int32(len(e.principals))
	e.principals = append(e.principals, principal{name: name, role: role, first: nilIndex})
	e.principalIdx.put(name, p)
	return p
}

func (e *Engine) refuseAdmin(t TemplateID, r Reason, refID, account []byte, instrument uint32) {
	e.counters.NotAuthorized++
	e.businessRejectOn(t, r, nil, refID, account, instrument)
}
