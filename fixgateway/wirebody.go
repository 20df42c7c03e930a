package fixgateway

import (
	"bytes"
	"strconv"
	"strings"
	"time"

	"github.com/quickfixgo/quickfix"

	"venue/engine"
)

// wireBody accumulates an outbound message's body in FIX wire form
// ("tag=value" and SOH per field), for the one message the gateway sends
// per order: the ExecutionReport. quickfixgo, given a body field by field,
// allocates twice and hashes once per field and sorts them all to build
// the message — about 6 µs and 69 allocations for an ExecutionReport New
// (BenchmarkExecReportFIX/reused), a tenth of the gateway's CPU per order.
// Given the whole body as one field, it does that once.
//
// That relies on how quickfixgo v0.9.10 builds a message: a field is
// written as its tag, '=', its value and SOH, and BodyLength and CheckSum
// are counted over those bytes, so a field whose tag is the body's first
// and whose value is the rest of the body comes out on the wire exactly as
// the fields would have, and is stored and resent as such (a resend parses
// the stored bytes). Only the message's FieldMap is unusual — one field —
// and nothing reads an outbound message's body after the gateway built it
// (ToApp does not). A value holding SOH cannot be written this way; the
// caller then spells the message field by field.
type wireBody struct {
	b   []byte
	bad bool // a value held SOH
}

func (w *wireBody) reset() { w.b, w.bad = w.b[:0], false }

func (w *wireBody) bytes(t quickfix.Tag, v []byte) {
	if bytes.IndexByte(v, soh) >= 0 {
		w.bad = true
	}
	w.b = strconv.AppendInt(w.b, int64(t), 10)
	w.b = append(w.b, '=')
	w.b = append(w.b, v...)
	w.b = append(w.b, soh)
}

func (w *wireBody) str(t quickfix.Tag, v string) {
	if strings.IndexByte(v, soh) >= 0 {
		w.bad = true
	}
	w.b = strconv.AppendInt(w.b, int64(t), 10)
	w.b = append(w.b, '=')
	w.b = append(w.b, v...)
	w.b = append(w.b, soh)
}

func (w *wireBody) int(t quickfix.Tag, v int64) {
	var b [fieldBytesMax]byte
	w.bytes(t, strconv.AppendInt(b[:0], v, 10))
}

func (w *wireBody) uint(t quickfix.Tag, v uint64) {
	var b [fieldBytesMax]byte
	w.bytes(t, strconv.AppendUint(b[:0], v, 10))
}

func (w *wireBody) price(t quickfix.Tag, v int64, decimals int) {
	var b [fieldBytesMax]byte
	w.bytes(t, appendScaled(b[:0], v, decimals))
}

// setOn makes the body m's only body field. It reports false (m's body
// untouched) when the body cannot be written this way. m must not be read
// after w is reused: its field's value aliases w's buffer (quickfixgo
// copies it into the field's bytes, which is what it sends).
func (w *wireBody) setOn(m *quickfix.Message) bool {
	eq := bytes.IndexByte(w.b, '=')
	if w.bad || eq <= 0 || len(w.b) < eq+2 {
		return false
	}
	tag, err := strconv.Atoi(string(w.b[:eq]))
	if err != nil {
		return false
	}
	m.Body.SetBytes(quickfix.Tag(tag), w.b[eq+1:len(w.b)-1])
	return true
}

// soh ends every FIX field.
const soh = '\x01'

// spellExecReportWire spells an ExecutionReport as spellExecReport does,
// with its body in one field (see wireBody), and falls back to
// spellExecReport where that cannot be done.
func spellExecReportWire(m *quickfix.Message, r engine.ExecutionReport, t *instrumentTable, w *wireBody) *quickfix.Message {
	w.reset()
	sym, dec := symbolAndDecimals(t, r.Instrument())
	if id := r.OrderID(); id == 0 {
		w.str(tagOrderID, "NONE") // FIX's value for "no order"
	} else {
		w.uint(tagOrderID, id)
	}
	w.uint(tagExecID, r.ExecID())
	w.bytes(tagClOrdID, r.ClOrdID())
	if o := r.OrigClOrdID(); len(o) > 0 {
		w.bytes(tagOrigClOrdID, o)
	}
	w.str(tagExecType, lookup(execTypeFIX[:], int(r.ExecType()), "I"))
	w.str(tagOrdStatus, lookup(ordStatusFIX[:], int(r.OrdStatus()), "8"))
	w.bytes(tagAccount, r.Account())
	w.str(tagSymbol, sym)
	w.str(tagSide, sideFIX(r.Side()))
	w.str(tagOrdType, ordTypeFIX(r.OrdType()))
	w.str(tagTimeInForce, tifFIX(r.TimeInForce()))
	w.int(tagOrderQty, r.Quantity())
	if r.OrdType() == engine.OrdTypeLimit {
		w.price(tagPrice, r.Price(), dec)
	}
	w.int(tagLeavesQty, r.LeavesQty())
	w.int(tagCumQty, r.CumQty())
	var avg [fieldBytesMax]byte
	w.bytes(tagAvgPx, appendAvgPx(avg[:0], r.CumNotional(), r.CumQty(), dec))
	if r.ExecType() == engine.ExecTypeTrade {
		w.price(tagLastPx, r.LastPx(), dec)
		w.int(tagLastQty, r.LastQty())
		w.uint(tagTrdMatchID, r.TradeID())
	}
	if r.ExecType() == engine.ExecTypeRejected || (r.OrdStatus() == engine.OrdStatusRejected && r.Reason() != engine.ReasonNone) {
		w.int(tagOrdRejReason, int64(ordRejReason(r.Reason())))
	}
	if r.Flags()&flagPostOnly != 0 {
		w.str(tagExecInst, string(fixExecInstParticipateDontInitiate))
	}
	if r.Reason() != engine.ReasonNone {
		w.str(tagText, r.Reason().String())
	}
	var ts [fieldBytesMax]byte
	w.bytes(tagTransactTime, time.Unix(0, r.ClusterTime()).UTC().AppendFormat(ts[:0], fixTimestampMicros))
	resetMessage(m, msgTypeExecutionReport)
	if !w.setOn(m) {
		return spellExecReport(m, r, t)
	}
	return m
}
