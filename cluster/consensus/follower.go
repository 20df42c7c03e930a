package consensus

// The follower: accepts the leader's log only where it is contiguous with
// what the two logs agree on (Raft's log matching, by position and term),
// truncates an uncommitted tail the leader lacks, and reports its durable
// matching position as AppendPosition (conflated).

// fromLeader filters messages that only a leader sends. It answers an
// older-term sender with our term so it steps down, and starts following a
// leader of the current or a newer term.
func (n *Node) fromLeader(m *Message) bool {
	if m.Term < n.term {
		n.counters.StaleTerm++
		n.send(Message{Type: MsgAppendPosition, To: m.From, Term: n.term})
		return false
	}
	if m.Term == n.term && n.leader != NoMember && n.leader != m.From {
		n.counters.Invalid++ // a second leader in one term
		return false
	}
	if m.Term > n.term || n.leader != m.From {
		n.follow(m.Term, m.From)
	}
	n.leaderContactNs = n.nowNs
	return true
}

// follow starts following leader l in term t.
func (n *Node) follow(t TermID, l MemberID) {
	if t > n.term {
		n.adoptTerm(t)
	}
	n.setState(StateFollowerCatchup)
	n.leader = l
	n.termBase = -1
	n.matched = 0
	n.leaderCommit = 0
	n.ackSent = -1
	n.leaderContactNs = n.nowNs
	// Bytes of term t in our log came from its one leader, l, so (log
	// matching) our whole log agrees with l's: a follower that lost contact
	// for a while and comes back holding the tail of this term needs
	// nothing shipped, and on an idle log no AppendLog would ever come to
	// say so — it would stay in catch-up, its commit and service behind.
	if end := n.store.End(); end > 0 && n.termAt(end-1) == t {
		n.matched = end
		n.maybeCaughtUp()
	}
}

func (n *Node) onNewLeadershipTerm(m *Message) {
	if !n.fromLeader(m) {
		return
	}
	n.termBase = m.TermBase
	n.onLeaderCommit(m.Commit)
	n.queueCatchup(n.store.End())
}

func (n *Node) onCommitPosition(m *Message) {
	if n.fromLeader(m) {
		n.onLeaderCommit(m.Position)
	}
}

func (n *Node) onStopCatchup(m *Message) {
	if n.fromLeader(m) {
		n.maybeCaughtUp()
	}
}

func (n *Node) onTermination(m *Message) {
	if n.fromLeader(m) {
		n.termination = m.Position
	}
}

func (n *Node) onLeaderCommit(c Position) {
	n.leaderCommit = max(n.leaderCommit, c)
	n.commit = max(n.commit, min(n.leaderCommit, n.matched))
}

// queueCatchup asks the leader for the log from p (conflated: the latest
// request wins), describing our log just before p as it is now: the bytes
// [base, p) were written in term t. That is a fact about term t's stream,
// which never changes, so it stays true however late the leader reads it.
// p must be an entry boundary of term t's stream: our log end, or a leader's
// AppendLog position.
func (n *Node) queueCatchup(p Position) {
	p = min(p, n.store.End())
	base := Position(0)
	terms := n.store.Terms()
	if i := termIndexAt(terms, p-1); i >= 0 {
		base = terms[i].Base
	}
	n.catchupPending = true
	n.catchup = Message{Type: MsgCatchupPosition, Term: n.term, Position: p, LogTerm: n.termAt(p - 1), TermBase: base}
}

// onAppendLog accepts leader log bytes [p, p+len) written in m.LogTerm if our
// log agrees with the leader's below p (same term at p-1). Bytes we already
// hold in the same term are identical (log matching) and skipped; bytes of a
// different term are an uncommitted tail the leader lacks, truncated.
func (n *Node) onAppendLog(m *Message) {
	if !n.fromLeader(m) {
		return
	}
	ts, ok := validEntries(m.Data)
	if !ok {
		n.counters.BadAppend++
		return
	}
	p, end := m.Position, n.store.End()
	if p > end || n.termAt(p-1) != m.PrevLogTerm {
		n.counters.AppendRejected++
		n.queueCatchup(min(p, end))
		return
	}
	if len(m.Data) == 0 {
		n.matched = max(n.matched, p) // an accepted probe
		n.queueCatchup(p)
		n.onLeaderCommit(0)
		n.maybeCaughtUp()
		return
	}
	dataEnd := p + Position(len(m.Data))
	q := n.agreedEnd(p, dataEnd, m.LogTerm)
	if q < end && q < dataEnd {
		if q < n.commit || q < n.matched {
			n.counters.Invalid++ // would remove committed or matched log
			return
		}
		n.storeErr(n.store.Truncate(q))
		n.counters.Truncations++
		end = q
	}
	if dataEnd > end {
		n.storeErr(n.store.Append(m.LogTerm, m.Data[end-p:]))
		n.appended = true
	}
	n.matched = max(n.matched, dataEnd)
	n.lastTimestampNs = max(n.lastTimestampNs, ts) // cluster time never goes back under a later leader
	n.onLeaderCommit(0)
	n.maybeCaughtUp()
}

// agreedEnd returns the first position in [p, dataEnd) at which our log may
// differ from data written in term t starting at p: the end of our own bytes
// of term t from p (identical to the leader's by log matching).
func (n *Node) agreedEnd(p, dataEnd Position, t TermID) Position {
	end := n.store.End()
	if end <= p {
		return p
	}
	i := termIndexAt(n.store.Terms(), p)
	if i < 0 || n.store.Terms()[i].Term != t {
		return p
	}
	return min(end, n.termEnd(i), dataEnd)
}

// maybeCaughtUp moves catch-up to ready once our matching log reaches the
// current term (the live log).
func (n *Node) maybeCaughtUp() {
	if n.state == StateFollowerCatchup && n.matched > 0 && n.termAt(n.matched-1) == n.term {
		n.setState(StateFollowerReady)
	}
}

func (n *Node) tickFollower() {
	if n.nowNs-n.leaderContactNs >= n.cfg.LeaderHeartbeatTimeoutNs {
		n.enterCanvass()
	}
}

// flushFollower sends the conflated catch-up request and append position.
func (n *Node) flushFollower() {
	if n.catchupPending {
		n.catchupPending = false
		if n.catchup.Term == n.term {
			n.catchup.To = n.leader
			n.send(n.catchup)
		}
	}
	ack := min(n.store.DurablePosition(), n.matched)
	if ack > n.ackSent || n.nowNs-n.ackSentNs >= n.cfg.HeartbeatIntervalNs {
		n.ackSent = max(n.ackSent, ack)
		n.ackSentNs = n.nowNs
		n.send(Message{Type: MsgAppendPosition, To: n.leader, Term: n.term, Position: ack})
	}
}

// flush brings the Node's outputs up to date before a Ready.
func (n *Node) flush() {
	switch n.state {
	case StateLeaderReady:
		n.flushLeader()
	case StateFollowerCatchup, StateFollowerReady:
		n.flushFollower()
	}
}

// validEntries reports whether b is a sequence of whole, decodable entries
// (the log is checked at the gateway, so everything in a store decodes) and
// returns their highest cluster time.
func validEntries(b []byte) (int64, bool) {
	var e LogEntry
	var ts int64
	for len(b) > 0 {
		l, err := DecodeEntry(b, &e)
		if err != nil {
			return 0, false
		}
		ts = max(ts, e.Timestamp)
		b = b[l:]
	}
	return ts, true
}
