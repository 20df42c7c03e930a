package reports

import (
	"bytes"
	"fmt"
	"strings"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// seriesPointsMax is the default bound of the latency-over-time series and
// the interval log, the two things that grow with a run's length: six hours
// at one Tick per second. A busy path's interval histogram encodes to about
// 1.2 KB, so four busy paths hold about 100 MB of interval log at the bound.
// Later intervals still count in the totals; Run.IntervalsDropped says how
// many were left out of the series.
const seriesPointsMax = 6 * 3600

// nsPerMs converts the caller's nanoseconds to the interval log's
// milliseconds.
const nsPerMs = 1_000_000

// Collector owns a run's Recorders and turns their intervals into the
// latency-over-time series and the run's total histograms.
//
// Time is the caller's: NewCollector, Tick and Finish take nanoseconds on the
// same monotonic clock the Recorders' values came from. The load generator
// calls Tick once per progress interval (typically every second) and Finish
// at the end. A value lands in the interval of the Tick that collected it, so
// interval boundaries are as sharp as the caller's tick timing.
type Collector struct {
	mu         sync.Mutex
	cfg        Config
	startNs    int64
	lastTickNs int64
	nowNs      int64 // of the Tick in progress
	recorders  []*Recorder
	paths      []collectorPath
	series     []IntervalPoint
	hlog       bytes.Buffer // interval histograms, HdrHistogram log lines
	hlogWriter *hdrhistogram.HistogramLogWriter
	hlogErr    error
	dropped    int64 // intervals beyond seriesPointsMax
	finished   bool
}

// collectorPath is one path's aggregate state.
type collectorPath struct {
	total    *hdrhistogram.Histogram
	interval *hdrhistogram.Histogram // scratch for the interval being closed
	spare    *hdrhistogram.Histogram // empty; swapped into a Recorder on Tick
	counts   pathCounts
}

// NewCollector starts a run at startNs.
func NewCollector(cfg Config, startNs int64) (*Collector, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.Paths = append([]string(nil), cfg.Paths...)
	if cfg.SeriesPointsMax == 0 {
		cfg.SeriesPointsMax = seriesPointsMax
	}
	c := &Collector{cfg: cfg, startNs: startNs, lastTickNs: startNs}
	c.hlogWriter = hdrhistogram.NewHistogramLogWriter(&c.hlog)
	c.paths = make([]collectorPath, len(cfg.Paths))
	for i := range c.paths {
		c.paths[i] = collectorPath{total: NewHistogram(), interval: NewHistogram(), spare: NewHistogram()}
	}
	return c, nil
}

// Path returns the PathID of the named path.
func (c *Collector) Path(name string) (PathID, bool) {
	for i, p := range c.cfg.Paths {
		if p == name {
			return PathID(i), true
		}
	}
	return 0, false
}

// PathNames returns the configured path names, indexed by PathID.
func (c *Collector) PathNames() []string { return append([]string(nil), c.cfg.Paths...) }

// NewRecorder returns a Recorder whose values this Collector collects. It
// costs about 220 KB per path; create one per goroutine, not per request.
func (c *Collector) NewRecorder() *Recorder {
	r := &Recorder{
		hists:     make([]*hdrhistogram.Histogram, len(c.cfg.Paths)),
		counts:    make([]pathCounts, len(c.cfg.Paths)),
		timeoutNs: c.cfg.TimeoutNs,
	}
	for i := range r.hists {
		r.hists[i] = NewHistogram()
	}
	c.mu.Lock()
	c.recorders = append(c.recorders, r)
	c.mu.Unlock()
	return r
}

// IntervalPoint is one point of the latency-over-time series: what every
// Recorder recorded between two Ticks. Times are nanoseconds since the
// run's start.
type IntervalPoint struct {
	StartNs int64          `json:"start_ns"`
	EndNs   int64          `json:"end_ns"`
	Paths   []IntervalPath `json:"paths"` // indexed by PathID
}

// IntervalPath is one path's statistics over one interval.
type IntervalPath struct {
	Count    int64 `json:"count"`
	Errors   int64 `json:"errors"`
	Timeouts int64 `json:"timeouts"`
	P50Ns    int64 `json:"p50_ns"`
	P99Ns    int64 `json:"p99_ns"`
	MaxNs    int64 `json:"max_ns"`
}

// Tick closes the interval ending at nowNs: it collects every Recorder's
// values since the last Tick, adds them to the run's totals, appends the
// interval to the series and returns it (for the progress line). After
// Finish it does nothing and returns an empty point.
func (c *Collector) Tick(nowNs int64) IntervalPoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return IntervalPoint{}
	}
	return c.tickLocked(nowNs)
}

func (c *Collector) tickLocked(nowNs int64) IntervalPoint {
	c.nowNs = nowNs
	keep := len(c.series) < c.cfg.SeriesPointsMax
	pt := IntervalPoint{
		StartNs: c.lastTickNs - c.startNs,
		EndNs:   nowNs - c.startNs,
		Paths:   make([]IntervalPath, len(c.paths)),
	}
	for i := range c.paths {
		pt.Paths[i] = c.drainPath(PathID(i), keep)
	}
	c.lastTickNs = nowNs
	switch {
	case pt.EndNs == pt.StartNs && !pt.hasTraffic():
		// A Finish right after the last Tick adds no empty, zero-length point.
	case keep:
		c.series = append(c.series, pt)
	default:
		c.dropped++
	}
	return pt
}

func (pt IntervalPoint) hasTraffic() bool {
	for _, p := range pt.Paths {
		if p.Count > 0 {
			return true
		}
	}
	return false
}

// drainPath swaps each Recorder's histogram for path p out (holding that
// Recorder's lock only for the swap), merges it and recycles it as the
// spare for the next Recorder.
func (c *Collector) drainPath(p PathID, logIt bool) IntervalPath {
	cp := &c.paths[p]
	cp.interval.Reset()
	var counts pathCounts
	for _, r := range c.recorders {
		h, rc := r.swap(p, cp.spare)
		cp.interval.Merge(h) // same geometry: nothing is dropped
		h.Reset()
		cp.spare = h
		counts.add(rc)
	}
	cp.total.Merge(cp.interval)
	cp.counts.add(counts)
	if logIt {
		c.logInterval(p)
	}
	l := LatencyOf(cp.interval)
	return IntervalPath{
		Count: l.Count, Errors: counts.errors, Timeouts: counts.timeouts,
		P50Ns: l.P50Ns, P99Ns: l.P99Ns, MaxNs: l.MaxNs,
	}
}

// Restart throws away everything recorded so far and starts the run again
// at nowNs: the load generator calls it when its warm-up ends, so the report
// covers only the measured part. Recorders stay valid.
func (c *Collector) Restart(nowNs int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range c.paths {
		cp := &c.paths[i]
		for _, r := range c.recorders {
			h, _ := r.swap(PathID(i), cp.spare)
			h.Reset()
			cp.spare = h
		}
		cp.total.Reset()
		cp.counts = pathCounts{}
	}
	c.series, c.dropped, c.hlogErr = nil, 0, nil
	c.hlog.Reset()
	c.startNs, c.lastTickNs = nowNs, nowNs
}

// logInterval appends path p's interval histogram, tagged with the path, to
// the interval log, the format HdrHistogram's HistogramLogProcessor reads.
// Timestamps are milliseconds since the run's start; quiet intervals are
// left out, as HdrHistogram's own recorders do.
func (c *Collector) logInterval(p PathID) {
	h := c.paths[p].interval
	if h.TotalCount() == 0 || c.hlogErr != nil {
		return
	}
	h.SetTag(HlogTag(c.cfg.Paths[p]))
	h.SetStartTimeMs((c.lastTickNs - c.startNs) / nsPerMs)
	h.SetEndTimeMs((c.nowNs - c.startNs) / nsPerMs)
	if err := c.hlogWriter.OutputIntervalHistogram(h); err != nil {
		c.hlogErr = fmt.Errorf("reports: interval log: %w", err)
	}
}

// Run is a finished run's measurements.
type Run struct {
	StartNs int64 // on the caller's clock
	EndNs   int64
	Paths   []PathResult // indexed by PathID
	Series  []IntervalPoint
	// IntervalLog holds one HdrHistogram interval-log line per path and
	// interval with traffic (tag = HlogTag of the path, timestamps in
	// seconds since the start); WriteReport adds the header.
	IntervalLog []byte
	// IntervalsDropped counts intervals left out of Series and IntervalLog
	// because the run outlasted seriesPointsMax of them.
	IntervalsDropped int64
}

// PathResult is one path's totals over a run.
type PathResult struct {
	Name      string
	Hist      *hdrhistogram.Histogram // nanoseconds
	Errors    int64
	Timeouts  int64
	Saturated int64 // latencies above 60 s, recorded at 60 s
}

// Finish closes the last interval at endNs and returns the run. Record
// nothing after Finish: it would not be collected. Finish may be called once.
func (c *Collector) Finish(endNs int64) (*Run, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return nil, fmt.Errorf("reports: collector finished twice")
	}
	c.finished = true
	c.tickLocked(endNs)
	if c.hlogErr != nil {
		return nil, c.hlogErr
	}
	run := &Run{StartNs: c.startNs, EndNs: endNs, Series: c.series, IntervalLog: c.hlog.Bytes(),
		IntervalsDropped: c.dropped}
	for i, cp := range c.paths {
		run.Paths = append(run.Paths, PathResult{
			Name: c.cfg.Paths[i], Hist: cp.total,
			Errors: cp.counts.errors, Timeouts: cp.counts.timeouts, Saturated: cp.counts.saturated,
		})
	}
	return run, nil
}

// Totals returns the errors and timeouts collected so far over all paths,
// for the progress line.
func (c *Collector) Totals() (errors, timeouts int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cp := range c.paths {
		errors += cp.counts.errors
		timeouts += cp.counts.timeouts
	}
	return errors, timeouts
}

// Progress is what a long run prints once per interval.
type Progress struct {
	ElapsedNs int64
	Sent      int64   // messages sent so far
	RatePerS  float64 // achieved send rate over the last interval
	InFlight  int64   // sent and not yet answered or timed out
	Errors    int64   // so far
	Timeouts  int64   // so far
	Point     IntervalPoint
	PathNames []string // indexed like Point.Paths
}

// String formats the progress line: elapsed time, sent, achieved rate, in
// flight, errors, timeouts and the current (last interval's) p99 per path
// that saw traffic.
func (p Progress) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%7.1fs  sent %d  rate %.0f/s  in flight %d  errors %d  timeouts %d  p99",
		float64(p.ElapsedNs)/1e9, p.Sent, p.RatePerS, p.InFlight, p.Errors, p.Timeouts)
	any := false
	for i, ip := range p.Point.Paths {
		if ip.Count == 0 || i >= len(p.PathNames) {
			continue
		}
		any = true
		fmt.Fprintf(&b, " %s %s", p.PathNames[i], FormatNs(ip.P99Ns))
	}
	if !any {
		b.WriteString(" -")
	}
	return b.String()
}

// FormatNs formats nanoseconds with three significant digits in the unit that
// suits them: "850ns", "12.3µs", "4.56ms", "1.20s".
func FormatNs(ns int64) string {
	v := float64(ns)
	switch {
	case ns < 1_000:
		return fmt.Sprintf("%dns", ns)
	case ns < 1_000_000:
		return sig3(v/1e3) + "µs"
	case ns < 1_000_000_000:
		return sig3(v/1e6) + "ms"
	}
	return sig3(v/1e9) + "s"
}

// sig3 prints v (1 <= v < 1000, or larger for seconds) with three
// significant digits.
func sig3(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	}
	return fmt.Sprintf("%.2f", v)
}
