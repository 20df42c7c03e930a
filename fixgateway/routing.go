package fixgateway

import (
	"venue/engine"
)

// Routing egress. Every engine report for a principal goes to that
// principal's FIX session, in the order the engine produced it, through
// the session's sender. A report that answers one of the session's
// in-flight commands (the oldest it can answer: the engine answers a
// session's commands in the order they were offered) also completes it.

// OnMessage implements ClusterHandler: one engine report.
func (a *agent) OnMessage(msg []byte) {
	t, body, err := engine.Decode(msg)
	if err != nil {
		a.g.ctr.malformedEgress.Increment()
		return
	}
	switch t {
	case engine.TemplateExecutionReport:
		a.onExecutionReport(msg, engine.ExecutionReport(body))
	case engine.TemplateCancelReject:
		a.onCancelReject(msg, engine.CancelReject(body))
	case engine.TemplateMassCancelReport:
		a.onMassCancelReport(msg, engine.MassCancelReport(body))
	case engine.TemplateBusinessReject:
		a.onBusinessReject(msg, engine.BusinessReject(body))
	case engine.TemplateInstrumentDefinition:
		a.onInstrumentDefinition(engine.InstrumentDefinition(body))
	default:
		a.g.ctr.malformedEgress.Increment()
	}
}

// OnNewLeader implements ClusterHandler. The client keeps its session; the
// instrument list is asked for again in case it changed.
func (a *agent) OnNewLeader(int32, int64) {
	a.g.ctr.leaderChanges.Increment()
	a.requestInstruments()
}

// deliver forwards msg to s, completing inflight[i] when i >= 0.
func (a *agent) deliver(s *fixSession, msg []byte, i int) {
	if i < 0 {
		a.out(s).report(msg, nil, a.now)
		return
	}
	c := s.pipe.inflight[i]
	if c.hasSlot {
		if !c.receivedAt.IsZero() {
			a.g.fixInStage.record(c.submittedAt.Sub(c.receivedAt))
		}
		a.g.ingressStage.record(c.offeredAt.Sub(c.submittedAt))
		a.g.clusterStage.record(a.now.Sub(c.offeredAt))
	}
	a.out(s).report(msg, c, a.now)
	a.complete(s, i)
}

// answered returns the index of the oldest in-flight command of s that
// answers satisfies, or -1. Commands being resolved and SessionStatus
// commands are not answered by reports to the FIX client.
func (p *pipe) answered(answers func(*command) bool) int {
	for i, c := range p.inflight {
		if c.phase == phaseInFlight && c.req.kind != requestSessionStatus && answers(c) {
			return i
		}
	}
	return -1
}

func (a *agent) onExecutionReport(msg []byte, r engine.ExecutionReport) {
	s := a.session(r.Principal())
	if s == nil {
		a.g.ctr.undeliverable.Increment()
		return
	}
	p := &s.pipe
	status := r.ExecType() == engine.ExecTypeOrderStatus
	if pr := p.probe; status && pr != nil && pr.phase == phaseInFlight && string(r.ClOrdID()) == pr.req.clOrdID {
		a.onProbeAnswer(s, msg, r)
		return
	}
	i := p.answered(func(c *command) bool { return answersExec(c, r) })
	if i < 0 && status && r.OrdStatus() == engine.OrdStatusRejected && r.Reason() != engine.ReasonNone &&
		string(r.ClOrdID()) == p.lastProbe {
		return // a late answer to an earlier probe: forward only real state
	}
	a.deliver(s, msg, i)
}

// answersExec reports whether r is the engine's answer to c.
func answersExec(c *command, r engine.ExecutionReport) bool {
	id := string(r.ClOrdID())
	et := r.ExecType()
	dupStatus := et == engine.ExecTypeOrderStatus && r.Reason() == engine.ReasonDuplicateMessage &&
		(id == c.req.clOrdID || id == c.origClOrdID)
	switch c.req.kind {
	case requestNewOrder:
		return id == c.req.clOrdID && (et == engine.ExecTypeNew || et == engine.ExecTypeRejected || et == engine.ExecTypeOrderStatus)
	case requestCancel:
		return dupStatus || (id == c.req.clOrdID && (et == engine.ExecTypeCanceled || et == engine.ExecTypeRejected))
	case requestReplace:
		return dupStatus || (id == c.req.clOrdID && (et == engine.ExecTypeReplaced || et == engine.ExecTypeRejected))
	case requestStatus:
		return id == c.req.clOrdID && et == engine.ExecTypeOrderStatus
	}
	return false
}

func (a *agent) onCancelReject(msg []byte, r engine.CancelReject) {
	s := a.session(r.Principal())
	if s == nil {
		a.g.ctr.undeliverable.Increment()
		return
	}
	id := string(r.ClOrdID())
	a.deliver(s, msg, s.pipe.answered(func(c *command) bool {
		return (c.req.kind == requestCancel || c.req.kind == requestReplace) && id == c.req.clOrdID
	}))
}

func (a *agent) onMassCancelReport(msg []byte, r engine.MassCancelReport) {
	s := a.session(r.Principal())
	if s == nil {
		a.g.ctr.undeliverable.Increment()
		return
	}
	id := string(r.ClOrdID())
	a.deliver(s, msg, s.pipe.answered(func(c *command) bool {
		return c.req.kind == requestMassCancel && id == c.req.clOrdID
	}))
}

func (a *agent) onBusinessReject(msg []byte, r engine.BusinessReject) {
	ref := engine.TemplateID(r.RefTemplateID())
	switch ref {
	case engine.TemplateSessionStatus:
		a.onSessionStatusAck(r)
		return
	case engine.TemplateInstrumentListRequest:
		if string(r.RefID()) == a.listID && r.Reason() == engine.ReasonUnknownInstrument {
			a.publishInstruments() // no instruments listed
		} else {
			a.g.ctr.malformedEgress.Increment() // refused: asked again at the next refresh
		}
		return
	}
	s := a.session(r.Principal())
	if s == nil {
		a.g.ctr.undeliverable.Increment()
		return
	}
	id := string(r.RefID())
	if pr := s.pipe.probe; ref == engine.TemplateOrderStatusRequest && pr != nil && pr.phase == phaseInFlight && id == pr.req.clOrdID {
		a.probeRefused(s)
		return
	}
	a.deliver(s, msg, s.pipe.answered(func(c *command) bool {
		return id == c.req.clOrdID && templateOf(c.req.kind) == ref
	}))
}

// onSessionStatusAck handles the engine's acknowledgement of a
// SessionStatus (Reason None: applied; otherwise refused, and counted).
// It is for the gateway, not the FIX client; it lifts the barrier the
// SessionStatus put on its session's later commands.
func (a *agent) onSessionStatusAck(r engine.BusinessReject) {
	if r.Reason() != engine.ReasonNone {
		a.g.ctr.sessionStatusRefused.Increment()
	}
	s := a.session(r.Principal())
	if s == nil {
		return
	}
	for i, c := range s.pipe.inflight {
		if c.req.kind == requestSessionStatus {
			a.g.ctr.statusAcks.Increment()
			a.complete(s, i)
			return
		}
	}
}

// templateOf is the engine command a request becomes.
func templateOf(k requestKind) engine.TemplateID {
	switch k {
	case requestNewOrder:
		return engine.TemplateNewOrder
	case requestCancel:
		return engine.TemplateCancelOrder
	case requestReplace:
		return engine.TemplateReplaceOrder
	case requestMassCancel:
		return engine.TemplateMassCancel
	case requestStatus:
		return engine.TemplateOrderStatusRequest
	case requestSessionStatus:
		return engine.TemplateSessionStatus
	case requestInstrumentList:
		return engine.TemplateInstrumentListRequest
	}
	return 0
}

func (a *agent) onInstrumentDefinition(r engine.InstrumentDefinition) {
	if string(r.RequestID()) != a.listID {
		return // an answer to an older request
	}
	a.defs = append(a.defs, instrument{id: r.Instrument(), symbol: string(r.Symbol()), decimals: int(r.PriceDecimals())})
	if r.Last() != 0 {
		a.publishInstruments()
	}
}

func (a *agent) publishInstruments() {
	a.g.instruments.Store(newInstrumentTable(a.defs))
	a.defs = nil
	if !a.loadedDone {
		a.loadedDone = true
		close(a.loaded)
	}
}
