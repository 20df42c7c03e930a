package loadgen

import (
	"fmt"
	"testing"
)

func TestMixPercentagesAddUp(t *testing.T) {
	if mixPassivePct+mixIOCPct+mixMarketPct+mixCancelPct+mixReplacePct != mixPctTotal {
		t.Fatal("the mix's percentages do not add up to 100")
	}
	counts := map[mixAction]int{}
	for roll := 0; roll < mixPctTotal; roll++ {
		counts[mixActionOf(roll)]++
	}
	want := map[mixAction]int{mixPassive: mixPassivePct, mixIOC: mixIOCPct, mixMarket: mixMarketPct,
		mixCancel: mixCancelPct, mixReplace: mixReplacePct}
	for a, n := range want {
		if counts[a] != n {
			t.Errorf("action %d drawn for %d rolls of 100, want %d", a, counts[a], n)
		}
	}
	if mixRestingPerSessionMax*2 >= OrdersPerSessionMax || InFlightPerSessionMax > OrdersPerSessionMax {
		t.Error("the mix's resting target must sit well below the session's order bound")
	}
}

// The mix run against a simulated venue that acknowledges every order and
// answers every cancel and replace: prices are on tick, inside the band and
// on the intended side of the reference; cancels and replaces name resting
// orders of the session that sends them; the resting book stays bounded;
// the message mix is close to the percentages.
func TestMixAgainstSimulatedVenue(t *testing.T) {
	const sessions, messages = 3, 12_000
	inst := DemoInstruments()
	m := newMixSource(42, sessions, inst)
	var ss []*testSession
	for i := 0; i < sessions; i++ {
		ss = append(ss, newTestSession(t))
		ss[i].idx = i
	}
	kinds := map[string]int{}
	for n := 0; n < messages; n++ {
		si, ok := m.pick()
		if !ok || si != n%sessions {
			t.Fatalf("message %d picked session %d (%v)", n, si, ok)
		}
		ts := ss[si]
		req := Request{ClOrdID: fmt.Sprint("X", n)}
		ts.mu.Lock()
		var target *order
		if len(ts.idle) > 0 {
			target = ts.idle[0] // to check a cancel names a resting order
		}
		if !m.plan(ts.session, &req, int64(n), true) {
			t.Fatalf("message %d: nothing planned", n)
		}
		ts.mu.Unlock()
		checkMixRequest(t, inst, &req, ts, target)
		kinds[mixKind(&req)]++
		answer(ts, &req, int64(n))
		if n%64 == 0 {
			ts.checkInvariants(t)
		}
		if len(ts.idle) > mixRestingPerSessionMax {
			t.Fatalf("session %d rests %d orders", si, len(ts.idle))
		}
	}
	for k, pct := range map[string]int{"ioc": mixIOCPct, "market": mixMarketPct, "replace": mixReplacePct} {
		if got := kinds[k] * 100 / messages; got < pct-2 || got > pct+2 {
			t.Errorf("%s: %d%% of messages, want about %d%% (%v)", k, got, pct, kinds)
		}
	}
	// Once the resting books are full, cancels make up for the passive
	// orders beyond them.
	if kinds["cancel"] < messages*mixCancelPct/100 {
		t.Errorf("only %d cancels of %d messages", kinds["cancel"], messages)
	}
}

func mixKind(req *Request) string {
	switch {
	case req.Kind != RequestNew:
		return req.Kind.String()
	case req.OrdType == Market:
		return "market"
	case req.TIF == IOC:
		return "ioc"
	}
	return "passive"
}

func checkMixRequest(t *testing.T, inst []Instrument, req *Request, ts *testSession, idle0 *order) {
	t.Helper()
	in := inst[req.Instrument]
	lo, hi := in.band()
	if req.Qty <= 0 || req.Qty%in.LotSize != 0 {
		t.Fatalf("%+v: quantity off lot", req)
	}
	if req.OrdType == Limit && (req.Price < lo || req.Price > hi || req.Price%in.TickSize != 0) {
		t.Fatalf("%+v: price off tick or outside [%d, %d]", req, lo, hi)
	}
	passiveSide := (req.Side == Buy) == (req.Price < in.ReferencePrice)
	switch kind := mixKind(req); kind {
	case "passive", "replace":
		if !passiveSide {
			t.Fatalf("%s %+v crosses the reference", kind, req)
		}
	case "ioc":
		if passiveSide {
			t.Fatalf("ioc %+v does not cross the reference", req)
		}
	}
	if req.Kind == RequestNew {
		return
	}
	ts.mu.Lock()
	defer ts.mu.Unlock()
	o := ts.pending[req.ClOrdID].ord
	if o == nil || o.clOrdID != req.OrigClOrdID || o.session != ts.idx || o.side != req.Side || o.inst != req.Instrument {
		t.Fatalf("%+v names %+v", req, o)
	}
	if req.Kind == RequestReplace && req.Qty <= o.cum {
		t.Fatalf("replace %+v at or below the filled %d", req, o.cum)
	}
	if idle0 == nil {
		t.Fatalf("%+v sent with nothing resting", req)
	}
}

// answer plays a venue that accepts everything: orders are acknowledged
// (IOC and market ones fill one lot on arrival and the rest is cancelled),
// cancels cancel, replaces replace.
func answer(ts *testSession, req *Request, now int64) {
	switch req.Kind {
	case RequestNew:
		ts.onReport(&Report{Kind: ReportNew, ClOrdID: req.ClOrdID, EventNs: now + 1}, now)
		if !rests(req.OrdType, req.TIF) {
			ts.onReport(&Report{Kind: ReportTrade, ClOrdID: req.ClOrdID, EventNs: now + 1, CumQty: 1}, now)
			ts.onReport(&Report{Kind: ReportCanceled, ClOrdID: req.ClOrdID, Done: true}, now)
		}
	case RequestCancel:
		ts.onReport(&Report{Kind: ReportCanceled, ClOrdID: req.ClOrdID, OrigClOrdID: req.OrigClOrdID, Done: true}, now)
	case RequestReplace:
		ts.onReport(&Report{Kind: ReportReplaced, ClOrdID: req.ClOrdID, OrigClOrdID: req.OrigClOrdID}, now)
	}
}

func TestInstrumentBand(t *testing.T) {
	tests := []struct {
		in     Instrument
		lo, hi int64
	}{
		{Instrument{TickSize: 1, ReferencePrice: 10_000, BandBps: 1000}, 9_000, 11_000},
		{Instrument{TickSize: 5, ReferencePrice: 10_000, BandBps: 1000}, 9_000, 11_000},
		{Instrument{TickSize: 7, ReferencePrice: 7_000, BandBps: 1000}, 6_300, 7_700},
		{Instrument{TickSize: 3, ReferencePrice: 999, BandBps: 100}, 990, 1_008}, // 9.99 rounded down to 9: 990..1008
		{Instrument{TickSize: 1, ReferencePrice: 100, BandBps: 0}, 1, 200},
	}
	for _, tc := range tests {
		lo, hi := tc.in.band()
		if lo != tc.lo || hi != tc.hi {
			t.Errorf("%+v: band [%d, %d], want [%d, %d]", tc.in, lo, hi, tc.lo, tc.hi)
		}
	}
}
