package consensus

import "fmt"

// The leader: appends the new-leadership-term event, ships its log to each
// follower from the position where their logs agree, and computes the commit
// position as the quorum of durable append positions (its own included).

// appendMessagesPerFlushMax bounds the AppendLog messages queued per follower
// in one flush; the window bounds the bytes.
const appendMessagesPerFlushMax = 16

// becomeLeader starts leading n.term at the end of this member's log.
func (n *Node) becomeLeader() {
	n.setState(StateLeaderReady)
	n.counters.LeaderTerms++
	n.leader = n.id
	n.termBase = n.store.End()
	n.appendLocal(&LogEntry{Type: EntryNewLeadershipTerm, TermID: n.term, TermBase: n.termBase,
		LeaderID: n.id, Timestamp: n.clusterTime()})
	n.commitSent, n.commitHeldNs = -1, -1
	n.heartbeatNs = n.nowNs
	for i := range n.cfg.Members {
		n.progress[i] = progress{lastAckNs: n.nowNs}
		if MemberID(i) != n.id {
			n.probeFollower(MemberID(i))
		}
	}
}

// scanLastTimestamp returns the cluster time of the last entry in the log.
// Timestamps never decrease along the log, so it scans forward from the
// latest entry boundary it knows — the base of the last term or the applied
// position (a snapshot's, below which retention may have purged the log),
// whichever is later — in bounded reads. It runs once, when the Node
// starts; afterwards every appended entry updates it.
func (n *Node) scanLastTimestamp(applied Position) int64 {
	terms := n.store.Terms()
	if len(terms) == 0 {
		return 0
	}
	var ts int64
	var e LogEntry
	for p, end := max(terms[len(terms)-1].Base, applied), n.store.End(); p < end; {
		b, err := n.store.Read(p, min(end, p+applyBatchBytesMax), nil)
		if err != nil {
			n.storeErr(err)
			return ts
		}
		used := 0
		for used < len(b) {
			l, err := DecodeEntry(b[used:], &e)
			if err != nil {
				break // an entry cut by the read's end; the next read starts at it
			}
			ts = max(ts, e.Timestamp)
			used += l
		}
		if used == 0 { // not even one whole entry: the log is corrupt
			n.storeErr(fmt.Errorf("%w: no entry decodes at %d", ErrBadEntry, p))
			return ts
		}
		p += Position(used)
	}
	return ts
}

// probeFollower (re)starts finding where follower f's log agrees with ours
// by sending it NewLeadershipTerm; it answers with a CatchupPosition.
func (n *Node) probeFollower(f MemberID) {
	pr := &n.progress[f]
	pr.probing = true
	pr.probeAt = -1
	n.sendProbe(f)
}

func (n *Node) sendProbe(f MemberID) {
	pr := &n.progress[f]
	if pr.probeAt < 0 {
		n.send(Message{Type: MsgNewLeadershipTerm, To: f, Term: n.term, TermBase: n.termBase,
			Position: n.store.End(), Commit: n.commit})
		return
	}
	n.send(Message{Type: MsgAppendLog, To: f, Term: n.term, Position: pr.probeAt,
		PrevLogTerm: n.termAt(pr.probeAt - 1), LogTerm: n.term})
}

func (n *Node) tickLeader() {
	if n.nowNs-n.heartbeatNs >= n.cfg.HeartbeatIntervalNs {
		n.heartbeatNs = n.nowNs
		n.commitSent = -1 // the commit position doubles as heartbeat
		for i := range n.cfg.Members {
			n.leaderHeartbeatFollower(MemberID(i))
		}
		if !n.quorumActive() {
			n.enterCanvass() // a leader that cannot reach a majority steps down
		}
	}
}

func (n *Node) leaderHeartbeatFollower(f MemberID) {
	if f == n.id {
		return
	}
	pr := &n.progress[f]
	if n.termination >= 0 && pr.match < n.termination {
		n.send(Message{Type: MsgTermination, To: f, Term: n.term, Position: n.termination})
	}
	switch {
	case pr.probing:
		n.sendProbe(f)
	case pr.next > pr.acked() && n.nowNs-pr.lastProgressNs >= n.cfg.RetransmitTimeoutNs:
		pr.next = pr.acked() // go back: resend from what the follower is known to hold
		pr.lastProgressNs = n.nowNs
	}
}

func (n *Node) quorumActive() bool {
	count := 1
	for i := range n.cfg.Members {
		if MemberID(i) != n.id && n.nowNs-n.progress[i].lastAckNs < n.cfg.LeaderHeartbeatTimeoutNs {
			count++
		}
	}
	return count >= quorumSize(n.cfg.Members)
}

// leaderFromFollower filters messages a leader gets from followers: a higher
// term deposes it; an older one is stale.
func (n *Node) leaderFromFollower(m *Message) bool {
	if m.Term > n.term {
		n.adoptTerm(m.Term)
		n.enterCanvass()
		return false
	}
	if n.state != StateLeaderReady || m.Term < n.term {
		n.counters.StaleTerm++
		return false
	}
	n.progress[m.From].lastAckNs = n.nowNs
	return true
}

func (n *Node) onAppendPosition(m *Message) {
	if !n.leaderFromFollower(m) {
		return
	}
	pr := &n.progress[m.From]
	if m.Position > n.store.End() {
		n.counters.Invalid++ // acknowledges log we never wrote
		return
	}
	if m.Position > pr.match {
		pr.match = m.Position
		pr.lastProgressNs = n.nowNs
	}
	if pr.probing && pr.match > 0 {
		n.replicateFrom(m.From, pr.match)
	}
	if !pr.probing && pr.next < pr.match {
		pr.next = pr.match
	}
}

// onCatchupPosition finds where the follower's log agrees with ours. The
// follower's log held, below m.Position, bytes of term m.LogTerm from
// m.TermBase. If we hold that term, the logs agree up to the lower of the two
// ends of that term, an entry boundary in both. Otherwise they agree at most
// up to m.TermBase: probe at our last term base at or below it, a position
// known to be an entry boundary here, so that an accepted probe never leaves
// the follower mid-entry. Each probe lowers the position; position 0 always
// agrees.
func (n *Node) onCatchupPosition(m *Message) {
	if !n.leaderFromFollower(m) {
		return
	}
	pr := &n.progress[m.From]
	if m.Position == 0 {
		// An empty log: a new member, or one whose data was wiped, which
		// may have acknowledged more before. Send it everything.
		pr.match = 0
		n.replicateFrom(m.From, 0)
		return
	}
	if m.Position < pr.match {
		return // stale: the follower already acknowledged more in this term
	}
	if i := n.termRecord(m.LogTerm); i >= 0 {
		if n.store.Terms()[i].Base != m.TermBase {
			n.counters.Invalid++ // a term starts at one base on every member
			return
		}
		n.replicateFrom(m.From, min(m.Position, n.termEnd(i)))
		return
	}
	pr.probing = true
	pr.probeAt = n.boundaryAtOrBefore(m.TermBase)
	n.sendProbe(m.From)
}

// boundaryAtOrBefore returns a position <= p that is an entry boundary of
// this log without scanning: the log end, or the base of the term holding p.
func (n *Node) boundaryAtOrBefore(p Position) Position {
	if p >= n.store.End() {
		return n.store.End()
	}
	terms := n.store.Terms()
	if i := termIndexAt(terms, p); i >= 0 {
		return terms[i].Base
	}
	return 0
}

func (n *Node) replicateFrom(f MemberID, p Position) {
	pr := &n.progress[f]
	pr.probing = false
	pr.next, pr.floor = p, p
	pr.lastProgressNs = n.nowNs
}

// acked is the position below which the follower is known to hold this
// leader's log: acknowledged, or agreed when shipping started.
func (pr *progress) acked() Position { return max(pr.match, pr.floor) }

// flushLeader ships log to followers and advances and sends the commit
// position.
func (n *Node) flushLeader() {
	shipped := false
	for i := range n.cfg.Members {
		if MemberID(i) != n.id && !n.progress[i].probing {
			shipped = n.shipLog(MemberID(i)) || shipped
		}
	}
	n.advanceCommit()
	if n.commit != n.commitSent && n.commitHeldNs < 0 {
		n.commitHeldNs = n.nowNs
	}
	// commitSent < 0 forces a send (the heartbeat, a new term), and so
	// does a termination (followers close at its position once they know
	// it committed). Otherwise an advance rides with the next AppendLog,
	// or goes alone once it has waited the broadcast interval: sent at
	// once, as it used to be when the last one was older than the
	// interval, it went out just before the clients' responses, one more
	// send each, and woke the followers while the clients' wake-ups were
	// due; behind an AppendLog it costs the leader no send of its own and
	// the follower no wake-up.
	if n.commit != n.commitSent && (n.commitSent < 0 || n.termination >= 0 || shipped ||
		n.nowNs-n.commitHeldNs >= n.cfg.CommitBroadcastIntervalNs) {
		n.commitSent, n.commitHeldNs = n.commit, -1
		n.broadcast(Message{Type: MsgCommitPosition, Term: n.term, Position: n.commit})
	}
	for i := range n.cfg.Members {
		pr := &n.progress[i]
		if MemberID(i) != n.id && !pr.stopSent && pr.match > n.termBase {
			pr.stopSent = true
			n.send(Message{Type: MsgStopCatchup, To: MemberID(i), Term: n.term})
		}
	}
}

// shipLog sends follower f the log from pr.next within the window, in
// messages of whole entries that never span two terms, and reports
// whether it sent any.
func (n *Node) shipLog(f MemberID) bool {
	pr := &n.progress[f]
	end := n.store.End()
	window := Position(n.cfg.AppendWindowBytes)
	if st, ok := n.store.(logStart); ok && pr.next < end && pr.next < st.Start() {
		// Retention purged the log this follower needs: offer it a
		// snapshot instead (snapshot.go). The leader carries on with the
		// others meanwhile.
		n.offerSnapshot(f, st.Start())
		return false
	}
	sent := 0
	for ; sent < appendMessagesPerFlushMax && pr.next < end && pr.next-pr.acked() < window; sent++ {
		terms := n.store.Terms()
		i := termIndexAt(terms, pr.next)
		to := min(end, n.termEnd(i), pr.next+Position(n.cfg.AppendBatchBytes))
		data, err := n.store.Read(pr.next, to, nil)
		if err != nil {
			n.storeErr(err)
			return sent > 0
		}
		data = data[:wholeEntries(data)]
		if len(data) == 0 {
			n.counters.Invalid++ // the follower steered us off an entry boundary
			n.probeFollower(f)
			return sent > 0
		}
		n.send(Message{Type: MsgAppendLog, To: f, Term: n.term, Position: pr.next,
			PrevLogTerm: n.termAt(pr.next - 1), LogTerm: terms[i].Term, Data: data})
		pr.next += Position(len(data))
	}
	return sent > 0
}

// logStart is implemented by stores whose log may start after position 0
// (retention purged its beginning after a snapshot).
type logStart interface{ Start() Position }

// wholeEntries returns the length of the longest prefix of b made of whole
// entries.
func wholeEntries(b []byte) int {
	p := 0
	for p < len(b) {
		l, err := EntryFrameLength(b[p:])
		if err != nil {
			break
		}
		p += l
	}
	return p
}

// advanceCommit sets the commit position to the quorum of durable append
// positions, but only once that covers a byte of the current term: Raft
// commits an older term's entries only by committing one of its own.
func (n *Node) advanceCommit() {
	var pos [membersMax]Position
	for i := range n.cfg.Members {
		pos[i] = n.progress[i].match
	}
	pos[n.id] = n.store.DurablePosition()
	q := QuorumPosition(pos[:n.cfg.Members])
	if q > n.termBase && q > n.commit {
		n.commit = q
	}
}
