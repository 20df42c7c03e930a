package loadgen

import (
	"fmt"

	"venue/engine"
)

// The cluster driver's spelling of requests and reports: engine commands
// (engine/codec.schema) in, engine reports out, with the same meaning the
// FIX gateway gives them (fixgateway/translate.go and reports.go), so that
// the two ways in are timed on the same events.

// encodeRequest appends req as the engine command that does what the FIX
// driver's message does: NewOrder, CancelOrder or ReplaceOrder, naming the
// order by OrigClOrdID (OrderID 0, as the gateway does when the client gives
// no OrderID), for principal on account, with SenderSeq 0 (no exactly-once
// check: the load generator never offers a command twice).
func encodeRequest(dst []byte, req *Request, ins []Instrument, principal, account string) ([]byte, error) {
	if req.Instrument < 0 || req.Instrument >= len(ins) {
		return dst, fmt.Errorf("%w: instrument %d", ErrConfig, req.Instrument)
	}
	inst := ins[req.Instrument].ID
	ok := false
	switch req.Kind {
	case RequestNew:
		var m engine.NewOrder
		dst, m = engine.AppendNewOrder(dst)
		m.SetPrice(enginePrice(req))
		m.SetQuantity(req.Qty)
		m.SetInstrument(inst)
		m.SetSide(engineSide(req.Side))
		m.SetOrdType(engineOrdType(req.OrdType))
		m.SetTimeInForce(engineTIF(req.TIF))
		ok = m.SetAccount(account) && m.SetPrincipal(principal) && m.SetClOrdID(req.ClOrdID)
	case RequestCancel:
		var m engine.CancelOrder
		dst, m = engine.AppendCancelOrder(dst)
		m.SetInstrument(inst)
		m.SetSide(engineSide(req.Side))
		ok = m.SetAccount(account) && m.SetPrincipal(principal) && m.SetClOrdID(req.ClOrdID) &&
			m.SetOrigClOrdID(req.OrigClOrdID)
	case RequestReplace:
		var m engine.ReplaceOrder
		dst, m = engine.AppendReplaceOrder(dst)
		m.SetPrice(enginePrice(req))
		m.SetQuantity(req.Qty)
		m.SetInstrument(inst)
		m.SetSide(engineSide(req.Side))
		m.SetOrdType(engineOrdType(req.OrdType))
		m.SetTimeInForce(engineTIF(req.TIF))
		ok = m.SetAccount(account) && m.SetPrincipal(principal) && m.SetClOrdID(req.ClOrdID) &&
			m.SetOrigClOrdID(req.OrigClOrdID)
	default:
		return dst, fmt.Errorf("%w: request kind %v", ErrConfig, req.Kind)
	}
	if !ok {
		return dst, fmt.Errorf("%w: %s %q: an account, principal or ClOrdID is too long for the engine", ErrConfig, req.Kind, req.ClOrdID)
	}
	return dst, nil
}

// encodeMassCancel appends a MassCancel of every order of principal (FIX
// MassCancelRequestType 7 without an Account, as the FIX driver sends).
func encodeMassCancel(dst []byte, principal, clOrdID string) ([]byte, error) {
	var m engine.MassCancel
	dst, m = engine.AppendMassCancel(dst)
	m.SetScope(engine.MassCancelScopePrincipal)
	if !m.SetPrincipal(principal) || !m.SetClOrdID(clOrdID) {
		return dst, fmt.Errorf("%w: mass cancel %q for %q: too long for the engine", ErrConfig, clOrdID, principal)
	}
	return dst, nil
}

// enginePrice is a request's limit price; a market order has none.
func enginePrice(req *Request) int64 {
	if req.OrdType == Market {
		return 0
	}
	return req.Price
}

func engineSide(s Side) engine.Side {
	if s == Sell {
		return engine.SideSell
	}
	return engine.SideBuy
}

func engineOrdType(t OrdType) engine.OrdType {
	if t == Market {
		return engine.OrdTypeMarket
	}
	return engine.OrdTypeLimit
}

func engineTIF(t TimeInForce) engine.TimeInForce {
	switch t {
	case GTC:
		return engine.TimeInForceGTC
	case IOC:
		return engine.TimeInForceIOC
	}
	return engine.TimeInForceDay
}

// commandClOrdID is the ClOrdID of an order command the driver encoded
// (NewOrder, CancelOrder, ReplaceOrder, MassCancel), "" for anything else:
// how a message the cluster client hands back is matched to its request.
func commandClOrdID(msg []byte) (string, engine.TemplateID) {
	t, body, err := engine.Decode(msg)
	if err != nil {
		return "", t
	}
	switch t {
	case engine.TemplateNewOrder:
		return string(engine.NewOrder(body).ClOrdID()), t
	case engine.TemplateCancelOrder:
		return string(engine.CancelOrder(body).ClOrdID()), t
	case engine.TemplateReplaceOrder:
		return string(engine.ReplaceOrder(body).ClOrdID()), t
	case engine.TemplateMassCancel:
		return string(engine.MassCancel(body).ClOrdID()), t
	}
	return "", t
}

// engineAnswer is what one engine report is to the driver.
type engineAnswer uint8

const (
	// answerNone: nothing the load generator tracks (a message that does
	// not decode, an instrument definition, an admin acknowledgement).
	answerNone engineAnswer = iota
	// answerUndecodable: the message did not decode (counted).
	answerUndecodable
	// answerReport: an answer about an order or a request, in the Report.
	answerReport
	// answerMassCancel: a mass cancel's outcome, in the massResult.
	answerMassCancel
)

// massResult is a mass cancel's outcome: how many orders it cancelled, or
// why it was refused.
type massResult struct {
	canceled int64
	err      error
}

// execKinds maps engine ExecType to report kinds; OrderStatus (an answer to
// a duplicate or a status request) is ReportOther.
var execKinds = [...]ReportKind{
	engine.ExecTypeNew: ReportNew, engine.ExecTypeTrade: ReportTrade, engine.ExecTypeCanceled: ReportCanceled,
	engine.ExecTypeReplaced: ReportReplaced, engine.ExecTypeRejected: ReportRejected,
	engine.ExecTypeExpired: ReportExpired, engine.ExecTypeOrderStatus: ReportOther,
}

// parseEngineReport reduces one egress message from the engine to what the
// correlator (a Report) or CancelAll (a massResult) needs. msg comes from
// the network: anything that does not decode is answerUndecodable, never a
// panic.
func parseEngineReport(msg []byte) (Report, massResult, engineAnswer) {
	t, body, err := engine.Decode(msg)
	if err != nil {
		return Report{}, massResult{}, answerUndecodable
	}
	switch t {
	case engine.TemplateExecutionReport:
		return parseExec(engine.ExecutionReport(body)), massResult{}, answerReport
	case engine.TemplateCancelReject:
		m := engine.CancelReject(body)
		return Report{Kind: ReportCancelRejected, ClOrdID: string(m.ClOrdID()), OrigClOrdID: string(m.OrigClOrdID()),
			EventNs: m.ClusterTime(), Reason: engineReason(m.Reason())}, massResult{}, answerReport
	case engine.TemplateBusinessReject:
		return parseBusinessReject(engine.BusinessReject(body))
	case engine.TemplateMassCancelReport:
		m := engine.MassCancelReport(body)
		if r := m.Reason(); r != engine.ReasonNone {
			return Report{}, massResult{err: fmt.Errorf("%w: %s", ErrMassCancelRefused, engineReason(r))}, answerMassCancel
		}
		return Report{}, massResult{canceled: int64(m.CancelledCount())}, answerMassCancel
	}
	return Report{}, massResult{}, answerNone
}

func parseExec(m engine.ExecutionReport) Report {
	r := Report{Kind: ReportOther, ClOrdID: string(m.ClOrdID()), OrigClOrdID: string(m.OrigClOrdID()),
		CumQty: m.CumQty(), EventNs: m.ClusterTime()}
	if et := m.ExecType(); int(et) < len(execKinds) && execKinds[et] != 0 {
		r.Kind = execKinds[et]
	}
	switch m.OrdStatus() {
	case engine.OrdStatusFilled, engine.OrdStatusCanceled, engine.OrdStatusRejected, engine.OrdStatusExpired:
		r.Done = true
	}
	if r.Kind == ReportTrade {
		// The engine marks the fill of the order that took liquidity.
		r.Aggressor = AggressorNo
		if m.Aggressor() != 0 {
			r.Aggressor = AggressorYes
		}
	}
	if r.Kind == ReportRejected {
		r.Reason = engineReason(m.Reason())
	}
	return r
}

// parseBusinessReject: a refused order command is an error for its request
// (as the FIX gateway's BusinessMessageReject is); a refused mass cancel is
// CancelAll's; anything else (an acknowledged admin or session command) is
// not the load generator's.
func parseBusinessReject(m engine.BusinessReject) (Report, massResult, engineAnswer) {
	reason := engineReason(m.Reason())
	switch engine.TemplateID(m.RefTemplateID()) {
	case engine.TemplateNewOrder, engine.TemplateCancelOrder, engine.TemplateReplaceOrder:
		return Report{Kind: ReportRequestRejected, ClOrdID: string(m.RefID()), EventNs: m.ClusterTime(),
			Reason: cut("business reject: " + reason)}, massResult{}, answerReport
	case engine.TemplateMassCancel:
		return Report{}, massResult{err: fmt.Errorf("%w: %s", ErrMassCancelRefused, reason)}, answerMassCancel
	}
	return Report{}, massResult{}, answerNone
}

// engineReason names a reject's reason as the FIX gateway's Text does.
func engineReason(r engine.Reason) string { return cut(r.String()) }

// cut bounds a reason to reasonBytesMax: it names a counter.
func cut(s string) string {
	if len(s) > reasonBytesMax {
		return s[:reasonBytesMax]
	}
	return s
}
