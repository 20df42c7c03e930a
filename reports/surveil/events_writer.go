package surveil

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// EventFilter selects events for an EventWriter; zero fields select all.
type EventFilter struct {
	Instrument uint32 // 0: every instrument
	Account    Name   // zero: every account
	From, To   int64  // cluster time bounds, inclusive; To 0: no end
}

func (f *EventFilter) keep(ev *Event) bool {
	return (f.Instrument == 0 || ev.Instrument == f.Instrument) &&
		(f.Account == Name{} || ev.Account == f.Account || ev.Counter.Account == f.Account && ev.Kind == KindFill) &&
		ev.ClusterTime >= f.From && (f.To == 0 || ev.ClusterTime <= f.To)
}

// EventFormat is how an EventWriter writes events.
type EventFormat uint8

// Event formats.
const (
	FormatCSV   EventFormat = 1 // a header line, then one line per event
	FormatJSONL EventFormat = 2 // one JSON object per line
)

// EventWriter is a Handler that writes the order event history (the
// record `venue replay events` prints) as CSV or JSON lines. Call Flush at
// the end; the first write error stops it and is returned by Flush.
type EventWriter struct {
	w      *bufio.Writer
	format EventFormat
	filter EventFilter
	line   []byte
	row    eventRow
	err    error
	header bool
}

// NewEventWriter returns a writer of events that pass filter.
func NewEventWriter(w io.Writer, format EventFormat, filter EventFilter) *EventWriter {
	return &EventWriter{w: bufio.NewWriterSize(w, logBufferBytes), format: format, filter: filter}
}

// eventColumns name the CSV columns and JSON keys, in order.
var eventColumns = []string{"log_position", "cluster_time_ns", "kind", "instrument", "symbol", "account", "principal",
	"session", "order_id", "clordid", "orig_clordid", "side", "ord_type", "time_in_force", "price", "quantity", "leaves", "cum", "last_px", "last_qty",
	"aggressor", "trade_id", "counterparty_account", "counterparty_order_id", "trading_state", "reason"}

// eventRow is one event as written.
type eventRow struct {
	LogPosition  int64  `json:"log_position"`
	ClusterTime  int64  `json:"cluster_time_ns"`
	Kind         Kind   `json:"kind"`
	Instrument   uint32 `json:"instrument"`
	Symbol       string `json:"symbol"`
	Account      string `json:"account"`
	Principal    string `json:"principal"`
	Session      int64  `json:"session"`
	OrderID      uint64 `json:"order_id"`
	ClOrdID      string `json:"clordid"`
	OrigClOrdID  string `json:"orig_clordid"`
	Side         string `json:"side"`
	OrdType      string `json:"ord_type"`      // "" when the report names no order type
	TimeInForce  string `json:"time_in_force"` // "" when the report names no order type
	Price        int64  `json:"price"`
	Quantity     int64  `json:"quantity"`
	Leaves       int64  `json:"leaves"`
	Cum          int64  `json:"cum"`
	LastPx       int64  `json:"last_px"`
	LastQty      int64  `json:"last_qty"`
	Aggressor    bool   `json:"aggressor"`
	TradeID      uint64 `json:"trade_id"`
	CounterAcct  string `json:"counterparty_account"`
	CounterOrder uint64 `json:"counterparty_order_id"`
	TradingState string `json:"trading_state"`
	Reason       string `json:"reason"`
}

func (r *eventRow) fill(ev *Event, m *Market) {
	*r = eventRow{LogPosition: ev.LogPosition, ClusterTime: ev.ClusterTime, Kind: ev.Kind, Instrument: ev.Instrument,
		Account: ev.Account.String(), Principal: ev.Principal.String(), Session: int64(ev.Session), OrderID: ev.OrderID,
		ClOrdID: ev.ClOrdIDString(), OrigClOrdID: trimNUL(ev.OrigClOrdID[:]), Price: ev.Price, Quantity: ev.Quantity,
		Leaves: ev.Leaves, Cum: ev.Cum, LastPx: ev.LastPx, LastQty: ev.LastQty, Aggressor: ev.Aggressor,
		TradeID: ev.TradeID, TradingState: ev.TradingState.String(), Reason: ev.Reason.String()}
	if ev.Side != 0 {
		r.Side = Side(ev.Side).String()
	}
	if ev.OrdType != 0 {
		r.OrdType, r.TimeInForce = ev.OrdType.String(), ev.TimeInForce.String()
	}
	if m != nil {
		if b := m.Book(ev.Instrument); b != nil {
			r.Symbol = b.Info.SymbolString()
		}
	}
	if ev.Counter.Known {
		r.CounterAcct, r.CounterOrder = ev.Counter.Account.String(), ev.Counter.OrderID
	}
}

func trimNUL(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}

// OnEvent writes one event if it passes the filter (Handler).
func (w *EventWriter) OnEvent(ev *Event, m *Market) {
	if w.err != nil || !w.filter.keep(ev) {
		return
	}
	w.row.fill(ev, m)
	if w.format == FormatJSONL {
		b, err := json.Marshal(&w.row)
		if err == nil {
			b = append(b, '\n')
			_, err = w.w.Write(b)
		}
		w.err = err
		return
	}
	if !w.header {
		w.header = true
		w.line = appendCSV(w.line[:0], eventColumns...)
		_, w.err = w.w.Write(w.line)
	}
	r := &w.row
	w.line = appendCSV(w.line[:0], strconv.FormatInt(r.LogPosition, 10), strconv.FormatInt(r.ClusterTime, 10),
		r.Kind.String(), strconv.FormatUint(uint64(r.Instrument), 10), r.Symbol, r.Account, r.Principal,
		strconv.FormatInt(r.Session, 10), strconv.FormatUint(r.OrderID, 10), r.ClOrdID, r.OrigClOrdID, r.Side,
		r.OrdType, r.TimeInForce, strconv.FormatInt(r.Price, 10), strconv.FormatInt(r.Quantity, 10), strconv.FormatInt(r.Leaves, 10),
		strconv.FormatInt(r.Cum, 10), strconv.FormatInt(r.LastPx, 10), strconv.FormatInt(r.LastQty, 10),
		strconv.FormatBool(r.Aggressor), strconv.FormatUint(r.TradeID, 10), r.CounterAcct,
		strconv.FormatUint(r.CounterOrder, 10), r.TradingState, r.Reason)
	if w.err == nil {
		_, w.err = w.w.Write(w.line)
	}
}

// appendCSV appends one CSV line. Fields are names, numbers and wire
// ASCII; one holding a comma or quote is quoted.
func appendCSV(dst []byte, fields ...string) []byte {
	for i, f := range fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		if needsQuote(f) {
			dst = append(dst, '"')
			for j := 0; j < len(f); j++ {
				if f[j] == '"' {
					dst = append(dst, '"')
				}
				dst = append(dst, f[j])
			}
			dst = append(dst, '"')
			continue
		}
		dst = append(dst, f...)
	}
	return append(dst, '\n')
}

func needsQuote(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ',' || c == '"' || c == '\n' || c == '\r' {
			return true
		}
	}
	return false
}

// Flush writes what is buffered and returns the first error.
func (w *EventWriter) Flush() error {
	if w.err == nil {
		w.err = w.w.Flush()
	}
	if w.err != nil {
		return fmt.Errorf("surveil: writing events: %w", w.err)
	}
	return nil
}
