package loadgen

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"venue/cluster/config"
	"venue/engine"
)

// Requests become the engine commands the FIX gateway would send for the
// FIX driver's messages: same instrument id, side, type, time in force,
// price (none for market), quantity and ids, for the session's principal
// and account.
func TestEncodeRequestAsEngineCommands(t *testing.T) {
	ins := DemoInstruments()
	tests := []struct {
		name string
		req  Request
		want engine.TemplateID
		text string
	}{
		{"passive limit", Request{Kind: RequestNew, ClOrdID: "A1", Instrument: 1, Side: Buy, OrdType: Limit, TIF: Day, Qty: 3, Price: 9_990},
			engine.TemplateNewOrder, "Price=9990 Quantity=3 Instrument=2 Side=Buy OrdType=Limit TimeInForce=Day"},
		{"market", Request{Kind: RequestNew, ClOrdID: "A2", Instrument: 0, Side: Sell, OrdType: Market, TIF: IOC, Qty: 1, Price: 123},
			engine.TemplateNewOrder, "Price=0 Quantity=1 Instrument=1 Side=Sell OrdType=Market TimeInForce=IOC"},
		{"cancel", Request{Kind: RequestCancel, ClOrdID: "A3", OrigClOrdID: "A1", Instrument: 1, Side: Buy, Qty: 3},
			engine.TemplateCancelOrder, "OrderID=0 Instrument=2 Side=Buy"},
		{"replace", Request{Kind: RequestReplace, ClOrdID: "A4", OrigClOrdID: "A1", Instrument: 2, Side: Buy, OrdType: Limit, TIF: GTC, Qty: 5, Price: 10_010},
			engine.TemplateReplaceOrder, "OrderID=0 Price=10010 Quantity=5 Instrument=3 Side=Buy OrdType=Limit TimeInForce=GTC"},
	}
	for _, tc := range tests {
		msg, err := encodeRequest(nil, &tc.req, ins, "DEMO2", "ACC2")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		tmpl, body, err := engine.Decode(msg)
		if err != nil || tmpl != tc.want {
			t.Fatalf("%s: decodes as %v (%v), want %v", tc.name, tmpl, err, tc.want)
		}
		text := string(engine.AppendMessageText(nil, tmpl, body))
		for _, want := range []string{tc.text, "SenderSeq=0", `Account="ACC2"`, `Principal="DEMO2"`, `ClOrdID="` + tc.req.ClOrdID + `"`} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: %s lacks %q", tc.name, text, want)
			}
		}
		if tc.req.OrigClOrdID != "" && !strings.Contains(text, `OrigClOrdID="`+tc.req.OrigClOrdID+`"`) {
			t.Errorf("%s: %s lacks OrigClOrdID", tc.name, text)
		}
		if id, tmpl := commandClOrdID(msg); id != tc.req.ClOrdID || tmpl != tc.want {
			t.Errorf("%s: handed back as %q %v", tc.name, id, tmpl)
		}
	}
	bad := []Request{
		{Kind: RequestNew, ClOrdID: "X", Instrument: 3},
		{Kind: RequestNew, ClOrdID: strings.Repeat("x", 33)},
		{Kind: RequestKind(9), ClOrdID: "X"},
	}
	for _, req := range bad {
		if _, err := encodeRequest(nil, &req, ins, "DEMO1", "DEMO1"); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", req, err)
		}
	}
	msg, err := encodeMassCancel(nil, "DEMO1", "LGMC.1")
	if err != nil {
		t.Fatal(err)
	}
	if tmpl, body, err := engine.Decode(msg); err != nil || tmpl != engine.TemplateMassCancel ||
		engine.MassCancel(body).Scope() != engine.MassCancelScopePrincipal {
		t.Errorf("mass cancel: %v %v", tmpl, err)
	}
}

// execReport builds an engine ExecutionReport.
func execReport(et engine.ExecType, st engine.OrdStatus, aggressor uint8, reason engine.Reason) []byte {
	msg, m := engine.AppendExecutionReport(nil)
	m.SetExecType(et)
	m.SetOrdStatus(st)
	m.SetAggressor(aggressor)
	m.SetReason(reason)
	m.SetCumQty(4)
	m.SetClusterTime(1_000)
	m.SetClOrdID("C2")
	m.SetOrigClOrdID("C1")
	return msg
}

// Engine reports become what the FIX driver makes of the gateway's
// spelling of them, plus the aggressor flag FIX does not carry.
func TestParseEngineReports(t *testing.T) {
	base := Report{ClOrdID: "C2", OrigClOrdID: "C1", CumQty: 4, EventNs: 1_000}
	with := func(f func(*Report)) Report { r := base; f(&r); return r }
	cxl, m := engine.AppendCancelReject(nil)
	m.SetClOrdID("C3")
	m.SetOrigClOrdID("C1")
	m.SetReason(engine.ReasonTooLateToCancel)
	m.SetClusterTime(7)
	biz, b := engine.AppendBusinessReject(nil)
	b.SetRefTemplateID(uint16(engine.TemplateReplaceOrder))
	b.SetRefID("C4")
	b.SetReason(engine.ReasonNotAuthorized)
	ack, a := engine.AppendBusinessReject(nil)
	a.SetRefTemplateID(uint16(engine.TemplateSetAccount))
	tests := []struct {
		name string
		msg  []byte
		want Report
		what engineAnswer
	}{
		{"new", execReport(engine.ExecTypeNew, engine.OrdStatusNew, 0, 0), with(func(r *Report) { r.Kind = ReportNew }), answerReport},
		{"taker fill", execReport(engine.ExecTypeTrade, engine.OrdStatusFilled, 1, 0),
			with(func(r *Report) { r.Kind, r.Done, r.Aggressor = ReportTrade, true, AggressorYes }), answerReport},
		{"maker partial fill", execReport(engine.ExecTypeTrade, engine.OrdStatusPartiallyFilled, 0, 0),
			with(func(r *Report) { r.Kind, r.Aggressor = ReportTrade, AggressorNo }), answerReport},
		{"canceled", execReport(engine.ExecTypeCanceled, engine.OrdStatusCanceled, 0, engine.ReasonClientRequest),
			with(func(r *Report) { r.Kind, r.Done = ReportCanceled, true }), answerReport},
		{"replaced", execReport(engine.ExecTypeReplaced, engine.OrdStatusNew, 0, 0), with(func(r *Report) { r.Kind = ReportReplaced }), answerReport},
		{"rejected", execReport(engine.ExecTypeRejected, engine.OrdStatusRejected, 0, engine.ReasonOutsideBand),
			with(func(r *Report) { r.Kind, r.Done, r.Reason = ReportRejected, true, "OutsideBand" }), answerReport},
		{"expired", execReport(engine.ExecTypeExpired, engine.OrdStatusExpired, 0, 0),
			with(func(r *Report) { r.Kind, r.Done = ReportExpired, true }), answerReport},
		{"status", execReport(engine.ExecTypeOrderStatus, engine.OrdStatusNew, 0, engine.ReasonDuplicateMessage),
			with(func(r *Report) { r.Kind = ReportOther }), answerReport},
		{"unknown exec type", execReport(99, engine.OrdStatusNew, 0, 0), with(func(r *Report) { r.Kind = ReportOther }), answerReport},
		{"cancel reject", cxl, Report{Kind: ReportCancelRejected, ClOrdID: "C3", OrigClOrdID: "C1", EventNs: 7, Reason: "TooLateToCancel"}, answerReport},
		{"business reject", biz, Report{Kind: ReportRequestRejected, ClOrdID: "C4", Reason: "business reject: NotAuthorized"}, answerReport},
		{"admin ack", ack, Report{}, answerNone},
		{"truncated", execReport(engine.ExecTypeNew, engine.OrdStatusNew, 0, 0)[:40], Report{}, answerUndecodable},
		{"empty", nil, Report{}, answerUndecodable},
	}
	for _, tc := range tests {
		got, _, what := parseEngineReport(tc.msg)
		if what != tc.what || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %+v (%d), want %+v (%d)", tc.name, got, what, tc.want, tc.what)
		}
	}
}

// A mass cancel's report carries its count; a refusal, by report or
// business reject, is an error.
func TestParseMassCancelAnswers(t *testing.T) {
	ok, m := engine.AppendMassCancelReport(nil)
	m.SetCancelledCount(12)
	refused, r := engine.AppendMassCancelReport(nil)
	r.SetReason(engine.ReasonUnknownInstrument)
	biz, b := engine.AppendBusinessReject(nil)
	b.SetRefTemplateID(uint16(engine.TemplateMassCancel))
	b.SetReason(engine.ReasonDuplicateMessage)
	if _, res, what := parseEngineReport(ok); what != answerMassCancel || res.canceled != 12 || res.err != nil {
		t.Errorf("report: %+v %d", res, what)
	}
	for name, msg := range map[string][]byte{"refused": refused, "business reject": biz} {
		if _, res, what := parseEngineReport(msg); what != answerMassCancel || !errors.Is(res.err, ErrMassCancelRefused) {
			t.Errorf("%s: %+v %d", name, res, what)
		}
	}
}

func TestClusterIngress(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cluster.toml")
	if err := config.WriteFile(path, config.Loopback(3, 9310, dir)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		target string
		want   []string
		err    string
	}{
		{"127.0.0.1:9010", []string{"127.0.0.1:9010"}, ""},
		{"a:1, b:2 ,c:3", []string{"a:1", "b:2", "c:3"}, ""},
		{path, []string{"127.0.0.1:9310", "127.0.0.1:9311", "127.0.0.1:9312"}, ""},
		{filepath.Join(dir, "missing.toml"), nil, "missing.toml"},
		{"a:1,b", nil, "a:1,b"},
		{"a:0", nil, "a:0"},
		{" ", nil, "needs a target"},
	}
	for _, tc := range tests {
		got, err := ClusterIngress(tc.target)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: %v %v, want an error naming %q", tc.target, got, err, tc.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%q: %v %v, want %v", tc.target, got, err, tc.want)
		}
	}
}

// FuzzParseEngineReport: whatever arrives on a session's egress decodes to
// a report, a mass cancel answer or nothing, without panicking; and what
// the client hands back is matched (or not) the same way.
func FuzzParseEngineReport(f *testing.F) {
	cxl, _ := engine.AppendCancelReject(nil)
	biz, b := engine.AppendBusinessReject(nil)
	b.SetRefTemplateID(uint16(engine.TemplateMassCancel))
	mass, _ := engine.AppendMassCancelReport(nil)
	def, _ := engine.AppendInstrumentDefinition(nil)
	order, _ := encodeRequest(nil, &Request{Kind: RequestNew, ClOrdID: "F1", Side: Buy, OrdType: Limit, Qty: 1, Price: 1},
		DemoInstruments(), "DEMO1", "DEMO1")
	full := execReport(engine.ExecTypeTrade, engine.OrdStatusFilled, 1, 0)
	f.Add(full)                          // a whole execution report
	f.Add(full[:engine.HeaderLength+10]) // truncated inside the body
	f.Add(full[:5])                      // truncated inside the header
	f.Add(cxl)                           // a cancel reject with empty ids
	f.Add(biz)                           // a refused mass cancel
	f.Add(mass)                          // a mass cancel report
	f.Add(def)                           // an instrument definition: not ours
	f.Add(order)                         // a command, as the client hands it back
	f.Add([]byte{})                      // nothing
	f.Fuzz(func(t *testing.T, msg []byte) {
		r, res, what := parseEngineReport(msg)
		if what != answerReport && r != (Report{}) {
			t.Fatalf("answer %d with a report %+v", what, r)
		}
		if what == answerMassCancel && res.canceled < 0 {
			t.Fatalf("negative count %d", res.canceled)
		}
		if len(r.Reason) > reasonBytesMax {
			t.Fatalf("reason of %d bytes", len(r.Reason))
		}
		commandClOrdID(msg)
	})
}
