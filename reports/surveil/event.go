package surveil

import (
	"bytes"
	"fmt"

	"venue/engine"
)

// nameBytes is the width of an account or principal name on the wire.
const nameBytes = 16

// Name is an account or principal name as the wire carries it: ASCII,
// NUL-padded. Fixed size so that events never allocate.
type Name [nameBytes]byte

// String returns the name without its padding.
func (n Name) String() string { return string(bytes.TrimRight(n[:], "\x00")) }

// MakeName returns s as a Name (truncated to 16 bytes).
func MakeName(s string) Name {
	var n Name
	copy(n[:], s)
	return n
}

// Kind is what happened to an order.
type Kind uint8

// Event kinds: the order record a regulator asks a venue to keep, plus the
// instrument's trading-state changes the detectors need.
const (
	KindNew     Kind = 1 // order accepted
	KindReplace Kind = 2 // order replaced (price or quantity changed)
	KindCancel  Kind = 3 // order cancelled (by the client, mass cancel, STP, disconnect, IOC/market remainder)
	KindFill    Kind = 4 // one fill of one side of a trade
	KindExpire  Kind = 5 // order expired (DAY at the close)
	KindReject  Kind = 6 // order, cancel or replace refused
	KindState   Kind = 7 // the instrument's trading state changed (no order)
)

var kindNames = [...]string{"", "new", "replace", "cancel", "fill", "expire", "reject", "state"}

// String returns the kind's name as reports print it.
func (k Kind) String() string {
	if int(k) < len(kindNames) && k != 0 {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// MarshalText writes the kind's name.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// Counterparty is the other side of a fill.
type Counterparty struct {
	Known     bool // false when the other side's report was not seen
	OrderID   uint64
	Account   Name
	Principal Name
}

// Event is one entry of the order event history, built from one engine
// report. Prices are in the instrument's price units, quantities in lots,
// times in cluster-time nanoseconds. An Event handed to a Handler is only
// valid during the call: copy what is kept.
type Event struct {
	Kind         Kind
	Side         engine.Side
	Aggressor    bool // fills: this side was the incoming (aggressive) order
	TradingState engine.TradingState
	OrdType      engine.OrdType
	TimeInForce  engine.TimeInForce
	Reason       engine.Reason
	Instrument   uint32
	Session      engine.SessionID // the session the report went to
	LogPosition  int64            // the log entry that caused it: the event's sequence number
	ClusterTime  int64
	OrderID      uint64 // 0 for a new order rejected before it had one
	TradeID      uint64
	Price        int64 // the order's limit price
	Quantity     int64 // the order's quantity
	Leaves       int64
	Cum          int64
	LastPx       int64 // fills
	LastQty      int64 // fills
	Account      Name
	Principal    Name
	ClOrdID      [32]byte
	OrigClOrdID  [32]byte
	Counter      Counterparty // fills
}

// ClOrdIDString returns the client order id without padding.
func (e *Event) ClOrdIDString() string { return string(bytes.TrimRight(e.ClOrdID[:], "\x00")) }

// fromExecutionReport fills e from r and reports whether r is an order
// event (status answers are not).
func (e *Event) fromExecutionReport(r engine.ExecutionReport, session engine.SessionID) bool {
	k, ok := kindOf(r.ExecType())
	if !ok {
		return false
	}
	*e = Event{
		Kind: k, Side: r.Side(), Aggressor: r.Aggressor() != 0, TradingState: r.TradingState(),
		OrdType: r.OrdType(), TimeInForce: r.TimeInForce(), Reason: r.Reason(), Instrument: r.Instrument(),
		Session: session, LogPosition: r.LogPosition(), ClusterTime: r.ClusterTime(), OrderID: r.OrderID(),
		TradeID: r.TradeID(), Price: r.Price(), Quantity: r.Quantity(), Leaves: r.LeavesQty(), Cum: r.CumQty(),
		LastPx: r.LastPx(), LastQty: r.LastQty(), Account: r.AccountKey(), Principal: r.PrincipalKey(),
		ClOrdID: r.ClOrdIDKey(), OrigClOrdID: r.OrigClOrdIDKey(),
	}
	return true
}

func kindOf(t engine.ExecType) (Kind, bool) {
	switch t {
	case engine.ExecTypeNew:
		return KindNew, true
	case engine.ExecTypeReplaced:
		return KindReplace, true
	case engine.ExecTypeCanceled:
		return KindCancel, true
	case engine.ExecTypeTrade:
		return KindFill, true
	case engine.ExecTypeExpired:
		return KindExpire, true
	case engine.ExecTypeRejected:
		return KindReject, true
	}
	return 0, false
}

// fromCancelReject fills e from a refused cancel or replace.
func (e *Event) fromCancelReject(r engine.CancelReject, session engine.SessionID) {
	*e = Event{
		Kind: KindReject, Reason: r.Reason(), Instrument: r.Instrument(), Session: session,
		LogPosition: r.LogPosition(), ClusterTime: r.ClusterTime(), OrderID: r.OrderID(),
		Account: r.AccountKey(), Principal: r.PrincipalKey(), ClOrdID: r.ClOrdIDKey(), OrigClOrdID: r.OrigClOrdIDKey(),
	}
}

// UnmarshalText reads a kind's name.
func (k *Kind) UnmarshalText(b []byte) error {
	for i, n := range kindNames {
		if i > 0 && n == string(b) {
			*k = Kind(i)
			return nil
		}
	}
	return fmt.Errorf("surveil: unknown event kind %q", b)
}

// Side is an order's side as reports write it ("buy", "sell").
type Side engine.Side

// String returns the side's name.
func (s Side) String() string {
	switch engine.Side(s) {
	case engine.SideBuy:
		return "buy"
	case engine.SideSell:
		return "sell"
	}
	return fmt.Sprintf("Side(%d)", uint8(s))
}

// MarshalText writes the side's name.
func (s Side) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a side's name.
func (s *Side) UnmarshalText(b []byte) error {
	switch string(b) {
	case "buy":
		*s = Side(engine.SideBuy)
	case "sell":
		*s = Side(engine.SideSell)
	default:
		return fmt.Errorf("surveil: unknown side %q", b)
	}
	return nil
}
