package fixgateway

import (
	"strconv"
	"time"

	"github.com/quickfixgo/quickfix"

	"venue/engine"
)

// Engine reports → FIX 4.4 messages. The engine decides every transition;
// this file only spells it in FIX.

var execTypeFIX = [...]string{
	engine.ExecTypeNew:         "0",
	engine.ExecTypeTrade:       "F",
	engine.ExecTypeCanceled:    "4",
	engine.ExecTypeReplaced:    "5",
	engine.ExecTypeRejected:    "8",
	engine.ExecTypeExpired:     "C",
	engine.ExecTypeOrderStatus: "I",
}

var ordStatusFIX = [...]string{
	engine.OrdStatusNew:             "0",
	engine.OrdStatusPartiallyFilled: "1",
	engine.OrdStatusFilled:          "2",
	engine.OrdStatusCanceled:        "4",
	engine.OrdStatusRejected:        "8",
	engine.OrdStatusExpired:         "C",
}

func lookup(table []string, i int, def string) string {
	if i >= 0 && i < len(table) && table[i] != "" {
		return table[i]
	}
	return def
}

func sideFIX(s engine.Side) string {
	if s == engine.SideSell {
		return "2"
	}
	return "1"
}

func ordTypeFIX(t engine.OrdType) string {
	if t == engine.OrdTypeMarket {
		return "1"
	}
	return "2"
}

func tifFIX(t engine.TimeInForce) string {
	switch t {
	case engine.TimeInForceGTC:
		return "1"
	case engine.TimeInForceIOC:
		return "3"
	case engine.TimeInForceFOK:
		return "4"
	}
	return "0"
}

// ordRejReason maps an engine reason to FIX 4.4 OrdRejReason (103).
func ordRejReason(r engine.Reason) int {
	switch r {
	case engine.ReasonUnknownInstrument:
		return ordRejUnknownSymbol
	case engine.ReasonTradingClosed, engine.ReasonTradingHalted:
		return ordRejExchangeClosed
	case engine.ReasonLimitExceeded:
		return ordRejExceedsLimit
	case engine.ReasonUnknownOrder:
		return ordRejUnknownOrder
	case engine.ReasonDuplicateClOrdID, engine.ReasonDuplicateOrderID, engine.ReasonDuplicateMessage:
		return ordRejDuplicateOrder
	case engine.ReasonInvalidQuantity, engine.ReasonOffLot:
		return ordRejIncorrectQuantity
	case engine.ReasonUnknownAccount, engine.ReasonNotAuthorized:
		return ordRejUnknownAccount
	case engine.ReasonUnsupportedOrderType, engine.ReasonPostOnlyWouldTrade, engine.ReasonFOKCannotFill:
		return ordRejUnsupportedOrderCha
	}
	return ordRejOther
}

// cxlRejReason maps an engine reason to FIX 4.4 CxlRejReason (102).
func cxlRejReason(r engine.Reason) int {
	switch r {
	case engine.ReasonTooLateToCancel:
		return cxlRejTooLate
	case engine.ReasonUnknownOrder:
		return cxlRejUnknownOrder
	case engine.ReasonDuplicateClOrdID:
		return cxlRejDuplicateClOrd
	case engine.ReasonTradingClosed, engine.ReasonTradingHalted, engine.ReasonNotAuthorized:
		return cxlRejBrokerOption
	}
	return cxlRejOther
}

// fieldBytesMax is room for any numeric or time field the gateway writes:
// a 64-bit integer with sign and decimal point, or a FIX UTC timestamp
// with microseconds.
const fieldBytesMax = 32

// fixTimestampMicros is FIX's UTCTimestamp with microseconds.
const fixTimestampMicros = "20060102-15:04:05.000000"

// newMessage returns an outbound message of msgType; quickfixgo fills the
// rest of the header when it sends.
func newMessage(msgType string) *quickfix.Message {
	return resetMessage(quickfix.NewMessage(), msgType)
}

// resetMessage empties m's body for a new message of msgType. quickfixgo
// keeps no reference to a message once SendToTarget has returned: it sends
// and stores the bytes it built.
//
// The header and trailer keep their fields: the gateway sets none but
// MsgType, and quickfixgo sets the same ones on every message it sends
// for a session (BeginString, the CompIDs, SendingTime, MsgSeqNum,
// BodyLength, CheckSum), each overwritten in place. A cleared map made it
// allocate and insert each of them again for every report.
func resetMessage(m *quickfix.Message, msgType string) *quickfix.Message {
	m.Body.Clear()
	m.Header.SetString(tagMsgType, msgType)
	return m
}

// The setters format into a stack buffer: quickfixgo copies field values.

func setInt(m *quickfix.Message, t quickfix.Tag, v int64) {
	var b [fieldBytesMax]byte
	m.Body.SetBytes(t, strconv.AppendInt(b[:0], v, 10))
}

func setUint(m *quickfix.Message, t quickfix.Tag, v uint64) {
	var b [fieldBytesMax]byte
	m.Body.SetBytes(t, strconv.AppendUint(b[:0], v, 10))
}

func setPrice(m *quickfix.Message, t quickfix.Tag, v int64, decimals int) {
	var b [fieldBytesMax]byte
	m.Body.SetBytes(t, appendScaled(b[:0], v, decimals))
}

func setOrderID(m *quickfix.Message, id uint64) {
	if id == 0 {
		m.Body.SetString(tagOrderID, "NONE") // FIX's value for "no order"
		return
	}
	setUint(m, tagOrderID, id)
}

func setTime(m *quickfix.Message, clusterTimeNs int64) {
	var b [fieldBytesMax]byte
	m.Body.SetBytes(tagTransactTime, time.Unix(0, clusterTimeNs).UTC().AppendFormat(b[:0], fixTimestampMicros))
}

func setText(m *quickfix.Message, r engine.Reason) {
	if r != engine.ReasonNone {
		m.Body.SetString(tagText, r.String())
	}
}

// symbolAndDecimals returns an instrument's symbol and price precision; an
// instrument the gateway has not learnt yet is named by its id.
func symbolAndDecimals(t *instrumentTable, id uint32) (string, int) {
	if in := t.byID[id]; in != nil {
		return in.symbol, in.decimals
	}
	return strconv.FormatUint(uint64(id), 10), 0
}

// execReportFIX spells an engine ExecutionReport as a FIX 8.
func execReportFIX(r engine.ExecutionReport, t *instrumentTable) *quickfix.Message {
	return spellExecReport(quickfix.NewMessage(), r, t)
}

// spellExecReport spells an engine ExecutionReport as a FIX 8 into m.
func spellExecReport(m *quickfix.Message, r engine.ExecutionReport, t *instrumentTable) *quickfix.Message {
	resetMessage(m, msgTypeExecutionReport)
	sym, dec := symbolAndDecimals(t, r.Instrument())
	setOrderID(m, r.OrderID())
	setUint(m, tagExecID, r.ExecID())
	m.Body.SetBytes(tagClOrdID, r.ClOrdID())
	if o := r.OrigClOrdID(); len(o) > 0 {
		m.Body.SetBytes(tagOrigClOrdID, o)
	}
	m.Body.SetString(tagExecType, lookup(execTypeFIX[:], int(r.ExecType()), "I"))
	m.Body.SetString(tagOrdStatus, lookup(ordStatusFIX[:], int(r.OrdStatus()), "8"))
	m.Body.SetBytes(tagAccount, r.Account())
	m.Body.SetString(tagSymbol, sym)
	m.Body.SetString(tagSide, sideFIX(r.Side()))
	m.Body.SetString(tagOrdType, ordTypeFIX(r.OrdType()))
	m.Body.SetString(tagTimeInForce, tifFIX(r.TimeInForce()))
	setInt(m, tagOrderQty, r.Quantity())
	if r.OrdType() == engine.OrdTypeLimit {
		setPrice(m, tagPrice, r.Price(), dec)
	}
	setInt(m, tagLeavesQty, r.LeavesQty())
	setInt(m, tagCumQty, r.CumQty())
	var avg [fieldBytesMax]byte
	m.Body.SetBytes(tagAvgPx, appendAvgPx(avg[:0], r.CumNotional(), r.CumQty(), dec))
	if r.ExecType() == engine.ExecTypeTrade {
		setPrice(m, tagLastPx, r.LastPx(), dec)
		setInt(m, tagLastQty, r.LastQty())
		setUint(m, tagTrdMatchID, r.TradeID())
	}
	if r.ExecType() == engine.ExecTypeRejected || (r.OrdStatus() == engine.OrdStatusRejected && r.Reason() != engine.ReasonNone) {
		setInt(m, tagOrdRejReason, int64(ordRejReason(r.Reason())))
	}
	if r.Flags()&flagPostOnly != 0 {
		m.Body.SetString(tagExecInst, string(fixExecInstParticipateDontInitiate))
	}
	setText(m, r.Reason())
	setTime(m, r.ClusterTime())
	return m
}

// cancelRejectFIX spells an engine CancelReject as a FIX 9.
func cancelRejectFIX(r engine.CancelReject) *quickfix.Message {
	return spellCancelReject(quickfix.NewMessage(), r)
}

// spellCancelReject spells an engine CancelReject as a FIX 9 into m.
func spellCancelReject(m *quickfix.Message, r engine.CancelReject) *quickfix.Message {
	resetMessage(m, msgTypeOrderCancelReject)
	setOrderID(m, r.OrderID())
	m.Body.SetBytes(tagClOrdID, r.ClOrdID())
	m.Body.SetBytes(tagOrigClOrdID, r.OrigClOrdID())
	m.Body.SetString(tagOrdStatus, lookup(ordStatusFIX[:], int(r.OrdStatus()), "8"))
	m.Body.SetBytes(tagAccount, r.Account())
	resp := "1"
	if r.ResponseTo() == engine.CxlRejResponseToReplace {
		resp = "2"
	}
	m.Body.SetString(tagCxlRejResponseTo, resp)
	setInt(m, tagCxlRejReason, int64(cxlRejReason(r.Reason())))
	setText(m, r.Reason())
	setTime(m, r.ClusterTime())
	return m
}

// massCancelReportFIX spells an engine MassCancelReport as a FIX r.
func massCancelReportFIX(r engine.MassCancelReport, t *instrumentTable) *quickfix.Message {
	return spellMassCancelReport(quickfix.NewMessage(), r, t)
}

// spellMassCancelReport spells an engine MassCancelReport as a FIX r into m.
func spellMassCancelReport(m *quickfix.Message, r engine.MassCancelReport, t *instrumentTable) *quickfix.Message {
	resetMessage(m, msgTypeOrderMassCancelReply)
	m.Body.SetString(tagOrderID, "NONE")
	m.Body.SetBytes(tagClOrdID, r.ClOrdID())
	typ := "7"
	if s := r.Scope(); s == engine.MassCancelScopeInstrument || s == engine.MassCancelScopeAccountInstrument {
		typ = "1"
		sym, _ := symbolAndDecimals(t, r.Instrument())
		m.Body.SetString(tagSymbol, sym)
	}
	m.Body.SetString(tagMassCancelRequestType, typ)
	if r.Reason() == engine.ReasonNone {
		m.Body.SetString(tagMassCancelResponse, typ)
	} else {
		setInt(m, tagMassCancelResponse, fixMassCancelRejected)
		rej := massCxlRejOther
		if r.Reason() == engine.ReasonUnknownInstrument {
			rej = massCxlRejUnknownSec
		}
		setInt(m, tagMassCancelRejectReason, int64(rej))
	}
	setInt(m, tagTotalAffectedOrders, int64(r.CancelledCount()))
	setText(m, r.Reason())
	setTime(m, r.ClusterTime())
	return m
}

// refMsgType names the FIX message a rejected engine command came from.
func refMsgType(t engine.TemplateID) string {
	switch t {
	case engine.TemplateNewOrder:
		return msgTypeNewOrderSingle
	case engine.TemplateCancelOrder:
		return msgTypeOrderCancel
	case engine.TemplateReplaceOrder:
		return msgTypeOrderCancelReplace
	case engine.TemplateMassCancel:
		return msgTypeOrderMassCancel
	case engine.TemplateOrderStatusRequest:
		return msgTypeOrderStatusRequest
	}
	return ""
}

// businessRejectFIX spells an engine BusinessReject as a FIX j.
func businessRejectFIX(r engine.BusinessReject) *quickfix.Message {
	return spellBusinessReject(quickfix.NewMessage(), r)
}

// spellBusinessReject spells an engine BusinessReject as a FIX j into m.
func spellBusinessReject(m *quickfix.Message, r engine.BusinessReject) *quickfix.Message {
	resetMessage(m, msgTypeBusinessReject)
	if mt := refMsgType(engine.TemplateID(r.RefTemplateID())); mt != "" {
		m.Body.SetString(tagRefMsgType, mt)
	} else {
		m.Body.SetString(tagRefMsgType, "?")
	}
	if id := r.RefID(); len(id) > 0 {
		m.Body.SetBytes(tagBusinessRejectRefID, id)
	}
	reason := bizRejOther
	switch r.Reason() {
	case engine.ReasonNotAuthorized:
		reason = bizRejNotAuthorized
	case engine.ReasonUnknownTemplate:
		reason = bizRejUnsupportedMessageType
	case engine.ReasonUnknownOrder:
		reason = bizRejUnknownID
	}
	setInt(m, tagBusinessRejectReason, int64(reason))
	setText(m, r.Reason())
	return m
}

// copyField copies tag from in's body to out's when present.
func copyField(out, in *quickfix.Message, tags ...quickfix.Tag) {
	for _, t := range tags {
		if v, err := in.Body.GetBytes(t); err == nil {
			out.Body.SetBytes(t, v)
		}
	}
}

// gatewayRejectFIX builds the order-level reject (8, 9 or r) the gateway
// answers in with itself; execID names it uniquely for the session.
func gatewayRejectFIX(in *quickfix.Message, k requestKind, rej *gwReject, execID string, now time.Time) *quickfix.Message {
	var m *quickfix.Message
	switch rej.how {
	case rejectCancel:
		m = newMessage(msgTypeOrderCancelReject)
		m.Body.SetString(tagOrderID, "NONE")
		copyField(m, in, tagClOrdID, tagOrigClOrdID, tagAccount)
		m.Body.SetString(tagOrdStatus, "8")
		resp := "1"
		if k == requestReplace {
			resp = "2"
		}
		m.Body.SetString(tagCxlRejResponseTo, resp)
		setInt(m, tagCxlRejReason, int64(rej.reason))
	case rejectMassCancel:
		m = newMessage(msgTypeOrderMassCancelReply)
		m.Body.SetString(tagOrderID, "NONE")
		copyField(m, in, tagClOrdID, tagMassCancelRequestType, tagSymbol)
		setInt(m, tagMassCancelResponse, fixMassCancelRejected)
		setInt(m, tagMassCancelRejectReason, int64(rej.reason))
		setInt(m, tagTotalAffectedOrders, 0)
	default:
		m = newMessage(msgTypeExecutionReport)
		m.Body.SetString(tagOrderID, "NONE")
		m.Body.SetString(tagExecID, execID)
		copyField(m, in, tagClOrdID, tagAccount, tagSymbol, tagSide, tagOrderQty, tagOrdType, tagPrice, tagTimeInForce)
		execType := "8"
		if k == requestStatus {
			execType = "I"
		}
		m.Body.SetString(tagExecType, execType)
		m.Body.SetString(tagOrdStatus, "8")
		m.Body.SetString(tagLeavesQty, "0")
		m.Body.SetString(tagCumQty, "0")
		m.Body.SetString(tagAvgPx, "0")
		setInt(m, tagOrdRejReason, int64(rej.reason))
	}
	m.Body.SetString(tagText, rej.text)
	m.Body.SetField(tagTransactTime, quickfix.FIXUTCTimestamp{Time: now.UTC(), Precision: quickfix.Micros})
	return m
}
