package reports

import (
	"bytes"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

var testPaths = []string{"order→new", "order→fill", "cancel→canceled", "replace→replaced"}

// syntheticRun records scale × (1..n µs) on the first path and 2 × that on
// the second, over three one-second intervals; the others see no traffic
// except one timeout on the third.
func syntheticRun(t *testing.T, n, scale int64) *Run {
	t.Helper()
	c, err := NewCollector(Config{Paths: testPaths, TimeoutNs: 1000 * ms}, 0)
	if err != nil {
		t.Fatal(err)
	}
	r := c.NewRecorder()
	sec := int64(1_000_000_000)
	for s := int64(0); s < 3; s++ {
		for i := int64(1); i <= n; i++ {
			intended := s*sec + i*sec/(n+1)
			v := scale * i * 1000
			r.Record(0, intended, intended+v, OutcomeOK)
			r.Record(1, intended, intended+2*v, OutcomeOK)
		}
		if s == 2 {
			r.Record(2, s*sec, s*sec+5*ms, OutcomeTimeout)
		}
		c.Tick((s + 1) * sec)
	}
	run, err := c.Finish(3 * sec)
	if err != nil {
		t.Fatal(err)
	}
	return run
}

type testConfig struct {
	Rate     int    `json:"rate"`
	Sessions int    `json:"sessions"`
	Target   string `json:"target"`
}

func writeTestReport(t *testing.T, dir string, n, scale int64, charts bool) *Summary {
	t.Helper()
	start := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	s, err := WriteReport(dir, Report{
		Config: testConfig{Rate: 1000, Sessions: 4, Target: "localhost:9878"},
		Start:  start, End: start.Add(3 * time.Second), Sent: 3 * 2 * n,
		Run: syntheticRun(t, n, scale), SkipCharts: !charts,
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestWriteReportFiles checks the files and that the charts are valid PNG and
// SVG; it is the one test that draws a run's charts, which is slow under -race.
func TestWriteReportFiles(t *testing.T) {
	dir := t.TempDir()
	writeTestReport(t, dir, 1000, 1, true)
	want := []string{"summary.json", "intervals.hlog", "order-new.hgrm", "order-fill.hgrm", "cancel-canceled.hgrm",
		"replace-replaced.hgrm", "latency-by-percentile.png", "latency-by-percentile.svg",
		"latency-over-time.png", "latency-over-time.svg"}
	for _, f := range want {
		info, err := os.Stat(filepath.Join(dir, f))
		if err != nil || info.Size() == 0 {
			t.Errorf("%s: %v (size %v)", f, err, info)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(want) {
		t.Errorf("%d files, want %d (temporary files left behind?)", len(entries), len(want))
	}
	for _, base := range []string{PercentileChartBase, OverTimeChartBase} {
		checkPNG(t, filepath.Join(dir, base+".png"))
		checkSVG(t, filepath.Join(dir, base+".svg"))
	}
}

func TestSummaryContents(t *testing.T) {
	dir := t.TempDir()
	s := writeTestReport(t, dir, 1000, 1, false)
	var raw map[string]any
	data, _ := os.ReadFile(filepath.Join(dir, SummaryFile))
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	p0 := raw["paths"].([]any)[0].(map[string]any)
	for _, k := range []string{"p50_ns", "p90_ns", "p99_ns", "p999_ns", "p9999_ns", "max_ns", "mean_ns", "count", "errors", "timeouts", "name", "hgrm"} {
		if _, ok := p0[k]; !ok {
			t.Errorf("path entry lacks %q: %v", k, p0)
		}
	}
	if cfg := raw["config"].(map[string]any); cfg["target"] != "localhost:9878" || cfg["rate"] != 1000.0 {
		t.Errorf("config = %v", cfg)
	}
	if s.Count != 6001 || s.Timeouts != 1 || s.Sent != 6000 || s.AchievedRatePerS != 2000 || s.DurationNs != 3e9 {
		t.Errorf("count %d timeouts %d sent %d rate %v duration %d; want 6001 1 6000 2000 3e9",
			s.Count, s.Timeouts, s.Sent, s.AchievedRatePerS, s.DurationNs)
	}
	// Each second held 1..1000 µs on order→new: the p99 is 990 µs.
	if p := s.Paths[0]; !within(p.P99Ns, 990_000) || !within(p.MaxNs, 1_000_000) || p.Count != 3000 {
		t.Errorf("order→new = %+v", p)
	}
	if len(s.Series) != 3 || s.Series[0].Paths[0].Count != 1000 || !within(s.Series[1].Paths[1].P50Ns, 1_000_000) {
		t.Errorf("series = %+v", s.Series)
	}
}

func TestReportReadsBackTheSameNumbers(t *testing.T) {
	dir := t.TempDir()
	run := syntheticRun(t, 500, 3)
	written, err := WriteReport(dir, Report{Config: map[string]int{"rate": 7}, Run: run, SkipCharts: true})
	if err != nil {
		t.Fatal(err)
	}
	l, err := ReadReport(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The JSON numbers, series and config come back exactly.
	if !reflect.DeepEqual(l.Summary.Paths, written.Paths) || !reflect.DeepEqual(l.Summary.Series, written.Series) ||
		compactJSON(t, l.Summary.Config) != `{"rate":7}` {
		t.Errorf("summary read back differs:\n%+v\nwant\n%+v", l.Summary, *written)
	}
	// Every .hgrm comes back to the same rows and footer.
	for i, p := range run.Paths {
		want, got := HgrmOf(p.Hist), l.Hgrm[i]
		if len(got.Rows) != len(want.Rows) || got.TotalCount != want.TotalCount || got.MaxNs != want.MaxNs {
			t.Fatalf("%s: %d rows total %d max %d; want %d rows total %d max %d", p.Name,
				len(got.Rows), got.TotalCount, got.MaxNs, len(want.Rows), want.TotalCount, want.MaxNs)
		}
		for j := range want.Rows {
			if got.Rows[j].ValueNs != want.Rows[j].ValueNs || got.Rows[j].TotalCount != want.Rows[j].TotalCount {
				t.Fatalf("%s row %d = %+v, want %+v", p.Name, j, got.Rows[j], want.Rows[j])
			}
		}
		// And the .hgrm agrees with summary.json where its rows land exactly.
		if got.TotalCount > 0 && got.ValueAtPercentile(50) != l.Summary.Paths[i].P50Ns {
			t.Errorf("%s: hgrm p50 %d, summary p50 %d", p.Name, got.ValueAtPercentile(50), l.Summary.Paths[i].P50Ns)
		}
	}
}

func TestIntervalLogReadsBackWithHdrHistogram(t *testing.T) {
	dir := t.TempDir()
	s := writeTestReport(t, dir, 300, 1, false)
	f, err := os.Open(filepath.Join(dir, IntervalLogFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := hdrhistogram.NewHistogramLogReader(f)
	perTag := map[string]int64{}
	intervals := 0
	for {
		h, err := r.NextIntervalHistogram()
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			break
		}
		intervals++
		perTag[h.Tag()] += h.TotalCount()
		if h.EndTimeMs()-h.StartTimeMs() != 1000 {
			t.Errorf("interval %s %d..%d ms, want 1 s long", h.Tag(), h.StartTimeMs(), h.EndTimeMs())
		}
	}
	// order-new and order-fill every second, cancel-canceled once.
	if intervals != 7 || perTag["order-new"] != s.Paths[0].Count || perTag["order-fill"] != s.Paths[1].Count ||
		perTag["cancel-canceled"] != 1 || perTag["replace-replaced"] != 0 {
		t.Errorf("%d intervals, counts per tag %v", intervals, perTag)
	}
}

func TestReadReportErrors(t *testing.T) {
	dir := t.TempDir()
	writeTestReport(t, dir, 10, 1, false)
	tests := []struct {
		name   string
		break_ func(dir string)
		want   string
	}{
		{"missing summary", func(d string) { os.Remove(filepath.Join(d, SummaryFile)) }, "summary.json"},
		{"missing hgrm", func(d string) { os.Remove(filepath.Join(d, "order-fill.hgrm")) }, "order-fill.hgrm"},
		{"corrupt hgrm", func(d string) { os.WriteFile(filepath.Join(d, "order-new.hgrm"), []byte("nonsense\n"), 0o644) }, "order-new.hgrm"},
		{"wrong format", func(d string) { os.WriteFile(filepath.Join(d, SummaryFile), []byte(`{"format":"x"}`), 0o644) }, "format"},
		{"escaping file name", func(d string) {
			os.WriteFile(filepath.Join(d, SummaryFile), []byte(`{"format":"venue-latency-report/1","paths":[{"name":"a","hgrm":"../x.hgrm"}]}`), 0o644)
		}, "outside"},
	}
	for _, tt := range tests {
		d := filepath.Join(t.TempDir(), "r")
		os.CopyFS(d, os.DirFS(dir))
		tt.break_(d)
		_, err := ReadReport(d)
		if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "reports: ") {
			t.Errorf("%s: error %v, want one naming %q with the package prefix", tt.name, err, tt.want)
		}
	}
}

func checkPNG(t *testing.T, file string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if b := img.Bounds(); b.Dx() < 500 || b.Dy() < 300 {
		t.Errorf("%s: %v, too small to read", file, b)
	}
}

func checkSVG(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	if !(strings.HasPrefix(s, "<?xml") || strings.HasPrefix(s, "<svg")) || !strings.Contains(s, "<svg") ||
		!strings.Contains(s, "</svg>") {
		t.Errorf("%s: not an SVG document: %.80q", file, s)
	}
	// The axis labels are drawn as text.
	for _, want := range []string{latencyLabel} {
		if !strings.Contains(s, want) {
			t.Errorf("%s: no %q label", file, want)
		}
	}
}

func TestNinesAxis(t *testing.T) {
	ticks := ninesTicks{}.Ticks(1, 1e5)
	var labels []string
	for _, tk := range ticks {
		labels = append(labels, tk.Label)
	}
	if got, want := strings.Join(labels, " "), "0% 90% 99% 99.9% 99.99% 99.999%"; got != want {
		t.Errorf("nines labels %q, want %q", got, want)
	}
}

func TestLatencyTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   string
	}{
		{1, 100, "1µs 2µs 5µs 10µs 20µs 50µs 100µs"},
		{0.001, 1e7, "1ns 10ns 100ns 1µs 10µs 100µs 1ms 10ms 100ms 1s 10s"},
		{0.1, 1, "100ns 200ns 500ns 1µs"},
	}
	for _, tt := range tests {
		var labels []string
		for _, tk := range (latencyTicks{}).Ticks(tt.lo, tt.hi) {
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
		}
		if got := strings.Join(labels, " "); got != tt.want {
			t.Errorf("ticks(%v, %v) = %q, want %q", tt.lo, tt.hi, got, tt.want)
		}
	}
}

func TestReportOfAnEmptyRun(t *testing.T) {
	// Ctrl-C before the first response: the report is still complete.
	c, _ := NewCollector(Config{Paths: testPaths}, 0)
	run, err := c.Finish(5)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s, err := WriteReport(dir, Report{Run: run})
	if err != nil {
		t.Fatal(err)
	}
	if s.Count != 0 || s.AchievedRatePerS != 0 || len(s.Paths) != len(testPaths) {
		t.Errorf("summary of an empty run: %+v", s)
	}
	checkPNG(t, filepath.Join(dir, PercentileChartBase+".png"))
	checkSVG(t, filepath.Join(dir, OverTimeChartBase+".svg"))
	if _, err := ReadReport(dir); err != nil {
		t.Error(err)
	}
}

func TestHgrmFileName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"order→new", "order-new.hgrm"},
		{"cancel→canceled", "cancel-canceled.hgrm"},
		{"a b/c", "a-b-c.hgrm"},
		{"..", "path.hgrm"},
		{"naïve", "na_ve.hgrm"},
	}
	for _, tt := range tests {
		if got := HgrmFileName(tt.in); got != tt.want {
			t.Errorf("HgrmFileName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWriteReportRejectsCollidingFileNames(t *testing.T) {
	c, _ := NewCollector(Config{Paths: []string{"a→b", "a b"}}, 0)
	run, _ := c.Finish(1)
	if _, err := WriteReport(t.TempDir(), Report{Run: run}); err == nil {
		t.Error("two paths writing a-b.hgrm accepted")
	}
}

func compactJSON(t *testing.T, raw []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}
