package loadgen

import (
	"strconv"

	"github.com/quickfixgo/quickfix"
)

// FIX 4.4 tags the FIX driver writes and reads.
const (
	tagAccount             quickfix.Tag = 1
	tagClOrdID             quickfix.Tag = 11
	tagCumQty              quickfix.Tag = 14
	tagOrderQty            quickfix.Tag = 38
	tagOrdStatus           quickfix.Tag = 39
	tagOrdType             quickfix.Tag = 40
	tagOrigClOrdID         quickfix.Tag = 41
	tagPrice               quickfix.Tag = 44
	tagRefSeqNum           quickfix.Tag = 45
	tagSide                quickfix.Tag = 54
	tagSymbol              quickfix.Tag = 55
	tagText                quickfix.Tag = 58
	tagTimeInForce         quickfix.Tag = 59
	tagTransactTime        quickfix.Tag = 60
	tagCxlRejReason        quickfix.Tag = 102
	tagOrdRejReason        quickfix.Tag = 103
	tagExecType            quickfix.Tag = 150
	tagBusinessRejectRefID quickfix.Tag = 379
	tagMassCancelReqType   quickfix.Tag = 530
	tagMassCancelResponse  quickfix.Tag = 531
	tagTotalAffectedOrders quickfix.Tag = 533
	tagPassword            quickfix.Tag = 554
	tagLastLiquidityInd    quickfix.Tag = 851
	tagMsgSeqNum           quickfix.Tag = 34
	tagMsgType             quickfix.Tag = 35
)

// FIX message types.
const (
	msgTypeReject            = "3"
	msgTypeLogon             = "A"
	msgTypeExecutionReport   = "8"
	msgTypeOrderCancelReject = "9"
	msgTypeBusinessReject    = "j"
	msgTypeNewOrderSingle    = "D"
	msgTypeOrderCancel       = "F"
	msgTypeOrderReplace      = "G"
	msgTypeMassCancel        = "q"
	msgTypeMassCancelReport  = "r"
)

// reasonBytesMax cuts a reject's Text: it comes from outside and names a
// counter.
const reasonBytesMax = 48

// parseFIX reduces an inbound FIX message to a Report. resolve maps a
// RefSeqNum to the ClOrdID of the request the driver sent under it ("" if
// unknown). ok is false for messages that answer no request (heartbeats,
// logons, mass cancel reports).
func parseFIX(m *quickfix.Message, resolve func(seq int) string) (r Report, ok bool) {
	mt, err := m.MsgType()
	if err != nil {
		return Report{}, false
	}
	switch mt {
	case msgTypeExecutionReport:
		return parseExecutionReport(m), true
	case msgTypeOrderCancelReject:
		return Report{Kind: ReportCancelRejected, ClOrdID: bodyString(m, tagClOrdID),
			Reason: reason(m, "CxlRejReason", tagCxlRejReason)}, true
	case msgTypeBusinessReject:
		id := bodyString(m, tagBusinessRejectRefID)
		if id == "" {
			id = resolveRef(m, resolve)
		}
		return Report{Kind: ReportRequestRejected, ClOrdID: id, Reason: "business reject: " + reason(m, "", 0)}, true
	case msgTypeReject:
		return Report{Kind: ReportRequestRejected, ClOrdID: resolveRef(m, resolve),
			Reason: "session reject: " + reason(m, "", 0)}, true
	}
	return Report{}, false
}

// execTypes maps FIX ExecType (150) to report kinds. FIX 4.2's partial fill
// and fill (1, 2) are accepted as trades.
var execTypes = map[string]ReportKind{
	"0": ReportNew, "F": ReportTrade, "1": ReportTrade, "2": ReportTrade, "4": ReportCanceled,
	"5": ReportReplaced, "8": ReportRejected, "C": ReportExpired,
}

// doneStatuses are the OrdStatus (39) values of a finished order: filled,
// canceled, rejected, expired.
var doneStatuses = map[string]bool{"2": true, "4": true, "8": true, "C": true}

func parseExecutionReport(m *quickfix.Message) Report {
	r := Report{Kind: ReportOther, ClOrdID: bodyString(m, tagClOrdID), OrigClOrdID: bodyString(m, tagOrigClOrdID)}
	if k, ok := execTypes[bodyString(m, tagExecType)]; ok {
		r.Kind = k
	}
	r.Done = doneStatuses[bodyString(m, tagOrdStatus)]
	if v, err := strconv.ParseInt(bodyString(m, tagCumQty), 10, 64); err == nil {
		r.CumQty = v
	}
	if m.Body.Has(tagTransactTime) {
		if t, err := m.Body.GetTime(tagTransactTime); err == nil {
			r.EventNs = t.UnixNano()
		}
	}
	switch bodyString(m, tagLastLiquidityInd) {
	case "1": // added liquidity: it was resting
		r.Aggressor = AggressorNo
	case "2": // removed liquidity
		r.Aggressor = AggressorYes
	}
	if r.Kind == ReportRejected {
		r.Reason = reason(m, "OrdRejReason", tagOrdRejReason)
	}
	return r
}

// bodyString is a body field's value, "" when absent.
func bodyString(m *quickfix.Message, t quickfix.Tag) string {
	if !m.Body.Has(t) {
		return ""
	}
	v, err := m.Body.GetString(t)
	if err != nil {
		return ""
	}
	return v
}

// resolveRef finds the ClOrdID a reject refers to by its RefSeqNum.
func resolveRef(m *quickfix.Message, resolve func(int) string) string {
	seq, err := strconv.Atoi(bodyString(m, tagRefSeqNum))
	if err != nil || seq <= 0 || resolve == nil {
		return ""
	}
	return resolve(seq)
}

// reason is a reject's Text (58), or "<name> <code>" without one, cut to
// reasonBytesMax.
func reason(m *quickfix.Message, name string, code quickfix.Tag) string {
	s := bodyString(m, tagText)
	if s == "" && name != "" {
		s = name + " " + bodyString(m, code)
	}
	if s == "" {
		s = "(no text)"
	}
	if len(s) > reasonBytesMax {
		s = s[:reasonBytesMax]
	}
	return s
}
