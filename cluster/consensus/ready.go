package consensus

// Ready is a batch of work the Node hands its caller. The caller must carry
// out the obligations in this order, then call Advance with the same Ready:
//
//  1. If HardStateChanged, persist HardState durably (write + fsync). A vote
//     or a new term must never be sent before it is durable.
//  2. If LogAppended, the Node appended to the LogStore since the last Ready;
//     have it made durable according to the fsync policy (now, or by a
//     background flush). The Node only ever reports durable positions, read
//     from LogStore.DurablePosition, so this step may lag; the
//     commit position waits for it.
//  3. Send Messages (each to its To member). They may be sent in any order,
//     batched, or dropped by the network; the protocol tolerates loss.
//  4. Apply Committed, the whole log entries [CommittedFrom, CommittedTo), to
//     the service, in order.
//
// Do not call Tick, Step or Propose between Ready and Advance.
//
// Ownership: Messages, their Data and Committed belong to the Node and are
// valid only until Advance; copy anything that must outlive it (a transport
// send that completes later must copy). They must not be modified.
type Ready struct {
	HardState        HardState
	HardStateChanged bool
	LogAppended      bool
	Messages         []Message
	CommittedFrom    Position
	CommittedTo      Position
	Committed        []byte
	// Status is the Node's status; StatusChanged says the role, state, term
	// or leader changed since the last Ready (a role-change notification).
	Status        Status
	StatusChanged bool
	// SnapshotOffer is a leader's offer of a snapshot this member needs
	// (Position 0: none). After Advance, the caller fetches and installs
	// it and calls SnapshotInstalled, or ignores it (the leader offers it
	// again).
	SnapshotOffer SnapshotOffer
}

// applyBatchBytesMax bounds the committed bytes handed out in one Ready.
const applyBatchBytesMax = 1 << 20

// HasReady reports whether Ready would return any work. It first brings the
// Node up to date with the LogStore's durable position (sending positions and
// advancing the commit position) and ships pending log to followers.
func (n *Node) HasReady() bool {
	if n.err != nil {
		return false
	}
	if n.state == StateClosed { // report the close, then nothing more
		return len(n.msgs) > 0 || n.prevStatus.State != StateClosed
	}
	n.flushProposals()
	if n.mayClose() { // a terminating leader's wait may end with time alone
		return true
	}
	n.flush()
	st := n.Status()
	return n.hsDirty || n.appended || len(n.msgs) > 0 || n.applyLimit() > n.applied ||
		statusChanged(st, n.prevStatus) || n.offer.Position > 0
}

// Appended reports whether the Node appended to its LogStore since the
// last Ready: the next Ready's LogAppended. A caller whose store writes
// when told (LogAppended) may tell it before taking that Ready, so that
// positions the write makes durable go out in it.
func (n *Node) Appended() bool { return n.appended }

func statusChanged(a, b Status) bool {
	return a.Term != b.Term || a.State != b.State || a.Leader != b.Leader
}

// Ready returns the pending batch; see Ready for the caller's obligations.
func (n *Node) Ready() Ready {
	n.flushProposals()
	n.flush()
	rd := Ready{
		HardState:        HardState{Term: n.term, Vote: n.vote},
		HardStateChanged: n.hsDirty,
		LogAppended:      n.appended,
		Messages:         n.msgs,
		CommittedFrom:    n.applied,
		CommittedTo:      n.applied,
		Status:           n.Status(),
		SnapshotOffer:    n.offer,
	}
	rd.StatusChanged = statusChanged(rd.Status, n.prevStatus)
	n.checkInvariants()
	if limit := n.applyLimit(); limit > n.applied {
		to := n.entryBoundaryAtOrBefore(n.applied, min(limit, n.applied+applyBatchBytesMax))
		b, err := n.store.Read(n.applied, to, nil)
		n.storeErr(err)
		if err == nil {
			rd.CommittedTo, rd.Committed = to, b
		}
	}
	return rd
}

// applyLimit is how far the service may apply: the commit position, but no
// further than a termination position.
func (n *Node) applyLimit() Position {
	if n.termination >= 0 {
		return min(n.commit, n.termination)
	}
	return n.commit
}

// entryBoundaryAtOrBefore returns the last entry boundary in [from, to],
// scanning entries from from (an entry boundary).
func (n *Node) entryBoundaryAtOrBefore(from, to Position) Position {
	if to == n.applyLimit() {
		return to // the commit and termination positions are entry boundaries
	}
	b, err := n.store.Read(from, to, nil)
	if err != nil {
		n.storeErr(err)
		return from
	}
	p := 0
	for p < len(b) {
		l, err := EntryFrameLength(b[p:])
		if err != nil {
			break
		}
		p += l
	}
	return from + Position(p)
}

// Advance tells the Node the caller has done everything rd asked for.
func (n *Node) Advance(rd Ready) {
	if rd.HardStateChanged && rd.HardState == (HardState{Term: n.term, Vote: n.vote}) {
		n.hsDirty = false
	}
	if len(rd.Messages) > 0 {
		assert(len(rd.Messages) <= len(n.msgs), "advance with %d messages, have %d", len(rd.Messages), len(n.msgs))
		rest := copy(n.msgs, n.msgs[len(rd.Messages):])
		clear(n.msgs[rest:])
		n.msgs = n.msgs[:rest]
	}
	if rd.LogAppended {
		n.appended = false
	}
	if rd.SnapshotOffer == n.offer {
		n.offer = SnapshotOffer{}
	}
	assert(rd.CommittedTo >= n.applied || rd.CommittedTo == rd.CommittedFrom,
		"advance applied back from %d to %d", n.applied, rd.CommittedTo)
	n.applied = max(n.applied, rd.CommittedTo)
	n.prevStatus = rd.Status
	if n.mayClose() {
		n.setState(StateClosed)
	}
}

// checkInvariants asserts the relations between the Node's positions that
// every handler must preserve.
func (n *Node) checkInvariants() {
	end := n.store.End()
	assert(n.applied <= n.commit && n.commit <= end, "member %d: applied %d commit %d end %d",
		n.id, n.applied, n.commit, end)
	assert(n.store.DurablePosition() <= end, "member %d: durable %d > end %d", n.id, n.store.DurablePosition(), end)
	assert(n.lastLogTerm() <= n.term, "member %d: log term %d > term %d", n.id, n.lastLogTerm(), n.term)
	if n.state == StateLeaderReady {
		assert(n.leader == n.id && n.vote == n.id && n.termBase >= 0 && n.termAt(n.termBase) == n.term,
			"member %d: leader of %d with vote %d base %d", n.id, n.term, n.vote, n.termBase)
	} else {
		assert(n.matched <= end, "member %d: matched %d > end %d", n.id, n.matched, end)
	}
}
