package marketdata

import (
	"sync/atomic"
	"time"

	"venue/transport"
)

// Wake-on-hand-off idle strategy bounds.
const (
	// idleSpinsMax is how many empty duty cycles a leader's agent spins
	// through before it sleeps until the sink hands over work: a few
	// microseconds, in which the rest of a burst of commands usually comes.
	//
	// It used to yield the processor 2000 times more before sleeping, and
	// never slept under a steady feed: at 100 k changes/s (`venue bench md`,
	// 2 cores) the latency phase used 2.3-2.5 s of CPU in 2 s, its threads
	// waited 0.8-0.9 s for a CPU, and every yield woke a second thread to
	// look for work (runtime.Gosched calls wakep). Most of the median it
	// bought was the bench pacing's: the feed's sub-millisecond sleeps ended
	// on time only while the yields kept a processor busy, so sleeping agents
	// measured p50 145-315 µs; the rest is the agent's wake-up (10-30 µs on
	// this VM). With the feed paced by a timerfd, interleaved runs: sleeping after the spins (14 runs) p50 47-59 µs,
	// p99 101-876 µs (median 225), 1.3-1.7 s of CPU, 0.45-0.72 s waiting;
	// yielding first (13 runs) p50 36-50 µs, p99 141-1397 µs (median 330),
	// 2.2-2.5 s of CPU, 0.87-1.3 s waiting. 10 or 50 yields before sleeping
	// were worse than either (p50 55-68 µs): they pay for the wake-up and for
	// the yields.
	idleSpinsMax = 20
	// idleSleepMaxNs bounds a sleep while packets wait for room in the
	// socket's send buffer: the socket does not signal room, so the agent
	// retries at this pace.
	idleSleepMaxNs = int64(time.Millisecond)
	// followerSleepMaxNs bounds a follower's sleep: becoming leader wakes it
	// at once, so this is only a safety net.
	followerSleepMaxNs = int64(100 * time.Millisecond)
)

// wakeup lets the agent sleep until the sink hands it work, without the
// sink ever waiting: the sink signals only when the agent said it sleeps,
// with a non-blocking send on a one-slot channel.
type wakeup struct {
	sleeping atomic.Bool
	ch       chan struct{}
}

func (w *wakeup) init() { w.ch = make(chan struct{}, 1) }

// notify is called by the sink after handing over work.
func (w *wakeup) notify() {
	if w.sleeping.Load() {
		select {
		case w.ch <- struct{}{}:
		default: // a wake-up is already pending
		}
	}
}

// IdleStrategy returns the idle strategy for this publisher's agent. As
// leader it spins a few duty cycles, then sleeps until the sink hands over an
// update or a trade, or a heartbeat or snapshot is due (or, while the socket
// is full, idleSleepMaxNs passes; or, while updates wait for
// MaxUpdatesPerSec's credit, the next credit is due); as follower, with nothing to send, it
// sleeps at once until it becomes leader. So the agent uses a core
// only while there is something to send: three members and a client fit on
// two cores. Use it only with this publisher's agent.
func (p *Publisher) IdleStrategy() transport.IdleStrategy {
	return &publisherIdle{p: p, timer: time.NewTimer(time.Hour)}
}

// publisherIdle's timer stays armed across sleeps and is re-armed only once
// it fired or when a sleep must end sooner: arming a Go timer that is the
// process's earliest wakes the thread waiting in the network poller (or
// starts one) so that it can re-compute its timeout, and re-arming a
// millisecond timer at every sleep did that thousands of times a second,
// each a thread wake-up on the path of the subscriber's.
type publisherIdle struct {
	p          *Publisher
	spins      int
	timer      *time.Timer
	armed      bool  // the timer runs and its fire has not been taken
	armedDueNs int64 // when it fires, on the agent's clock
}

// Idle implements transport.IdleStrategy.
func (s *publisherIdle) Idle(workCount int) {
	if workCount > 0 {
		s.spins = 0
		return
	}
	if s.p.leader && s.spins < idleSpinsMax {
		s.spins++
		return
	}
	w := &s.p.wake
	w.sleeping.Store(true)
	// Re-check after announcing the sleep: a hand-off that happened before
	// the announcement did not signal.
	if !s.p.hasWork() {
		if due := s.p.wakeDueNs(); !s.armed || due < s.armedDueNs {
			s.timer.Reset(time.Duration(max(0, due-s.p.dutyNs)))
			s.armed, s.armedDueNs = true, due
		}
		select {
		case <-w.ch:
		case <-s.timer.C:
			s.armed = false
		}
	}
	w.sleeping.Store(false)
}

// wakeDueNs returns, on the agent goroutine, when the next duty cycle must
// run even if nothing is handed over: when a heartbeat or a snapshot is due,
// soon while packets wait for room in the socket, and only as a safety net
// for a follower.
func (p *Publisher) wakeDueNs() int64 {
	switch {
	case !p.leader:
		return p.dutyNs + followerSleepMaxNs
	case len(p.out) > 0: // back-pressured: the rest was not sent
		return p.dutyNs + idleSleepMaxNs
	}
	due := min(p.lastSendNs+p.heartbeatNs, p.nextSnapshotNs)
	if p.updateCostNs > 0 && p.Pending() > 0 { // updates wait for the rate limit's credit
		due = min(due, p.creditDueNs())
	}
	return due
}

// creditDueNs returns, on the agent goroutine, when the rate limit next
// allows an update: the credit last counted (at creditAtNs) grows by one
// nanosecond per nanosecond, so it is exact however long ago that was. Without
// a limit, or with credit left, it is a time already passed.
func (p *Publisher) creditDueNs() int64 {
	if p.updateCostNs == 0 || p.creditNs >= p.updateCostNs {
		return p.creditAtNs
	}
	return p.creditAtNs + p.updateCostNs - p.creditNs
}

// Reset implements transport.IdleStrategy.
func (s *publisherIdle) Reset() { s.spins = 0 }

// notifyIfLeader wakes a sleeping agent after a hand-off. A follower's agent
// has nothing to send, so it is left asleep.
func (p *Publisher) notifyIfLeader() {
	if p.role.Load()&roleLeader != 0 {
		p.wake.notify()
	}
}

// hasWork reports, on the agent goroutine, whether the next duty cycle has
// something to do: a role change, or (as leader) an update the rate limit
// allows or a trade to send. Updates that wait for credit are not work: the
// agent sleeps until the credit is due (wakeDueNs) instead of spinning
// through empty duty cycles until then.
func (p *Publisher) hasWork() bool {
	r := p.role.Load()
	if (r&roleLeader != 0) != p.leader || uint32(r) != p.session {
		return true
	}
	return p.leader && ((p.Pending() > 0 && p.creditDueNs() <= p.dutyNs) || (p.trade != nil && p.trade.peek() != nil))
}
