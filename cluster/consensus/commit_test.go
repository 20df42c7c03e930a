package consensus

import "testing"

// newLeaderWithLog elects member 0 of 3 over a store that already holds log
// written in earlier terms, by feeding it canvass positions and votes.
func newLeaderWithLog(t *testing.T, store *MemLogStore, hs HardState) *Node {
	t.Helper()
	n, err := NewNode(DefaultConfig(0, 3, &seqRand{}), store, hs, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, from := range []MemberID{1, 2} {
		_ = n.Step(0, &Message{Type: MsgCanvassPosition, From: from, Term: hs.Term})
	}
	for now := int64(0); n.state != StateLeaderReady; now += 1_000_000 {
		_ = n.Tick(now)
		if n.state == StateCandidateBallot {
			_ = n.Step(now, &Message{Type: MsgVote, From: 1, To: 0, Term: n.term, Granted: true})
		}
		if now > 1_000_000_000 {
			t.Fatalf("not elected: %v", n.state)
		}
	}
	n.Advance(n.Ready())
	return n
}

// TestLeaderCommitsOlderTermOnlyWithItsOwn is Raft's figure 8 rule: a leader
// never commits entries of an earlier term by counting replicas; they become
// committed only when an entry of its own term (the new-leadership-term
// entry at the term base) is on a majority.
func TestLeaderCommitsOlderTermOnlyWithItsOwn(t *testing.T) {
	store := NewMemLogStore()
	var old []byte
	for i := range 3 {
		old = AppendEntry(old, &LogEntry{Type: EntrySessionMessage, CorrelationID: int64(i), Payload: []byte("t1")})
	}
	_ = store.Append(1, old) // written in term 1, never committed
	store.Sync()
	n := newLeaderWithLog(t, store, HardState{Term: 2, Vote: NoMember})
	st := n.Status()
	if st.Term != 3 || st.TermBase != Position(len(old)) {
		t.Fatalf("status %+v", st)
	}
	store.Sync()
	ack := func(from MemberID, p Position) Position {
		_ = n.Step(n.nowNs, &Message{Type: MsgAppendPosition, From: from, Term: 3, Position: p})
		n.HasReady()
		return n.Status().Commit
	}
	if c := ack(1, st.TermBase); c != 0 {
		t.Fatalf("a majority holds the term-1 entries only: committed %d, want 0", c)
	}
	if c := ack(1, st.LogEnd); c != st.LogEnd {
		t.Fatalf("a majority holds the term-3 entry: committed %d, want %d", c, st.LogEnd)
	}
}

// TestCommitIsQuorumOfDurablePositions: the leader's own append position
// counts only once its log is durable.
func TestCommitIsQuorumOfDurablePositions(t *testing.T) {
	store := NewMemLogStore()
	n := newLeaderWithLog(t, store, HardState{Vote: NoMember})
	end := n.Status().LogEnd
	_ = n.Step(n.nowNs, &Message{Type: MsgAppendPosition, From: 2, Term: n.term, Position: 0})
	n.HasReady()
	if c := n.Status().Commit; c != 0 {
		t.Fatalf("leader not durable, one follower at 0: committed %d", c)
	}
	store.Sync()
	n.HasReady()
	if c := n.Status().Commit; c != 0 {
		t.Fatalf("only the leader durable: committed %d", c)
	}
	_ = n.Step(n.nowNs, &Message{Type: MsgAppendPosition, From: 1, Term: n.term, Position: end})
	n.HasReady()
	if c := n.Status().Commit; c != end {
		t.Fatalf("leader and follower 1 durable: committed %d, want %d", c, end)
	}
}
