package sim

import (
	"bytes"

	"venue/cluster/consensus"
)

// checker holds the safety invariants. It sees only what members report
// through their Ready batches and service, never the fakes' internals.
type checker struct {
	sim     *Simulator
	leaders map[consensus.TermID]int
	// canon is the committed log as first reported by any member; every
	// later report must agree with it byte for byte.
	canon []byte
	// segments record, for each extension of canon, the term of the member
	// that reported it: an upper bound of the term that committed it.
	segments []segment
	checked  []Position // per member: commit position already compared
	digests  map[Position]uint64
	// service digests by log position, from every member's service
	serviceDigests map[Position]uint64
}

type segment struct {
	end  Position
	term consensus.TermID
}

func newChecker(s *Simulator) *checker {
	return &checker{sim: s, leaders: map[consensus.TermID]int{}, checked: make([]Position, s.opts.Members),
		digests: map[Position]uint64{}, serviceDigests: map[Position]uint64{}}
}

func (c *checker) onRestart(m *member) { c.checked[m.id] = 0 }

func (c *checker) onReady(m *member, rd *consensus.Ready) {
	if n := m.node.Counters().Invalid; n != 0 {
		c.sim.fail(failSafety, "member %d: %d messages no correct member could send", m.id, n)
	}
	st := rd.Status
	if rd.StatusChanged {
		c.sim.trace("member %d: %v term=%d leader=%d commit=%d end=%d", m.id, st.State, st.Term, st.Leader,
			st.Commit, st.LogEnd)
	}
	if st.Role == consensus.RoleLeader {
		c.checkOneLeader(m, st.Term)
		if rd.StatusChanged {
			c.checkLeaderCompleteness(m, st.Term)
		}
	}
	if st.Commit > c.checked[m.id] {
		c.extendCanon(m, c.checked[m.id], st.Commit, st.Term)
		c.checked[m.id] = st.Commit
	}
}

// checkOneLeader: election safety, at most one leader per term.
func (c *checker) checkOneLeader(m *member, t consensus.TermID) {
	if l, ok := c.leaders[t]; ok && l != m.id {
		c.sim.fail(failSafety, "two leaders in term %d: %d and %d", t, l, m.id)
	}
	c.leaders[t] = m.id
}

// checkLeaderCompleteness: a leader of term t holds every entry committed in
// an earlier term.
func (c *checker) checkLeaderCompleteness(m *member, t consensus.TermID) {
	var need Position
	for _, s := range c.segments {
		if s.term < t {
			need = max(need, s.end)
		}
	}
	if m.store.End() < need {
		c.sim.fail(failSafety, "leader %d of term %d: log ends at %d, committed %d", m.id, t, m.store.End(), need)
		return
	}
	b, _ := m.store.Read(0, need, nil)
	if !bytes.Equal(b, c.canon[:need]) {
		c.sim.fail(failSafety, "leader %d of term %d: log differs from committed log below %d", m.id, t, need)
	}
}

// extendCanon: a committed entry never changes (log matching, state machine
// safety). The member's log [from, to) must equal what is already known
// committed there, and extends it.
func (c *checker) extendCanon(m *member, from, to Position, t consensus.TermID) {
	if to > m.store.End() {
		c.sim.fail(failSafety, "member %d: commit %d beyond log end %d", m.id, to, m.store.End())
		return
	}
	b, _ := m.store.Read(from, to, nil)
	overlap := min(to, Position(len(c.canon))) - from
	if overlap > 0 && !bytes.Equal(b[:overlap], c.canon[from:from+overlap]) {
		c.sim.fail(failSafety, "member %d: committed log [%d,%d) differs from an earlier commit", m.id, from, from+overlap)
		return
	}
	if to > Position(len(c.canon)) {
		c.canon = append(c.canon, b[max(overlap, 0):]...)
		c.segments = append(c.segments, segment{end: to, term: t})
	}
}

// onApply: every member's service applies a prefix of one sequence; the
// digest after each entry is a function of the position alone.
func (c *checker) onApply(m *member, pos Position, digest uint64, _ *consensus.LogEntry) {
	if d, ok := c.digests[pos]; ok && d != digest {
		c.sim.fail(failSafety, "member %d: state digest %x at %d, another member had %x", m.id, digest, pos, d)
	}
	c.digests[pos] = digest
}

// final checks the settled cluster: every log equals the committed log,
// every acknowledged message is in it exactly once, no message is in it
// twice, and cluster time never goes back.
func (c *checker) final() {
	for _, m := range c.sim.members {
		b, _ := m.store.Read(0, m.store.End(), nil)
		if !bytes.Equal(b, c.canon) {
			c.sim.fail(failSafety, "member %d: final log (%d bytes) differs from committed log (%d bytes)",
				m.id, len(b), len(c.canon))
		}
	}
	seen := map[int64]int{}
	var lastTs int64
	var e consensus.LogEntry
	for b := c.canon; len(b) > 0; {
		l, err := consensus.DecodeEntry(b, &e)
		if err != nil {
			c.sim.fail(failSafety, "committed log: %v", err)
			return
		}
		if e.Timestamp < lastTs {
			c.sim.fail(failSafety, "cluster time went back from %d to %d", lastTs, e.Timestamp)
		}
		lastTs = e.Timestamp
		switch {
		case e.Type == consensus.EntrySessionMessage && e.SessionID == clientSession:
			seen[e.CorrelationID]++
		case e.Type == consensus.EntrySessionMessage:
			c.sim.stats.ServiceMessages++
		case e.Type == consensus.EntryTimer:
			c.sim.stats.Timers++
		case e.Type == consensus.EntrySessionOpen:
			c.sim.stats.SessionOpens++
		}
		b = b[l:]
	}
	for corr, n := range seen {
		if n != 1 {
			c.sim.fail(failSafety, "correlation %d is in the committed log %d times", corr, n)
		}
	}
	for corr := range c.sim.client.acked {
		if seen[corr] != 1 {
			c.sim.fail(failSafety, "acknowledged correlation %d is in the committed log %d times", corr, seen[corr])
		}
	}
}

// onServiceApply: every member's service state after the entry ending at
// pos is the same.
func (c *checker) onServiceApply(m *member, pos Position, digest uint64) {
	if d, ok := c.serviceDigests[pos]; ok && d != digest {
		c.sim.fail(failSafety, "member %d: service digest %x at %d, another member had %x", m.id, digest, pos, d)
	}
	c.serviceDigests[pos] = digest
}
