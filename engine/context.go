package engine

// cmdContext is what the engine knows about the command being applied; the
// book listener reads it to turn book events into reports. It is reset at
// the start of every entry point.
type cmdContext struct {
	logPosition int64
	clusterTime int64
	session     SessionID   // the session that sent the command; 0 for internal events
	inst        *instrument // the book being driven
	taker       orderRef    // the incoming order (or the one a cancel or replace names); 0: none

	// cancelReason is the Reason reported for orders a requested or mass
	// cancel removes (ClientRequest, MassCancel, CancelOnDisconnect, Admin).
	cancelReason Reason
	// cancelClOrdID is the ClOrdID of the cancel request being applied, if
	// any; the Canceled report carries it (FIX: the cancel's ClOrdID, with
	// the order's as OrigClOrdID).
	cancelClOrdID [clOrdIDBytes]byte
	// newClOrdID is the ClOrdID of the replace being applied.
	newClOrdID [clOrdIDBytes]byte
	// replacedID and origClOrdID name the order a replace gave a new
	// ClOrdID, and the ClOrdID it had: its reports in this command carry it.
	replacedID  uint64
	origClOrdID [clOrdIDBytes]byte
	// origPrice and origQty are that order's price and total quantity
	// before the replace: its Replaced report carries them.
	origPrice int64
	origQty   int64
	// newQty is the total quantity of the replace being applied.
	newQty int64
	// bookReject is the reason the book refused a cancel or amend.
	bookReject Reason
	// cancelled counts the orders cancelled by the command (mass cancel).
	cancelled uint32
}

// reset starts a new entry. The ClOrdID arrays are not cleared (that is
// most of the context's bytes, on every command): each is read only in the
// command that set it, under a field reset here (cancelReason
// ClientRequest, replacedID, a replace in progress).
func (c *cmdContext) reset(session SessionID, logPosition, clusterTime int64) {
	c.logPosition, c.clusterTime, c.session = logPosition, clusterTime, session
	c.inst, c.taker = nil, 0
	c.cancelReason, c.bookReject = ReasonNone, ReasonNone
	c.replacedID, c.origPrice, c.origQty, c.newQty = 0, 0, 0, 0
	c.cancelled = 0
}
