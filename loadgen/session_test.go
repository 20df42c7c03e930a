package loadgen

import (
	"fmt"
	"sync/atomic"
	"testing"

	"venue/reports"
)

const testTimeoutNs = int64(1_000_000_000)

// testSession is a session with its own collector, for reading back what
// it recorded.
type testSession struct {
	*session
	col      *reports.Collector
	inFlight *atomic.Int64
}

func newTestSession(t *testing.T) *testSession {
	t.Helper()
	col, err := reports.NewCollector(reports.Config{Paths: PathNames(), TimeoutNs: testTimeoutNs}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var inFlight atomic.Int64
	return &testSession{session: newSession(0, col.NewRecorder(), newStats(), &inFlight, testTimeoutNs), col: col, inFlight: &inFlight}
}

// send registers req as sent at intendedNs (measured).
func (ts *testSession) send(req Request, o *order, intendedNs int64) *order {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.beginLocked(&req, o, intendedNs, true)
}

func (ts *testSession) newOrder(id string, ot OrdType, tif TimeInForce, intendedNs int64) *order {
	return ts.send(Request{Kind: RequestNew, ClOrdID: id, Side: Buy, OrdType: ot, TIF: tif, Qty: 10, Price: 9_990}, nil, intendedNs)
}

// finish returns each path's totals.
func (ts *testSession) finish(t *testing.T) []reports.PathResult {
	t.Helper()
	run, err := ts.col.Finish(1 << 40)
	if err != nil {
		t.Fatal(err)
	}
	return run.Paths
}

// checkInvariants: the in-flight count matches the table, the idle list
// holds exactly the acknowledged resting orders with nothing in flight.
func (ts *testSession) checkInvariants(t *testing.T) {
	t.Helper()
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if int(ts.inFlight.Load()) != len(ts.pending) {
		t.Fatalf("in flight %d, table %d", ts.inFlight.Load(), len(ts.pending))
	}
	for i, o := range ts.idle {
		if o.idleIdx != i || o.busy != 0 || o.done.Load() || !o.acked || ts.orders[o.clOrdID] != o {
			t.Fatalf("idle[%d] = %+v", i, o)
		}
	}
	for id, o := range ts.orders {
		if o.clOrdID != id || o.done.Load() || o.busy < 0 {
			t.Fatalf("orders[%q] = %+v", id, o)
		}
		want := o.acked && o.busy == 0 && rests(o.ordType, o.tif)
		if want != (o.idleIdx >= 0) {
			t.Fatalf("order %q idle %d, want listed %v", id, o.idleIdx, want)
		}
	}
}

// near reports whether a histogram's value is want within its precision
// (3 significant digits).
func near(got, want int64) bool { return got >= want && got <= want+want/1000+1 }

// The lifecycle of an order through each path: every answer completes its
// request, is recorded from the intended time, and keeps the tables right.
func TestSessionCorrelatesEveryPath(t *testing.T) {
	ts := newTestSession(t)
	o := ts.newOrder("A", Limit, Day, 1_000)
	ts.onReport(&Report{Kind: ReportNew, ClOrdID: "A", EventNs: 77}, 4_000)
	ts.checkInvariants(t)
	ts.send(Request{Kind: RequestReplace, ClOrdID: "A2", OrigClOrdID: "A", Qty: 20, Price: 9_980}, o, 10_000)
	ts.checkInvariants(t)
	if len(ts.idle) != 0 {
		t.Fatal("an order with a replace in flight is offered for another")
	}
	ts.onReport(&Report{Kind: ReportReplaced, ClOrdID: "A2", OrigClOrdID: "A"}, 10_500)
	ts.checkInvariants(t)
	if ts.orders["A2"] != o || ts.orders["A"] != nil || o.price != 9_980 || o.qty != 20 || len(ts.idle) != 1 {
		t.Fatalf("after the replace: orders %v, order %+v", ts.orders, o)
	}
	ts.send(Request{Kind: RequestCancel, ClOrdID: "C1", OrigClOrdID: "A2"}, o, 20_000)
	ts.onReport(&Report{Kind: ReportCanceled, ClOrdID: "C1", OrigClOrdID: "A2", Done: true}, 20_700)
	ts.checkInvariants(t)
	if !o.done.Load() || len(ts.orders) != 0 {
		t.Fatal("the cancelled order is still tracked")
	}
	ioc := ts.newOrder("I", Limit, IOC, 30_000)
	ts.onReport(&Report{Kind: ReportNew, ClOrdID: "I", EventNs: 99}, 30_100)
	ts.onReport(&Report{Kind: ReportTrade, ClOrdID: "I", EventNs: 99, CumQty: 4}, 30_200)
	ts.onReport(&Report{Kind: ReportCanceled, ClOrdID: "I", Done: true}, 30_300)
	ts.checkInvariants(t)
	if !ioc.done.Load() || ts.inFlight.Load() != 0 {
		t.Fatal("the IOC order is still tracked")
	}
	p := ts.finish(t)
	want := []struct {
		count, min, max int64
	}{{2, 100, 3_000}, {1, 200, 200}, {1, 700, 700}, {1, 500, 500}}
	for i, w := range want {
		h := p[i].Hist
		if h.TotalCount() != w.count || !near(h.Min(), w.min) || !near(h.Max(), w.max) || p[i].Errors != 0 || p[i].Timeouts != 0 {
			t.Errorf("%s: n=%d min %d max %d errors %d timeouts %d, want n=%d min %d max %d",
				p[i].Name, h.TotalCount(), h.Min(), h.Max(), p[i].Errors, p[i].Timeouts, w.count, w.min, w.max)
		}
	}
}

// A fill is timed only when the order traded on arrival: same event time as
// its New, or the venue says it was the aggressor; a later fill of a
// resting order is counted, not timed.
func TestSessionTimesOnlyFillsOnArrival(t *testing.T) {
	tests := []struct {
		name  string
		fill  Report
		timed bool
	}{
		{"same event as the New", Report{Kind: ReportTrade, EventNs: 5}, true},
		{"a later event", Report{Kind: ReportTrade, EventNs: 6}, false},
		{"no event time", Report{Kind: ReportTrade}, false},
		{"aggressor", Report{Kind: ReportTrade, EventNs: 6, Aggressor: AggressorYes}, true},
		{"resting, same event time", Report{Kind: ReportTrade, EventNs: 5, Aggressor: AggressorNo}, false},
	}
	for _, tc := range tests {
		ts := newTestSession(t)
		ts.newOrder("O", Limit, Day, 0)
		ts.onReport(&Report{Kind: ReportNew, ClOrdID: "O", EventNs: 5}, 10)
		fill := tc.fill
		fill.ClOrdID = "O"
		ts.onReport(&fill, 20)
		ts.onReport(&fill, 30) // a second fill is never timed
		p := ts.finish(t)
		if got := p[pathFill].Hist.TotalCount() == 1; got != tc.timed {
			t.Errorf("%s: timed %v, want %v", tc.name, got, tc.timed)
		}
		if tc.timed != (ts.stats.FillsTimed.Load() == 1) || tc.timed == (ts.stats.FillsLater.Load() == 1) {
			t.Errorf("%s: fills timed %d, later %d", tc.name, ts.stats.FillsTimed.Load(), ts.stats.FillsLater.Load())
		}
	}
}

// Rejects are errors in the path's histogram, counted by reason; the
// order of a rejected new order and the busy mark of a rejected cancel go.
func TestSessionRejectsAreErrors(t *testing.T) {
	ts := newTestSession(t)
	ts.newOrder("R", Limit, Day, 0)
	ts.onReport(&Report{Kind: ReportRejected, ClOrdID: "R", Done: true, Reason: "PriceOutsideBand"}, 50)
	o := ts.newOrder("A", Limit, Day, 100)
	ts.onReport(&Report{Kind: ReportNew, ClOrdID: "A"}, 150)
	ts.send(Request{Kind: RequestCancel, ClOrdID: "C", OrigClOrdID: "A"}, o, 200)
	ts.onReport(&Report{Kind: ReportCancelRejected, ClOrdID: "C", Reason: "TooLateToCancel"}, 260)
	ts.send(Request{Kind: RequestReplace, ClOrdID: "G", OrigClOrdID: "A"}, o, 300)
	ts.onReport(&Report{Kind: ReportRequestRejected, ClOrdID: "G", Reason: "session reject: x"}, 390)
	ts.checkInvariants(t)
	if ts.orders["R"] != nil || ts.orders["A"] != o || o.busy != 0 || len(ts.idle) != 1 {
		t.Fatalf("orders %v, A %+v", ts.orders, o)
	}
	p := ts.finish(t)
	for _, c := range []struct {
		path reports.PathID
		n    int64
		max  int64
	}{{pathNew, 2, 50}, {pathCancel, 1, 60}, {pathReplace, 1, 90}} {
		if p[c.path].Hist.TotalCount() != c.n || !near(p[c.path].Hist.Max(), c.max) {
			t.Errorf("%s: n=%d max %d, want n=%d max %d", p[c.path].Name, p[c.path].Hist.TotalCount(), p[c.path].Hist.Max(), c.n, c.max)
		}
	}
	if p[pathNew].Errors != 1 || p[pathCancel].Errors != 1 || p[pathReplace].Errors != 1 {
		t.Errorf("errors: %d %d %d", p[pathNew].Errors, p[pathCancel].Errors, p[pathReplace].Errors)
	}
	rs := ts.stats.report().Rejects
	if len(rs) != 3 || ts.stats.Errors.Load() != 3 {
		t.Errorf("rejects %v, errors %d", rs, ts.stats.Errors.Load())
	}
}

// Unanswered requests are given up on after the timeout, recorded at no
// less than it, and their answers, if they come later, are unmatched.
func TestSessionTimeouts(t *testing.T) {
	ts := newTestSession(t)
	o := ts.newOrder("A", Limit, Day, 0)
	ts.onReport(&Report{Kind: ReportNew, ClOrdID: "A"}, 10)
	ts.newOrder("B", Limit, Day, 100)
	ts.send(Request{Kind: RequestCancel, ClOrdID: "C", OrigClOrdID: "A"}, o, 200)
	if n := ts.expire(testTimeoutNs+99, false); n != 0 {
		t.Fatalf("gave up on %d requests before their time", n)
	}
	if n := ts.expire(testTimeoutNs+150, false); n != 1 {
		t.Fatalf("gave up on %d, want B only", n)
	}
	if n := ts.expire(testTimeoutNs+150, true); n != 1 {
		t.Fatalf("gave up on %d, want the cancel (all)", n)
	}
	ts.checkInvariants(t)
	ts.onReport(&Report{Kind: ReportNew, ClOrdID: "B"}, 2*testTimeoutNs)
	if ts.stats.Unmatched.Load() != 1 || ts.orders["B"] != nil || o.busy != 0 || ts.orders["A"] != o {
		t.Fatalf("unmatched %d, orders %v", ts.stats.Unmatched.Load(), ts.orders)
	}
	p := ts.finish(t)
	if p[pathNew].Timeouts != 1 || p[pathNew].Hist.Max() < testTimeoutNs || p[pathCancel].Timeouts != 1 {
		t.Errorf("new: %d timeouts, max %d; cancel: %d timeouts", p[pathNew].Timeouts, p[pathNew].Hist.Max(), p[pathCancel].Timeouts)
	}
	if ts.stats.Timeouts.Load() != 2 {
		t.Errorf("stats timeouts %d", ts.stats.Timeouts.Load())
	}
}

// The in-flight table and the order table stop at their bounds.
func TestSessionBounds(t *testing.T) {
	ts := newTestSession(t)
	for i := 0; ts.roomLocked(); i++ {
		if i > InFlightPerSessionMax {
			t.Fatal("no bound on requests in flight")
		}
		ts.newOrder(fmt.Sprint("N", i), Limit, Day, int64(i))
	}
	if len(ts.pending) != InFlightPerSessionMax {
		t.Fatalf("room ran out at %d, want %d", len(ts.pending), InFlightPerSessionMax)
	}
	// Answering one makes room for one, and says so.
	ts.onReport(&Report{Kind: ReportNew, ClOrdID: "N0"}, 1)
	select {
	case <-ts.space:
	default:
		t.Fatal("no signal of room")
	}
	if !ts.roomLocked() {
		t.Fatal("no room after an answer")
	}
	for i := 1; i < InFlightPerSessionMax; i++ {
		ts.onReport(&Report{Kind: ReportNew, ClOrdID: fmt.Sprint("N", i)}, 2)
	}
	ts.checkInvariants(t)
	for i := len(ts.orders); ts.orderRoomLocked(); i++ {
		if i > OrdersPerSessionMax {
			t.Fatal("no bound on tracked orders")
		}
		id := fmt.Sprint("M", i)
		ts.newOrder(id, Limit, Day, 3)
		ts.onReport(&Report{Kind: ReportNew, ClOrdID: id}, 4)
	}
	if len(ts.orders) != OrdersPerSessionMax {
		t.Fatalf("order room ran out at %d, want %d", len(ts.orders), OrdersPerSessionMax)
	}
}

// Reports for nothing the session sent change nothing but a counter.
func TestSessionIgnoresStrangers(t *testing.T) {
	ts := newTestSession(t)
	o := ts.newOrder("A", Limit, Day, 0)
	ts.onReport(&Report{Kind: ReportNew, ClOrdID: "A"}, 1)
	for k := ReportNew; k <= ReportOther; k++ {
		ts.onReport(&Report{Kind: k, ClOrdID: "X", OrigClOrdID: "Y"}, 2)
	}
	ts.checkInvariants(t)
	if ts.orders["A"] != o || o.done.Load() || ts.stats.Unmatched.Load() == 0 {
		t.Fatalf("orders %v, unmatched %d", ts.orders, ts.stats.Unmatched.Load())
	}
	ts.close()
	ts.onReport(&Report{Kind: ReportCanceled, ClOrdID: "A"}, 3)
	if o.done.Load() {
		t.Fatal("a closed session still applies reports")
	}
}
