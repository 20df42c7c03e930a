package fixgateway

import (
	"bytes"
	"time"

	"venue/engine"
)

// Resolving unknown outcomes.
//
// A command's outcome becomes unknown when the cluster client says so
// (OnUnknownOutcome: e.g. the leader it went to failed) or when its answer
// is overdue. Nothing is told to the FIX client until the log says what
// happened. A session's commands are resolved one at a time, oldest first,
// and while any of them is unsettled none of its later commands is
// offered: the engine's SenderSeq high-water mark must not pass a command
// that may still have to be offered again.
//
// The oldest command, once unknown, is resolved by its kind:
//   - NewOrderSingle, cancel, replace: a status query for its ClOrdID
//     through the log (the probe). Found: the status report is the
//     client's answer. Not found: the command never reached the log and is
//     offered again with its original SenderSeq (harmless if the lookup
//     missed it: the engine answers a repeat as a duplicate).
//   - status request, mass cancel: offered again as they are (a status
//     request changes nothing; a repeated mass cancel is a duplicate).
//   - SessionStatus: offered again. Nothing of its session was offered
//     after it (it is a barrier until acknowledged), so applying it twice
//     changes nothing.

// resolveHead advances the resolution of s's oldest in-flight command. It
// returns the offers made and whether the client refused one.
func (a *agent) resolveHead(s *fixSession) (int, bool) {
	p := &s.pipe
	h := p.inflight[0]
	if h.phase == phaseUnknown {
		a.startResolving(s, h)
	}
	n := 0
	switch {
	case h.phase == phaseReoffer:
		r := a.offer(h)
		if !r.Accepted() {
			return 0, true
		}
		if !h.internal {
			a.g.ctr.reoffers.Increment()
		}
		a.setPhase(s, h, phaseInFlight)
		n++
	case h.phase == phaseProbing && p.probe != nil && p.probe.phase != phaseInFlight:
		r := a.offer(p.probe)
		if !r.Accepted() {
			return 0, true
		}
		p.probe.phase = phaseInFlight
		n++
	}
	return n, false
}

// startResolving chooses how to resolve the unknown command h.
func (a *agent) startResolving(s *fixSession, h *command) {
	switch h.req.kind {
	case requestNewOrder, requestCancel, requestReplace:
		// OrderID 0: look the command up by its own ClOrdID (a cancel's
		// OrderID names the order it cancels, which exists either way).
		buf := encodeStatus(make([]byte, 0, engine.OrderStatusRequestLength), 0, h.req.instrument, h.req.side,
			h.req.account, s.cfg.Principal, h.req.clOrdID)
		s.pipe.probe = &command{internal: true, sess: s, phase: phaseQueued,
			req: request{kind: requestStatus, msg: buf, clOrdID: h.req.clOrdID}}
		s.pipe.lastProbe = h.req.clOrdID
		a.setPhase(s, h, phaseProbing)
	default:
		a.setPhase(s, h, phaseReoffer)
	}
}

// onProbeAnswer handles the answer to s's probe. Found: the command was
// applied, and the status report is the client's answer. Unknown: the
// command never reached the log, so it is offered again.
func (a *agent) onProbeAnswer(s *fixSession, msg []byte, r engine.ExecutionReport) {
	p := &s.pipe
	p.probe = nil
	if len(p.inflight) == 0 || p.inflight[0].phase != phaseProbing {
		return
	}
	h := p.inflight[0]
	if r.OrdStatus() == engine.OrdStatusRejected && r.Reason() != engine.ReasonNone {
		a.setPhase(s, h, phaseReoffer)
		return
	}
	a.out(s).report(msg, h, time.Time{}) // not a round trip: no Stages
	a.complete(s, 0)
}

// probeRefused handles a probe the engine refused outright: the command
// is offered again, and the engine answers it as it would have.
func (a *agent) probeRefused(s *fixSession) {
	p := &s.pipe
	p.probe = nil
	if len(p.inflight) > 0 && p.inflight[0].phase == phaseProbing {
		a.setPhase(s, p.inflight[0], phaseReoffer)
	}
}

// OnUnknownOutcome implements ClusterHandler: msg, offered at position,
// may or may not be in the log. Nothing is told to the FIX client until
// the log says which.
func (a *agent) OnUnknownOutcome(position int64, msg []byte) {
	a.g.ctr.unknownOutcomes.Increment()
	t, body, err := engine.Decode(msg)
	if err != nil {
		a.g.ctr.malformedEgress.Increment()
		return
	}
	var principal []byte
	switch t {
	case engine.TemplateInstrumentListRequest:
		a.requestInstruments()
		return
	case engine.TemplateSessionStatus:
		principal = engine.SessionStatus(body).Principal()
	default:
		principal, _ = commandKey(t, body)
	}
	s := a.session(principal)
	if s == nil {
		return
	}
	p := &s.pipe
	if pr := p.probe; pr != nil && pr.phase == phaseInFlight && (pr.position == position || bytes.Equal(pr.req.msg, msg)) {
		pr.phase = phaseReoffer // our own query was lost: ask again
		a.touch(s)
		return
	}
	if i := p.find(position, msg); i >= 0 && p.inflight[i].phase == phaseInFlight {
		a.setPhase(s, p.inflight[i], phaseUnknown)
	}
}

// find returns the index of the in-flight command offered at position (or,
// should the client not say, the one whose bytes are msg), or -1.
func (p *pipe) find(position int64, msg []byte) int {
	for i, c := range p.inflight {
		if c.position == position {
			return i
		}
	}
	for i, c := range p.inflight {
		if bytes.Equal(c.req.msg, msg) {
			return i
		}
	}
	return -1
}

// commandKey returns the principal and ClOrdID of an order command.
func commandKey(t engine.TemplateID, body []byte) (principal, clOrdID []byte) {
	switch t {
	case engine.TemplateNewOrder:
		m := engine.NewOrder(body)
		return m.Principal(), m.ClOrdID()
	case engine.TemplateCancelOrder:
		m := engine.CancelOrder(body)
		return m.Principal(), m.ClOrdID()
	case engine.TemplateReplaceOrder:
		m := engine.ReplaceOrder(body)
		return m.Principal(), m.ClOrdID()
	case engine.TemplateMassCancel:
		m := engine.MassCancel(body)
		return m.Principal(), m.ClOrdID()
	case engine.TemplateOrderStatusRequest:
		m := engine.OrderStatusRequest(body)
		return m.Principal(), m.ClOrdID()
	}
	return nil, nil
}
