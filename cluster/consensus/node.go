package consensus

import (
	"errors"
	"fmt"
)

// HardState is what a member must persist durably before it sends any
// message in a Ready: its current term and its vote in that term.
type HardState struct {
	Term TermID
	Vote MemberID
}

// Status is a snapshot of a Node's externally visible state, for counters,
// the service container (role changes) and tests.
type Status struct {
	ID       MemberID
	Term     TermID
	State    ElectionState
	Role     Role
	Leader   MemberID
	Commit   Position
	Applied  Position
	LogEnd   Position
	Durable  Position
	TermBase Position
}

// Counters count protocol events; every dropped message increments one.
type Counters struct {
	Elections      uint64 // times this member entered canvass
	LeaderTerms    uint64 // terms this member led
	Truncations    uint64 // uncommitted tails removed
	BadSender      uint64 // messages from an unknown or own member id
	StaleTerm      uint64 // messages from an older term
	BadAppend      uint64 // AppendLog with bad entry framing
	AppendRejected uint64 // AppendLog not contiguous with the local log
	// Invalid counts well-formed messages that no correct member could have
	// sent (a second leader in a term, a position beyond the leader's log, a
	// truncation of committed log). They are dropped; the simulator requires
	// this counter to stay zero.
	Invalid uint64
	// SplitBallots counts ballots this candidate found split (lost to
	// rival candidates' own votes) and resolved without waiting for the
	// election timeout: standing again at once, or stepping aside.
	SplitBallots uint64
	// Unservable counts log shipments skipped because a follower needs log
	// that retention purged from this leader's store and no snapshot the
	// leader can serve reaches the log it still holds.
	Unservable uint64
	// SnapshotsOffered counts InstallSnapshot messages this leader sent.
	SnapshotsOffered uint64
	// SnapshotOffers counts offers this member took (handed out in Ready);
	// StaleSnapshotOffers those it did not need (its log already agreed).
	SnapshotOffers, StaleSnapshotOffers uint64
	// SnapshotsInstalled counts snapshots this member installed from a peer.
	SnapshotsInstalled uint64
	// Stalls counts gaps longer than a heartbeat interval between two
	// calls into the Node (its caller was not running); they do not count
	// as the peers' silence (stall.go).
	Stalls uint64
}

// Errors returned by Node methods.
var (
	// ErrNotLeader: Propose on a member that is not the leader.
	ErrNotLeader = errors.New("consensus: not leader")
	// ErrBackPressured: the leader's uncommitted log is at its bound.
	ErrBackPressured = errors.New("consensus: back pressured")
	// ErrTooLarge: a proposed payload exceeds PayloadLengthMax.
	ErrTooLarge = errors.New("consensus: payload too large")
	// ErrClosed: the Node is closed.
	ErrClosed = errors.New("consensus: closed")
	// ErrBadSender: a message from a member id outside the cluster or from
	// this member itself; it was dropped.
	ErrBadSender = errors.New("consensus: bad sender")
)

// progress is the leader's view of one follower's replication.
type progress struct {
	match Position // highest AppendPosition acknowledged in this term
	next  Position // next position to send (valid when !probing)
	// floor: the follower's log agrees with ours below it (where shipping
	// last started from an agreement). With match, it is where flow
	// control counts bytes in flight from and where a resend goes back to
	// — not match alone, which is 0 in a new term until the follower
	// acknowledges, and would hold the window shut or resend the whole log.
	floor          Position
	probing        bool     // waiting for a CatchupPosition to know next
	probeAt        Position // empty AppendLog probe position; -1: send NewLeadershipTerm
	lastAckNs      int64    // last message from the follower (check quorum)
	lastProgressNs int64    // last time match advanced or next was reset
	stopSent       bool     // StopCatchup sent in this term
	installAt      Position // snapshot last offered (0: none)
	installSentNs  int64    // when it was offered
}

// canvassRecord is what this member heard from another in the canvass.
type canvassRecord struct {
	heard    bool
	logTerm  TermID
	position Position
	term     TermID
}

// Node is one member's consensus core in etcd's RawNode shape: a
// deterministic state machine without goroutines, sockets, clock or files.
// The caller drives it from one goroutine:
//
//	n.Tick(nowNs)           // periodically (every few ms; a gap beyond a heartbeat interval is a stall)
//	n.Step(nowNs, &msg)     // for each consensus message received
//	n.Propose(nowNs, &e)    // for each ingress entry (leader only)
//	if n.HasReady() { rd := n.Ready(); ...obligations...; n.Advance(rd) }
type Node struct {
	cfg   Config
	id    MemberID
	store LogStore
	nowNs int64
	err   error

	state ElectionState
	term  TermID
	vote  MemberID
	// leader is the known leader of term, or NoMember.
	leader MemberID
	// termBase is the base position of term if known, else -1.
	termBase Position
	// commit: the log below it is committed and matches the cluster's.
	commit  Position
	applied Position
	// lastTimestampNs: the highest cluster time seen in the log.
	lastTimestampNs int64

	// Election.
	stateStartNs  int64
	lastSendNs    int64 // last canvass / vote request broadcast
	nominateAtNs  int64
	canvass       [membersMax]canvassRecord
	votes         [membersMax]bool
	voteResponses [membersMax]bool
	// rivals: members that asked for votes in this member's ballot term
	// (each voted for itself), with their logs; lostAtNs: when the ballot
	// was found lost to denials not all from rivals (0: not lost).
	rivals   [membersMax]canvassRecord
	lostAtNs int64

	// Follower.
	matched         Position // my log below it equals the leader's (this term)
	leaderCommit    Position // latest CommitPosition of this term's leader
	leaderContactNs int64
	ackSent         Position
	ackSentNs       int64
	catchupPending  bool
	catchup         Message  // the pending CatchupPosition (conflated)
	termination     Position // stop once applied here; -1: not asked
	terminateByNs   int64    // leader: stop waiting for followers then

	// Snapshots: the latest one the caller can serve, and an offer from a
	// leader not yet handed out in a Ready.
	snapshotAt Position
	offer      SnapshotOffer

	// Leader.
	progress   [membersMax]progress
	commitSent Position
	// commitHeldNs is when the commit position first moved past
	// commitSent without being broadcast (-1: it has not):
	// CommitBroadcastIntervalNs counts from it.
	commitHeldNs int64
	heartbeatNs  int64

	// Output.
	msgs       []Message
	hsDirty    bool
	appended   bool
	prevStatus Status
	scratch    []byte
	proposals  []byte // proposed entries not yet appended to the store (see propose)
	counters   Counters
}

// NewNode returns a Node for cfg over store. hs is the durably stored hard
// state (zero for a new member) and applied the position up to which the
// service already holds the log's effects (0 without a snapshot). The Node
// starts in canvass at nowNs.
func NewNode(cfg Config, store LogStore, hs HardState, applied Position, nowNs int64) (*Node, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if applied < 0 || applied > store.DurablePosition() {
		return nil, fmt.Errorf("%w: applied %d beyond durable log %d", ErrConfig, applied, store.DurablePosition())
	}
	n := &Node{cfg: cfg, id: cfg.ID, store: store, term: hs.Term, vote: hs.Vote,
		commit: applied, applied: applied, termination: -1, state: StateCanvass, nowNs: nowNs}
	if hs.Vote < NoMember || int(hs.Vote) >= cfg.Members {
		return nil, fmt.Errorf("%w: stored vote %d", ErrConfig, hs.Vote)
	}
	if t := n.lastLogTerm(); t > n.term {
		return nil, fmt.Errorf("%w: log term %d above stored term %d", ErrConfig, t, n.term)
	}
	n.lastTimestampNs = n.scanLastTimestamp(applied)
	n.enterCanvass()
	n.prevStatus = Status{ID: NoMember}
	return n, n.err
}

// Tick advances the Node's timers to nowNs, which must not go backwards. Call
// it at least every heartbeat interval: a longer gap since the last call is
// taken for a stall of this member, which its peers' timeouts do not count
// (stall.go).
func (n *Node) Tick(nowNs int64) error {
	if err := n.begin(nowNs); err != nil {
		return err
	}
	n.flushProposals()
	switch n.state {
	case StateCanvass:
		n.tickCanvass()
	case StateNominate:
		n.tickNominate()
	case StateCandidateBallot:
		n.tickCandidateBallot()
	case StateFollowerBallot:
		n.tickFollowerBallot()
	case StateLeaderReady:
		n.tickLeader()
	case StateFollowerCatchup, StateFollowerReady:
		n.tickFollower()
	}
	return n.err
}

func (n *Node) begin(nowNs int64) error {
	if n.err != nil {
		return n.err
	}
	if n.state == StateClosed {
		return ErrClosed
	}
	assert(nowNs >= n.nowNs, "time went back from %d to %d", n.nowNs, nowNs)
	n.creditStall(nowNs)
	n.nowNs = nowNs
	return nil
}

// Step processes one consensus message received at nowNs. The message must
// have passed DecodeMessage (or be built in process); m and m.Data are not
// retained.
func (n *Node) Step(nowNs int64, m *Message) error {
	if err := n.begin(nowNs); err != nil {
		return err
	}
	n.flushProposals()
	if m.From < 0 || int(m.From) >= n.cfg.Members || m.From == n.id {
		n.counters.BadSender++
		return fmt.Errorf("%w: %d", ErrBadSender, m.From)
	}
	switch m.Type {
	case MsgCanvassPosition:
		n.onCanvassPosition(m)
	case MsgRequestVote:
		n.onRequestVote(m)
	case MsgVote:
		n.onVote(m)
	case MsgNewLeadershipTerm:
		n.onNewLeadershipTerm(m)
	case MsgAppendPosition:
		n.onAppendPosition(m)
	case MsgCommitPosition:
		n.onCommitPosition(m)
	case MsgCatchupPosition:
		n.onCatchupPosition(m)
	case MsgStopCatchup:
		n.onStopCatchup(m)
	case MsgTermination:
		n.onTermination(m)
	case MsgAppendLog:
		n.onAppendLog(m)
	case MsgInstallSnapshot:
		n.onInstallSnapshot(m)
	default:
		return fmt.Errorf("%w: %v", ErrUnknownTemplate, m.Type)
	}
	return n.err
}

// Propose appends e to the log if this member is the leader, stamping it
// with cluster time (nowNs, never below the last stamped time). It returns the
// log position just after the entry: the entry is committed once the commit
// position reaches it. e.Payload is copied.
func (n *Node) Propose(nowNs int64, e *LogEntry) (Position, error) {
	if err := n.begin(nowNs); err != nil {
		return 0, err
	}
	if n.state != StateLeaderReady {
		return 0, ErrNotLeader
	}
	if n.termination >= 0 {
		return 0, fmt.Errorf("%w: terminating at %d", ErrClosed, n.termination)
	}
	if len(e.Payload) > PayloadLengthMax {
		return 0, fmt.Errorf("%w: %d bytes", ErrTooLarge, len(e.Payload))
	}
	if n.logEnd()-n.commit > Position(n.cfg.UncommittedBytesMax) {
		return 0, ErrBackPressured
	}
	e.Timestamp = n.clusterTime()
	n.propose(e)
	return n.logEnd(), n.err
}

// ProposeMessage proposes a session message (the common ingress case).
func (n *Node) ProposeMessage(nowNs int64, session SessionID, correlation int64, payload []byte) (Position, error) {
	e := LogEntry{Type: EntrySessionMessage, SessionID: session, CorrelationID: correlation, Payload: payload}
	return n.Propose(nowNs, &e)
}

// ShutdownApplied tells the Node that the shutdown action ending at p has
// been applied. Every member applies it at the same position, so the
// shutdown completes even if the leader that appended it no longer leads
// (a leader change between append and commit): the Node stops once it has
// applied p — a leader, as after Terminate, once every follower has
// appended p or after the termination timeout. Call it after Advance.
func (n *Node) ShutdownApplied(nowNs int64, p Position) {
	if n.termination >= 0 || n.state == StateClosed {
		return
	}
	n.termination = p
	n.terminateByNs = nowNs + terminationTimeoutHeartbeats*n.cfg.HeartbeatIntervalNs
	if n.state == StateLeaderReady {
		n.broadcast(Message{Type: MsgTermination, Term: n.term, Position: p})
	}
}

// terminationTimeoutHeartbeats: a terminating leader waits this many
// heartbeat intervals for followers to reach the termination position.
const terminationTimeoutHeartbeats = 10

// Terminate shuts the cluster down in order (leader only): it appends a
// shutdown cluster action, tells followers to stop once they have applied up
// to the position after it, and closes itself once it has applied that far
// and every follower has appended it (or after a timeout).
func (n *Node) Terminate(nowNs int64) (Position, error) {
	p, err := n.Propose(nowNs, &LogEntry{Type: EntryClusterAction, Action: ActionShutdown})
	if err != nil {
		return 0, err
	}
	n.termination = p
	n.terminateByNs = nowNs + terminationTimeoutHeartbeats*n.cfg.HeartbeatIntervalNs
	n.broadcast(Message{Type: MsgTermination, Term: n.term, Position: p})
	return p, nil
}

// mayClose reports whether a terminating member is done.
func (n *Node) mayClose() bool {
	if n.termination < 0 || n.applied < n.termination || n.state == StateClosed {
		return false
	}
	if n.state != StateLeaderReady || n.nowNs >= n.terminateByNs {
		return true
	}
	for i := range n.cfg.Members {
		if MemberID(i) != n.id && n.progress[i].match < n.termination {
			return false
		}
	}
	return true
}

func (n *Node) clusterTime() int64 {
	n.lastTimestampNs = max(n.lastTimestampNs, n.nowNs)
	return n.lastTimestampNs
}

// appendLocal encodes e and appends it to the store in the current term.
// proposalBatchBytesMax bounds proposals held for one store append: the
// leader appends a duty cycle's proposals to its store at once (a batch, one
// write) instead of one write each.
const proposalBatchBytesMax = 64 << 10

// propose appends a proposal to the pending batch; flushProposals moves the
// batch into the store before anything reads the store (every entry point
// but Propose flushes first).
func (n *Node) propose(e *LogEntry) {
	n.lastTimestampNs = max(n.lastTimestampNs, e.Timestamp)
	n.proposals = AppendEntry(n.proposals, e)
	n.appended = true
	if len(n.proposals) >= proposalBatchBytesMax {
		n.flushProposals()
	}
}

func (n *Node) flushProposals() {
	if len(n.proposals) > 0 {
		n.storeErr(n.store.Append(n.term, n.proposals))
		n.proposals = n.proposals[:0]
	}
}

// logEnd is the end of the log including proposals not yet in the store.
func (n *Node) logEnd() Position { return n.store.End() + Position(len(n.proposals)) }

func (n *Node) appendLocal(e *LogEntry) {
	n.flushProposals()
	n.lastTimestampNs = max(n.lastTimestampNs, e.Timestamp)
	n.scratch = AppendEntry(n.scratch[:0], e)
	n.storeErr(n.store.Append(n.term, n.scratch))
	n.appended = true
}

func (n *Node) storeErr(err error) {
	if err != nil && n.err == nil {
		n.err = fmt.Errorf("%w: %w", ErrStore, err)
	}
}

// Status returns the Node's current status.
func (n *Node) Status() Status {
	return Status{ID: n.id, Term: n.term, State: n.state, Role: n.state.Role(), Leader: n.leader,
		Commit: n.commit, Applied: n.applied, LogEnd: n.logEnd(), Durable: n.store.DurablePosition(),
		TermBase: n.termBase}
}

// Counters returns the Node's protocol counters.
func (n *Node) Counters() Counters { return n.counters }

// send queues m for the next Ready.
func (n *Node) send(m Message) {
	m.From = n.id
	n.msgs = append(n.msgs, m)
}

func (n *Node) broadcast(m Message) {
	for i := range n.cfg.Members {
		if MemberID(i) != n.id {
			m.To = MemberID(i)
			n.send(m)
		}
	}
}

// setState moves the election state machine, panicking on a transition the
// table does not allow.
func (n *Node) setState(to ElectionState) {
	assert(transitionAllowed(n.state, to),
		"member %d: illegal transition %v -> %v", n.id, n.state, to)
	n.state = to
	n.stateStartNs = n.nowNs
}

// adoptTerm moves to a higher term with no vote; it must be persisted
// (Ready.HardState) before any message of the new term is sent.
func (n *Node) adoptTerm(t TermID) {
	assert(t > n.term, "adopt term %d <= %d", t, n.term)
	n.term = t
	n.vote = NoMember
	n.leader = NoMember
	n.termBase = -1
	n.termination = -1 // a termination is a leader's, for its term only
	n.hsDirty = true
}

// lastLogTerm returns the term of the last byte in the log (0 if empty).
func (n *Node) lastLogTerm() TermID {
	terms := n.store.Terms()
	if len(terms) == 0 {
		return 0
	}
	return terms[len(terms)-1].Term
}

// termAt returns the term that wrote the byte at p (0 for p < 0).
func (n *Node) termAt(p Position) TermID {
	terms := n.store.Terms()
	i := termIndexAt(terms, p)
	if i < 0 {
		return 0
	}
	return terms[i].Term
}

// termEnd returns where the term record at index i ends in this log.
func (n *Node) termEnd(i int) Position {
	terms := n.store.Terms()
	if i+1 < len(terms) {
		return terms[i+1].Base
	}
	return n.store.End()
}

// termRecord returns the index of term t's record, or -1.
func (n *Node) termRecord(t TermID) int {
	for i, r := range n.store.Terms() {
		if r.Term == t {
			return i
		}
	}
	return -1
}

// AppendPositions appends to dst, per member id, the append positions the
// leader knows (its own durable position for itself) and returns it; for a
// member that does not lead, every entry is -1. For counters.
func (n *Node) AppendPositions(dst []Position) []Position {
	for i := range n.cfg.Members {
		switch {
		case n.state != StateLeaderReady:
			dst = append(dst, -1)
		case MemberID(i) == n.id:
			dst = append(dst, n.store.DurablePosition())
		default:
			dst = append(dst, n.progress[i].match)
		}
	}
	return dst
}
