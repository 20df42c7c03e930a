package fixgateway

import (
	"bytes"
	"runtime"
	"strconv"
	"time"

	"github.com/quickfixgo/quickfix"

	"venue/engine"
)

// Agent duty-cycle bounds.
const (
	// agentBatch bounds the commands taken from the ingress queue, the
	// offers made and the egress events polled in one duty cycle.
	agentBatch = 256
	// agentSpinsBeforePark is how many idle cycles yield before parking.
	agentSpinsBeforePark = 64
	// agentParkMin and agentParkMax bound one park; egress that arrives
	// while the agent is parked waits at most agentParkMax. A command from
	// a FIX session wakes it at once.
	agentParkMin = 20 * time.Microsecond
	agentParkMax = 500 * time.Microsecond
	// timerCheckInterval is how often offer and answer timeouts are checked.
	timerCheckInterval = 50 * time.Millisecond
	// instrumentRefreshInterval is how often the instrument list is asked
	// for again, so that instruments added later become tradable.
	instrumentRefreshInterval = 10 * time.Second
	// offerQueueMax bounds the agent's own offer queue: every FIX session
	// has at most one order command and two session statuses in it, plus
	// the gateway's own few requests.
	offerQueueMax = 3*IngressQueueCapacity + 16
)

// agent is the gateway's one goroutine that owns the cluster client: it
// offers commands in order, polls egress, routes reports to FIX sessions,
// and resolves commands whose outcome is unknown.
type agent struct {
	g     *Gateway
	queue []*command // waiting for the cluster client to take them, in order

	loaded     chan struct{} // closed when the first instrument list is in
	loadedDone bool
	listSeq    int
	listID     string
	defs       []instrument // definitions of the list being received

	// frontInsert is where pushFront inserts: commands re-offered during one
	// poll keep the order in which they were first offered (a lost
	// SessionStatus resetting SenderSeq must stay ahead of the order after
	// it), ahead of everything queued since.
	frontInsert int

	lastTimerCheck, lastListRequest time.Time
	park                            time.Duration
	timer                           *time.Timer
}

func (a *agent) init(g *Gateway) {
	a.g = g
	a.loaded = make(chan struct{})
	a.timer = time.NewTimer(time.Hour)
	a.timer.Stop()
}

func (a *agent) run() {
	defer close(a.g.agentDone)
	a.requestInstruments()
	spins := 0
	for {
		work := a.drainIngress() + a.offerQueued()
		a.frontInsert = 0
		work += a.g.cl.Poll(a, agentBatch) + a.checkTimers()
		if a.finished() {
			a.abandonAll()
			return
		}
		if work > 0 {
			spins, a.park = 0, 0
			continue
		}
		if spins < agentSpinsBeforePark {
			spins++
			runtime.Gosched()
			continue
		}
		a.idle()
	}
}

// idle parks until a command arrives or the park interval (doubling up to
// agentParkMax) passes.
func (a *agent) idle() {
	a.park = min(max(2*a.park, agentParkMin), agentParkMax)
	a.timer.Reset(a.park)
	select {
	case c := <-a.g.ingress:
		a.accept(c)
	case <-a.timer.C:
		return
	}
	if !a.timer.Stop() {
		select {
		case <-a.timer.C:
		default:
		}
	}
}

// finished reports whether the agent may exit: the gateway is stopping
// and nothing is outstanding, or waiting has been abandoned.
func (a *agent) finished() bool {
	select {
	case <-a.g.stopping:
	default:
		return false
	}
	select {
	case <-a.g.abandon:
		return true
	default:
	}
	for _, s := range a.g.sessions {
		if s.pending != nil {
			return false
		}
	}
	for _, c := range a.queue {
		if !c.internal {
			return false
		}
	}
	return true
}

// abandonAll tells every waiting session goroutine the gateway stopped.
func (a *agent) abandonAll() {
	for _, s := range a.g.sessions {
		if s.pending != nil {
			a.complete(s.pending, outcomeStopped)
		}
	}
	for _, c := range a.queue {
		a.complete(c, outcomeStopped)
	}
	a.queue = nil
	for {
		select {
		case c := <-a.g.ingress:
			a.complete(c, outcomeStopped)
		default:
			return
		}
	}
}

func (a *agent) drainIngress() int {
	n := 0
	for ; n < agentBatch; n++ {
		select {
		case c := <-a.g.ingress:
			a.accept(c)
		default:
			return n
		}
	}
	return n
}

// accept takes a command from a FIX session (or a session status) into
// the offer queue.
func (a *agent) accept(c *command) {
	if !c.internal {
		select {
		case <-a.g.stopping:
			a.complete(c, outcomeUnavailable)
			return
		default:
		}
		c.sess.pending = c
	}
	a.push(c)
}

func (a *agent) push(c *command) {
	if len(a.queue) >= offerQueueMax {
		// Cannot happen while the ingress queue bounds what enters;
		// refuse rather than grow.
		a.complete(c, outcomeUnavailable)
		return
	}
	c.phase = phaseQueued
	c.queuedAt = time.Now()
	a.queue = append(a.queue, c)
}

// pushFront queues c ahead of everything queued before this duty cycle's
// poll: it resolves something that was offered before them.
func (a *agent) pushFront(c *command) {
	c.phase = phaseQueued
	c.queuedAt = time.Now()
	i := min(a.frontInsert, len(a.queue))
	a.queue = append(a.queue, nil)
	copy(a.queue[i+1:], a.queue[i:])
	a.queue[i] = c
	a.frontInsert = i + 1
}

// offerQueued offers queued commands in order until the client refuses.
func (a *agent) offerQueued() int {
	n := 0
	for n < agentBatch && len(a.queue) > 0 {
		c := a.queue[0]
		r := a.g.cl.Offer(c.req.msg)
		if !r.Accepted() {
			a.g.ctr.backPressure.Increment()
			if !r.Retryable() {
				a.failQueued(outcomeUnavailable)
			}
			return n
		}
		a.g.ctr.offered.Increment()
		a.queue[0] = nil
		a.queue = a.queue[1:]
		n++
		c.offeredAt = time.Now()
		c.phase = phaseInFlight
		if c.internal && c.req.kind != requestStatus {
			c.phase = phaseDone // nothing answers a session status or list request as such
		}
	}
	return n
}

// failQueued refuses every queued client command (the client is closed).
func (a *agent) failQueued(o outcome) {
	keep := a.queue[:0]
	for _, c := range a.queue {
		if c.internal {
			keep = append(keep, c)
			continue
		}
		a.complete(c, o)
	}
	a.queue = keep
}

// complete ends c and tells its waiting goroutine, if any, exactly once
// (a queued command is both its session's pending one and in the queue).
func (a *agent) complete(c *command, o outcome) {
	if c.phase == phaseDone {
		return
	}
	c.phase = phaseDone
	if c.sess != nil && c.sess.pending == c {
		c.sess.pending = nil
	}
	if o == outcomeUnavailable {
		a.g.ctr.unavailable.Increment()
	}
	if !c.internal {
		c.done <- o // capacity 1, sent once
	}
}

// checkTimers applies the offer and answer timeouts and refreshes the
// instrument list.
func (a *agent) checkTimers() int {
	now := time.Now()
	if now.Sub(a.lastTimerCheck) < timerCheckInterval {
		return 0
	}
	a.lastTimerCheck = now
	n := 0
	keep := a.queue[:0]
	for _, c := range a.queue {
		if !c.internal && now.Sub(c.queuedAt) > a.g.opts.OfferTimeout {
			a.complete(c, outcomeUnavailable)
			n++
			continue
		}
		keep = append(keep, c)
	}
	clear(a.queue[len(keep):])
	a.queue = keep
	for _, s := range a.g.sessions {
		// A resolving command whose status answer got lost is asked about
		// again, so nothing waits forever.
		if c := s.pending; c != nil && (c.phase == phaseInFlight || c.phase == phaseResolving) &&
			now.Sub(c.offeredAt) > a.g.opts.AnswerTimeout {
			a.g.ctr.answerTimeouts.Increment()
			a.resolve(c)
			n++
		}
	}
	if now.Sub(a.lastListRequest) > instrumentRefreshInterval {
		a.requestInstruments()
	}
	return n
}

// requestInstruments asks the engine for the instrument list.
func (a *agent) requestInstruments() {
	a.listSeq++
	a.listID = "gw-" + a.g.cfg.GatewayPrincipal + "-" + strconv.Itoa(a.listSeq)
	a.defs = a.defs[:0]
	a.lastListRequest = time.Now()
	buf, m := engine.AppendInstrumentListRequest(make([]byte, 0, engine.InstrumentListRequestLength))
	// No Principal: the gateway asks for itself (not for a trader it
	// carries, which would make that trader's reports come here).
	m.SetRequestID(a.listID)
	a.push(&command{internal: true, req: request{kind: requestInstrumentList, msg: buf}})
}

// OnNewLeader implements ClusterHandler. The client keeps its session; the
// instrument list is asked for again in case it changed.
func (a *agent) OnNewLeader(int32, int64) {
	a.g.ctr.leaderChanges.Increment()
	a.requestInstruments()
}

// OnUnknownOutcome implements ClusterHandler: msg may or may not be in the
// log. Nothing is told to the FIX client until the log says which.
func (a *agent) OnUnknownOutcome(_ int64, msg []byte) {
	a.g.ctr.unknownOutcomes.Increment()
	t, body, err := engine.Decode(msg)
	if err != nil {
		a.g.ctr.malformedEgress.Increment()
		return
	}
	switch t {
	case engine.TemplateSessionStatus:
		a.reofferInternal(msg, engine.SessionStatus(body).Principal())
		return
	case engine.TemplateInstrumentListRequest:
		a.requestInstruments()
		return
	}
	p, clOrd := commandKey(t, body)
	s := a.session(p)
	if s == nil {
		return
	}
	if t == engine.TemplateOrderStatusRequest && s.statusActive && s.statusClOrd == string(clOrd) {
		a.reofferInternal(msg, p) // our own query was lost: ask again
		return
	}
	if c := s.pending; c != nil && c.phase == phaseInFlight && c.req.clOrdID == string(clOrd) {
		a.resolve(c)
	}
}

// reofferInternal queues a copy of one of the gateway's own commands again.
func (a *agent) reofferInternal(msg, principal []byte) {
	c := &command{internal: true, sess: a.session(principal), req: request{kind: requestSessionStatus, msg: bytes.Clone(msg)}}
	if t, _ := engine.PeekTemplate(msg); t == engine.TemplateOrderStatusRequest {
		c.req.kind = requestStatus
	}
	a.pushFront(c)
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

// resolve finds out whether c reached the log. Read-only and
// status-less commands are simply offered again (the engine's SenderSeq
// dedupe answers a repeat as a duplicate); orders are looked up by their
// ClOrdID through the log first, so that the client hears the order's
// real state.
func (a *agent) resolve(c *command) {
	switch c.req.kind {
	case requestStatus, requestMassCancel:
		a.g.ctr.reoffers.Increment()
		a.pushFront(c)
		return
	}
	c.phase = phaseResolving
	c.offeredAt = time.Now() // the answer timeout now runs for the status query
	s := c.sess
	s.statusActive, s.statusClOrd = true, c.req.clOrdID
	buf := encodeStatus(make([]byte, 0, engine.OrderStatusRequestLength), c.req.orderID, c.req.instrument, c.req.side, c.req.account, s.cfg.Principal, c.req.clOrdID)
	a.pushFront(&command{internal: true, sess: s, req: request{kind: requestStatus, msg: buf, clOrdID: c.req.clOrdID}})
}

func (a *agent) session(principal []byte) *fixSession {
	return a.g.byPrincipal[string(principal)]
}

// OnMessage implements ClusterHandler: one engine report.
func (a *agent) OnMessage(msg []byte) {
	t, body, err := engine.Decode(msg)
	if err != nil {
		a.g.ctr.malformedEgress.Increment()
		return
	}
	switch t {
	case engine.TemplateExecutionReport:
		a.onExecutionReport(engine.ExecutionReport(body))
	case engine.TemplateCancelReject:
		a.onCancelReject(engine.CancelReject(body))
	case engine.TemplateMassCancelReport:
		a.onMassCancelReport(engine.MassCancelReport(body))
	case engine.TemplateBusinessReject:
		a.onBusinessReject(engine.BusinessReject(body))
	case engine.TemplateInstrumentDefinition:
		a.onInstrumentDefinition(engine.InstrumentDefinition(body))
	default:
		a.g.ctr.malformedEgress.Increment()
	}
}

func (a *agent) onExecutionReport(r engine.ExecutionReport) {
	s := a.session(r.Principal())
	if s == nil {
		a.g.ctr.undeliverable.Increment()
		return
	}
	if s.statusActive && r.ExecType() == engine.ExecTypeOrderStatus && string(r.ClOrdID()) == s.statusClOrd {
		if a.onResolvingStatus(s, r) {
			return
		}
	}
	a.forward(s, execReportFIX(r, a.g.instruments.Load()))
	if c := s.pending; c != nil && c.phase == phaseInFlight && answersExec(c, r) {
		a.complete(c, outcomeAnswered)
	}
}

// onResolvingStatus handles the answer to the gateway's own status query
// and reports whether it consumed the report. Found: the command was
// applied, and the status report is the client's answer. Unknown: the
// command never reached the log, so it is offered again (its SenderSeq
// makes that safe even if the lookup missed it) and the client hears
// nothing of the query.
func (a *agent) onResolvingStatus(s *fixSession, r engine.ExecutionReport) bool {
	s.statusActive = false
	unknown := r.OrdStatus() == engine.OrdStatusRejected && r.Reason() != engine.ReasonNone
	c := s.pending
	if c == nil || c.phase != phaseResolving {
		return unknown // a late answer: forward only real state
	}
	if unknown {
		a.g.ctr.reoffers.Increment()
		a.pushFront(c)
		return true
	}
	a.forward(s, execReportFIX(r, a.g.instruments.Load()))
	a.complete(c, outcomeAnswered)
	return true
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

func (a *agent) onCancelReject(r engine.CancelReject) {
	s := a.session(r.Principal())
	if s == nil {
		a.g.ctr.undeliverable.Increment()
		return
	}
	a.forward(s, cancelRejectFIX(r))
	if c := s.pending; c != nil && c.phase == phaseInFlight &&
		(c.req.kind == requestCancel || c.req.kind == requestReplace) && string(r.ClOrdID()) == c.req.clOrdID {
		a.complete(c, outcomeAnswered)
	}
}

func (a *agent) onMassCancelReport(r engine.MassCancelReport) {
	s := a.session(r.Principal())
	if s == nil {
		a.g.ctr.undeliverable.Increment()
		return
	}
	a.forward(s, massCancelReportFIX(r, a.g.instruments.Load()))
	if c := s.pending; c != nil && c.phase == phaseInFlight && c.req.kind == requestMassCancel && string(r.ClOrdID()) == c.req.clOrdID {
		a.complete(c, outcomeAnswered)
	}
}

func (a *agent) onBusinessReject(r engine.BusinessReject) {
	if engine.TemplateID(r.RefTemplateID()) == engine.TemplateSessionStatus && r.Reason() == engine.ReasonNone {
		return // the engine's acknowledgement of our own logon or logoff: nothing for the FIX client
	}
	if engine.TemplateID(r.RefTemplateID()) == engine.TemplateInstrumentListRequest {
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
	a.forward(s, businessRejectFIX(r))
	if c := s.pending; c != nil && c.phase == phaseInFlight && string(r.RefID()) == c.req.clOrdID {
		a.complete(c, outcomeAnswered)
	}
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

// forward sends a FIX message to a session. quickfixgo persists it first,
// so a session that is logged off gets it on its next logon's resend.
func (a *agent) forward(s *fixSession, m *quickfix.Message) {
	if err := quickfix.SendToTarget(m, s.cfg.ID); err != nil {
		a.g.ctr.sendFailures.Increment()
		return
	}
	a.g.ctr.reportsOut.Increment()
}
