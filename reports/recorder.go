package reports

import (
	"fmt"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// PathID names one latency path of a Collector, such as "order→new"; it is
// the index of the path in Config.Paths, so recording needs no map lookup.
type PathID int

// Outcome is how a request on a path ended.
type Outcome uint8

// Outcomes. Every outcome is recorded in the path's histogram: a latency
// report that dropped its errors and timeouts would look better the worse
// the venue behaved.
const (
	// OutcomeOK is the expected response (e.g. ExecutionReport New).
	OutcomeOK Outcome = iota
	// OutcomeError is any other response (a reject) or a failure to send;
	// its latency is recorded as measured and it is counted as an error.
	OutcomeError
	// OutcomeTimeout is a request given up on: recorded at no less than
	// Config.TimeoutNs and counted as a timeout.
	OutcomeTimeout
)

// String returns the outcome's name.
func (o Outcome) String() string {
	switch o {
	case OutcomeOK:
		return "ok"
	case OutcomeError:
		return "error"
	case OutcomeTimeout:
		return "timeout"
	}
	return fmt.Sprintf("Outcome(%d)", uint8(o))
}

// Limits of the recorder.
const (
	// pathsMax bounds Config.Paths: each path costs every Recorder a
	// 220 KB histogram.
	pathsMax = 64
	// backfillValuesMax bounds the synthetic values RecordCorrected adds for
	// one measurement, so a 60 s stall at a 1 ns interval cannot loop 6e10
	// times; beyond it the back-fill is recorded in equal-count groups.
	backfillValuesMax = 1 << 16
)

// Config says what a Collector records.
type Config struct {
	// Paths names the latency paths, e.g. "order→new", "order→fill",
	// "cancel→canceled", "replace→replaced". PathID i is Paths[i].
	Paths []string
	// TimeoutNs is the smallest latency a timeout is recorded at. A
	// request given up on at its deadline is recorded at max(measured,
	// TimeoutNs), so timeouts sit at the top of the distribution rather
	// than vanish from it. Zero records timeouts as measured.
	TimeoutNs int64
	// SeriesPointsMax bounds the intervals kept for the latency-over-time
	// series and the interval log; zero means six hours of one-second Ticks.
	SeriesPointsMax int
}

func (c Config) validate() error {
	if len(c.Paths) == 0 || len(c.Paths) > pathsMax {
		return fmt.Errorf("reports: config: %d paths, want 1..%d", len(c.Paths), pathsMax)
	}
	seen := make(map[string]bool, len(c.Paths))
	for _, p := range c.Paths {
		if p == "" || seen[p] {
			return fmt.Errorf("reports: config: path name %q empty or repeated", p)
		}
		seen[p] = true
	}
	if c.SeriesPointsMax < 0 {
		return fmt.Errorf("reports: config: series bound %d is negative", c.SeriesPointsMax)
	}
	if c.TimeoutNs < 0 || c.TimeoutNs > histHighestNs {
		return fmt.Errorf("reports: config: timeout %d ns outside 0..%d", c.TimeoutNs, int64(histHighestNs))
	}
	return nil
}

// pathCounts are the per-path counters kept beside each histogram.
type pathCounts struct {
	errors    int64
	timeouts  int64
	saturated int64 // values above histHighestNs, recorded at it
}

func (p *pathCounts) add(o pathCounts) {
	p.errors += o.errors
	p.timeouts += o.timeouts
	p.saturated += o.saturated
}

// Recorder records latencies for one goroutine (or a few that share it).
//
// Coordinated omission: an open-loop sender schedules message i at an
// intended time (start + i/rate) and, if it falls behind — the venue pushed
// back, the sender was descheduled, a GC paused it — sends late. Measuring
// from the actual send time would then omit exactly the waiting the stall
// caused, and the sender's own stall would "coordinate" with the venue's to
// hide it. Record therefore takes the intended send time and records
// doneNs - intendedNs: a message that should have gone at t=30 ms but waited
// behind a 50 ms stall is charged the wait. Closed-loop callers that have no
// schedule use RecordCorrected, HdrHistogram's back-fill of the samples a
// stall prevented.
//
// Thread safety: a Recorder holds one interval histogram per path behind a
// mutex that only its owner and the Collector's once-per-interval Tick take,
// so the lock is uncontended on the hot path; Tick swaps the histogram out
// and merges it outside the lock. Give each sending or receiving goroutine its
// own Recorder (NewRecorder); recording allocates nothing.
type Recorder struct {
	mu        sync.Mutex
	hists     []*hdrhistogram.Histogram // current interval, per path
	counts    []pathCounts              // current interval, per path
	timeoutNs int64
}

// Record records one request on path p that was intended to be sent at
// intendedNs and completed (response received, or given up on) at doneNs,
// both on the caller's monotonic clock in nanoseconds. A negative latency
// (clocks from different sources) is recorded as 0; one above 60 s is
// recorded at 60 s and counted as saturated.
func (r *Recorder) Record(p PathID, intendedNs, doneNs int64, o Outcome) {
	v := doneNs - intendedNs
	if o == OutcomeTimeout && v < r.timeoutNs {
		v = r.timeoutNs
	}
	v, sat := clampLatency(v)
	r.mu.Lock()
	// Cannot fail: v is within the histogram's range.
	_ = r.hists[p].RecordValue(v)
	r.countLocked(p, o, sat)
	r.mu.Unlock()
}

// RecordCorrected records a closed-loop measurement latencyNs taken by a
// caller that meant to issue one request every expectedIntervalNs, adding
// the samples a stall kept it from taking (latencyNs - k*expectedIntervalNs
// for every k while that is at least expectedIntervalNs), as HdrHistogram's
// recordValueWithExpectedInterval does. Prefer Record with intended send
// times where the caller has a schedule: it is exact, this is an estimate.
func (r *Recorder) RecordCorrected(p PathID, latencyNs, expectedIntervalNs int64, o Outcome) {
	v, sat := clampLatency(latencyNs)
	r.mu.Lock()
	_ = r.hists[p].RecordValue(v)
	if expectedIntervalNs > 0 && v >= 2*expectedIntervalNs {
		backfill(r.hists[p], v, expectedIntervalNs)
	}
	r.countLocked(p, o, sat)
	r.mu.Unlock()
}

// backfill records v-k*interval for k = 1..n where n = v/interval - 1, in at
// most backfillValuesMax groups (each group recorded at its middle value).
func backfill(h *hdrhistogram.Histogram, v, interval int64) {
	n := v/interval - 1
	group := (n + backfillValuesMax - 1) / backfillValuesMax
	for k := int64(1); k <= n; k += group {
		cnt := min(group, n-k+1)
		_ = h.RecordValues(v-(k+(cnt-1)/2)*interval, cnt)
	}
}

func clampLatency(v int64) (clamped int64, saturated bool) {
	if v < 0 {
		return 0, false
	}
	if v > histHighestNs {
		return histHighestNs, true
	}
	return v, false
}

func (r *Recorder) countLocked(p PathID, o Outcome, saturated bool) {
	c := &r.counts[p]
	switch o {
	case OutcomeError:
		c.errors++
	case OutcomeTimeout:
		c.timeouts++
	}
	if saturated {
		c.saturated++
	}
}

// swap replaces path p's interval histogram with spare (which must be empty)
// and returns the old one and its counters.
func (r *Recorder) swap(p PathID, spare *hdrhistogram.Histogram) (*hdrhistogram.Histogram, pathCounts) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, c := r.hists[p], r.counts[p]
	r.hists[p], r.counts[p] = spare, pathCounts{}
	return h, c
}
