package orderbook

import "strconv"

// OrderID identifies an order within a book. It is chosen by the caller and
// must be unique among the book's live orders.
type OrderID uint64

// Account identifies the owner of an order. It is used for self-trade
// prevention and mass cancel.
type Account uint32

// Side is the side of an order or a price level.
type Side uint8

// Sides.
const (
	Buy  Side = 0
	Sell Side = 1
)

// String returns the side's name.
func (s Side) String() string {
	switch s {
	case Buy:
		return "buy"
	case Sell:
		return "sell"
	}
	return "side(" + strconv.Itoa(int(s)) + ")"
}

// opposite returns the other side.
func (s Side) opposite() Side { return s ^ 1 }

// OrderType is how an order is priced.
type OrderType uint8

// Order types.
const (
	// Limit orders trade at their price or better.
	Limit OrderType = 0
	// Market orders trade at any price, fill what they can and never rest;
	// any remainder is cancelled. With FOK they fill in full or are rejected.
	Market OrderType = 1
)

// String returns the type's name.
func (t OrderType) String() string {
	switch t {
	case Limit:
		return "limit"
	case Market:
		return "market"
	}
	return "type(" + strconv.Itoa(int(t)) + ")"
}

// TimeInForce says how long an order may live.
type TimeInForce uint8

// Times in force.
const (
	// GTC rests until filled or cancelled.
	GTC TimeInForce = 0
	// Day rests until filled, cancelled, or expired by Book.ExpireDay.
	Day TimeInForce = 1
	// IOC trades what it can at once; the remainder is cancelled.
	IOC TimeInForce = 2
	// FOK trades in full at once or is rejected without trading.
	FOK TimeInForce = 3
)

// String returns the time in force's name.
func (t TimeInForce) String() string {
	switch t {
	case GTC:
		return "GTC"
	case Day:
		return "DAY"
	case IOC:
		return "IOC"
	case FOK:
		return "FOK"
	}
	return "tif(" + strconv.Itoa(int(t)) + ")"
}

// rests reports whether an order with this time in force may rest.
func (t TimeInForce) rests() bool { return t == GTC || t == Day }

// STPMode is the self-trade prevention mode of an order. When an order would
// trade with a resting order of the same account, the incoming order's mode
// decides what happens.
type STPMode uint8

// Self-trade prevention modes.
const (
	// STPOff lets orders of the same account trade with each other.
	STPOff STPMode = 0
	// STPCancelResting cancels the resting order and keeps matching.
	STPCancelResting STPMode = 1
	// STPCancelIncoming cancels the rest of the incoming order.
	STPCancelIncoming STPMode = 2
	// STPCancelBoth cancels the resting order and the rest of the incoming one.
	STPCancelBoth STPMode = 3
)

// String returns the mode's name.
func (m STPMode) String() string {
	switch m {
	case STPOff:
		return "off"
	case STPCancelResting:
		return "cancel-resting"
	case STPCancelIncoming:
		return "cancel-incoming"
	case STPCancelBoth:
		return "cancel-both"
	}
	return "stp(" + strconv.Itoa(int(m)) + ")"
}

// Op names the command an event answers.
type Op uint8

// Commands.
const (
	OpSubmit Op = 1
	OpCancel Op = 2
	OpAmend  Op = 3
)

// String returns the command's name.
func (o Op) String() string {
	switch o {
	case OpSubmit:
		return "submit"
	case OpCancel:
		return "cancel"
	case OpAmend:
		return "amend"
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// RejectReason is the typed result of a command. RejectNone means the command
// was accepted; any other value means the book did not change.
type RejectReason uint8

// Reject reasons.
const (
	RejectNone RejectReason = iota
	// RejectUnknownOrder: cancel or amend of an order that is not live.
	RejectUnknownOrder
	// RejectDuplicateID: a new order reuses the id of a live order.
	RejectDuplicateID
	// RejectInvalid: side, type, time in force, STP mode or their
	// combination is not valid (for example a post-only IOC).
	RejectInvalid
	// RejectQuantityNotPositive: quantity <= 0.
	RejectQuantityNotPositive
	// RejectQuantityTooLarge: quantity above QuantityMax.
	RejectQuantityTooLarge
	// RejectLot: quantity not a multiple of the lot size.
	RejectLot
	// RejectTick: price not a multiple of the tick size.
	RejectTick
	// RejectPriceOutOfRange: |price| above PriceMax.
	RejectPriceOutOfRange
	// RejectPriceOutsideBand: price outside the band around the reference.
	RejectPriceOutsideBand
	// RejectPostOnlyWouldTrade: a post-only order would trade.
	RejectPostOnlyWouldTrade
	// RejectFOKCannotFill: a fill-or-kill order cannot fill in full.
	RejectFOKCannotFill
	// RejectBookFull: the book already holds Config.OrdersMax orders.
	RejectBookFull
	rejectReasonCount
)

var rejectReasonNames = [rejectReasonCount]string{
	RejectNone:                "none",
	RejectUnknownOrder:        "unknown-order",
	RejectDuplicateID:         "duplicate-order-id",
	RejectInvalid:             "invalid",
	RejectQuantityNotPositive: "quantity-not-positive",
	RejectQuantityTooLarge:    "quantity-too-large",
	RejectLot:                 "quantity-not-on-lot",
	RejectTick:                "price-not-on-tick",
	RejectPriceOutOfRange:     "price-out-of-range",
	RejectPriceOutsideBand:    "price-outside-band",
	RejectPostOnlyWouldTrade:  "post-only-would-trade",
	RejectFOKCannotFill:       "fok-cannot-fill",
	RejectBookFull:            "book-full",
}

// String returns the reason's name.
func (r RejectReason) String() string {
	if r < rejectReasonCount {
		return rejectReasonNames[r]
	}
	return "reject(" + strconv.Itoa(int(r)) + ")"
}

// CancelReason says why a live order left the book without trading in full.
type CancelReason uint8

// Cancel reasons.
const (
	// CancelRequested: Book.Cancel.
	CancelRequested CancelReason = iota + 1
	// CancelUnfilled: the unfilled rest of an IOC or market order.
	CancelUnfilled
	// CancelSelfTrade: self-trade prevention.
	CancelSelfTrade
	// CancelMass: Book.CancelAccount or Book.CancelAll.
	CancelMass
	// CancelAmendedToFilled: an amend set the quantity at or below the
	// quantity already filled.
	CancelAmendedToFilled
	cancelReasonEnd
)

// String returns the reason's name.
func (c CancelReason) String() string {
	switch c {
	case CancelRequested:
		return "requested"
	case CancelUnfilled:
		return "unfilled"
	case CancelSelfTrade:
		return "self-trade"
	case CancelMass:
		return "mass-cancel"
	case CancelAmendedToFilled:
		return "amended-to-filled"
	}
	return "cancel(" + strconv.Itoa(int(c)) + ")"
}

// Limits on prices and quantities. They keep every sum of quantities and
// every price key far from int64 overflow.
const (
	// PriceMax is the largest |price| in ticks a limit order may have.
	PriceMax int64 = 1 << 52
	// QuantityMax is the largest order quantity in lots.
	QuantityMax int64 = 1 << 32
)
