package consensus

import (
	"errors"
	"fmt"
)

// Snapshot installation (Raft's InstallSnapshot, split the Aeron way: the
// core decides, the member layer moves the bytes).
//
// A leader whose retention purged the log a follower needs (the follower's
// next position is below the store's Start) offers it the snapshot the
// caller said it can serve (SnapshotAvailable) with MsgInstallSnapshot,
// again every RetransmitTimeoutNs until the follower acknowledges a
// position at or past it. The follower's Node hands the offer to its
// caller in Ready.SnapshotOffer; the caller fetches the snapshot's bytes
// (MsgSnapshotChunkRequest / MsgSnapshotChunk, handled outside the Node),
// stores it durably, resets its log to start empty at the snapshot's
// position with the offer's term record, loads the snapshot into its
// service, and calls SnapshotInstalled. The follower then acknowledges the
// position and asks to catch up from it like any follower.
//
// Safety: a snapshot holds applied, hence committed, state, so the log
// below its position is the same on every member (state machine safety);
// a follower drops an offer at or below its commit position, and
// SnapshotInstalled never moves the commit position back.

// SnapshotOffer is a leader's offer of its snapshot to this member, in
// Ready. The zero value (Position 0) means none.
type SnapshotOffer struct {
	// Leader sent the offer, as leader of Term.
	Leader MemberID
	Term   TermID
	// Position is the log position the snapshot's state is at.
	Position Position
	// LogTerm and TermBase are the term record the follower's log starts
	// with: the byte before Position was written in LogTerm, whose base
	// is TermBase.
	LogTerm  TermID
	TermBase Position
}

// ErrSnapshot: SnapshotInstalled was called with a store that does not
// start at the snapshot's position, or with a snapshot behind what this
// member has committed.
var ErrSnapshot = errors.New("consensus: bad snapshot install")

// SnapshotAvailable tells the Node that its caller holds, and can serve to
// followers, a snapshot of the state at p (taken at p, or installed). A
// leader offers the latest one to followers that need purged log.
func (n *Node) SnapshotAvailable(p Position) {
	if p > n.snapshotAt {
		n.snapshotAt = p
	}
}

// offerSnapshot offers follower f the latest snapshot, if it may serve as
// the start of f's log; otherwise it counts the shipment as unservable.
func (n *Node) offerSnapshot(f MemberID, start Position) {
	p := n.snapshotAt
	if p < start || p <= 0 || p > n.commit || p > n.store.End() {
		// No snapshot reaches the log we still hold: the follower cannot
		// be served (a snapshot not yet written, or none configured).
		n.counters.Unservable++
		return
	}
	pr := &n.progress[f]
	if pr.installAt == p && n.nowNs-pr.installSentNs < n.cfg.RetransmitTimeoutNs {
		return
	}
	terms := n.store.Terms()
	i := termIndexAt(terms, p-1)
	assert(i >= 0, "snapshot at %d has no term record", p)
	pr.installAt, pr.installSentNs = p, n.nowNs
	n.counters.SnapshotsOffered++
	n.send(Message{Type: MsgInstallSnapshot, To: f, Term: n.term, Position: p,
		LogTerm: terms[i].Term, TermBase: terms[i].Base})
}

// onInstallSnapshot takes a leader's offer unless this member's own log
// already holds what the snapshot would bring.
func (n *Node) onInstallSnapshot(m *Message) {
	if !n.fromLeader(m) {
		return
	}
	if m.Position <= n.store.End() && n.termAt(m.Position-1) == m.LogTerm {
		// Our log agrees with the leader's up to the snapshot's position
		// (log matching), an entry boundary in both: the leader can ship
		// from there (a tail past it that differs is truncated as usual).
		n.counters.StaleSnapshotOffers++
		n.queueCatchup(m.Position)
		return
	}
	if m.Position <= n.commit {
		n.counters.Invalid++ // committed log of another term: no correct leader sends this
		return
	}
	n.counters.SnapshotOffers++
	n.offer = SnapshotOffer{Leader: m.From, Term: m.Term, Position: m.Position, LogTerm: m.LogTerm,
		TermBase: m.TermBase}
}

// SnapshotInstalled tells the Node that its caller replaced this member's
// state with a snapshot of the state at p: the service holds the state at
// p, and the LogStore was reset to an empty log starting at p whose term
// record says who wrote the byte before p (an offer's LogTerm and
// TermBase). timestampNs is the snapshot's cluster time. The Node's commit
// and applied positions move to p and, if it follows a leader, it
// acknowledges p and asks to catch up from it. Call it outside a
// Ready/Advance pair.
func (n *Node) SnapshotInstalled(nowNs int64, p Position, timestampNs int64) error {
	if err := n.begin(nowNs); err != nil {
		return err
	}
	if n.state == StateLeaderReady {
		return fmt.Errorf("%w: a leader installs no snapshot", ErrSnapshot)
	}
	if p < n.commit || n.store.End() != p || n.termAt(p-1) == 0 || n.termAt(p-1) > n.term {
		return fmt.Errorf("%w: at %d with commit %d, log end %d, term before it %d",
			ErrSnapshot, p, n.commit, n.store.End(), n.termAt(p-1))
	}
	n.commit, n.applied = p, p
	n.lastTimestampNs = max(n.lastTimestampNs, timestampNs)
	n.counters.SnapshotsInstalled++
	n.SnapshotAvailable(p)
	if n.state == StateFollowerCatchup || n.state == StateFollowerReady {
		// The log below p is the committed log, the same on every member:
		// it matches this leader's.
		n.matched = p
		n.queueCatchup(p)
	}
	return nil
}
