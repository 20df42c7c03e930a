package cluster

import (
	"fmt"
	"io"

	"venue/cluster/consensus"
)

// Names the service contract shares with the consensus core.
type (
	// Position is a log position (bytes since the log began).
	Position = consensus.Position
	// SessionID is a cluster client session id.
	SessionID = consensus.SessionID
	// MemberID is a cluster member id.
	MemberID = consensus.MemberID
	// Role is a member's Raft role.
	Role = consensus.Role
	// CloseReason says why a session closed: client, service or timeout.
	CloseReason = consensus.CloseReason
)

// ClusteredService is the application a cluster replicates. The service
// container calls it from a single goroutine, only with committed log
// entries, in log order, so every member's service sees the same calls with
// the same arguments. A service must be deterministic: it may not read a
// clock, a random source, the environment or a map's iteration order, and
// must not keep the byte slices it is handed beyond the call.
type ClusteredService interface {
	// OnStart is called once before any other callback. snapshot is the
	// service's latest snapshot to load, or nil to start empty; the log is
	// then replayed from the snapshot's position.
	OnStart(c Cluster, snapshot io.Reader) error
	// OnSessionOpen: a client session was opened at cluster time
	// timestampNs.
	OnSessionOpen(s ClientSession, timestampNs int64)
	// OnSessionClose: a session closed (by its client, by the service, or
	// by the cluster after a timeout).
	OnSessionClose(s ClientSession, timestampNs int64, reason CloseReason)
	// OnSessionMessage: a client message, committed at log position (the
	// position just after the entry) and stamped with the leader's cluster
	// time. payload is valid only during the call.
	OnSessionMessage(s ClientSession, timestampNs int64, position Position, payload []byte)
	// OnTimerEvent: the timer scheduled with correlationID expired at
	// cluster time timestampNs.
	OnTimerEvent(correlationID int64, timestampNs int64)
	// OnTakeSnapshot writes the service's whole state to w. It is called at
	// the same log position on every member (a snapshot is a log entry).
	OnTakeSnapshot(w io.Writer) error
	// OnRoleChange: this member's role changed. Services must not let it
	// change replicated state (roles differ between members).
	OnRoleChange(role Role)
	// OnTerminate: the cluster is shutting down; the last callback.
	OnTerminate(c Cluster)
}

// MessageHinter is an optional interface of a ClusteredService that can
// prepare for session messages it will be handed soon, for instance by
// starting the cache misses they will take while it applies the messages
// before them. When a committed batch holds it, the container hands each
// session message's payload to HintSessionMessage HintDistance() session
// messages before it hands the same payload to OnSessionMessage; the first
// messages of a batch are hinted at closer range, and hints stop at the
// batch's end. A hint must not change anything the service does: a hinted
// message may come later than promised, or never (the member stops).
type MessageHinter interface {
	// HintDistance is how many session messages ahead the service wants
	// its hints; it is read once, when the service starts.
	HintDistance() int
	// HintSessionMessage is a session message's payload, valid only
	// during the call.
	HintSessionMessage(payload []byte)
}

// Cluster is the handle a service uses to act on the cluster. Everything it
// changes goes through the log, so its effects are deterministic too.
type Cluster interface {
	// MemberID returns this member's id.
	MemberID() MemberID
	// Role returns this member's current role.
	Role() Role
	// TimeNs returns the cluster time of the entry being applied.
	TimeNs() int64
	// LogPosition returns the position just after the entry being applied.
	LogPosition() Position
	// ScheduleTimer schedules (or reschedules) timer correlationID for the
	// absolute cluster time deadlineNs; its expiry arrives through the log.
	ScheduleTimer(correlationID int64, deadlineNs int64) error
	// CancelTimer cancels timer correlationID; false if it was not pending.
	CancelTimer(correlationID int64) bool
	// Session returns an open session by id.
	Session(id SessionID) (ClientSession, bool)
	// CloseSession closes a session through the log (reason: service).
	CloseSession(id SessionID) bool
	// Offer appends a service message to the log. Every member's service
	// offers it; only the leader's copy is appended, and it comes back to the
	// service as a log entry like any other.
	Offer(payload []byte) (Position, OfferStatus)
}

// ClientSession is a client's session as a service sees it.
type ClientSession interface {
	// ID returns the cluster session id.
	ID() SessionID
	// Principal returns the authenticated identity given at connect.
	Principal() []byte
	// Offer sends payload to the client's egress. Every member's service
	// offers the same egress; only the leader's reaches the client, and a
	// follower's Offer reports OfferOK without sending. A service must not
	// change replicated state on the result.
	Offer(payload []byte) OfferStatus
}

// OfferStatus is the typed result of a non-blocking offer.
type OfferStatus uint8

// Offer results.
const (
	// OfferOK: accepted (sent, appended, or a follower's no-op).
	OfferOK OfferStatus = iota
	// OfferBackPressured: the stream is full; retry later.
	OfferBackPressured
	// OfferNotConnected: the session's egress is not connected.
	OfferNotConnected
	// OfferAdminAction: the stream is busy with an admin action; retry.
	OfferAdminAction
	// OfferClosed: the session or cluster is closed.
	OfferClosed
	// OfferMaxPositionExceeded: the stream reached its maximum position.
	OfferMaxPositionExceeded
	// OfferTooLarge: the payload exceeds the maximum message size.
	OfferTooLarge
)

// String returns the OfferStatus's name, as used in traces and counters.
func (s OfferStatus) String() string {
	switch s {
	case OfferOK:
		return "ok"
	case OfferBackPressured:
		return "back-pressured"
	case OfferNotConnected:
		return "not-connected"
	case OfferAdminAction:
		return "admin-action"
	case OfferClosed:
		return "closed"
	case OfferMaxPositionExceeded:
		return "max-position-exceeded"
	case OfferTooLarge:
		return "too-large"
	}
	return fmt.Sprintf("OfferStatus(%d)", uint8(s))
}
