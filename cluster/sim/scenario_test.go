package sim

import (
	"testing"

	"venue/cluster/consensus"
)

// Targeted scenarios on the same simulator as the seeded runs, each named as
// a sentence with the cluster shape. They start from a fault-free network and
// apply faults by hand; every one ends with the cluster healed, settled, and
// the final checks (log equality, exactly-once, digests).

func quietOptions(members int, seed uint64) Options {
	return Options{Seed: seed, Members: members, DelayMinNs: 100_000, DelayMaxNs: 300_000,
		SyncDelayMaxNs: 500_000, ClientEveryNs: 1_000_000, ClientBurst: 4}
}

// runFor advances the simulation by d nanoseconds.
func (s *Simulator) runFor(t *testing.T, d int64) {
	t.Helper()
	for end := s.nowNs + d; s.nowNs < end && s.failure == nil; {
		s.step()
	}
	if s.failure != nil {
		t.Fatal(s.failure)
	}
}

// runUntil steps until cond holds, failing after budgetNs.
func (s *Simulator) runUntil(t *testing.T, budgetNs int64, what string, cond func() bool) int64 {
	t.Helper()
	start := s.nowNs
	for !cond() {
		if s.nowNs-start > budgetNs {
			t.Fatalf("%s: not within %d ms: %s", what, budgetNs/1e6, s.describe())
		}
		s.step()
		if s.failure != nil {
			t.Fatal(s.failure)
		}
	}
	return s.nowNs - start
}

// finish heals everything, settles and runs the final checks.
func (s *Simulator) finish(t *testing.T) {
	t.Helper()
	s.HealAll()
	s.settle(livenessBudgetNs)
	if s.failure == nil {
		s.check.final()
	}
	if s.failure != nil {
		t.Fatal(s.failure)
	}
	if len(s.client.acked) == 0 {
		t.Fatal("no message was acknowledged")
	}
}

func (s *Simulator) status(i int) consensus.Status { return s.members[i].node.Status() }

// leaderCommitted reports whether a leader of a term above term has
// committed an entry of its own term.
func (s *Simulator) leaderCommitted(term consensus.TermID) bool {
	l := s.Leader()
	if l < 0 {
		return false
	}
	st := s.status(l)
	return st.Term > term && st.Commit > st.TermBase
}

func TestScenario3MembersLeaderCrashUnderLoadNewLeaderCommitsWithin1s(t *testing.T) {
	var worst, total int64
	const seeds = 30
	defer func() { t.Logf("failover: mean %d ms, worst %d ms", total/seeds/1e6, worst/1e6) }()
	for seed := uint64(1); seed <= seeds; seed++ {
		s := New(quietOptions(3, seed))
		s.runUntil(t, 1e9, "first leader", func() bool { return s.leaderCommitted(0) })
		s.runFor(t, 200e6)
		old := s.Leader()
		term := s.status(old).Term
		s.members[old].crash()
		took := s.runUntil(t, 1e9, "failover", func() bool { return s.leaderCommitted(term) })
		worst, total = max(worst, took), total+took
		if took >= 1e9 {
			t.Fatalf("seed %d: failover took %d ms", seed, took/1e6)
		}
		s.finish(t)
	}
}

func TestScenario5MembersMinorityPartitionedMajorityKeepsCommitting(t *testing.T) {
	s := New(quietOptions(5, 7))
	s.runUntil(t, 1e9, "first leader", func() bool { return s.leaderCommitted(0) })
	l := s.Leader()
	// Isolate the leader and one follower: the other three elect and commit.
	s.net.isolate(l, 5)
	s.net.isolate((l+1)%5, 5)
	term := s.status(l).Term
	s.client.target = (l + 2) % 5
	s.runUntil(t, 1e9, "majority leader", func() bool { return s.leaderCommitted(term) })
	acked := len(s.client.acked)
	s.runFor(t, 500e6)
	if len(s.client.acked) <= acked {
		t.Fatal("majority side stopped committing")
	}
	if st := s.status(l); st.Role == consensus.RoleLeader {
		t.Fatal("isolated leader did not step down")
	}
	s.finish(t)
}

func TestScenario3MembersOneWayPartitionLeaderToFollowerDoesNotDeposeLeader(t *testing.T) {
	s := New(quietOptions(3, 3))
	s.runUntil(t, 1e9, "first leader", func() bool { return s.leaderCommitted(0) })
	l := s.Leader()
	term := s.status(l).Term
	f := (l + 1) % 3
	s.net.partition(l, f, true) // f no longer hears the leader; the leader still hears f
	s.runFor(t, 2e9)
	if s.Leader() != l || s.status(l).Term != term {
		t.Fatalf("leader %d term %d deposed: %s", l, term, s.describe())
	}
	s.finish(t)
}

// Every member's process stops for longer than the leader heartbeat timeout
// and resumes (a loaded host descheduled them; or each blocked in a disk
// call at the same log position): nothing failed, so no member may count
// its own stall as its peers' silence and depose the leader.
func TestScenario3MembersEveryMemberPausedPastTimeoutKeepsItsLeader(t *testing.T) {
	const seeds = 10
	const pauseNs = 400e6 // twice the leader heartbeat timeout
	for seed := uint64(1); seed <= seeds; seed++ {
		s := New(quietOptions(3, seed))
		s.runUntil(t, 1e9, "first leader", func() bool { return s.leaderCommitted(0) })
		s.runFor(t, 100e6)
		l := s.Leader()
		term := s.status(l).Term
		for _, m := range s.members {
			m.setPaused(true)
		}
		s.runFor(t, pauseNs)
		for _, m := range s.members {
			m.setPaused(false)
		}
		acked := len(s.client.acked)
		s.runFor(t, 500e6)
		if s.Leader() != l || s.status(l).Term != term {
			t.Fatalf("seed %d: leader %d term %d deposed after a stall of every member: %s",
				seed, l, term, s.describe())
		}
		if len(s.client.acked) <= acked {
			t.Fatalf("seed %d: nothing committed after the stall", seed)
		}
		s.finish(t)
	}
}

func TestScenario3MembersAllCrashAndRestartCommittedLogSurvives(t *testing.T) {
	s := New(quietOptions(3, 11))
	s.runUntil(t, 1e9, "first leader", func() bool { return s.leaderCommitted(0) })
	s.runFor(t, 300e6)
	committed := len(s.check.canon)
	for _, m := range s.members {
		m.crash()
	}
	s.runFor(t, 50e6)
	for _, m := range s.members {
		m.start(s.nowNs)
	}
	s.runUntil(t, 2e9, "leader after restart", func() bool { return s.leaderCommitted(s.status(0).Term - 1) })
	if committed == 0 {
		t.Fatal("nothing committed before the crash")
	}
	s.finish(t)
}

func TestScenario5MembersLeaderPausedPastTimeoutResumesAsFollower(t *testing.T) {
	s := New(quietOptions(5, 5))
	s.runUntil(t, 1e9, "first leader", func() bool { return s.leaderCommitted(0) })
	l := s.Leader()
	term := s.status(l).Term
	s.members[l].setPaused(true)
	s.runUntil(t, 1e9, "new leader", func() bool { return s.leaderCommitted(term) })
	s.members[l].setPaused(false) // it resumes believing it leads, with stale packets queued
	s.runUntil(t, 1e9, "old leader follows", func() bool {
		st := s.status(l)
		return st.Role == consensus.RoleFollower && st.Term > term
	})
	s.finish(t)
}

func TestScenario3MembersOrderlyShutdownEveryServiceTerminatesAtOnePosition(t *testing.T) {
	s := New(quietOptions(3, 9))
	s.runUntil(t, 1e9, "first leader", func() bool { return s.leaderCommitted(0) })
	s.runFor(t, 100e6)
	s.client.stopped = true
	l := s.Leader()
	end, err := s.members[l].node.Terminate(s.nowNs + s.members[l].clockNs)
	if err != nil {
		t.Fatal(err)
	}
	s.runUntil(t, 1e9, "every member closed", func() bool {
		for _, m := range s.members {
			if m.node.Status().State != consensus.StateClosed {
				return false
			}
		}
		return true
	})
	for _, m := range s.members {
		if !m.service.terminated || m.applied != end {
			t.Fatalf("member %d: terminated %t applied %d, shutdown at %d", m.id, m.service.terminated, m.applied, end)
		}
	}
}
