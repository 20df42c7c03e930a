package loadgen

import (
	"context"
	"fmt"
	"strconv"
)

// Driver carries the engine's requests to the venue and the venue's reports
// back. The engine (schedule, correlation, recording) is the same whatever
// the transport: the FIX driver sends through the FIX gateway; the cluster
// driver offers engine commands on the cluster client directly.
//
// Sessions are numbered 0..Config.Sessions-1. A driver delivers each
// session's reports in the order the venue sent them; different sessions'
// reports may arrive concurrently.
type Driver interface {
	// Start opens the sessions and returns once every one of them can
	// send, or fails (ctx ended, logon refused, timeout). From then until
	// Stop every report goes to sink.
	Start(ctx context.Context, sink Sink) error
	// Send sends req on session s. It must neither wait for the answer
	// nor queue without bound (the engine bounds what is in flight per
	// session), and should not wait for anything else either: the engine
	// sends every session's messages from one goroutine. An error means
	// req did not go out; the engine records it as an error at once (as
	// it does when the driver reports a later failure to OnSendFailed).
	Send(s int, req *Request) error
	// CancelAll asks the venue to cancel every session's resting orders
	// and waits, bounded by ctx, for its answers; it returns how many
	// orders the venue said it cancelled.
	CancelAll(ctx context.Context) (int64, error)
	// Stop closes the sessions.
	Stop()
}

// Sink receives the venue's reports. r is only valid during the call.
type Sink interface {
	OnReport(s int, r *Report)
	// OnSendFailed says that a request Send accepted could not be sent
	// after all (a driver that sends from its own goroutines): the engine
	// records it as an error at once instead of waiting for its timeout.
	OnSendFailed(s int, clOrdID string, err error)
}

// NewDriver returns the driver cfg.Via names.
func NewDriver(cfg Config) (Driver, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	switch cfg.Via {
	case ViaFIX:
		return NewFIXDriver(cfg), nil
	case ViaCluster:
		return NewClusterDriver(cfg)
	}
	return nil, fmt.Errorf("%w: via %q", ErrConfig, cfg.Via)
}

// RequestKind is what a request asks.
type RequestKind uint8

// Request kinds.
const (
	RequestNew     RequestKind = iota + 1 // a new order (FIX NewOrderSingle)
	RequestCancel                         // cancel an order (FIX OrderCancelRequest)
	RequestReplace                        // change an order's price and quantity (FIX OrderCancelReplaceRequest)
)

// String names the kind.
func (k RequestKind) String() string {
	switch k {
	case RequestNew:
		return "new"
	case RequestCancel:
		return "cancel"
	case RequestReplace:
		return "replace"
	}
	return "RequestKind(" + strconv.Itoa(int(k)) + ")"
}

// Side is an order's side.
type Side uint8

// Sides.
const (
	Buy Side = iota + 1
	Sell
)

// String names the side.
func (s Side) String() string {
	switch s {
	case Buy:
		return "buy"
	case Sell:
		return "sell"
	}
	return "Side(" + strconv.Itoa(int(s)) + ")"
}

// opposite is the other side.
func (s Side) opposite() Side {
	if s == Buy {
		return Sell
	}
	return Buy
}

// OrdType is an order's type.
type OrdType uint8

// Order types.
const (
	Limit  OrdType = iota + 1
	Market         // never rests: its remainder is cancelled
)

// String names the type.
func (t OrdType) String() string {
	switch t {
	case Limit:
		return "limit"
	case Market:
		return "market"
	}
	return "OrdType(" + strconv.Itoa(int(t)) + ")"
}

// TimeInForce is how long an order may rest.
type TimeInForce uint8

// Times in force.
const (
	Day TimeInForce = iota + 1
	GTC
	IOC // never rests
)

// String names the time in force.
func (t TimeInForce) String() string {
	switch t {
	case Day:
		return "day"
	case GTC:
		return "gtc"
	case IOC:
		return "ioc"
	}
	return "TimeInForce(" + strconv.Itoa(int(t)) + ")"
}

// rests reports whether an order of type ot and time in force tif can rest
// on the book.
func rests(ot OrdType, tif TimeInForce) bool { return ot == Limit && tif != IOC }

// Request is one message to the venue. Cancels and replaces name the
// order's current ClOrdID in OrigClOrdID and repeat its instrument and side
// (and, for replaces, its type and time in force, which cannot change).
type Request struct {
	Kind        RequestKind
	ClOrdID     string
	OrigClOrdID string
	Instrument  int // index into Config.Instruments
	Side        Side
	OrdType     OrdType
	TIF         TimeInForce
	Qty         int64 // total order quantity (a replace's includes what filled)
	Price       int64 // limit price in the instrument's units; 0 for market
}

// ReportKind is what a report says.
type ReportKind uint8

// Report kinds.
const (
	// ReportNew: the order was accepted (ExecutionReport New).
	ReportNew ReportKind = iota + 1
	// ReportTrade: the order (partly) filled.
	ReportTrade
	// ReportCanceled: the order left the book: by the cancel whose
	// ClOrdID the report carries, or on its own (an IOC or market
	// remainder, a self-trade, a mass cancel).
	ReportCanceled
	// ReportReplaced: the replace whose ClOrdID it carries took effect.
	ReportReplaced
	// ReportRejected: the new order was refused.
	ReportRejected
	// ReportCancelRejected: the cancel or replace was refused.
	ReportCancelRejected
	// ReportExpired: the order expired (a DAY order at the close).
	ReportExpired
	// ReportRequestRejected: the request was refused before the venue
	// saw it as an order (a FIX session or business reject).
	ReportRequestRejected
	// ReportOther: anything else (status reports); ignored.
	ReportOther
)

// String names the kind.
func (k ReportKind) String() string {
	names := [...]string{ReportNew: "new", ReportTrade: "trade", ReportCanceled: "canceled",
		ReportReplaced: "replaced", ReportRejected: "rejected", ReportCancelRejected: "cancel-rejected",
		ReportExpired: "expired", ReportRequestRejected: "request-rejected", ReportOther: "other"}
	if int(k) < len(names) && names[k] != "" {
		return names[k]
	}
	return "ReportKind(" + strconv.Itoa(int(k)) + ")"
}

// Aggressor says whether a fill took liquidity, when the transport tells.
type Aggressor uint8

// Aggressor values.
const (
	AggressorUnknown Aggressor = iota // FIX: the gateway does not send LastLiquidityInd (851)
	AggressorYes                      // the order took liquidity: it traded on arrival (or on a replace)
	AggressorNo                       // the order was resting
)

// Report is one answer from the venue, reduced to what correlation needs.
type Report struct {
	Kind        ReportKind
	ClOrdID     string // the order's current ClOrdID, or the request's
	OrigClOrdID string // for canceled and replaced: the order's previous ClOrdID
	// Done says the order is finished (filled, cancelled, rejected or
	// expired) after this report.
	Done bool
	// CumQty is the order's filled quantity after this report.
	CumQty int64
	// EventNs is the venue's time of the event (FIX TransactTime, or the
	// engine report's ClusterTime), 0 when unknown. The reports the venue sends in answer to one command share
	// it: a fill with its order's New's time traded on arrival.
	EventNs   int64
	Aggressor Aggressor
	// Reason explains a reject, briefly (counted per reason in Stats).
	Reason string
}
