package fixgateway

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"venue/engine"
)

// Agent duty-cycle bounds.
const (
	// agentBatch bounds the commands taken from the ingress queue, the
	// offers made and the egress events polled in one duty cycle.
	agentBatch = 256
	// offerQuantum bounds one session's offers per turn, so that a busy
	// session cannot hold the others back for a whole duty cycle.
	offerQuantum = 64
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
)

// agent is the gateway's one goroutine that owns the cluster client: it
// offers each session's commands in order (many in flight per session),
// polls egress, routes reports to the sessions' senders, and resolves
// commands whose outcome is unknown.
type agent struct {
	g       *Gateway
	started atomic.Bool

	active      []*fixSession // sessions with something to offer or resolve
	spare       []*fixSession // the other buffer of active
	outSessions []*fixSession // sessions with an outbound batch this cycle
	list        *command      // the instrument list request to offer, if any

	loaded     chan struct{} // closed when the first instrument list is in
	loadedDone bool
	listSeq    int
	listID     string
	defs       []instrument // definitions of the list being received

	now                             time.Time // this duty cycle's time
	lastTimerCheck, lastListRequest time.Time
	park                            time.Duration
	timer                           *time.Timer
	// egress wakes the agent when the client has something to poll (nil:
	// the client cannot say, and the agent polls on a timer).
	egress <-chan struct{}
	// stopping is the gateway's, until await has seen it closed.
	stopping <-chan struct{}
}

// pipe is one session's commands inside the agent.
type pipe struct {
	queue    []*command // not yet offered, in arrival order
	inflight []*command // offered and not yet answered, in offer order
	barriers int        // commands in inflight for which barrier() holds
	probe    *command   // the status query resolving inflight[0], if any
	// lastProbe is the ClOrdID the latest probe asked about; a late answer
	// to an earlier probe of it saying "unknown" is not forwarded.
	lastProbe string
	active    bool      // listed in agent.active
	out       *outBatch // this duty cycle's outbound messages
}

func (a *agent) init(g *Gateway) {
	a.g = g
	a.loaded = make(chan struct{})
	a.timer = time.NewTimer(time.Hour)
	a.timer.Stop()
	a.stopping = g.stopping
	if n, ok := g.cl.(EgressNotifier); ok {
		a.egress = n.EgressReady()
	}
}

func (a *agent) run() {
	defer close(a.g.agentDone)
	defer a.closeOutboxes()
	a.now = time.Now()
	a.requestInstruments()
	spins := 0
	for {
		a.now = time.Now()
		work := a.drainIngress() + a.offerAll()
		work += a.g.cl.Poll(a, agentBatch) + a.checkTimers()
		if !a.flushOut() || a.finished() {
			a.abandonAll()
			return
		}
		if work > 0 {
			spins, a.park = 0, 0
			continue
		}
		if a.egress != nil {
			a.await()
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
		a.now = time.Now()
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

// await parks, with a client that says when it has egress, until a
// command or egress arrives or the timers are due. Neither yielding nor
// short sleeps: on two cores shared with the FIX sessions, an agent that
// spun kept them from running (go tool trace -pprof=sched put most of its
// yields' delay on the sessions' goroutines).
func (a *agent) await() {
	a.timer.Reset(timerCheckInterval)
	select {
	case c := <-a.g.ingress:
		a.now = time.Now()
		a.accept(c)
	case <-a.egress:
	case <-a.stopping: // Stop: the loop checks whether it may finish
		a.stopping = nil
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
// and no FIX message is waiting for its answer, or waiting has been
// abandoned.
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
		for _, c := range s.pipe.inflight {
			if !c.internal {
				return false
			}
		}
		for _, c := range s.pipe.queue {
			if !c.internal {
				return false
			}
		}
	}
	return true
}

// abandonAll gives up on what is outstanding: those FIX messages stay
// unanswered in their sessions' stores, so a restarted gateway asks the
// clients for them again.
func (a *agent) abandonAll() {
	for _, s := range a.g.sessions {
		for _, c := range s.pipe.inflight {
			c.phase = phaseDone
		}
		for _, c := range s.pipe.queue {
			c.phase = phaseDone
		}
		s.pipe = pipe{}
	}
	for {
		select {
		case c := <-a.g.ingress:
			c.phase = phaseDone
		default:
			return
		}
	}
}

// closeOutboxes ends the senders once the agent is done: they send what
// they hold and exit.
func (a *agent) closeOutboxes() {
	for _, s := range a.g.sessions {
		close(s.outbox)
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
// its session's queue. Once the gateway is stopping, FIX messages not yet
// offered are answered "unavailable".
func (a *agent) accept(c *command) {
	if !c.internal {
		select {
		case <-a.g.stopping:
			a.refuse(c)
			return
		default:
		}
	}
	c.phase = phaseQueued
	c.queuedAt = a.now
	p := &c.sess.pipe
	p.queue = append(p.queue, c)
	a.touch(c.sess)
}

// touch lists s as having something the offer loop may do.
func (a *agent) touch(s *fixSession) {
	if !s.pipe.active {
		s.pipe.active = true
		a.active = append(a.active, s)
	}
}

// offerAll offers the instrument list request and then, session by
// session, what each may offer now. It stops at the first refusal: the
// client refuses for all sessions alike.
func (a *agent) offerAll() int {
	n := 0
	if c := a.list; c != nil {
		r := a.offer(c)
		if !r.Accepted() {
			return 0
		}
		a.list = nil
		n++
	}
	refused := false
	list := a.active
	a.active = a.spare[:0]
	for _, s := range list {
		s.pipe.active = false
		if !refused {
			var k int
			k, refused = a.service(s)
			n += k
		}
		if refused || a.hasWork(s) {
			a.touch(s)
		}
	}
	clear(list)
	a.spare = list[:0]
	return n
}

// hasWork reports whether the offer loop can do something for s now,
// rather than wait for an answer.
func (a *agent) hasWork(s *fixSession) bool {
	p := &s.pipe
	if len(p.inflight) > 0 {
		switch p.inflight[0].phase {
		case phaseUnknown, phaseReoffer:
			return true
		}
	}
	if p.probe != nil && p.probe.phase != phaseInFlight {
		return true
	}
	return len(p.queue) > 0 && p.barriers == 0
}

// service offers, for one session: the oldest command's re-offer or probe
// while it is being resolved, then queued commands in order while nothing
// holds them back. It returns the offers made and whether the client
// refused one.
func (a *agent) service(s *fixSession) (int, bool) {
	p := &s.pipe
	n := 0
	if len(p.inflight) > 0 {
		k, refused := a.resolveHead(s)
		if n += k; refused {
			return n, true
		}
	}
	for len(p.queue) > 0 && p.barriers == 0 && n < offerQuantum {
		c := p.queue[0]
		r := a.offer(c)
		if !r.Accepted() {
			return n, true
		}
		p.queue[0] = nil
		p.queue = p.queue[1:]
		a.toInflight(s, c)
		n++
	}
	if len(p.queue) == 0 {
		p.queue = nil // let a drained queue's array go
	}
	return n, false
}

// offer offers c's command, counting the outcome. A permanent refusal
// (the client is closed) answers every queued FIX message "unavailable".
func (a *agent) offer(c *command) OfferResult {
	r := a.g.cl.Offer(c.req.msg)
	if !r.Accepted() {
		a.g.ctr.backPressure.Increment()
		if !r.Retryable() {
			a.refuseQueued()
		}
		return r
	}
	a.g.ctr.offered.Increment()
	c.position = int64(r)
	c.offeredAt = a.now
	return r
}

// toInflight records c, just taken by the client, as awaiting its answer.
func (a *agent) toInflight(s *fixSession, c *command) {
	c.phase = phaseInFlight
	p := &s.pipe
	p.inflight = append(p.inflight, c)
	if c.barrier() {
		p.barriers++
	}
}

// setPhase moves an in-flight command to ph, keeping the barrier count.
func (a *agent) setPhase(s *fixSession, c *command, ph phase) {
	before := c.barrier()
	c.phase = ph
	if after := c.barrier(); after != before {
		if after {
			s.pipe.barriers++
		} else {
			s.pipe.barriers--
		}
	}
	a.touch(s)
}

// complete removes the answered command inflight[i].
func (a *agent) complete(s *fixSession, i int) {
	p := &s.pipe
	c := p.inflight[i]
	if c.barrier() {
		p.barriers--
	}
	copy(p.inflight[i:], p.inflight[i+1:])
	p.inflight[len(p.inflight)-1] = nil
	p.inflight = p.inflight[:len(p.inflight)-1]
	if len(p.inflight) == 0 {
		p.inflight = p.inflight[:0:0] // let a drained window's array go
	}
	c.phase = phaseDone
	if c.req.kind == requestSessionStatus {
		select {
		case <-s.statuses:
		default:
		}
	}
	a.touch(s)
}

// refuse answers a FIX message's command "unavailable": it was never
// offered, so the client may send it again.
func (a *agent) refuse(c *command) {
	c.phase = phaseDone
	a.g.ctr.unavailable.Increment()
	a.out(c.sess).unavailable(c)
}

// refuseQueued refuses every queued FIX message (the client is closed).
func (a *agent) refuseQueued() {
	for _, s := range a.g.sessions {
		keep := s.pipe.queue[:0]
		for _, c := range s.pipe.queue {
			if c.internal {
				keep = append(keep, c)
				continue
			}
			a.refuse(c)
		}
		clear(s.pipe.queue[len(keep):])
		s.pipe.queue = keep
	}
}

// out returns s's outbound batch for this duty cycle.
func (a *agent) out(s *fixSession) *outBatch {
	p := &s.pipe
	if p.out != nil {
		return p.out
	}
	select {
	case p.out = <-s.free:
	default:
		p.out = &outBatch{}
	}
	a.outSessions = append(a.outSessions, s)
	return p.out
}

// flushOut hands this duty cycle's batches to the senders, waiting for
// room. It returns false if waiting was abandoned.
func (a *agent) flushOut() bool {
	ok := true
	for _, s := range a.outSessions {
		b := s.pipe.out
		s.pipe.out = nil
		if !ok {
			continue
		}
		select {
		case s.outbox <- b:
		case <-a.g.abandon:
			ok = false
		}
	}
	clear(a.outSessions)
	a.outSessions = a.outSessions[:0]
	return ok
}

// checkTimers applies the offer and answer timeouts and refreshes the
// instrument list.
func (a *agent) checkTimers() int {
	if a.now.Sub(a.lastTimerCheck) < timerCheckInterval {
		return 0
	}
	a.lastTimerCheck = a.now
	n := 0
	for _, s := range a.g.sessions {
		n += a.offerTimeouts(s) + a.answerTimeouts(s)
	}
	if a.now.Sub(a.lastListRequest) > instrumentRefreshInterval {
		a.requestInstruments()
	}
	return n
}

// offerTimeouts refuses the FIX messages queued longer than the offer
// timeout (the queue is in arrival order: they are at its front, give or
// take the gateway's own commands, which wait as long as it takes).
func (a *agent) offerTimeouts(s *fixSession) int {
	p := &s.pipe
	n := 0
	keep := p.queue[:0]
	for i, c := range p.queue {
		if a.now.Sub(c.queuedAt) <= a.g.opts.OfferTimeout {
			keep = append(keep, p.queue[i:]...)
			break
		}
		if c.internal {
			keep = append(keep, c)
			continue
		}
		a.refuse(c)
		n++
	}
	clear(p.queue[len(keep):])
	p.queue = keep
	return n
}

// answerTimeouts treats the oldest in-flight command, or the probe
// resolving it, as of unknown outcome once its answer is overdue.
func (a *agent) answerTimeouts(s *fixSession) int {
	p := &s.pipe
	if pr := p.probe; pr != nil && pr.phase == phaseInFlight && a.now.Sub(pr.offeredAt) > a.g.opts.AnswerTimeout {
		a.g.ctr.answerTimeouts.Increment()
		pr.phase = phaseReoffer // ask again
		a.touch(s)
		return 1
	}
	if len(p.inflight) == 0 {
		return 0
	}
	if c := p.inflight[0]; c.phase == phaseInFlight && a.now.Sub(c.offeredAt) > a.g.opts.AnswerTimeout {
		a.g.ctr.answerTimeouts.Increment()
		a.setPhase(s, c, phaseUnknown)
		return 1
	}
	return 0
}

// requestInstruments asks the engine for the instrument list.
func (a *agent) requestInstruments() {
	a.listSeq++
	a.listID = "gw-" + a.g.cfg.GatewayPrincipal + "-" + strconv.Itoa(a.listSeq)
	a.defs = a.defs[:0]
	a.lastListRequest = a.now
	buf, m := engine.AppendInstrumentListRequest(make([]byte, 0, engine.InstrumentListRequestLength))
	// No Principal: the gateway asks for itself (not for a trader it
	// carries, which would make that trader's reports come here).
	m.SetRequestID(a.listID)
	a.list = &command{internal: true, req: request{kind: requestInstrumentList, msg: buf}, phase: phaseQueued}
}

func (a *agent) session(principal []byte) *fixSession {
	return a.g.byPrincipal[string(principal)]
}
