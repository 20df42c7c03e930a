package consensus

// The election, after Aeron's Election.java: canvass (exchange log positions)
// → nominate (only a member at least as complete as a majority) → ballot
// (Raft's RequestVote / Vote) → leader ready or follower catch-up. Canvass
// doubles as Raft's pre-vote: a member that cannot hear a majority never
// raises its term, so a partitioned member cannot disrupt a healthy leader.

// canvassQuorumWaitHeartbeats: once it has heard from a majority, a member
// canvasses this many heartbeat intervals for the rest before it decides
// (a dead leader never answers, so waiting for everyone only delays).
const canvassQuorumWaitHeartbeats = 2

// canvassStaleFactor: a canvass that has not produced a nominee after this
// many election timeouts starts over, forgetting what it heard (a member
// that looked better may have crashed).
const canvassStaleFactor = 4

// enterCanvass starts (or restarts) an election at n.nowNs.
func (n *Node) enterCanvass() {
	n.setState(StateCanvass)
	n.counters.Elections++
	n.leader = NoMember
	n.catchupPending = false
	n.canvass = [membersMax]canvassRecord{}
	n.canvass[n.id] = canvassRecord{heard: true, logTerm: n.lastLogTerm(), position: n.store.End(), term: n.term}
	n.sendCanvass()
}

func (n *Node) sendCanvass() {
	n.lastSendNs = n.nowNs
	n.broadcast(Message{Type: MsgCanvassPosition, Term: n.term, LogTerm: n.lastLogTerm(), Position: n.store.End()})
}

func (n *Node) tickCanvass() {
	if n.nowNs-n.lastSendNs >= n.cfg.HeartbeatIntervalNs {
		n.sendCanvass()
	}
	elapsed := n.nowNs - n.stateStartNs
	decide := n.heardAll() || elapsed >= n.cfg.ElectionTimeoutNs ||
		elapsed >= canvassQuorumWaitHeartbeats*n.cfg.HeartbeatIntervalNs && n.heardQuorum()
	if decide && n.isNominee() {
		n.enterNominate()
		return
	}
	if elapsed >= canvassStaleFactor*n.cfg.ElectionTimeoutNs {
		n.enterCanvass()
	}
}

func (n *Node) heardCount() int {
	count := 0
	for i := range n.cfg.Members {
		if n.canvass[i].heard {
			count++
		}
	}
	return count
}

func (n *Node) heardAll() bool    { return n.heardCount() == n.cfg.Members }
func (n *Node) heardQuorum() bool { return n.heardCount() >= quorumSize(n.cfg.Members) }

// isNominee: this member's log is at least as complete as a majority's,
// counting itself, among the members it has heard from.
func (n *Node) isNominee() bool {
	me := n.canvass[n.id]
	count := 0
	for i := range n.cfg.Members {
		r := n.canvass[i]
		if r.heard && !logLess(me.logTerm, me.position, r.logTerm, r.position) {
			count++
		}
	}
	return count >= quorumSize(n.cfg.Members)
}

// logLess reports whether log (t1, p1) is less complete than (t2, p2):
// Raft's comparison by last term, then by length.
func logLess(t1 TermID, p1 Position, t2 TermID, p2 Position) bool {
	return t1 < t2 || t1 == t2 && p1 < p2
}

func (n *Node) onCanvassPosition(m *Message) {
	switch n.state {
	case StateCanvass, StateNominate:
		n.canvass[m.From] = canvassRecord{heard: true, logTerm: m.LogTerm, position: m.Position, term: m.Term}
	case StateLeaderReady:
		if m.LogTerm <= n.term {
			// A member in election that missed this term: tell it. If its
			// term is above ours it answers with that term and we step
			// down, as Raft does for a disruptive candidate.
			n.probeFollower(m.From)
		}
	}
}

func (n *Node) enterNominate() {
	n.setState(StateNominate)
	n.nominateAtNs = n.nowNs + int64(n.cfg.Rand.Uint64()%uint64(n.cfg.NominationDelayMaxNs))
}

func (n *Node) tickNominate() {
	if n.nowNs >= n.nominateAtNs {
		n.enterCandidateBallot()
	}
}

// enterCandidateBallot stands in a term above every term heard of.
func (n *Node) enterCandidateBallot() {
	t := n.term
	for i := range n.cfg.Members {
		t = max(t, n.canvass[i].term)
	}
	n.adoptTerm(t + 1)
	n.vote = n.id
	n.setState(StateCandidateBallot)
	n.votes = [membersMax]bool{}
	n.voteResponses = [membersMax]bool{}
	n.rivals = [membersMax]canvassRecord{}
	n.lostAtNs = 0
	n.votes[n.id] = true
	n.voteResponses[n.id] = true
	n.sendVoteRequests()
	n.maybeWinBallot()
}

func (n *Node) sendVoteRequests() {
	n.lastSendNs = n.nowNs
	for i := range n.cfg.Members {
		if !n.voteResponses[i] {
			n.send(Message{Type: MsgRequestVote, To: MemberID(i), Term: n.term,
				LogTerm: n.lastLogTerm(), Position: n.store.End()})
		}
	}
}

func (n *Node) tickCandidateBallot() {
	if n.nowNs-n.stateStartNs >= n.cfg.ElectionTimeoutNs ||
		n.lostAtNs > 0 && n.nowNs-n.lostAtNs >= n.cfg.HeartbeatIntervalNs {
		n.enterCanvass()
		return
	}
	if n.nowNs-n.lastSendNs >= n.cfg.HeartbeatIntervalNs {
		n.sendVoteRequests()
	}
}

func (n *Node) tickFollowerBallot() {
	if n.nowNs-n.stateStartNs >= n.cfg.ElectionTimeoutNs {
		n.enterCanvass()
	}
}

// onRequestVote applies Raft's voting rule: one vote per term, only for a
// candidate whose log is at least as complete as ours. The vote is persisted
// (Ready.HardState) before the answer is sent.
func (n *Node) onRequestVote(m *Message) {
	if m.Term < n.term {
		n.counters.StaleTerm++
		n.send(Message{Type: MsgVote, To: m.From, Term: n.term, LogTerm: n.lastLogTerm(), Position: n.store.End()})
		return
	}
	if m.Term > n.term {
		n.adoptTerm(m.Term)
	}
	grant := (n.vote == NoMember || n.vote == m.From) &&
		!logLess(m.LogTerm, m.Position, n.lastLogTerm(), n.store.End())
	if grant {
		n.vote = m.From
		n.hsDirty = true
		n.setState(StateFollowerBallot)
	} else if n.leader == NoMember && n.state != StateCanvass && n.state != StateNominate &&
		n.state != StateFollowerBallot && n.state != StateCandidateBallot {
		n.enterCanvass() // a leader or follower of an older term
	} else if n.state == StateCandidateBallot && n.vote != n.id {
		n.enterCanvass() // our ballot's term was overtaken
	}
	n.send(Message{Type: MsgVote, To: m.From, Term: n.term, Granted: grant,
		LogTerm: n.lastLogTerm(), Position: n.store.End()})
	if n.state == StateCandidateBallot && n.vote == n.id && m.Term == n.term {
		// A rival candidate in our term: it voted for itself.
		n.rivals[m.From] = canvassRecord{heard: true, logTerm: m.LogTerm, position: m.Position, term: m.Term}
		n.voteResponses[m.From] = true
		n.votes[m.From] = false
		n.checkBallot()
	}
}

func (n *Node) onVote(m *Message) {
	if m.Term > n.term {
		n.adoptTerm(m.Term)
		n.enterCanvass()
		return
	}
	if n.state != StateCandidateBallot || m.Term != n.term || m.To != n.id {
		return
	}
	n.voteResponses[m.From] = true
	n.votes[m.From] = m.Granted
	n.maybeWinBallot()
	if n.state == StateCandidateBallot {
		n.checkBallot()
	}
}

// checkBallot resolves a ballot this candidate can no longer win from the
// members it heard in the canvass (a member it did not hear, such as a
// crashed leader, is not waited for), instead of waiting out the election
// timeout. Raft's safety is untouched: this member still voted once in its
// term, and standing again means a new term, persisted before any request.
//
//   - Lost only to rivals' own votes (a split): the strongest rival — the
//     most complete log, then the lowest member id — stands again at once
//     in a new term; the others go back to canvass, where they grant it.
//   - Lost to a denial from a member that is not (yet) known as a rival:
//     that member may have voted for a candidate that wins, so wait one
//     heartbeat interval (a rival's request, sent before its denial, may
//     still come) and then go back to canvass, where a new leader finds
//     this member; no new term, so no disruption.
func (n *Node) checkBallot() {
	granted, open, otherDenials := 0, 0, 0
	for i := range n.cfg.Members {
		switch {
		case n.votes[i]:
			granted++
		case !n.voteResponses[i]:
			if n.canvass[i].heard {
				open++
			}
		case !n.rivals[i].heard:
			otherDenials++
		}
	}
	if granted+open >= quorumSize(n.cfg.Members) {
		return // it may still win
	}
	if otherDenials > 0 {
		if n.lostAtNs == 0 {
			n.lostAtNs = n.nowNs
		}
		return
	}
	n.counters.SplitBallots++
	if n.strongestCandidate() {
		n.enterNominate()
		n.enterCandidateBallot() // at once: the rivals step aside
		return
	}
	n.enterCanvass()
}

// strongestCandidate reports whether this member's log is at least as
// complete as every rival's, ties going to the lowest member id.
func (n *Node) strongestCandidate() bool {
	myTerm, myEnd := n.lastLogTerm(), n.store.End()
	for i := range n.cfg.Members {
		r := n.rivals[i]
		if !r.heard {
			continue
		}
		if logLess(myTerm, myEnd, r.logTerm, r.position) ||
			!logLess(r.logTerm, r.position, myTerm, myEnd) && MemberID(i) < n.id {
			return false
		}
	}
	return true
}

func (n *Node) maybeWinBallot() {
	count := 0
	for i := range n.cfg.Members {
		if n.votes[i] {
			count++
		}
	}
	if count >= quorumSize(n.cfg.Members) {
		n.becomeLeader()
	}
}
