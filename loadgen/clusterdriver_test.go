package loadgen

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"venue/cluster/client"
	"venue/fixgateway"
	"venue/fixgateway/fakecluster"
)

// fakeClusterWait is how long a fake session's idle wait lasts: the fake
// cluster has no socket to wait on, so the session polls it this often.
const fakeClusterWait = 100 * time.Microsecond

// clusterTestWait bounds the waits of these tests.
const clusterTestWait = 10 * time.Second

// fakeConn is a clusterConn on fakecluster: the venue's engine behind an
// in-process log, with the fake's controls for a slow quorum and failover.
type fakeConn struct {
	c *fakecluster.Client
	a fakeHandler
}

func (f *fakeConn) Offer(p []byte) (int64, error) {
	switch r := f.c.Offer(p); {
	case r.Accepted():
		return int64(r), nil
	case r == fixgateway.OfferClosed:
		return 0, client.ErrClosed
	}
	return 0, client.ErrBackPressured // including the fake's refusal while outcomes are unknown
}

func (f *fakeConn) Poll(h client.Handler, limit int) int {
	f.a.h = h
	return f.c.Poll(&f.a, limit)
}

func (f *fakeConn) Wait(timeout time.Duration) { time.Sleep(min(timeout, fakeClusterWait)) }
func (f *fakeConn) Close()                     { f.c.Close() }

// fakeHandler adapts fixgateway.ClusterHandler to client.Handler.
type fakeHandler struct{ h client.Handler }

func (a *fakeHandler) OnMessage(msg []byte)                 { a.h.OnMessage(0, 0, msg) }
func (a *fakeHandler) OnNewLeader(leader int32, term int64) { a.h.OnNewLeader(leader, term) }
func (a *fakeHandler) OnUnknownOutcome(pos int64, msg []byte) {
	a.h.OnUnknownOutcome(pos, msg, "fake failover")
}

// newFakeClusterDriver returns a cluster driver whose sessions are clients
// of a fake venue provisioned with the demo spec (traders DEMO1..DEMO4).
func newFakeClusterDriver(t *testing.T, cfg Config) (*ClusterDriver, *fakecluster.Venue) {
	t.Helper()
	v, err := fakecluster.NewVenue(fakecluster.DemoSpec())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Via, cfg.Target = ViaCluster, "127.0.0.1:1"
	if cfg, err = cfg.withDefaults(); err != nil {
		t.Fatal(err)
	}
	d, err := NewClusterDriver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	d.dial = func(ctx context.Context, creds string) (clusterConn, error) {
		principal, _, _ := strings.Cut(creds, ":")
		c := v.NewClient()
		if err := c.Connect(ctx, fixgateway.Credentials{Principal: principal}); err != nil {
			return nil, err
		}
		return &fakeConn{c: c}, nil
	}
	return d, v
}

// The default mix through the cluster driver against the venue's engine:
// every message is answered, nothing fails, every path has samples, fills
// are told apart by the engine's aggressor flag, and the closing mass
// cancel is answered.
func TestClusterDriverRunAgainstEngine(t *testing.T) {
	cfg := testConfig(t)
	cfg.Sessions, cfg.RatePerS = 4, 1000
	cfg.Duration = 400 * time.Millisecond
	d, _ := newFakeClusterDriver(t, cfg)
	res, err := Run(context.Background(), cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	st := res.Stats
	t.Logf("stats %+v", st)
	if st.Errors != 0 || st.Timeouts != 0 || st.Answered != res.Summary.Sent || res.Summary.Sent != 400 {
		t.Errorf("sent %d: answered %d, errors %d, timeouts %d (rejects %v)", res.Summary.Sent, st.Answered, st.Errors, st.Timeouts, st.Rejects)
	}
	for _, p := range res.Summary.Paths {
		if p.Count == 0 {
			t.Errorf("path %s has no samples", p.Name)
		}
	}
	if st.FillsTimed == 0 || st.CleanupError != "" || st.CleanupCanceled == 0 {
		t.Errorf("fills timed %d, cleanup %d %q", st.FillsTimed, st.CleanupCanceled, st.CleanupError)
	}
	c := d.Counters()
	if c.Offered.Load() < res.Summary.Sent || c.UnknownOutcomes.Load() != 0 || c.Undecodable.Load() != 0 {
		t.Errorf("counters: offered %d, unknown %d, undecodable %d", c.Offered.Load(), c.UnknownOutcomes.Load(), c.Undecodable.Load())
	}
}

// recordingSink keeps what a driver delivers.
type recordingSink struct {
	mu      sync.Mutex
	reports []Report
	failed  map[string]error
}

func (s *recordingSink) OnReport(_ int, r *Report) {
	s.mu.Lock()
	s.reports = append(s.reports, *r)
	s.mu.Unlock()
}

func (s *recordingSink) OnSendFailed(_ int, id string, err error) {
	s.mu.Lock()
	if s.failed == nil {
		s.failed = map[string]error{}
	}
	s.failed[id] = err
	s.mu.Unlock()
}

// until polls cond until it holds or the test's wait runs out.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(clusterTestWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s within %v", what, clusterTestWait)
		}
		time.Sleep(time.Millisecond) // poll interval
	}
}

// Commands whose outcome the client cannot vouch for after a leader change
// come back to the sink as failed sends wrapping ErrUnknownOutcome —
// whether the new leader had them (their reports were lost) or not.
func TestClusterDriverUnknownOutcomesAreErrors(t *testing.T) {
	for _, committed := range []bool{false, true} {
		d, v := newFakeClusterDriver(t, Config{Sessions: 1, RatePerS: 1, Duration: time.Second})
		sink := &recordingSink{}
		if err := d.Start(context.Background(), sink); err != nil {
			t.Fatal(err)
		}
		v.Hold()
		ids := []string{"U1", "U2", "U3"}
		for i, id := range ids {
			req := Request{Kind: RequestNew, ClOrdID: id, Side: Buy, OrdType: Limit, TIF: Day, Qty: 1, Price: 9_900 + int64(i)}
			if err := d.Send(0, &req); err != nil {
				t.Fatal(err)
			}
		}
		until(t, "held commands", func() bool { return v.Held() == len(ids) })
		v.Failover(committed)
		until(t, "unknown outcomes", func() bool {
			sink.mu.Lock()
			defer sink.mu.Unlock()
			return len(sink.failed) == len(ids)
		})
		d.Stop()
		for _, id := range ids {
			if err := sink.failed[id]; !errors.Is(err, ErrUnknownOutcome) {
				t.Errorf("committed %v: %s failed with %v", committed, id, err)
			}
		}
		if len(sink.reports) != 0 {
			t.Errorf("committed %v: reports %+v, the egress was lost", committed, sink.reports)
		}
		if c := d.Counters(); c.UnknownOutcomes.Load() != 3 || c.NewLeaders.Load() != 1 {
			t.Errorf("committed %v: %d unknown, %d new leaders", committed, c.UnknownOutcomes.Load(), c.NewLeaders.Load())
		}
	}
}

// A session whose offers are refused keeps at most clusterOutboxCapacity
// commands queued; after Stop nothing is accepted.
func TestClusterDriverOutboxIsBounded(t *testing.T) {
	d, v := newFakeClusterDriver(t, Config{Sessions: 1, RatePerS: 1, Duration: time.Second})
	if err := d.Start(context.Background(), &recordingSink{}); err != nil {
		t.Fatal(err)
	}
	v.SetBackPressure(true)
	req := Request{Kind: RequestNew, Side: Sell, OrdType: Limit, TIF: Day, Qty: 1, Price: 10_100}
	for i := range clusterOutboxCapacity {
		req.ClOrdID = "B" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if err := d.Send(0, &req); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if err := d.Send(0, &req); !errors.Is(err, ErrClusterOutboxFull) {
		t.Errorf("send past the outbox: %v", err)
	}
	v.SetBackPressure(false)
	until(t, "the outbox offered", func() bool { return d.sessions[0].queued() == 0 })
	d.Stop()
	if err := d.Send(0, &req); !errors.Is(err, ErrClusterStopped) {
		t.Errorf("send after stop: %v", err)
	}
	if d.Counters().BackPressured.Load() == 0 {
		t.Error("no back pressure counted")
	}
}

// A session that cannot be opened fails Start with the principal and the
// endpoints named.
func TestClusterDriverStartFailsWithoutCluster(t *testing.T) {
	cfg, err := Config{Via: ViaCluster, Target: "127.0.0.1:9", Sessions: 1, RatePerS: 1, Duration: time.Second}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewClusterDriver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err = d.Start(ctx, &recordingSink{})
	d.Stop()
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("start: %v", err)
	}
}

// The driver's bounds fit together: the outbox holds what the engine may
// have in flight, the client's window takes it, a back-pressured session
// retries sooner than an idle one wakes.
func TestClusterDriverConstants(t *testing.T) {
	if clusterOutboxCapacity < InFlightPerSessionMax {
		t.Errorf("outbox %d < in flight %d", clusterOutboxCapacity, InFlightPerSessionMax)
	}
	if clusterWindowMax < InFlightPerSessionMax || clusterWindowMax > client.WindowMaxLimit {
		t.Errorf("window %d not in [%d, %d]", clusterWindowMax, InFlightPerSessionMax, client.WindowMaxLimit)
	}
	if clusterBackoffWait >= clusterParkMax || clusterPollLimit < 1 {
		t.Errorf("back-off %v, park %v, poll limit %d", clusterBackoffWait, clusterParkMax, clusterPollLimit)
	}
}
