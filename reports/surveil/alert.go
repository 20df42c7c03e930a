package surveil

import (
	"cmp"
	"fmt"
	"slices"
)

// Type is a kind of market abuse a detector looks for.
type Type uint8

// Alert types.
const (
	TypeWash         Type = 1 // wash trade / self-match
	TypeSpoofing     Type = 2
	TypeLayering     Type = 3
	TypeMomentum     Type = 4 // momentum ignition
	TypeMarkingClose Type = 5
	TypeOTR          Type = 6 // order-to-trade ratio over the limit
	TypeBurst        Type = 7 // message-rate burst (quote stuffing)
	typeCount             = 8
)

var typeNames = [typeCount]string{"", "wash", "spoofing", "layering", "momentum_ignition", "marking_close", "order_to_trade", "message_burst"}

// Types lists every alert type in order.
func Types() []Type {
	return []Type{TypeWash, TypeSpoofing, TypeLayering, TypeMomentum, TypeMarkingClose, TypeOTR, TypeBurst}
}

// String returns the type's name as rules files and reports spell it.
func (t Type) String() string {
	if t > 0 && int(t) < typeCount {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// MarshalText writes the type's name.
func (t Type) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

func typeByName(s string) (Type, bool) {
	for _, t := range Types() {
		if t.String() == s {
			return t, true
		}
	}
	return 0, false
}

// Alert bounds.
const (
	// alertsMax caps the alerts kept; later ones are counted, not kept.
	alertsMax = 10_000
	// alertEventsMax caps the orders and trades listed per alert.
	alertEventsMax = 256
	// bookDepth is the levels per side shown with an alert.
	bookDepth = 5
	// tapePointsMax caps the prints copied into an alert for its chart.
	tapePointsMax = 600
	// An alert's chart shows the tape from a margin before its window to a
	// margin after it: the window's length, kept within these bounds.
	chartMarginMinNs = int64(2e9)
	chartMarginMaxNs = int64(30e9)
)

// AlertEvent is one order event or trade involved in an alert.
type AlertEvent struct {
	Kind        Kind   `json:"kind"`
	Time        int64  `json:"time_ns"`
	LogPosition int64  `json:"log_position"`
	Account     string `json:"account"`
	OrderID     uint64 `json:"order_id,omitempty"`
	ClOrdID     string `json:"clordid,omitempty"`
	Side        Side   `json:"side"`
	Price       int64  `json:"price"`
	Quantity    int64  `json:"quantity"`
	Leaves      int64  `json:"leaves"`
	LastPx      int64  `json:"last_px,omitempty"`
	LastQty     int64  `json:"last_qty,omitempty"`
	Aggressor   bool   `json:"aggressor,omitempty"`
	Counter     string `json:"counterparty,omitempty"`
	CounterID   uint64 `json:"counterparty_order_id,omitempty"`
	Note        string `json:"note,omitempty"`
}

func alertEvent(ev *Event, note string) AlertEvent {
	a := AlertEvent{
		Kind: ev.Kind, Time: ev.ClusterTime, LogPosition: ev.LogPosition, Account: ev.Account.String(),
		OrderID: ev.OrderID, ClOrdID: ev.ClOrdIDString(), Side: Side(ev.Side), Price: ev.Price, Quantity: ev.Quantity,
		Leaves: ev.Leaves, LastPx: ev.LastPx, LastQty: ev.LastQty, Aggressor: ev.Aggressor, Note: note,
	}
	if ev.Counter.Known {
		a.Counter, a.CounterID = ev.Counter.Account.String(), ev.Counter.OrderID
	}
	return a
}

// BookView is an instrument's book at an alert's key moment.
type BookView struct {
	Time        int64   `json:"time_ns"`
	LogPosition int64   `json:"log_position"`
	Bids        []Level `json:"bids"`
	Asks        []Level `json:"asks"`
}

// Alert is one suspected case of abuse.
type Alert struct {
	Type          Type         `json:"type"`
	Score         float64      `json:"score"` // >= 1: how far past its threshold the case is
	Account       string       `json:"account"`
	Counterparty  string       `json:"counterparty,omitempty"` // wash: the other account
	Instrument    uint32       `json:"instrument"`
	Symbol        string       `json:"symbol"`
	Start         int64        `json:"start_ns"`
	End           int64        `json:"end_ns"`
	StartPosition int64        `json:"start_position"`
	EndPosition   int64        `json:"end_position"`
	Count         int          `json:"count"` // cases merged into this alert
	Summary       string       `json:"summary"`
	Events        []AlertEvent `json:"events"`
	Book          BookView     `json:"book"`
	Tape          []Print      `json:"tape"`
}

// alertKey identifies alerts that merge.
type alertKey struct {
	t    Type
	acct Name
	cp   Name
	inst uint32
}

// alerts collects alerts, merging a case into the previous alert of its
// key when they are closer than the merge gap.
type alerts struct {
	list    []Alert
	last    map[alertKey]int
	gapNs   int64
	dropped uint64
}

// add keeps (or merges) an alert and returns its index, or -1 if it was
// dropped at the bound.
func (c *alerts) add(k alertKey, a Alert) int {
	a.Count = max(a.Count, 1)
	if i, ok := c.last[k]; ok && a.Start <= c.list[i].End+c.gapNs {
		c.merge(&c.list[i], &a)
		return i
	}
	if len(c.list) >= alertsMax {
		c.dropped++
		return -1
	}
	c.last[k] = len(c.list)
	c.list = append(c.list, a)
	return len(c.list) - 1
}

// chartMargin is how much tape an alert's chart shows either side of it.
func chartMargin(a *Alert) int64 { return min(max(a.End-a.Start, chartMarginMinNs), chartMarginMaxNs) }

func (c *alerts) merge(dst, a *Alert) {
	dst.Count += a.Count
	dst.Score = max(dst.Score, a.Score)
	dst.End, dst.EndPosition = max(dst.End, a.End), max(dst.EndPosition, a.EndPosition)
	room := alertEventsMax - len(dst.Events)
	dst.Events = append(dst.Events, a.Events[:min(room, len(a.Events))]...)
}

// sorted returns the alerts in a stable order: start time, type, account,
// instrument, then log position.
func (c *alerts) sorted() []Alert {
	out := slices.Clone(c.list)
	slices.SortStableFunc(out, func(a, b Alert) int {
		return cmp.Or(cmp.Compare(a.Start, b.Start), cmp.Compare(a.Type, b.Type), cmp.Compare(a.Account, b.Account),
			cmp.Compare(a.Instrument, b.Instrument), cmp.Compare(a.StartPosition, b.StartPosition))
	})
	return out
}

// UnmarshalText reads a type's name.
func (t *Type) UnmarshalText(b []byte) error {
	v, ok := typeByName(string(b))
	if !ok {
		return fmt.Errorf("surveil: unknown alert type %q", b)
	}
	*t = v
	return nil
}
