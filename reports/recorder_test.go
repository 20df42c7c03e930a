package reports

import (
	"bytes"
	"sync"
	"testing"
)

const ms = int64(1_000_000)

func newTestCollector(t *testing.T, paths ...string) *Collector {
	t.Helper()
	c, err := NewCollector(Config{Paths: paths, TimeoutNs: 100 * ms}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func finish(t *testing.T, c *Collector, endNs int64) *Run {
	t.Helper()
	run, err := c.Finish(endNs)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

// stallSchedule is the hand-worked example of coordinated omission: one
// request every 10 ms to a serial server that takes 1 ms, except that request
// 2 takes 50 ms. Requests 3..7 are due while the server is stalled and queue
// behind it.
//
//	i  intended  sent  done  from intended  from sent
//	0     0        0     1        1            1
//	1    10       10    11        1            1
//	2    20       20    70       50           50
//	3    30       70    71       41            1
//	4    40       71    72       32            1
//	5    50       72    73       23            1
//	6    60       73    74       14            1
//	7    70       74    75        5            1
//	8    80       80    81        1            1
//	9    90       90    91        1            1
//
// Sorted from intended: 1 1 1 1 5 14 23 32 41 50 — p50 5 ms, p90 41 ms, max
// 50 ms. From the actual send: nine 1s and a 50 — p90 1 ms: the stall hides.
func stallSchedule() (intended, sent, done []int64) {
	busyUntil := int64(0)
	for i := int64(0); i < 10; i++ {
		in := i * 10 * ms
		s := max(in, busyUntil)
		service := 1 * ms
		if i == 2 {
			service = 50 * ms
		}
		intended, sent, done = append(intended, in), append(sent, s), append(done, s+service)
		busyUntil = s + service
	}
	return intended, sent, done
}

func TestRecordFromIntendedTimeCorrectsCoordinatedOmission(t *testing.T) {
	intended, sent, done := stallSchedule()
	tests := []struct {
		name          string
		from          []int64
		p50, p90, max int64
	}{
		{"from intended send time", intended, 5 * ms, 41 * ms, 50 * ms},
		{"from actual send time (omits the stall)", sent, 1 * ms, 1 * ms, 50 * ms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestCollector(t, "order→new")
			r := c.NewRecorder()
			for i := range done {
				r.Record(0, tt.from[i], done[i], OutcomeOK)
			}
			l := LatencyOf(finish(t, c, 100*ms).Paths[0].Hist)
			if !within(l.P50Ns, tt.p50) || !within(l.P90Ns, tt.p90) || !within(l.MaxNs, tt.max) || l.Count != 10 {
				t.Errorf("p50 %d p90 %d max %d count %d; want p50 %d p90 %d max %d count 10",
					l.P50Ns, l.P90Ns, l.MaxNs, l.Count, tt.p50, tt.p90, tt.max)
			}
		})
	}
}

func TestRecordCorrectedBackfillsAStall(t *testing.T) {
	// A closed-loop caller meaning to issue every 10 ms measures nine 1 ms
	// requests and one of 50 ms. The back-fill adds 40, 30, 20 and 10 ms:
	// sorted 1×9 10 20 30 40 50, so p90 (rank 13 of 14) is 40 ms.
	c := newTestCollector(t, "p")
	r := c.NewRecorder()
	for i := 0; i < 10; i++ {
		v := 1 * ms
		if i == 2 {
			v = 50 * ms
		}
		r.RecordCorrected(0, v, 10*ms, OutcomeOK)
	}
	h := finish(t, c, 100*ms).Paths[0].Hist
	if h.TotalCount() != 14 {
		t.Fatalf("count = %d, want 14 (10 measured + 4 back-filled)", h.TotalCount())
	}
	for _, tt := range []struct {
		pct  float64
		want int64
	}{{50, 1 * ms}, {70, 10 * ms}, {90, 40 * ms}, {100, 50 * ms}} {
		if got := h.ValueAtPercentile(tt.pct); !within(got, tt.want) {
			t.Errorf("p%v = %d, want %d", tt.pct, got, tt.want)
		}
	}
}

func TestBackfillIsBoundedAndKeepsTheCount(t *testing.T) {
	// 60 s at a 1 µs interval would be 6e7 back-filled values; they are
	// grouped, but their number and range are kept.
	h := NewHistogram()
	backfill(h, 60_000*ms, 1000)
	if want := int64(60_000*ms/1000 - 1); h.TotalCount() != want {
		t.Errorf("back-filled %d values, want %d", h.TotalCount(), want)
	}
	if h.Max() > 60_000*ms+60_000*ms/1000 || h.Min() < 1000/2 {
		t.Errorf("back-fill range %d..%d outside 1 µs..60 s", h.Min(), h.Max())
	}
}

func TestErrorsAndTimeoutsStayInThePercentiles(t *testing.T) {
	c := newTestCollector(t, "order→new", "cancel→canceled")
	r := c.NewRecorder()
	for i := int64(0); i < 97; i++ {
		r.Record(0, 0, 1*ms, OutcomeOK)
	}
	r.Record(0, 0, 2*ms, OutcomeError)   // a reject, as measured
	r.Record(0, 0, 5*ms, OutcomeTimeout) // detected early: recorded at the 100 ms timeout
	r.Record(0, 0, 70_000*ms, OutcomeOK) // beyond 60 s: saturated
	r.Record(1, 10*ms, 9*ms, OutcomeOK)  // negative: recorded as 0
	run := finish(t, c, 1000*ms)
	p := run.Paths[0]
	if p.Errors != 1 || p.Timeouts != 1 || p.Saturated != 1 || p.Hist.TotalCount() != 100 {
		t.Fatalf("errors %d timeouts %d saturated %d count %d; want 1 1 1 100",
			p.Errors, p.Timeouts, p.Saturated, p.Hist.TotalCount())
	}
	if got := p.Hist.ValueAtPercentile(99); !within(got, 100*ms) {
		t.Errorf("p99 = %d, want the 100 ms timeout", got)
	}
	if got := p.Hist.Max(); !within(got, histHighestNs) {
		t.Errorf("max = %d, want the 60 s ceiling", got)
	}
	if got := run.Paths[1].Hist.Max(); got != 0 || run.Paths[1].Hist.TotalCount() != 1 {
		t.Errorf("negative latency: max %d count %d, want 0 and 1", got, run.Paths[1].Hist.TotalCount())
	}
}

func TestTickBuildsTheSeriesAndTotals(t *testing.T) {
	c := newTestCollector(t, "a", "b")
	r1, r2 := c.NewRecorder(), c.NewRecorder()
	r1.Record(0, 0, 1*ms, OutcomeOK)
	r2.Record(0, 0, 3*ms, OutcomeError)
	pt := c.Tick(1000 * ms)
	if pt.StartNs != 0 || pt.EndNs != 1000*ms || pt.Paths[0].Count != 2 || pt.Paths[0].Errors != 1 ||
		!within(pt.Paths[0].MaxNs, 3*ms) || pt.Paths[1].Count != 0 {
		t.Errorf("first interval = %+v", pt)
	}
	r1.Record(1, 0, 7*ms, OutcomeTimeout)
	run := finish(t, c, 1500*ms)
	if len(run.Series) != 2 || run.Series[1].StartNs != 1000*ms || run.Series[1].Paths[1].Timeouts != 1 ||
		run.Series[1].Paths[0].Count != 0 {
		t.Errorf("series = %+v", run.Series)
	}
	if run.Paths[0].Hist.TotalCount() != 2 || run.Paths[1].Hist.TotalCount() != 1 || run.Paths[0].Errors != 1 {
		t.Errorf("totals: a %d (errors %d), b %d; want 2 (1), 1",
			run.Paths[0].Hist.TotalCount(), run.Paths[0].Errors, run.Paths[1].Hist.TotalCount())
	}
	if _, err := c.Finish(2000 * ms); err == nil {
		t.Error("second Finish succeeded")
	}
}

func TestRestartDiscardsTheWarmup(t *testing.T) {
	c := newTestCollector(t, "p")
	r := c.NewRecorder()
	r.Record(0, 0, 900*ms, OutcomeTimeout) // warm-up: slow, and a timeout
	c.Tick(1000 * ms)
	r.Record(0, 0, 800*ms, OutcomeError) // still warm-up, not yet ticked
	c.Restart(2000 * ms)
	r.Record(0, 2000*ms, 2001*ms, OutcomeOK)
	run := finish(t, c, 3000*ms)
	p := run.Paths[0]
	if p.Hist.TotalCount() != 1 || p.Errors != 0 || p.Timeouts != 0 || !within(p.Hist.Max(), 1*ms) {
		t.Errorf("after restart: count %d errors %d timeouts %d max %d; want 1 0 0 1ms",
			p.Hist.TotalCount(), p.Errors, p.Timeouts, p.Hist.Max())
	}
	if run.StartNs != 2000*ms || len(run.Series) != 1 || run.Series[0].StartNs != 0 || run.Series[0].EndNs != 1000*ms {
		t.Errorf("start %d, series %+v; want the run to start at the restart", run.StartNs, run.Series)
	}
	if bytes.Count(run.IntervalLog, []byte("\n")) != 1 {
		t.Errorf("interval log kept warm-up lines:\n%s", run.IntervalLog)
	}
}

func TestSeriesIsBounded(t *testing.T) {
	const bound = 10
	c, err := NewCollector(Config{Paths: []string{"p"}, SeriesPointsMax: bound}, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := c.NewRecorder()
	for i := int64(1); i <= bound+5; i++ {
		r.Record(0, 0, 1000, OutcomeOK)
		c.Tick(i)
	}
	run := finish(t, c, bound+6)
	lines := bytes.Count(run.IntervalLog, []byte("\n"))
	if len(run.Series) != bound || lines != bound || run.IntervalsDropped != 6 || run.Paths[0].Hist.TotalCount() != bound+5 {
		t.Errorf("series %d, log lines %d, dropped %d, total %d; want %d, %d, 6, %d", len(run.Series), lines,
			run.IntervalsDropped, run.Paths[0].Hist.TotalCount(), bound, bound, bound+5)
	}
}

func TestConcurrentRecordersAndTicksLoseNothing(t *testing.T) {
	const goroutines, perGoroutine, ticks = 4, 5000, 20
	c := newTestCollector(t, "p")
	var wg sync.WaitGroup
	for g := 0; g < goroutines; g++ {
		r := c.NewRecorder()
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int64(0); i < perGoroutine; i++ {
				r.Record(0, 0, 1000+i, OutcomeOK)
			}
		}()
	}
	var seen int64
	for i := int64(1); i <= ticks; i++ { // ticks race with the recorders
		seen += c.Tick(i).Paths[0].Count
	}
	wg.Wait()
	run := finish(t, c, ticks+1)
	seen += run.Series[len(run.Series)-1].Paths[0].Count
	if want := int64(goroutines * perGoroutine); run.Paths[0].Hist.TotalCount() != want || seen != want {
		t.Errorf("total %d, series sum %d; want %d", run.Paths[0].Hist.TotalCount(), seen, want)
	}
}

func TestRecordAllocatesNothing(t *testing.T) {
	c := newTestCollector(t, "p")
	r := c.NewRecorder()
	allocs := testing.AllocsPerRun(1000, func() {
		r.Record(0, 0, 12_345, OutcomeOK)
		r.Record(0, 0, 1, OutcomeTimeout)
		r.RecordCorrected(0, 50*ms, 10*ms, OutcomeError)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per record, want 0", allocs)
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"no paths", Config{}},
		{"empty name", Config{Paths: []string{""}}},
		{"repeated name", Config{Paths: []string{"a", "a"}}},
		{"negative timeout", Config{Paths: []string{"a"}, TimeoutNs: -1}},
		{"timeout beyond the histogram", Config{Paths: []string{"a"}, TimeoutNs: histHighestNs + 1}},
		{"negative series bound", Config{Paths: []string{"a"}, SeriesPointsMax: -1}},
	}
	for _, tt := range tests {
		if _, err := NewCollector(tt.cfg, 0); err == nil {
			t.Errorf("%s: accepted", tt.name)
		}
	}
}

func TestProgressLine(t *testing.T) {
	p := Progress{
		ElapsedNs: 12_500 * ms, Sent: 125000, RatePerS: 10000, InFlight: 7, Errors: 2, Timeouts: 1,
		Point:     IntervalPoint{Paths: []IntervalPath{{Count: 10, P99Ns: 123_456}, {}}},
		PathNames: []string{"order→new", "order→fill"},
	}
	want := "   12.5s  sent 125000  rate 10000/s  in flight 7  errors 2  timeouts 1  p99 order→new 123µs"
	if got := p.String(); got != want {
		t.Errorf("progress =\n%q\nwant\n%q", got, want)
	}
}

func BenchmarkRecord(b *testing.B) {
	c, _ := NewCollector(Config{Paths: []string{"p"}}, 0)
	r := c.NewRecorder()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r.Record(0, 0, int64(i&0xfffff), OutcomeOK)
	}
}
