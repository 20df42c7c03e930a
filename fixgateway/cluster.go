package fixgateway

import (
	"context"
	"strconv"
)

// ClusterClient is what the gateway needs from a cluster client: one
// cluster session that carries every FIX session of this gateway. The
// gateway owns this interface (the cluster's client library implements
// it; tests use fakecluster). All methods are called from the gateway's one
// agent goroutine, except Close.
type ClusterClient interface {
	// Connect opens the cluster session, authenticating with creds (the
	// gateway's principal, which must hold the Gateway role). It blocks
	// until the session is open, ctx ends, or the cluster refuses.
	Connect(ctx context.Context, creds Credentials) error
	// Offer appends one encoded engine command to the cluster's ingress.
	// It never blocks and never queues without bound: it returns the
	// message's position (> 0) or one of the negative OfferResult reasons.
	// The client copies msg before returning.
	//
	// Messages offered one after another reach the log in that order or
	// not at all, except across a leader change, and so the gateway keeps
	// many messages in flight: once a message's outcome may be unknown,
	// Offer refuses (OfferAdminAction) until Poll has delivered
	// OnUnknownOutcome for every such message. A message offered later
	// can therefore never be committed ahead of one offered before it
	// that the gateway has not yet heard was lost.
	Offer(msg []byte) OfferResult
	// Poll delivers up to limit pending events to h, in order, and returns
	// how many it delivered (0 = nothing to do). Events are: egress
	// messages for this session (engine reports), leader changes, and
	// messages whose outcome became unknown.
	Poll(h ClusterHandler, limit int) int
	// Close closes the cluster session.
	Close() error
}

// EgressNotifier is what a ClusterClient may also implement so that the
// gateway's agent can park while idle instead of polling: the channel
// receives (the client never blocks on it: a capacity of 1 and a
// non-blocking send are enough) whenever Poll has a new event to deliver.
// Without it the agent yields and then sleeps between polls (agentParkMax
// at most), which costs CPU and a little egress latency.
type EgressNotifier interface {
	EgressReady() <-chan struct{}
}

// Credentials authenticate the gateway to the cluster.
type Credentials struct {
	Principal string // the gateway's principal (Gateway role)
	Secret    string // its credential; empty where the cluster needs none
}

// ClusterHandler receives what Poll delivers. Slices are only valid during
// the call.
type ClusterHandler interface {
	// OnMessage is one egress message: an engine report for a principal
	// this gateway carries.
	OnMessage(msg []byte)
	// OnNewLeader says the cluster has a new leader; the client follows it
	// by itself and keeps its session.
	OnNewLeader(leaderMemberID int32, term int64)
	// OnUnknownOutcome returns a message the client offered (at position,
	// the value Offer returned for it) that may or may not have been
	// committed, e.g. because the leader it was sent to lost leadership.
	// The client never drops such a message silently; the gateway
	// resolves it through the log. See Offer for when it must come.
	OnUnknownOutcome(position int64, msg []byte)
}

// OfferResult is Offer's outcome: a position when positive, a reason when
// negative.
type OfferResult int64

// Offer refusal reasons. The gateway retries BackPressured, NotConnected
// and AdminAction (bounded by its offer timeout); Closed and
// MaxPositionExceeded are permanent.
const (
	OfferNotConnected        OfferResult = -1
	OfferBackPressured       OfferResult = -2
	OfferAdminAction         OfferResult = -3
	OfferClosed              OfferResult = -4
	OfferMaxPositionExceeded OfferResult = -5
)

// Accepted reports whether the offer was taken.
func (r OfferResult) Accepted() bool { return r > 0 }

// Retryable reports whether offering again later may succeed.
func (r OfferResult) Retryable() bool {
	return r == OfferNotConnected || r == OfferBackPressured || r == OfferAdminAction
}

// String names the result.
func (r OfferResult) String() string {
	switch r {
	case OfferNotConnected:
		return "NotConnected"
	case OfferBackPressured:
		return "BackPressured"
	case OfferAdminAction:
		return "AdminAction"
	case OfferClosed:
		return "Closed"
	case OfferMaxPositionExceeded:
		return "MaxPositionExceeded"
	}
	if r > 0 {
		return "Position(" + strconv.FormatInt(int64(r), 10) + ")"
	}
	return "OfferResult(" + strconv.FormatInt(int64(r), 10) + ")"
}
