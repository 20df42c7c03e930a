package consensus

import "fmt"

// MsgType names a consensus message (member to member). The numeric values are
// the wire template ids; never renumber them.
type MsgType uint16

// Consensus message types. Each has a fixed-layout template in codec.go, an
// on<Type> handler in the Node, and a name in String.
const (
	MsgNone MsgType = iota
	// MsgCanvassPosition: a member in election tells the others its last log
	// term, log position and leadership term (Aeron CanvassPosition).
	MsgCanvassPosition
	// MsgRequestVote: a candidate asks for a vote in Term with its log's last
	// term and position.
	MsgRequestVote
	// MsgVote answers MsgRequestVote; Granted says yes or no.
	MsgVote
	// MsgNewLeadershipTerm: the leader of Term announces itself, the term's
	// base position, its log end and its commit position.
	MsgNewLeadershipTerm
	// MsgAppendPosition: a follower's durable log position that is known to
	// match the leader's log (conflated: only the latest matters).
	MsgAppendPosition
	// MsgCommitPosition: the leader's commit position; doubles as heartbeat.
	MsgCommitPosition
	// MsgCatchupPosition: a follower asks the leader to send (replay) the log
	// from Position; LogTerm and TermBase describe the follower's log just
	// before Position so the leader can find where the two logs agree.
	MsgCatchupPosition
	// MsgStopCatchup: the leader tells a follower it has reached the live log
	// of the current term.
	MsgStopCatchup
	// MsgTermination: the leader tells followers to stop once they have
	// applied the log up to Position.
	MsgTermination
	// MsgAppendLog carries log bytes [Position, Position+len(Data)) written in
	// LogTerm, preceded in the leader's log by a byte of PrevLogTerm. It models
	// the log stream publication (live) and the archive replay (catch-up).
	MsgAppendLog
	// MsgInstallSnapshot: the leader tells a follower that the log it needs
	// was purged here and that it should load the leader's snapshot of the
	// state at Position instead. LogTerm is the term of the byte before
	// Position and TermBase that term's base, so that the follower's log
	// can start at Position as a suffix of the leader's.
	MsgInstallSnapshot
	// MsgSnapshotChunkRequest: a member fetching the snapshot at Position
	// asks for its bytes from Offset (the member layer answers; the Node
	// never sees it).
	MsgSnapshotChunkRequest
	// MsgSnapshotChunk carries the bytes [Offset, Offset+len(Data)) of the
	// snapshot at Position, which is Length bytes long in all with CRC32C
	// Checksum (member layer only, like MsgSnapshotChunkRequest).
	MsgSnapshotChunk

	msgTypeCount
)

// String returns the MsgType's name, as used in traces and counters.
func (t MsgType) String() string {
	switch t {
	case MsgNone:
		return "None"
	case MsgCanvassPosition:
		return "CanvassPosition"
	case MsgRequestVote:
		return "RequestVote"
	case MsgVote:
		return "Vote"
	case MsgNewLeadershipTerm:
		return "NewLeadershipTerm"
	case MsgAppendPosition:
		return "AppendPosition"
	case MsgCommitPosition:
		return "CommitPosition"
	case MsgCatchupPosition:
		return "CatchupPosition"
	case MsgStopCatchup:
		return "StopCatchup"
	case MsgTermination:
		return "Termination"
	case MsgAppendLog:
		return "AppendLog"
	case MsgInstallSnapshot:
		return "InstallSnapshot"
	case MsgSnapshotChunkRequest:
		return "SnapshotChunkRequest"
	case MsgSnapshotChunk:
		return "SnapshotChunk"
	}
	return fmt.Sprintf("MsgType(%d)", uint16(t))
}

// Message is one consensus message as plain data. Which fields are meaningful
// depends on Type (see each MsgType); the rest are zero. To is the addressee
// and is not encoded (the transport addresses a message); From is encoded.
type Message struct {
	Type MsgType
	From MemberID
	To   MemberID
	// Term is the sender's leadership term (the candidate's term for
	// RequestVote and Vote).
	Term TermID
	// LogTerm is the term of the log at the message's position: the last
	// term of the sender's log (canvass, vote), or the term of Data (append).
	LogTerm TermID
	// PrevLogTerm is the term of the byte before Position (AppendLog only).
	PrevLogTerm TermID
	// Position is the message's log position (see each MsgType).
	Position Position
	// TermBase is the base position of Term (NewLeadershipTerm) or of LogTerm
	// (CatchupPosition).
	TermBase Position
	// Commit is the leader's commit position (NewLeadershipTerm).
	Commit Position
	// Granted is the vote (Vote only).
	Granted bool
	// Offset is a byte offset within a snapshot (SnapshotChunkRequest,
	// SnapshotChunk).
	Offset int64
	// Length is a snapshot's whole length in bytes (SnapshotChunk).
	Length int64
	// Checksum is the CRC32C (Castagnoli) of a whole snapshot
	// (SnapshotChunk).
	Checksum uint32
	// Data is the log bytes (AppendLog) or snapshot bytes (SnapshotChunk).
	// After Decode it aliases the receive buffer.
	Data []byte
}

// IsSnapshotTransfer reports whether t is one of the snapshot transfer
// messages that the member layer handles instead of the Node.
func (t MsgType) IsSnapshotTransfer() bool {
	return t == MsgSnapshotChunkRequest || t == MsgSnapshotChunk
}

// String formats the message on one line for traces and test output.
func (m *Message) String() string {
	if m.Type == MsgSnapshotChunkRequest || m.Type == MsgSnapshotChunk {
		return fmt.Sprintf("%s %d->%d term=%d pos=%d off=%d length=%d crc=%#x len=%d",
			m.Type, m.From, m.To, m.Term, m.Position, m.Offset, m.Length, m.Checksum, len(m.Data))
	}
	return fmt.Sprintf("%s %d->%d term=%d logTerm=%d prev=%d pos=%d base=%d commit=%d granted=%t len=%d",
		m.Type, m.From, m.To, m.Term, m.LogTerm, m.PrevLogTerm, m.Position, m.TermBase, m.Commit,
		m.Granted, len(m.Data))
}
