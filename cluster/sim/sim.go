package sim

import (
	"fmt"
	"runtime/debug"

	"venue/cluster/consensus"
)

// FailKind classifies a failed run, like the VOPR's exit codes.
type FailKind uint8

const (
	failNone FailKind = iota
	// failSafety: an invariant was broken (the checkers).
	failSafety
	// failLiveness: the healed cluster did not settle within the budget.
	failLiveness
	// failCrash: the consensus core panicked or returned an error.
	failCrash
)

// String returns the FailKind's name, as used in traces and counters.
func (k FailKind) String() string {
	switch k {
	case failNone:
		return "ok"
	case failSafety:
		return "safety"
	case failLiveness:
		return "liveness"
	case failCrash:
		return "crash"
	}
	return fmt.Sprintf("FailKind(%d)", uint8(k))
}

// Failure describes the first failure of a run.
type Failure struct {
	Kind  FailKind
	AtNs  int64
	Cause string
}

func (f *Failure) Error() string {
	return fmt.Sprintf("%v failure at %d ns: %s", f.Kind, f.AtNs, f.Cause)
}

// Simulator runs one cluster from one seed.
type Simulator struct {
	opts    Options
	rng     *Rand
	net     *network
	members []*member
	client  *client
	check   *checker
	nowNs   int64
	failure *Failure
	stats   Stats
	// tracef, when set, receives one line per fault and role change.
	tracef func(format string, args ...any)
}

func (s *Simulator) trace(format string, args ...any) {
	if s.tracef != nil {
		s.tracef("%8.3fms "+format, append([]any{float64(s.nowNs) / 1e6}, args...)...)
	}
}

// Stats summarise what happened in a run.
type Stats struct {
	Crashes, Partitions, Pauses uint64
	LeaderTerms, Truncations    uint64
	// SplitBallots: ballots found split and resolved without the
	// election timeout (consensus Counters.SplitBallots).
	SplitBallots              uint64
	Acked, Unknown            uint64
	Sent, Dropped, Duplicated uint64
	// Committed entries by kind, from the final log.
	Timers, ServiceMessages, SessionOpens uint64
}

// Add accumulates o into s.
func (s *Stats) Add(o Stats) {
	s.Crashes += o.Crashes
	s.Partitions += o.Partitions
	s.Pauses += o.Pauses
	s.LeaderTerms += o.LeaderTerms
	s.Truncations += o.Truncations
	s.SplitBallots += o.SplitBallots
	s.Acked += o.Acked
	s.Unknown += o.Unknown
	s.Sent += o.Sent
	s.Dropped += o.Dropped
	s.Duplicated += o.Duplicated
	s.Timers += o.Timers
	s.ServiceMessages += o.ServiceMessages
	s.SessionOpens += o.SessionOpens
}

// Stats returns the run's statistics so far.
func (s *Simulator) Stats() Stats {
	st := s.stats
	for _, m := range s.members {
		st.LeaderTerms += m.counters.LeaderTerms
		st.Truncations += m.counters.Truncations
		st.SplitBallots += m.counters.SplitBallots
		if m.node != nil {
			c := m.node.Counters()
			st.LeaderTerms += c.LeaderTerms
			st.Truncations += c.Truncations
			st.SplitBallots += c.SplitBallots
		}
	}
	st.Acked, st.Unknown = uint64(len(s.client.acked)), uint64(s.client.unknown)
	st.Sent, st.Dropped, st.Duplicated = s.net.sent, s.net.dropped, s.net.duplicated
	return st
}

// New builds a cluster for opts with every member started at time 0.
func New(opts Options) *Simulator {
	s := &Simulator{opts: opts, rng: NewRand(opts.Seed)}
	s.net = newNetwork(s.rng, &s.opts)
	s.check = newChecker(s)
	s.client = newClient(s)
	for i := range opts.Members {
		m := &member{id: i, sim: s, store: consensus.NewMemLogStore(), hard: consensus.HardState{Vote: consensus.NoMember}}
		s.members = append(s.members, m)
		m.start(0)
	}
	return s
}

func (s *Simulator) fail(kind FailKind, format string, args ...any) {
	if s.failure == nil {
		s.failure = &Failure{Kind: kind, AtNs: s.nowNs, Cause: fmt.Sprintf(format, args...)}
	}
}

// Run runs the seed's full scenario: a safety phase under random faults, then
// a liveness phase with the faults healed, then the final checks.
func Run(seed uint64) (*Simulator, error) { return RunTraced(seed, nil) }

// RunTraced is Run with a trace of faults and role changes sent to tracef.
func RunTraced(seed uint64, tracef func(format string, args ...any)) (s *Simulator, err error) {
	s = New(OptionsFromSeed(seed))
	s.tracef = tracef
	defer s.recoverCrash(&err)
	for s.nowNs < safetyPhaseNs && s.failure == nil {
		s.step()
		if s.nowNs%faultIntervalNs == 0 {
			s.injectFaults()
		}
	}
	if s.failure == nil {
		s.HealAll()
		s.settle(livenessBudgetNs)
	}
	if s.failure == nil {
		s.check.final()
	}
	return s, s.err()
}

func (s *Simulator) err() error {
	if s.failure != nil {
		return s.failure
	}
	return nil
}

func (s *Simulator) recoverCrash(err *error) {
	if r := recover(); r != nil {
		s.fail(failCrash, "panic: %v\n%s", r, debug.Stack())
		*err = s.failure
	}
}

// step advances virtual time by one step: deliver due packets, tick members
// and the client.
func (s *Simulator) step() {
	s.nowNs += stepNs
	for p := s.net.due(s.nowNs); p != nil; p = s.net.due(s.nowNs) {
		if p.to == clientID {
			s.client.onEgress(p)
			continue
		}
		m := s.members[p.to]
		switch {
		case !m.up:
		case m.paused:
			if len(m.held) < pausedPacketsMax { // a stopped process's socket buffer
				m.held = append(m.held, p)
			}
		default:
			m.deliver(s.nowNs, p)
		}
	}
	for _, m := range s.members {
		if m.active() {
			m.tick(s.nowNs)
		}
	}
	s.client.tick(s.nowNs)
}

func (s *Simulator) injectFaults() {
	r, o, n := s.rng, &s.opts, s.opts.Members
	if r.Chance(o.Partition) {
		s.stats.Partitions++
		a := r.Intn(n)
		if r.Intn(3) == 0 {
			s.trace("isolate %d", a)
			s.net.isolate(a, n)
		} else {
			b, oneWay := (a+1+r.Intn(n-1))%n, r.Chance(o.OneWay)
			s.trace("partition %d -> %d one-way=%t", a, b, oneWay)
			s.net.partition(a, b, oneWay)
		}
	}
	if r.Chance(o.Heal) {
		s.trace("heal partitions")
		s.net.heal()
	}
	if r.Chance(o.Crash) {
		if m := s.members[r.Intn(n)]; m.up {
			s.stats.Crashes++
			s.trace("crash %d (durable %d of %d)", m.id, m.store.DurablePosition(), m.store.End())
			m.crash()
		}
	}
	if r.Chance(o.Restart) {
		if m := s.members[r.Intn(n)]; !m.up {
			s.trace("restart %d", m.id)
			m.start(s.nowNs)
		}
	}
	if r.Chance(o.Pause) {
		if m := s.members[r.Intn(n)]; m.up {
			s.stats.Pauses++
			s.trace("pause %d: %t", m.id, !m.paused)
			m.setPaused(!m.paused)
		}
	}
}

// HealAll removes every fault: partitions, loss, duplication; restarts
// crashed members and resumes paused ones.
func (s *Simulator) HealAll() {
	s.trace("heal all: liveness phase")
	s.net.heal()
	s.net.faulty = false
	for _, m := range s.members {
		if !m.up {
			m.start(s.nowNs)
		}
		m.setPaused(false)
	}
}

// settle runs until the cluster has a leader that has committed its whole
// log, a client proposal made after now was acknowledged, and every member
// has applied the leader's log; or fails liveness after budgetNs.
func (s *Simulator) settle(budgetNs int64) {
	deadline := s.nowNs + budgetNs
	mark := s.client.nextCorr
	s.client.stopped = false
	for s.failure == nil {
		if s.client.ackedSince(mark) {
			s.client.stopped = true
			if s.settled() {
				return
			}
		}
		if s.nowNs >= deadline {
			s.fail(failLiveness, "cluster did not settle within %d ns: %s", budgetNs, s.describe())
			return
		}
		s.step()
	}
}

func (s *Simulator) settled() bool {
	l := s.Leader()
	if l < 0 {
		return false
	}
	ls := s.members[l].node.Status()
	if ls.Commit != ls.LogEnd {
		return false
	}
	for _, m := range s.members {
		if !m.up || m.applied != ls.LogEnd {
			return false
		}
	}
	return true
}

// Leader returns the member that leads the highest term, or -1.
func (s *Simulator) Leader() int {
	best, term := -1, consensus.TermID(-1)
	for _, m := range s.members {
		if m.up && m.node != nil {
			st := m.node.Status()
			if st.Role == consensus.RoleLeader && st.Term > term {
				best, term = m.id, st.Term
			}
		}
	}
	return best
}

func (s *Simulator) describe() string {
	out := ""
	for _, m := range s.members {
		if !m.up {
			out += fmt.Sprintf("[%d down] ", m.id)
			continue
		}
		st := m.node.Status()
		out += fmt.Sprintf("[%d %v term=%d leader=%d commit=%d end=%d durable=%d applied=%d] ",
			m.id, st.State, st.Term, st.Leader, st.Commit, st.LogEnd, st.Durable, m.applied)
	}
	return out + fmt.Sprintf("client acked=%d unknown=%d", len(s.client.acked), s.client.unknown)
}
