package loadgen

import (
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
)

// fixMsg builds an inbound FIX message from "tag=value" fields; 35 goes to
// the header.
func fixMsg(fields ...string) *quickfix.Message {
	m := quickfix.NewMessage()
	for _, f := range fields {
		tag, val, _ := strings.Cut(f, "=")
		var n int
		for _, c := range tag {
			n = n*10 + int(c-'0')
		}
		if n == 35 {
			m.Header.SetString(quickfix.Tag(n), val)
		} else {
			m.Body.SetString(quickfix.Tag(n), val)
		}
	}
	return m
}

func TestParseFIXReports(t *testing.T) {
	resolve := func(seq int) string {
		if seq == 42 {
			return "SENT42"
		}
		return ""
	}
	ts := "20260101-10:00:00.000123"
	tests := []struct {
		name string
		msg  *quickfix.Message
		want Report
		ok   bool
	}{
		{"new", fixMsg("35=8", "150=0", "39=0", "11=A", "14=0", "60="+ts),
			Report{Kind: ReportNew, ClOrdID: "A", EventNs: time.Date(2026, 1, 1, 10, 0, 0, 123_000, time.UTC).UnixNano()}, true},
		{"partial fill, aggressor", fixMsg("35=8", "150=F", "39=1", "11=A", "14=3", "851=2"),
			Report{Kind: ReportTrade, ClOrdID: "A", CumQty: 3, Aggressor: AggressorYes}, true},
		{"fill of a resting order", fixMsg("35=8", "150=F", "39=2", "11=A", "14=10", "851=1"),
			Report{Kind: ReportTrade, ClOrdID: "A", CumQty: 10, Done: true, Aggressor: AggressorNo}, true},
		{"canceled by request", fixMsg("35=8", "150=4", "39=4", "11=C", "41=A"),
			Report{Kind: ReportCanceled, ClOrdID: "C", OrigClOrdID: "A", Done: true}, true},
		{"replaced", fixMsg("35=8", "150=5", "39=0", "11=B", "41=A", "14=2"),
			Report{Kind: ReportReplaced, ClOrdID: "B", OrigClOrdID: "A", CumQty: 2}, true},
		{"rejected", fixMsg("35=8", "150=8", "39=8", "11=A", "103=99", "58=PriceOutsideBand"),
			Report{Kind: ReportRejected, ClOrdID: "A", Done: true, Reason: "PriceOutsideBand"}, true},
		{"rejected without text", fixMsg("35=8", "150=8", "39=8", "11=A", "103=5"),
			Report{Kind: ReportRejected, ClOrdID: "A", Done: true, Reason: "OrdRejReason 5"}, true},
		{"expired", fixMsg("35=8", "150=C", "39=C", "11=A"), Report{Kind: ReportExpired, ClOrdID: "A", Done: true}, true},
		{"status", fixMsg("35=8", "150=I", "39=0", "11=A"), Report{Kind: ReportOther, ClOrdID: "A"}, true},
		{"cancel reject", fixMsg("35=9", "11=C", "41=A", "102=0", "58=TooLateToCancel"),
			Report{Kind: ReportCancelRejected, ClOrdID: "C", Reason: "TooLateToCancel"}, true},
		{"business reject by id", fixMsg("35=j", "379=A", "45=7", "58=Application not available at this time"),
			Report{Kind: ReportRequestRejected, ClOrdID: "A", Reason: "business reject: Application not available at this time"}, true},
		{"business reject by seq", fixMsg("35=j", "45=42", "58=x"), Report{Kind: ReportRequestRejected, ClOrdID: "SENT42", Reason: "business reject: x"}, true},
		{"session reject", fixMsg("35=3", "45=42", "58=Required tag missing"),
			Report{Kind: ReportRequestRejected, ClOrdID: "SENT42", Reason: "session reject: Required tag missing"}, true},
		{"session reject of something forgotten", fixMsg("35=3", "45=43"),
			Report{Kind: ReportRequestRejected, Reason: "session reject: (no text)"}, true},
		{"heartbeat", fixMsg("35=0"), Report{}, false},
		{"mass cancel report", fixMsg("35=r", "533=5"), Report{}, false},
		{"no type", fixMsg("11=A"), Report{}, false},
	}
	for _, tc := range tests {
		got, ok := parseFIX(tc.msg, resolve)
		if ok != tc.ok || got != tc.want {
			t.Errorf("%s:\n got %+v %v\nwant %+v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}

func TestFIXRequestsSpelling(t *testing.T) {
	d := NewFIXDriver(Config{Sessions: 1, CompIDs: []string{"DEMO1"}, TargetCompID: "VENUE", Instruments: DemoInstruments()})
	tests := []struct {
		req  Request
		want []string
	}{
		{Request{Kind: RequestNew, ClOrdID: "A", Instrument: 1, Side: Buy, OrdType: Limit, TIF: Day, Qty: 5, Price: 10_005},
			[]string{"35=D", "11=A", "55=BETA", "54=1", "38=5", "40=2", "44=100.05", "59=0"}},
		{Request{Kind: RequestNew, ClOrdID: "B", Instrument: 0, Side: Sell, OrdType: Market, TIF: IOC, Qty: 1},
			[]string{"35=D", "54=2", "40=1", "59=3"}},
		{Request{Kind: RequestCancel, ClOrdID: "C", OrigClOrdID: "A", Instrument: 1, Side: Buy, Qty: 5},
			[]string{"35=F", "11=C", "41=A", "55=BETA", "38=5"}},
		{Request{Kind: RequestReplace, ClOrdID: "D", OrigClOrdID: "A", Instrument: 2, Side: Buy, OrdType: Limit, TIF: GTC, Qty: 7, Price: 9_000},
			[]string{"35=G", "11=D", "41=A", "55=GAMMA", "38=7", "40=2", "44=90.00", "59=1"}},
	}
	for _, tc := range tests {
		m, err := d.message(&tc.req)
		if err != nil {
			t.Fatal(err)
		}
		s := m.String()
		for _, f := range append(tc.want, "60=") {
			if !strings.Contains(s, "\x01"+f) && !strings.HasPrefix(s, f) {
				t.Errorf("%+v: %q lacks %s", tc.req, s, f)
			}
		}
		if tc.req.Kind == RequestCancel && strings.Contains(s, "\x0144=") {
			t.Errorf("cancel carries a price: %q", s)
		}
	}
	if _, err := d.message(&Request{Kind: RequestNew, Instrument: 3}); err == nil {
		t.Error("an unknown instrument was spelt")
	}
}

func TestFormatPrice(t *testing.T) {
	tests := []struct {
		v        int64
		decimals int
		want     string
	}{
		{10_000, 2, "100.00"}, {5, 2, "0.05"}, {0, 2, "0.00"}, {123, 0, "123"}, {-5, 3, "-0.005"}, {1, 9, "0.000000001"},
	}
	for _, tc := range tests {
		if got := formatPrice(tc.v, tc.decimals); got != tc.want {
			t.Errorf("formatPrice(%d, %d) = %q, want %q", tc.v, tc.decimals, got, tc.want)
		}
	}
}

func TestIsQueuedType(t *testing.T) {
	tests := map[string]bool{
		"8=FIX.4.4\x019=5\x0135=D\x0134=2\x01": true,
		"8=FIX.4.4\x019=5\x0135=G\x01":         true,
		"8=FIX.4.4\x019=5\x0135=0\x01":         false, // heartbeat
		"8=FIX.4.4\x019=5\x0135=AE\x01":        false,
		"8=FIX.4.4\x019=5\x0135=D":             false, // truncated
		"":                                     false,
	}
	for msg, want := range tests {
		if got := isQueuedType([]byte(msg)); got != want {
			t.Errorf("isQueuedType(%q) = %v", msg, got)
		}
	}
}

// FuzzParseFIX feeds arbitrary field values (as quickfixgo hands them
// over, parsed) through the driver's report parser: nothing may panic, and
// what comes out is one of the report kinds with a bounded reason.
func FuzzParseFIX(f *testing.F) {
	// MsgType, ExecType, OrdStatus, ClOrdID, OrigClOrdID, CumQty, TransactTime, LastLiquidityInd, Text, RefSeqNum, BusinessRejectRefID
	f.Add("8", "0", "0", "A", "", "0", "20260101-10:00:00.000123", "", "", "", "")                       // a New, as the gateway sends it
	f.Add("8", "F", "2", "A", "", "10", "20260101-10:00:00", "2", "", "", "")                            // a fill with LastLiquidityInd
	f.Add("8", "5", "1", "B", "A", "-3", "", "9", "", "", "")                                            // a replace with odd numbers
	f.Add("3", "", "", "", "", "", "", "", "bad", "42", "")                                              // a session reject by sequence number
	f.Add("j", "", "", "", "", "", "", "", strings.Repeat("y", 300), "x", "")                            // a business reject, long text, bad ref
	f.Add("9", "", "", "C", "A", "zz", "never", "", "TooLateToCancel", "", "")                           // a cancel reject, junk numbers
	f.Add("8", "\x00", "\xff", strings.Repeat("Z", 100), "", "99999999999999999999", "", "", "", "", "") // junk everywhere
	f.Fuzz(func(t *testing.T, msgType, execType, ordStatus, clOrd, orig, cum, when, liq, text, refSeq, refID string) {
		m := quickfix.NewMessage()
		m.Header.SetString(tagMsgType, msgType)
		for _, fv := range []struct {
			tag quickfix.Tag
			v   string
		}{{tagExecType, execType}, {tagOrdStatus, ordStatus}, {tagClOrdID, clOrd}, {tagOrigClOrdID, orig},
			{tagCumQty, cum}, {tagTransactTime, when}, {tagLastLiquidityInd, liq}, {tagText, text},
			{tagRefSeqNum, refSeq}, {tagBusinessRejectRefID, refID}} {
			if fv.v != "" {
				m.Body.SetString(fv.tag, fv.v)
			}
		}
		r, ok := parseFIX(m, func(int) string { return "X" })
		if !ok {
			return
		}
		if r.Kind < ReportNew || r.Kind > ReportOther || len(r.Reason) > reasonBytesMax+len("business reject: ") {
			t.Fatalf("%+v", r)
		}
	})
}
