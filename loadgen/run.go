package loadgen

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"venue/orderbook/orderflow"
	"venue/reports"
)

// Timing of the run's housekeeping.
const (
	// expireScanInterval is how often requests past their timeout are
	// looked for; a timeout is noticed up to this late (and recorded at
	// its measured latency, which is at least the timeout).
	expireScanInterval = 50 * time.Millisecond
	// progressInterval is the progress line's period, and the latency-
	// over-time series' resolution.
	progressInterval = time.Second
	// drainPollInterval is how often the drain checks for the last answers.
	drainPollInterval = 2 * time.Millisecond
	// cleanupTimeout bounds the closing mass cancel.
	cleanupTimeout = 5 * time.Second
	// pickAttemptsMax bounds the picks for one scheduled message when the
	// source has nothing to send for them; the slot is then left empty
	// (Stats.SlotsEmpty).
	pickAttemptsMax = 1024
	// statsFileMode is loadgen.json's permissions.
	statsFileMode = 0o644
)

// Result is a finished run.
type Result struct {
	// Summary is summary.json as written; nil without Config.ReportDir.
	Summary *reports.Summary
	// Run is the run's histograms and series.
	Run   *reports.Run
	Stats StatsReport
}

// Run sends cfg's load through d and returns (and, with cfg.ReportDir,
// writes) its report. When ctx ends, sending stops early; the answers still
// outstanding are waited for (up to cfg.Timeout, or until cfg.Abort closes)
// and the report covers what was sent. Run starts and stops d.
func Run(ctx context.Context, cfg Config, d Driver) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	r, err := newRunner(cfg, d)
	if err != nil {
		return nil, err
	}
	if err := d.Start(ctx, r); err != nil {
		d.Stop()
		return nil, fmt.Errorf("loadgen: start %s sessions to %s: %w", cfg.Via, cfg.Target, err)
	}
	defer d.Stop()
	return r.run(ctx)
}

// runner is one run's engine: the schedule, the sessions' correlators, the
// collector, and the goroutines that drive them.
type runner struct {
	cfg      Config
	d        Driver
	src      source
	flow     *flowSource // nil for the mix
	sessions []*session
	col      *reports.Collector
	stats    *Stats
	base     time.Time // the run's clock: nanoseconds since base
	ids      clOrdIDs
	inFlight atomic.Int64
	sent     atomic.Int64 // every message sent, warm-up included

	startNs        int64        // sending began
	measureStartNs atomic.Int64 // 0 until the measured part begins
	draining       atomic.Bool
	lastSent       int64 // progress line state, background goroutine only
	lastProgressNs int64
}

func newRunner(cfg Config, d Driver) (*runner, error) {
	r := &runner{cfg: cfg, d: d, stats: newStats(), base: time.Now()}
	r.ids = newClOrdIDs(r.base)
	if cfg.FlowFile != "" {
		f, err := orderflow.ReadFile(cfg.FlowFile)
		if err != nil {
			return nil, fmt.Errorf("loadgen: flow: %w", err)
		}
		r.flow = newFlowSource(f, cfg.Sessions, cfg.Instruments, r.stats)
		r.src = r.flow
	} else {
		r.src = newMixSource(cfg.Seed, cfg.Sessions, cfg.Instruments)
	}
	col, err := reports.NewCollector(reports.Config{Paths: PathNames(), TimeoutNs: cfg.Timeout.Nanoseconds()}, r.now())
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	r.col = col
	for i := 0; i < cfg.Sessions; i++ {
		r.sessions = append(r.sessions, newSession(i, col.NewRecorder(), r.stats, &r.inFlight, cfg.Timeout.Nanoseconds()))
	}
	return r, nil
}

// now is the run's monotonic clock, in nanoseconds since base.
func (r *runner) now() int64 { return int64(time.Since(r.base)) }

// OnReport implements Sink.
func (r *runner) OnReport(s int, rep *Report) {
	if s < 0 || s >= len(r.sessions) {
		r.stats.Unmatched.Add(1)
		return
	}
	r.sessions[s].onReport(rep, r.now())
}

// OnSendFailed implements Sink.
func (r *runner) OnSendFailed(s int, clOrdID string, err error) {
	if s < 0 || s >= len(r.sessions) {
		return
	}
	r.sessions[s].failSend(clOrdID, r.now(), err.Error())
}

func (r *runner) run(ctx context.Context) (*Result, error) {
	r.startNs = r.now()
	r.lastProgressNs = r.startNs
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); r.background(stop) }()
	sendEndNs, interrupted := r.send(ctx)
	r.draining.Store(true)
	r.drain(sendEndNs)
	close(stop)
	wg.Wait()
	for _, s := range r.sessions {
		s.expire(r.now(), true) // only after an abort: the drain waited out the timeout
		s.close()               // reports from now on (the cleanup's) record nothing
	}
	run, err := r.col.Finish(r.now())
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	// The rate is over the sending window, not the drain after it.
	run.EndNs = max(sendEndNs, run.StartNs)
	res := &Result{Run: run}
	rep := r.stats.report()
	rep.Interrupted = interrupted
	rep.FlowExhausted = r.flow != nil && r.flow.exhausted()
	if r.cfg.Cleanup {
		rep.CleanupCanceled, rep.CleanupError = r.cleanup()
	}
	res.Stats = rep
	if r.cfg.ReportDir == "" {
		return res, nil
	}
	sum, err := r.write(run, rep)
	res.Summary = sum
	return res, err
}

// send runs the schedule until the measured part's duration has passed, the
// source is exhausted or ctx ends. It returns when sending stopped and
// whether ctx stopped it.
func (r *runner) send(ctx context.Context) (endNs int64, interrupted bool) {
	sched := Schedule{StartNs: r.startNs, RatePerS: int64(r.cfg.RatePerS)}
	warmEndNs := r.startNs + r.cfg.Warmup.Nanoseconds()
	measureEndNs := int64(math.MaxInt64)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for i := int64(0); ; i++ {
		intended := sched.IntendedNs(i)
		if intended >= measureEndNs {
			return max(measureEndNs, r.now()), false
		}
		if !waitUntil(ctx, timer, sched.WaitNs(i, r.now())) {
			return r.now(), true
		}
		switch r.sendOne(ctx, intended, warmEndNs, &measureEndNs) {
		case sendInterrupted:
			return r.now(), true
		case sendExhausted:
			return r.now(), false
		}
	}
}

// sendResult is how one scheduled message went.
type sendResult uint8

const (
	sendDone sendResult = iota
	sendInterrupted
	sendExhausted
)

// sendOne sends the message due at intended: it picks its session, waits
// for room there if the session is at InFlightPerSessionMax (the wait is
// charged to the message), plans it and hands it to the driver.
func (r *runner) sendOne(ctx context.Context, intended, warmEndNs int64, measureEndNs *int64) sendResult {
	for attempt := 0; attempt < pickAttemptsMax; attempt++ {
		si, ok := r.src.pick()
		if !ok {
			return sendExhausted
		}
		measured := intended >= warmEndNs && !r.src.warm()
		if measured && r.measureStartNs.Load() == 0 {
			r.col.Restart(intended)
			r.measureStartNs.Store(max(intended, 1))
			*measureEndNs = intended + r.cfg.Duration.Nanoseconds()
		}
		ses := r.sessions[si]
		req := Request{ClOrdID: r.ids.next()}
		ses.mu.Lock()
		for !ses.roomLocked() {
			ses.mu.Unlock()
			if !waitRoom(ctx, ses) {
				return sendInterrupted
			}
			ses.mu.Lock()
		}
		planned := r.src.plan(ses, &req, intended, measured)
		ses.mu.Unlock()
		if !planned {
			continue
		}
		r.stats.recordLag(r.now() - intended)
		if measured {
			r.stats.countSent(req.Kind)
		} else {
			r.stats.WarmupSent.Add(1)
		}
		r.sent.Add(1)
		if err := r.d.Send(si, &req); err != nil {
			ses.failSend(req.ClOrdID, r.now(), err.Error())
		}
		return sendDone
	}
	r.stats.SlotsEmpty.Add(1)
	return sendDone
}

// waitUntil waits waitNs (nothing if it is not positive) unless ctx ends
// first; it reports whether ctx is still live.
func waitUntil(ctx context.Context, timer *time.Timer, waitNs int64) bool {
	if waitNs <= 0 {
		return ctx.Err() == nil
	}
	timer.Reset(time.Duration(waitNs))
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		timer.Stop()
		return false
	}
}

// waitRoom waits until ses may have room for another request (a request
// left its in-flight table, or the expiry scan may have made some).
func waitRoom(ctx context.Context, ses *session) bool {
	t := time.NewTimer(expireScanInterval)
	defer t.Stop()
	select {
	case <-ses.space:
	case <-t.C:
	case <-ctx.Done():
		return false
	}
	return true
}

// drain waits for the answers still outstanding when sending stopped: until
// none is in flight, the timeout has passed for the last one sent (the
// expiry scan then gives up on it), or cfg.Abort closes.
func (r *runner) drain(sendEndNs int64) {
	deadline := sendEndNs + r.cfg.Timeout.Nanoseconds() + 2*expireScanInterval.Nanoseconds()
	t := time.NewTicker(drainPollInterval)
	defer t.Stop()
	for r.inFlight.Load() > 0 && r.now() < deadline {
		select {
		case <-t.C:
		case <-r.cfg.Abort:
			return
		}
	}
}

// background gives up on old requests and prints the progress line until
// stop closes.
func (r *runner) background(stop <-chan struct{}) {
	expire := time.NewTicker(expireScanInterval)
	defer expire.Stop()
	progress := time.NewTicker(progressInterval)
	defer progress.Stop()
	for {
		select {
		case <-stop:
			return
		case <-expire.C:
			now := r.now()
			for _, s := range r.sessions {
				s.expire(now, false)
			}
		case <-progress.C:
			r.progress(r.cfg.Progress)
		}
	}
}

// progress closes one interval of the latency-over-time series and prints
// the progress line for it.
func (r *runner) progress(w io.Writer) {
	now := r.now()
	pt := r.col.Tick(now)
	if w == nil {
		return
	}
	sent := r.sent.Load()
	rate := float64(sent-r.lastSent) / (float64(max(now-r.lastProgressNs, 1)) / 1e9)
	r.lastSent, r.lastProgressNs = sent, now
	errs, timeouts := r.col.Totals()
	p := reports.Progress{ElapsedNs: now - r.startNs, Sent: sent, RatePerS: rate, InFlight: r.inFlight.Load(),
		Errors: errs, Timeouts: timeouts, Point: pt, PathNames: PathNames()}
	phase := "measure "
	switch {
	case r.draining.Load():
		phase = "drain   "
	case r.measureStartNs.Load() == 0:
		phase = "warm-up "
	}
	fmt.Fprintln(w, phase+p.String())
}

// cleanup mass-cancels what the sessions left resting.
func (r *runner) cleanup() (int64, string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	n, err := r.d.CancelAll(ctx)
	if err != nil {
		return n, err.Error()
	}
	return n, ""
}

// reportConfig is the configuration summary.json records: the run's
// Config and the limits and policies that shape its numbers.
type reportConfig struct {
	Config
	Source                string            `json:"source"` // "mix" or "flow"
	FlowHeader            *orderflow.Header `json:"flow_header,omitempty"`
	Mix                   map[string]int    `json:"mix_percent,omitempty"`
	InFlightPerSessionMax int               `json:"in_flight_per_session_max"`
	TimeoutPolicy         string            `json:"timeout_policy"`
	FillPolicy            string            `json:"fill_policy"`
}

func (r *runner) reportConfig() reportConfig {
	c := reportConfig{Config: r.cfg, InFlightPerSessionMax: InFlightPerSessionMax,
		TimeoutPolicy: "a request unanswered timeout_ns after its intended send time is recorded in its path's histogram at max(latency, timeout) and counted in timeouts",
		FillPolicy:    "order→fill times the first fill of orders that traded on arrival; fills of resting orders are counted in loadgen.json, not timed"}
	if r.flow != nil {
		c.Source = "flow"
		h := r.flow.file.Header
		c.FlowHeader = &h
	} else {
		c.Source = "mix"
		c.Mix = map[string]int{"passive_limit_day": mixPassivePct, "ioc_limit": mixIOCPct, "market": mixMarketPct,
			"cancel": mixCancelPct, "replace": mixReplacePct}
	}
	return c
}

// write writes the report directory: package reports' files, and
// loadgen.json.
func (r *runner) write(run *reports.Run, st StatsReport) (*reports.Summary, error) {
	start := r.base.Add(time.Duration(run.StartNs))
	sum, err := reports.WriteReport(r.cfg.ReportDir, reports.Report{
		Config: r.reportConfig(), Start: start, End: r.base.Add(time.Duration(run.EndNs)),
		Sent: r.stats.sentTotal(), Run: run, SkipCharts: r.cfg.SkipCharts,
	})
	if err != nil {
		return nil, fmt.Errorf("loadgen: %w", err)
	}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return sum, fmt.Errorf("loadgen: %s: %w", StatsFile, err)
	}
	if err := os.WriteFile(filepath.Join(r.cfg.ReportDir, StatsFile), append(data, '\n'), statsFileMode); err != nil {
		return sum, fmt.Errorf("loadgen: %w", err)
	}
	return sum, nil
}

// clOrdIDs makes the run's ClOrdIDs: "LG" + the run's start in base-36
// milliseconds + "." + a base-36 counter, unique across runs against the
// same venue (the venue refuses a ClOrdID an account's live order has) and
// at most 32 characters.
type clOrdIDs struct {
	prefix string
	n      uint64
}

func newClOrdIDs(start time.Time) clOrdIDs {
	return clOrdIDs{prefix: "LG" + strconv.FormatInt(start.UnixMilli(), 36) + "."}
}

func (c *clOrdIDs) next() string {
	c.n++
	return c.prefix + strconv.FormatUint(c.n, 36)
}
