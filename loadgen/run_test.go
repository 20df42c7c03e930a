package loadgen

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"venue/reports"
)

// fakeQueueMax bounds the fake venue's queue of requests to answer.
const fakeQueueMax = 1 << 16

// fakeDriver is an in-process venue that answers every request at once,
// from its own goroutine: orders are acknowledged (IOC and market ones fill
// one lot in the same event and are done), cancels cancel, replaces replace.
type fakeDriver struct {
	sink    Sink
	queue   chan fakeRequest
	stop    chan struct{}
	wg      sync.WaitGroup
	sends   atomic.Int64
	silent  func(*Request) bool // requests it never answers
	stallAt int64               // the Send that stalls (1-based; 0: none)
	stall   time.Duration       // how long that Send stalls the sender
	events  atomic.Int64
}

type fakeRequest struct {
	session int
	req     Request
}

func newFakeDriver() *fakeDriver {
	return &fakeDriver{queue: make(chan fakeRequest, fakeQueueMax), stop: make(chan struct{})}
}

func (f *fakeDriver) Start(ctx context.Context, sink Sink) error {
	f.sink = sink
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		for {
			select {
			case <-f.stop:
				return
			case r := <-f.queue:
				f.answer(r.session, &r.req)
			}
		}
	}()
	return nil
}

func (f *fakeDriver) answer(s int, req *Request) {
	if f.silent != nil && f.silent(req) {
		return
	}
	ev := f.events.Add(1)
	switch req.Kind {
	case RequestNew:
		f.sink.OnReport(s, &Report{Kind: ReportNew, ClOrdID: req.ClOrdID, EventNs: ev})
		if !rests(req.OrdType, req.TIF) {
			f.sink.OnReport(s, &Report{Kind: ReportTrade, ClOrdID: req.ClOrdID, EventNs: ev, CumQty: 1})
			f.sink.OnReport(s, &Report{Kind: ReportCanceled, ClOrdID: req.ClOrdID, EventNs: ev, Done: true})
		}
	case RequestCancel:
		f.sink.OnReport(s, &Report{Kind: ReportCanceled, ClOrdID: req.ClOrdID, OrigClOrdID: req.OrigClOrdID, Done: true})
	case RequestReplace:
		f.sink.OnReport(s, &Report{Kind: ReportReplaced, ClOrdID: req.ClOrdID, OrigClOrdID: req.OrigClOrdID})
	}
}

func (f *fakeDriver) Send(s int, req *Request) error {
	if n := f.sends.Add(1); n == f.stallAt {
		time.Sleep(f.stall) // the simulated stall itself, not a wait for something
	}
	select {
	case f.queue <- fakeRequest{s, *req}:
		return nil
	default:
		return errors.New("fake venue: queue full")
	}
}

func (f *fakeDriver) CancelAll(context.Context) (int64, error) { return 17, nil }

func (f *fakeDriver) Stop() {
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	f.wg.Wait()
}

func testConfig(t *testing.T) Config {
	return Config{Target: "127.0.0.1:1", Sessions: 3, RatePerS: 2000, Duration: 250 * time.Millisecond,
		Warmup: 100 * time.Millisecond, Timeout: 5 * time.Second, Seed: 3, Cleanup: true,
		ReportDir: filepath.Join(t.TempDir(), "report"), SkipCharts: true}
}

// Every scheduled message is sent exactly once, the warm-up is sent and not
// measured, every path gets samples, and the report directory reads back.
func TestRunAccountsForEveryMessage(t *testing.T) {
	cfg := testConfig(t)
	res, err := Run(context.Background(), cfg, newFakeDriver())
	if err != nil {
		t.Fatal(err)
	}
	st := res.Stats
	if res.Summary.Sent != 500 || st.WarmupSent != 200 || st.Answered != 500 || st.Timeouts != 0 || st.Errors != 0 {
		t.Fatalf("sent %d (want 500), warm-up %d (want 200), answered %d, stats %+v", res.Summary.Sent, st.WarmupSent, st.Answered, st)
	}
	if st.CleanupCanceled != 17 || st.Interrupted || st.Unmatched != 0 {
		t.Errorf("stats %+v", st)
	}
	l, err := reports.ReadReport(cfg.ReportDir)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for _, p := range l.Summary.Paths {
		if p.Count == 0 {
			t.Errorf("%s: no samples", p.Name)
		}
		if p.Name != PathOrderFill {
			total += p.Count
		}
	}
	if total != 500 || l.Summary.Sent != 500 {
		t.Errorf("%d samples on the request paths, summary sent %d; want 500", total, l.Summary.Sent)
	}
	// The duration is the sending window, so the rate is the one sent at.
	if r := l.Summary.AchievedRatePerS; r < 1000 || r > 2100 {
		t.Errorf("achieved %.0f/s over %d ns, target 2000/s", r, l.Summary.DurationNs)
	}
	if _, err := os.Stat(filepath.Join(cfg.ReportDir, StatsFile)); err != nil {
		t.Error(err)
	}
}

// A stall of the sender is charged to the messages it delays: the venue
// answers at once, yet the order→new latencies of the delayed orders reach
// the stall's length, because they are timed from their intended send.
func TestRunChargesStallsToTheMessagesTheyDelay(t *testing.T) {
	cfg := testConfig(t)
	cfg.Warmup, cfg.RatePerS, cfg.Duration, cfg.ReportDir = 0, 1000, 600*time.Millisecond, ""
	d := newFakeDriver()
	d.stallAt, d.stall = 200, 100*time.Millisecond
	res, err := Run(context.Background(), cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	// About 100 messages were due during the stall, ~70% of them orders:
	// the ~7 due in its first 10 ms waited 90 ms or more, more than 1% of
	// the ~420 orders, so the p99 is one of them.
	l := reports.LatencyOf(res.Run.Paths[pathNew].Hist)
	// Margins allow for a loaded host shifting the stall against the
	// schedule; without the correction these would be microseconds.
	if l.P99Ns < 80_000_000 || l.MaxNs < 90_000_000 || res.Stats.SendLag.MaxNs < 90_000_000 {
		t.Errorf("order→new %v, send lag %v: the 100 ms stall is not in the latencies", l, res.Stats.SendLag)
	}
	if res.Stats.Answered != 600 {
		t.Errorf("answered %d of 600", res.Stats.Answered)
	}
}

// Requests the venue never answers are given up on after the timeout and
// stay in the percentiles, at the timeout.
func TestRunTimeoutsStayInPercentiles(t *testing.T) {
	cfg := testConfig(t)
	cfg.Warmup, cfg.Timeout, cfg.ReportDir = 0, 150*time.Millisecond, ""
	d := newFakeDriver()
	d.silent = func(r *Request) bool { return r.Kind == RequestCancel }
	start := time.Now()
	res, err := Run(context.Background(), cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	cancels := res.Run.Paths[pathCancel]
	sent := res.Stats.Sent["cancel"]
	if sent == 0 || cancels.Timeouts != sent || cancels.Hist.TotalCount() != sent ||
		cancels.Hist.Min() < 150_000_000*999/1000 { // three significant figures: a bucket may start below
		t.Errorf("%d cancels sent; path: %d timeouts, %d samples, min %d ns", sent, cancels.Timeouts, cancels.Hist.TotalCount(), cancels.Hist.Min())
	}
	if res.Stats.Timeouts != sent || res.Run.Paths[pathNew].Timeouts != 0 {
		t.Errorf("stats %+v", res.Stats)
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("the run took %v: the drain did not end at the timeout", el)
	}
}

// Cancelling the run stops sending at once; the answers are drained and the
// report still covers what was sent.
func TestRunStopsCleanlyWhenCancelled(t *testing.T) {
	cfg := testConfig(t)
	cfg.Duration = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(300*time.Millisecond, cancel)
	res, err := Run(ctx, cfg, newFakeDriver())
	if err != nil {
		t.Fatal(err)
	}
	st := res.Stats
	if !st.Interrupted || res.Summary.Sent == 0 || st.Answered != res.Summary.Sent || st.Timeouts != 0 {
		t.Errorf("interrupted %v, sent %d, stats %+v", st.Interrupted, res.Summary.Sent, st)
	}
	if d := time.Duration(res.Summary.DurationNs); d <= 0 || d > 10*time.Second {
		t.Errorf("measured %v", d)
	}
	if _, err := reports.ReadReport(cfg.ReportDir); err != nil {
		t.Error(err)
	}
}

// A second interrupt (Abort) ends the wait for answers that are not coming:
// they are recorded as timeouts at once.
func TestRunAbortEndsTheDrain(t *testing.T) {
	cfg := testConfig(t)
	cfg.Duration, cfg.Warmup, cfg.Timeout, cfg.ReportDir = time.Hour, 0, 50*time.Second, ""
	abort := make(chan struct{})
	cfg.Abort = abort
	d := newFakeDriver()
	d.silent = func(*Request) bool { return true }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(100*time.Millisecond, cancel)
	time.AfterFunc(300*time.Millisecond, func() { close(abort) })
	start := time.Now()
	res, err := Run(ctx, cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("the run took %v after the abort", el)
	}
	sent := res.Stats.Sent["new"] + res.Stats.Sent["cancel"] + res.Stats.Sent["replace"]
	if sent == 0 || res.Stats.Timeouts != sent || res.Stats.Answered != 0 {
		t.Errorf("sent %d, stats %+v", sent, res.Stats)
	}
}

// An order-flow file runs to its end: its warm-up records unmeasured, the
// rest measured.
func TestRunReplaysAFlowFile(t *testing.T) {
	const path = "../../shared/orderflow/tiny.bin"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("no reference file: %v", err)
	}
	cfg := testConfig(t)
	cfg.FlowFile, cfg.Warmup, cfg.Duration, cfg.ReportDir = path, 0, time.Hour, ""
	res, err := Run(context.Background(), cfg, newFakeDriver())
	if err != nil {
		t.Fatal(err)
	}
	st := res.Stats
	if !st.FlowExhausted || st.WarmupSent != 5 || st.Answered != 20 || st.FlowSkipped != 0 || st.Interrupted {
		t.Errorf("stats %+v", st)
	}
}

func TestConfigValidation(t *testing.T) {
	good := testConfig(t)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := map[string]func(*Config){
		"no sessions":           func(c *Config) { c.Sessions = 0 },
		"more than the CompIDs": func(c *Config) { c.Sessions = 5 },
		"too many sessions":     func(c *Config) { c.Sessions = SessionsMax + 1 },
		"zero rate":             func(c *Config) { c.RatePerS = 0 },
		"rate too high":         func(c *Config) { c.RatePerS = RateMaxPerS + 1 },
		"no duration":           func(c *Config) { c.Duration = 0 },
		"negative warm-up":      func(c *Config) { c.Warmup = -1 },
		"timeout too long":      func(c *Config) { c.Timeout = TimeoutMax + 1 },
		"no port":               func(c *Config) { c.Target = "localhost" },
		"bad port":              func(c *Config) { c.Target = "localhost:http" },
		"unknown via":           func(c *Config) { c.Via = "carrier-pigeon" },
		"repeated CompID":       func(c *Config) { c.CompIDs = []string{"A", "A", "B"} },
		"CompID with a space":   func(c *Config) { c.CompIDs = []string{"A B", "C", "D"} },
		"instrument off tick": func(c *Config) {
			c.Instruments = []Instrument{{Symbol: "X", TickSize: 3, LotSize: 1, ReferencePrice: 100}}
		},
		"instrument band narrow": func(c *Config) {
			c.Instruments = []Instrument{{Symbol: "X", TickSize: 1, LotSize: 1, ReferencePrice: 100, BandBps: 1}}
		},
	}
	for name, mutate := range tests {
		c := good
		mutate(&c)
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: %v, want ErrConfig", name, err)
		}
		if _, err := Run(context.Background(), c, newFakeDriver()); !errors.Is(err, ErrConfig) {
			t.Errorf("%s: Run: %v, want ErrConfig", name, err)
		}
	}
	c := good
	c.Via = ViaCluster
	c.Target = "127.0.0.1:9010,127.0.0.1:9011"
	if d, err := NewDriver(c); err != nil {
		t.Errorf("via cluster: %v", err)
	} else if _, ok := d.(*ClusterDriver); !ok {
		t.Errorf("via cluster: a %T", d)
	}
	c.Target = ""
	if err := c.Validate(); !errors.Is(err, ErrConfig) {
		t.Errorf("via cluster without a target: %v", err)
	}
}
