package loadgen

import (
	"fmt"
	"os"
	"testing"

	"venue/orderbook/orderflow"
)

// flowFile builds an order-flow file from records.
func flowFile(t *testing.T, instruments uint32, warmup uint64, recs []orderflow.RecordFields) *orderflow.File {
	t.Helper()
	data := orderflow.AppendHeader(nil, orderflow.Header{Records: uint64(len(recs)), Warmup: warmup,
		Instruments: instruments, Version: orderflow.Version})
	for _, r := range recs {
		data = orderflow.AppendRecord(data, r)
	}
	f, err := orderflow.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// flowStep is what replaying one pick sent.
type flowStep struct {
	session int
	req     Request
	warm    bool
}

// replay plays the whole file through sessions, answering with answer
// (nil: no answers), and returns what was sent.
func replay(t *testing.T, fs *flowSource, ss []*testSession, reply func(*testSession, *Request, int64)) []flowStep {
	t.Helper()
	var out []flowStep
	for n := 0; ; n++ {
		si, ok := fs.pick()
		if !ok {
			return out
		}
		ts := ss[si]
		req := Request{ClOrdID: fmt.Sprint("F", n)}
		ts.mu.Lock()
		planned := fs.plan(ts.session, &req, int64(n), true)
		ts.mu.Unlock()
		if !planned {
			continue
		}
		out = append(out, flowStep{session: si, req: req, warm: fs.warm()})
		if reply != nil {
			reply(ts, &req, int64(n))
		}
	}
}

func newFlowSessions(t *testing.T, n int) []*testSession {
	var ss []*testSession
	for i := 0; i < n; i++ {
		ts := newTestSession(t)
		ts.idx = i
		ss = append(ss, ts)
	}
	return ss
}

// The mapping of a file onto the venue: sessions by user, instruments by
// index, prices relative to each file instrument's first price, clamped
// into the band, amends as replaces to cum + open quantity, cancels and
// amends on the order's session naming its latest ClOrdID.
func TestFlowMapsRecordsOntoTheVenue(t *testing.T) {
	recs := []orderflow.RecordFields{
		{Op: orderflow.OpNew, Side: orderflow.Sell, Type: orderflow.TypeGTC, Instrument: 0, ID: 1, Price: 100_019, Qty: 18, User: 5},
		{Op: orderflow.OpNew, Side: orderflow.Buy, Type: orderflow.TypeGTC, Instrument: 4, ID: 2, Price: 50_000, Qty: 2, User: 6},
		{Op: orderflow.OpAmend, Side: orderflow.Sell, Instrument: 0, ID: 1, Price: 100_009, Qty: 40},
		{Op: orderflow.OpNew, Side: orderflow.Buy, Type: orderflow.TypeIOC, Instrument: 0, ID: 3, Price: 99_000, Qty: 1, User: 7},
		{Op: orderflow.OpNew, Side: orderflow.Sell, Type: orderflow.TypeMarket, Instrument: 4, ID: 4, Qty: 3, User: 8},
		{Op: orderflow.OpCancel, Side: orderflow.Sell, Instrument: 0, ID: 1},
		{Op: orderflow.OpCancel, Side: orderflow.Buy, Instrument: 4, ID: 2},
		{Op: orderflow.OpCancel, Side: orderflow.Buy, Instrument: 4, ID: 99}, // never sent
	}
	f := flowFile(t, 5, 1, recs)
	stats := newStats()
	fs := newFlowSource(f, 2, DemoInstruments(), stats)
	ss := newFlowSessions(t, 2)
	// No answers: the amend and the cancel chain on the ClOrdIDs sent.
	steps := replay(t, fs, ss, nil)
	want := []flowStep{
		{1, Request{Kind: RequestNew, ClOrdID: "F0", Instrument: 0, Side: Sell, OrdType: Limit, TIF: GTC, Qty: 18, Price: 10_000}, true},
		{0, Request{Kind: RequestNew, ClOrdID: "F1", Instrument: 1, Side: Buy, OrdType: Limit, TIF: GTC, Qty: 2, Price: 10_000}, false},
		{1, Request{Kind: RequestReplace, ClOrdID: "F2", OrigClOrdID: "F0", Instrument: 0, Side: Sell, OrdType: Limit, TIF: GTC, Qty: 40, Price: 9_990}, false},
		{1, Request{Kind: RequestNew, ClOrdID: "F3", Instrument: 0, Side: Buy, OrdType: Limit, TIF: IOC, Qty: 1, Price: 9_000}, false},
		{0, Request{Kind: RequestNew, ClOrdID: "F4", Instrument: 1, Side: Sell, OrdType: Market, TIF: IOC, Qty: 3}, false},
		{1, Request{Kind: RequestCancel, ClOrdID: "F5", OrigClOrdID: "F2", Instrument: 0, Side: Sell, OrdType: Limit, TIF: GTC, Qty: 18, Price: 10_000}, false},
		{0, Request{Kind: RequestCancel, ClOrdID: "F6", OrigClOrdID: "F1", Instrument: 1, Side: Buy, OrdType: Limit, TIF: GTC, Qty: 2, Price: 10_000}, false},
	}
	if len(steps) != len(want) {
		t.Fatalf("%d messages, want %d: %+v", len(steps), len(want), steps)
	}
	for i := range want {
		if steps[i] != want[i] {
			t.Errorf("message %d:\n got %+v\nwant %+v", i, steps[i], want[i])
		}
	}
	if stats.FlowSkipped.Load() != 1 || stats.FlowClamped.Load() != 1 || !fs.exhausted() {
		t.Errorf("skipped %d (want 1), clamped %d (want 1: 99.000 is below the band), exhausted %v",
			stats.FlowSkipped.Load(), stats.FlowClamped.Load(), fs.exhausted())
	}
}

// A cancel or amend of an order the venue finished is skipped: the venue's
// book is not the file's.
func TestFlowSkipsOrdersTheVenueFinished(t *testing.T) {
	recs := []orderflow.RecordFields{
		{Op: orderflow.OpNew, Side: orderflow.Buy, Type: orderflow.TypeGTC, ID: 1, Price: 100, Qty: 5},
		{Op: orderflow.OpNew, Side: orderflow.Buy, Type: orderflow.TypeGTC, ID: 2, Price: 101, Qty: 5},
		{Op: orderflow.OpAmend, Side: orderflow.Buy, ID: 1, Price: 102, Qty: 5},
		{Op: orderflow.OpCancel, Side: orderflow.Buy, ID: 2},
		{Op: orderflow.OpCancel, Side: orderflow.Buy, ID: 1},
	}
	fs := newFlowSource(flowFile(t, 1, 0, recs), 1, DemoInstruments(), newStats())
	ss := newFlowSessions(t, 1)
	steps := replay(t, fs, ss, func(ts *testSession, req *Request, now int64) {
		answer(ts, req, now)
		if req.ClOrdID == "F0" { // order 1 fills at once: 3 of 5, then the rest
			ts.onReport(&Report{Kind: ReportTrade, ClOrdID: "F0", CumQty: 3}, now)
		}
		if req.ClOrdID == "F1" {
			ts.onReport(&Report{Kind: ReportTrade, ClOrdID: "F1", CumQty: 5, Done: true}, now)
		}
	})
	if len(steps) != 4 || steps[2].req.Kind != RequestReplace || steps[2].req.Qty != 3+5 || steps[3].req.OrigClOrdID != "F2" {
		t.Fatalf("sent %+v; want the two orders, the amend of 1 to 3 filled + 5 open, and the cancel of 1 (2 filled)", steps)
	}
	if fs.stats.FlowSkipped.Load() != 1 {
		t.Errorf("skipped %d, want 1", fs.stats.FlowSkipped.Load())
	}
}

// The reference file replays without surprises: every record is sent or
// skipped, prices stay in the band without clamping.
func TestFlowReplaysTheReferenceFile(t *testing.T) {
	const path = "../../shared/orderflow/tiny.bin"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no reference file: %v", err)
	}
	f, err := orderflow.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fs := newFlowSource(f, 4, DemoInstruments(), newStats())
	steps := replay(t, fs, newFlowSessions(t, 4), answer)
	warm := 0
	for _, s := range steps {
		if s.warm {
			warm++
		}
	}
	if int64(len(steps))+fs.stats.FlowSkipped.Load() != int64(f.Len()) || fs.stats.FlowClamped.Load() != 0 || uint64(warm) != f.Header.Warmup {
		t.Errorf("%d sent + %d skipped of %d records, %d clamped, %d warm (file: %d)",
			len(steps), fs.stats.FlowSkipped.Load(), f.Len(), fs.stats.FlowClamped.Load(), warm, f.Header.Warmup)
	}
}
