package fixgateway

import (
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"

	"venue/engine"
)

func fuzzTranslator() *translator {
	sc := &SessionConfig{Principal: "DEMO1", Accounts: []string{"DEMO1", "DEMO1B"}, PasswordSHA256: sha256.Sum256([]byte("demo"))}
	return &translator{session: sc, instruments: newInstrumentTable([]instrument{
		{id: 1, symbol: "ALPHA", decimals: 2}, {id: 2, symbol: "BETA", decimals: 0}, {id: 3, symbol: "GAMMA", decimals: 8},
	})}
}

// FuzzTranslate: arbitrary field values in D, F, G, q and H never panic;
// what the gateway accepts encodes to a valid engine command, and what it
// refuses gets a well-formed reject.
func FuzzTranslate(f *testing.F) {
	// msgType, ClOrdID, OrigClOrdID, Symbol, Side, OrderQty, OrdType, Price, TimeInForce, Account, MassCancelRequestType, ExecInst
	f.Add("D", "o1", "", "ALPHA", "1", "100", "2", "100.25", "0", "", "", "")  // a plain limit order
	f.Add("D", "o2", "", "GAMMA", "2", "1", "1", "", "3", "DEMO1B", "", "6")   // market IOC, other account, post-only
	f.Add("D", "o3", "", "ALPHA", "1", "100", "2", "100.255", "0", "", "", "") // not representable
	f.Add("D", "o4", "", "ALPHA", "1", "-1", "2", "1", "0", "", "", "")        // negative quantity
	f.Add("D", "o5", "", "NOPE", "9", "1e9", "Z", "x", "8", "X", "", "")       // everything wrong
	f.Add("G", "o6", "o1", "BETA", "2", "999999999999999999", "2", "7", "1", "", "", "")
	f.Add("F", "o7", "o6", "BETA", "2", "", "", "", "", "", "", "")
	f.Add("q", "m1", "", "ALPHA", "", "", "", "", "", "DEMO1", "1", "")
	f.Add("q", "m2", "", "", "", "", "", "", "", "", "7", "")
	f.Add("H", "o1", "", "ALPHA", "1", "", "", "", "", "", "", "")
	f.Add("E", "", "", "", "", "", "", "", "", "", "", "") // unsupported type
	f.Add("D", "", "", "", "", "", "", "", "", "", "", "") // nothing at all
	f.Add("D", "o8", "", "ALPHA", "2", "00000000000000000001", "2", "-0.01", "4", "", "", "")
	tr := fuzzTranslator()
	f.Fuzz(func(t *testing.T, msgType, clOrd, orig, sym, side, qty, ordType, px, tif, acct, mass, execInst string) {
		m := quickfix.NewMessage()
		m.Header.SetString(tagMsgType, msgType)
		for _, fv := range []struct {
			tag quickfix.Tag
			v   string
		}{{tagClOrdID, clOrd}, {tagOrigClOrdID, orig}, {tagSymbol, sym}, {tagSide, side}, {tagOrderQty, qty},
			{tagOrdType, ordType}, {tagPrice, px}, {tagTimeInForce, tif}, {tagAccount, acct},
			{tagMassCancelRequestType, mass}, {tagExecInst, execInst}} {
			if fv.v != "" {
				m.Body.SetString(fv.tag, fv.v)
			}
		}
		m.Body.SetField(tagTransactTime, quickfix.FIXUTCTimestamp{Time: time.Unix(1e9, 0)})
		req, rej := tr.translate(m, msgType, 7, false, nil)
		if rej != nil {
			if rej.how < rejectSession || rej.how > rejectMassCancel || rej.text == "" {
				t.Fatalf("malformed reject %+v", rej)
			}
			if rej.how != rejectSession && rej.how != rejectBusiness {
				out := gatewayRejectFIX(m, kindOf(msgType), rej, "GW-1", time.Unix(1e9, 0))
				if out.String() == "" {
					t.Fatal("empty reject")
				}
			}
			return
		}
		checkCommand(t, tr, req, px)
	})
}

// checkCommand asserts what every accepted command must satisfy.
func checkCommand(t *testing.T, tr *translator, req request, px string) {
	t.Helper()
	tmpl, body, err := engine.Decode(req.msg)
	if err != nil {
		t.Fatalf("accepted command does not decode: %v", err)
	}
	if !engine.EnumsValid(tmpl, body) {
		t.Fatalf("accepted %v has invalid enums", tmpl)
	}
	if !engine.ValidChars([]byte(req.clOrdID)) || len(req.clOrdID) > clOrdIDBytesMax {
		t.Fatalf("accepted ClOrdID %q", req.clOrdID)
	}
	switch tmpl {
	case engine.TemplateNewOrder:
		m := engine.NewOrder(body)
		if m.Quantity() <= 0 || !tr.session.mayTrade(m.Account()) || m.SenderSeq() != 7 {
			t.Fatalf("accepted %v", m)
		}
		if m.OrdType() == engine.OrdTypeLimit {
			in := tr.instruments.byID[m.Instrument()]
			back, err := parseScaled(appendScaled(nil, m.Price(), in.decimals), in.decimals)
			want, err2 := parseScaled([]byte(px), in.decimals)
			if err != nil || err2 != nil || back != m.Price() || want != m.Price() {
				t.Fatalf("price %q became %d (round trip %d, %v %v)", px, m.Price(), back, err, err2)
			}
		}
	case engine.TemplateReplaceOrder:
		if m := engine.ReplaceOrder(body); m.Quantity() <= 0 || len(m.OrigClOrdID()) == 0 {
			t.Fatalf("accepted %v", m)
		}
	case engine.TemplateCancelOrder:
		if m := engine.CancelOrder(body); len(m.OrigClOrdID()) == 0 {
			t.Fatalf("accepted %v", m)
		}
	case engine.TemplateMassCancel, engine.TemplateOrderStatusRequest:
	default:
		t.Fatalf("accepted into template %v", tmpl)
	}
}

// FuzzParseScaled: parsing never panics, and what parses formats back to
// the same value.
func FuzzParseScaled(f *testing.F) {
	f.Add("100.25", 2)      // exact
	f.Add("-0.001", 3)      // negative, leading zero
	f.Add("1.000000000", 2) // trailing zeros beyond the scale
	f.Add("1.001", 2)       // not representable
	f.Add("999999999999999999", 0)
	f.Add("9999999999999999999", 0) // too many digits
	f.Add(".5", 1)
	f.Add("5.", 0)
	f.Add("+-1", 0)
	f.Fuzz(func(t *testing.T, s string, scale int) {
		scale = ((scale % 10) + 10) % 10
		v, err := parseScaled([]byte(s), scale)
		if err != nil {
			return
		}
		back, err := parseScaled(appendScaled(nil, v, scale), scale)
		if err != nil || back != v {
			t.Fatalf("%q at scale %d: %d formats to %q which parses to %d (%v)", s, scale, v, appendScaled(nil, v, scale), back, err)
		}
	})
}

// FuzzReports: arbitrary egress bytes never panic the report translation.
func FuzzReports(f *testing.F) {
	buf, r := engine.AppendExecutionReport(nil)
	r.SetExecType(engine.ExecTypeTrade)
	r.SetCumQty(3)
	r.SetCumNotional(30001)
	f.Add(buf) // a trade
	buf, c := engine.AppendCancelReject(nil)
	c.SetResponseTo(engine.CxlRejResponseToReplace)
	f.Add(buf) // a cancel reject
	buf, _ = engine.AppendMassCancelReport(nil)
	f.Add(buf)          // a mass cancel report
	f.Add([]byte{1, 2}) // truncated
	table := fuzzTranslator().instruments
	f.Fuzz(func(t *testing.T, msg []byte) {
		tmpl, body, err := engine.Decode(msg)
		if err != nil {
			return
		}
		var m *quickfix.Message
		switch tmpl {
		case engine.TemplateExecutionReport:
			m = execReportFIX(engine.ExecutionReport(body), table)
		case engine.TemplateCancelReject:
			m = cancelRejectFIX(engine.CancelReject(body))
		case engine.TemplateMassCancelReport:
			m = massCancelReportFIX(engine.MassCancelReport(body), table)
		case engine.TemplateBusinessReject:
			m = businessRejectFIX(engine.BusinessReject(body))
		default:
			return
		}
		if m.String() == "" {
			t.Fatal("empty FIX message")
		}
	})
}

// stubClient is a ClusterClient that takes every offer and has no egress.
type stubClient struct{ pos int64 }

func (c *stubClient) Connect(context.Context, Credentials) error { return nil }
func (c *stubClient) Offer([]byte) OfferResult                   { c.pos += 64; return OfferResult(c.pos) }
func (c *stubClient) Poll(ClusterHandler, int) int               { return 0 }
func (c *stubClient) Close() error                               { return nil }

// FuzzAgentEgress: arbitrary egress bytes and unknown outcomes, for a
// session with commands in flight, never panic the agent's routing and
// resolution, and leave its bookkeeping consistent.
func FuzzAgentEgress(f *testing.F) {
	buf, r := engine.AppendExecutionReport(nil)
	r.SetExecType(engine.ExecTypeNew)
	r.SetClOrdIDBytes([]byte("o1"))
	r.SetPrincipalBytes([]byte("DEMO1"))
	f.Add(buf, int64(64)) // the answer to the first order
	buf, b := engine.AppendBusinessReject(nil)
	b.SetRefTemplateID(uint16(engine.TemplateSessionStatus))
	b.SetPrincipalBytes([]byte("DEMO1"))
	f.Add(buf, int64(0)) // a SessionStatus acknowledgement
	buf, c := engine.AppendCancelReject(nil)
	c.SetClOrdIDBytes([]byte("o2"))
	c.SetPrincipalBytes([]byte("DEMO1"))
	f.Add(buf, int64(128))            // a cancel reject; the second order's outcome unknown
	f.Add([]byte{1, 2, 3}, int64(-1)) // truncated
	cfg, err := ParseConfig(strings.NewReader("[DEFAULT]\nSocketAcceptPort=1\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=DEMO1\nVenuePassword=x\n"))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, egress []byte, position int64) {
		g, err := New(cfg, Options{Client: &stubClient{}})
		if err != nil {
			t.Fatal(err)
		}
		a := &g.agent
		a.now = time.Unix(1e9, 0)
		s := g.sessions[cfg.Sessions[0].ID]
		tr := translator{session: &s.cfg, instruments: fuzzTranslator().instruments}
		for i, id := range []string{"o1", "o2", "o3"} {
			m := quickfix.NewMessage()
			for _, fv := range []struct {
				tag quickfix.Tag
				v   string
			}{{tagClOrdID, id}, {tagSymbol, "ALPHA"}, {tagSide, "1"}, {tagOrderQty, "1"}, {tagOrdType, "1"}} {
				m.Body.SetString(fv.tag, fv.v)
			}
			m.Body.SetField(tagTransactTime, quickfix.FIXUTCTimestamp{Time: time.Unix(1e9, 0)})
			req, rej := tr.translate(m, msgTypeNewOrderSingle, uint64(i+2), false, nil)
			if rej != nil {
				t.Fatal(rej.text)
			}
			a.accept(&command{sess: s, req: req})
		}
		a.offerAll()
		a.OnUnknownOutcome(position, egress)
		a.OnMessage(egress)
		a.offerAll()
		a.OnMessage(egress)
		barriers := 0
		for _, c := range s.pipe.inflight {
			if c.barrier() {
				barriers++
			}
		}
		if barriers != s.pipe.barriers || len(s.pipe.inflight)+len(s.pipe.queue) > 3 {
			t.Fatalf("barriers %d counted %d; %d in flight, %d queued", barriers, s.pipe.barriers, len(s.pipe.inflight), len(s.pipe.queue))
		}
	})
}
