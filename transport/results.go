package transport

import "errors"

// OfferResult says why an Offer or TryClaim did not append. The hot path
// returns it instead of an error so that a failed offer never allocates.
type OfferResult int8

// Offer results.
const (
	// OfferOK means the message was appended; the returned position is valid.
	OfferOK OfferResult = iota
	// NotConnected means no subscriber (IPC) or receiver (network) is
	// connected; retry later.
	NotConnected
	// BackPressured means the slowest consumer is a whole window behind;
	// retry later.
	BackPressured
	// AdminAction means the log rotated to a new term during the offer;
	// retry immediately.
	AdminAction
	// Closed means the publication was closed.
	Closed
	// MaxPositionExceeded means the stream reached the largest position its
	// term length can address; the publication must be replaced.
	MaxPositionExceeded
	// MessageTooLong means the message exceeds MaxMessageLength (or the MTU
	// payload for TryClaim); it will never fit.
	MessageTooLong
)

var offerResultNames = [...]string{"OK", "NotConnected", "BackPressured", "AdminAction", "Closed",
	"MaxPositionExceeded", "MessageTooLong"}

// String names the result.
func (r OfferResult) String() string {
	if int(r) < len(offerResultNames) && r >= 0 {
		return offerResultNames[r]
	}
	return "OfferResult(?)"
}

// ControlledAction is what a ControlledFragmentHandler tells the poll to do.
type ControlledAction int8

// Controlled poll actions.
const (
	// Continue consumes the fragment and carries on.
	Continue ControlledAction = iota
	// Abort leaves the fragment unconsumed and stops; it is delivered again
	// on the next poll.
	Abort
	// Break consumes the fragment and stops.
	Break
	// Commit consumes the fragment, publishes the position now and carries on.
	Commit
)

var controlledActionNames = [...]string{"Continue", "Abort", "Break", "Commit"}

// String names the action.
func (a ControlledAction) String() string {
	if int(a) < len(controlledActionNames) && a >= 0 {
		return controlledActionNames[a]
	}
	return "ControlledAction(?)"
}

// Control-plane errors.
var (
	// ErrClosed is returned by control-plane calls on a closed driver.
	ErrClosed = errors.New("transport: closed")
	// ErrBadChannel is returned for an unparseable or unsupported channel.
	ErrBadChannel = errors.New("transport: bad channel")
	// ErrNotMDC is returned by AddDestination on a publication that is not
	// multi-destination.
	ErrNotMDC = errors.New("transport: publication is not multi-destination")
)
