package marketdata

import (
	"sync/atomic"
	"time"

	"venue/transport"
)

// Wake-on-hand-off idle strategy bounds.
const (
	// idleSpinsMax is how many empty duty cycles a leader's agent spins
	// through, then idleYieldsMax how many it yields the processor after,
	// before it sleeps: under a steady feed the next command comes within
	// them, and waking a sleeping goroutine costs tens of microseconds on a
	// busy machine.
	//
	// The cost, measured with `venue bench md` on 2 cores: 2000 yields
	// outlast the gaps of a 100 k changes/s feed, so the agent never sleeps
	// and uses about a core (1.6-2.0 s of CPU per 2 s latency phase, against
	// 0.54-0.80 s when it sleeps after 100 yields); and while it yields, its P
	// never polls the network (the scheduler hands a yielding goroutine
	// straight back before it polls), so goroutines of the same process
	// parked in the netpoller (the bench's subscriber, transport agents) are
	// woken only when the other P goes idle, or by sysmon every 10 ms. With
	// "spin" the bench's wire-stage p99 is sysmon's 10 ms. Sleeping sooner
	// raised p50 from 73-110 µs to 210-310 µs on a host at load 6-11 and
	// showed no better p99 there (all in milliseconds), so the bound stays
	// until the choice can be measured on an idle host. Re-checked once
	// batches went as GSO sends (bounds patched, load 5-7): sleeping at once
	// gave p50 145-315 µs in 6 runs, against 31-55 µs with these bounds;
	// waking the agent's goroutine costs that much on this 2-vCPU host.
	idleSpinsMax  = 20
	idleYieldsMax = 2000
	// idleSleepMaxNs bounds one sleep, so heartbeats and snapshots stay on
	// time (both intervals are much longer).
	idleSleepMaxNs = int64(time.Millisecond)
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
// leader it spins a little, then yields the processor, then sleeps until the
// sink hands over an update or a trade (or idleSleepMaxNs passes); as
// follower, with nothing to send, it sleeps at once until it becomes leader.
// So a steady feed sees spinning latency and an idle one, or a follower,
// costs no core: three members and a client fit on two cores. Use it only
// with this publisher's agent.
func (p *Publisher) IdleStrategy() transport.IdleStrategy {
	return &publisherIdle{p: p, timer: time.NewTimer(time.Hour)}
}

type publisherIdle struct {
	p     *Publisher
	spins int
	timer *time.Timer
}

// Idle implements transport.IdleStrategy.
func (s *publisherIdle) Idle(workCount int) {
	if workCount > 0 {
		s.spins = 0
		return
	}
	if s.p.leader && s.spins < idleSpinsMax+idleYieldsMax {
		if s.spins >= idleSpinsMax {
			transport.YieldIdleStrategy{}.Idle(0)
		}
		s.spins++
		return
	}
	w := &s.p.wake
	w.sleeping.Store(true)
	// Re-check after announcing the sleep: a hand-off that happened before
	// the announcement did not signal.
	if !s.p.hasWork() {
		s.timer.Reset(time.Duration(idleSleepMaxNs))
		select {
		case <-w.ch:
		case <-s.timer.C:
		}
		s.timer.Stop()
	}
	w.sleeping.Store(false)
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
// something to do: a role change, or (as leader) an update or trade to send.
func (p *Publisher) hasWork() bool {
	r := p.role.Load()
	if (r&roleLeader != 0) != p.leader || uint32(r) != p.session {
		return true
	}
	return p.leader && (p.Pending() > 0 || (p.trade != nil && p.trade.peek() != nil))
}
