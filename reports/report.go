package reports

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"gonum.org/v1/plot"
)

// Report directory layout.
const (
	// SummaryFile is the JSON summary in a report directory.
	SummaryFile = "summary.json"
	// PercentileChartBase is the latency-by-percentile chart, without extension.
	PercentileChartBase = "latency-by-percentile"
	// OverTimeChartBase is the latency-over-time chart, without extension.
	OverTimeChartBase = "latency-over-time"
	// IntervalLogFile holds every path's interval histograms in HdrHistogram's
	// interval log format (HistogramLogProcessor -i intervals.hlog -tag order-new).
	IntervalLogFile = "intervals.hlog"
	// SummaryFormat identifies (and versions) summary.json.
	SummaryFormat = "venue-latency-report/1"
	// summaryBytesMax bounds the summary.json ReadReport accepts: a series
	// at its bound with four paths is about 20 MB; a file far beyond that is
	// not one WriteReport wrote.
	summaryBytesMax = 256 << 20
	reportDirMode   = 0o755
	reportFileMode  = 0o644
)

// Summary is summary.json: one run's configuration, counts and the standard
// percentiles of each path, and its latency-over-time series.
type Summary struct {
	Format string `json:"format"`
	// Config is the caller's configuration, as given (e.g. loadgen flags).
	Config     json.RawMessage `json:"config,omitempty"`
	Start      time.Time       `json:"start"`
	End        time.Time       `json:"end"`
	DurationNs int64           `json:"duration_ns"`
	// Sent is how many requests the caller sent; AchievedRatePerS is Sent
	// over the duration (completed requests if the caller gave no Sent).
	Sent             int64   `json:"sent"`
	AchievedRatePerS float64 `json:"achieved_rate_per_s"`
	// Count, Errors, Timeouts and Saturated are totals over all paths.
	// Errors and timeouts are also inside Count and the percentiles.
	Count     int64 `json:"count"`
	Errors    int64 `json:"errors"`
	Timeouts  int64 `json:"timeouts"`
	Saturated int64 `json:"saturated"`
	// HgrmValueUnit is the unit of the .hgrm files' values ("us").
	HgrmValueUnit string          `json:"hgrm_value_unit"`
	Paths         []PathSummary   `json:"paths"`
	Series        []IntervalPoint `json:"series"`
	// SeriesDropped counts intervals left out of Series (a run longer than
	// the series bound); they are in every total.
	SeriesDropped int64 `json:"series_dropped,omitempty"`
}

// PathSummary is one path's line in summary.json; Latency's keys (p50_ns,
// ..., count) are inlined.
type PathSummary struct {
	Name      string `json:"name"`
	Hgrm      string `json:"hgrm"` // file name within the report directory
	Errors    int64  `json:"errors"`
	Timeouts  int64  `json:"timeouts"`
	Saturated int64  `json:"saturated"`
	Latency
}

// Report is what WriteReport needs besides the Run.
type Report struct {
	Config any       // written verbatim as JSON; nil for none
	Start  time.Time // wall clock, for people reading the report
	End    time.Time
	Sent   int64 // requests sent; 0 to rate completed requests instead
	Run    *Run
	// SkipCharts leaves the PNG and SVG charts out (drawing them takes
	// about a second); summary.json and the .hgrm files are still written.
	SkipCharts bool
}

// WriteReport writes a report directory: summary.json, one .hgrm per path and
// the two charts in PNG and SVG. It creates dir if needed and overwrites the
// files it writes, leaving anything else there alone.
func WriteReport(dir string, r Report) (*Summary, error) {
	if r.Run == nil {
		return nil, errors.New("reports: write report: no run")
	}
	if err := os.MkdirAll(dir, reportDirMode); err != nil {
		return nil, fmt.Errorf("reports: write %s: %w", dir, err)
	}
	s, err := summarize(r)
	if err != nil {
		return nil, err
	}
	for i, p := range r.Run.Paths {
		if err := writeHgrmFile(filepath.Join(dir, s.Paths[i].Hgrm), HgrmOf(p.Hist)); err != nil {
			return nil, err
		}
	}
	if err := writeFile(filepath.Join(dir, IntervalLogFile), intervalLog(r)); err != nil {
		return nil, err
	}
	if err := writeSummary(filepath.Join(dir, SummaryFile), s); err != nil {
		return nil, err
	}
	if r.SkipCharts {
		return s, nil
	}
	if err := writeRunCharts(dir, s, r.Run); err != nil {
		return nil, err
	}
	return s, nil
}

func summarize(r Report) (*Summary, error) {
	s := &Summary{
		Format: SummaryFormat, Start: r.Start, End: r.End,
		DurationNs: r.Run.EndNs - r.Run.StartNs, Sent: r.Sent,
		HgrmValueUnit: hgrmValueUnit, Series: r.Run.Series, SeriesDropped: r.Run.IntervalsDropped,
	}
	if r.Config != nil {
		raw, err := json.Marshal(r.Config)
		if err != nil {
			return nil, fmt.Errorf("reports: write %s: config: %w", SummaryFile, err)
		}
		s.Config = raw
	}
	files := map[string]string{}
	for _, p := range r.Run.Paths {
		file := HgrmFileName(p.Name)
		if other, dup := files[file]; dup {
			return nil, fmt.Errorf("reports: paths %q and %q share file %s", other, p.Name, file)
		}
		files[file] = p.Name
		ps := PathSummary{Name: p.Name, Hgrm: file, Errors: p.Errors, Timeouts: p.Timeouts,
			Saturated: p.Saturated, Latency: LatencyOf(p.Hist)}
		s.Paths = append(s.Paths, ps)
		s.Count += ps.Count
		s.Errors += ps.Errors
		s.Timeouts += ps.Timeouts
		s.Saturated += ps.Saturated
	}
	rated := s.Sent
	if rated == 0 {
		rated = s.Count
	}
	if s.DurationNs > 0 {
		s.AchievedRatePerS = float64(rated) / (float64(s.DurationNs) / 1e9)
	}
	return s, nil
}

// HlogTag is the tag of a path's interval histograms in the interval log:
// its .hgrm file name without the extension ("order-new"), which has none of
// the commas and spaces a tag may not hold.
func HlogTag(path string) string {
	return strings.TrimSuffix(HgrmFileName(path), ".hgrm")
}

// HgrmFileName is the .hgrm file of a path: "order→new" is "order-new.hgrm".
// Letters, digits, '.', '_' and '-' are kept, arrows and spaces become '-',
// anything else '_'.
func HgrmFileName(path string) string {
	var b strings.Builder
	for _, r := range path {
		switch {
		case r < unicode.MaxASCII && (unicode.IsLetter(r) || unicode.IsDigit(r) || r == '.' || r == '_' || r == '-'):
			b.WriteRune(r)
		case r == '→' || r == ' ' || r == '>' || r == '/':
			b.WriteByte('-')
		default:
			b.WriteByte('_')
		}
	}
	name := strings.Trim(b.String(), ".")
	if name == "" {
		name = "path"
	}
	return name + ".hgrm"
}

// intervalLog prefixes the run's interval-log lines with the header
// HdrHistogram's tools expect. The lines' timestamps are relative; the
// StartTime and BaseTime lines anchor them to the wall clock.
func intervalLog(r Report) []byte {
	var buf bytes.Buffer
	w := hdrhistogram.NewHistogramLogWriter(&buf)
	_ = w.OutputLogFormatVersion() // a bytes.Buffer does not fail
	if !r.Start.IsZero() {
		_ = w.OutputStartTime(r.Start.UnixMilli())
		_ = w.OutputBaseTime(r.Start.UnixMilli())
	}
	_ = w.OutputLegend()
	buf.Write(r.Run.IntervalLog)
	return buf.Bytes()
}

func writeHgrmFile(file string, g *Hgrm) error {
	var buf bytes.Buffer
	if err := g.Write(&buf); err != nil {
		return err
	}
	return writeFile(file, buf.Bytes())
}

func writeSummary(file string, s *Summary) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("reports: write %s: %w", file, err)
	}
	return writeFile(file, append(data, '\n'))
}

// writeRunCharts draws the run's percentile chart (one curve per path) and
// its over-time chart.
func writeRunCharts(dir string, s *Summary, run *Run) error {
	title := "latency by percentile"
	if !s.Start.IsZero() {
		title += ", run of " + s.Start.UTC().Format(time.RFC3339)
	}
	var curves []Curve
	names := make([]string, len(run.Paths))
	for i, p := range run.Paths {
		names[i] = p.Name
		if p.Hist.TotalCount() > 0 {
			curves = append(curves, Curve{Label: curveLabel(p.Name, s.Paths[i].Latency), Rows: HgrmOf(p.Hist).Rows, Color: i})
		}
	}
	pc, err := PercentileChart(title, curves)
	if err != nil {
		return err
	}
	if _, err := SaveCharts(filepath.Join(dir, PercentileChartBase), []*plot.Plot{pc}); err != nil {
		return err
	}
	panels, err := OverTimeChart("latency over time", names, run.Series)
	if err != nil {
		return err
	}
	_, err = SaveCharts(filepath.Join(dir, OverTimeChartBase), panels)
	return err
}

// curveLabel names a curve with its count and p99, so the legend alone
// answers the first question.
func curveLabel(name string, l Latency) string {
	return fmt.Sprintf("%s (n=%d, p99 %s)", name, l.Count, FormatNs(l.P99Ns))
}

// Loaded is a report directory read back.
type Loaded struct {
	Dir     string
	Summary Summary
	Hgrm    []*Hgrm // indexed like Summary.Paths
}

// ReadReport reads a report directory's summary.json and every .hgrm it
// names.
func ReadReport(dir string) (*Loaded, error) {
	s, err := ReadSummary(filepath.Join(dir, SummaryFile))
	if err != nil {
		return nil, err
	}
	l := &Loaded{Dir: dir, Summary: *s}
	for _, p := range s.Paths {
		if p.Hgrm != filepath.Base(p.Hgrm) || !strings.HasSuffix(p.Hgrm, ".hgrm") {
			return nil, fmt.Errorf("reports: read %s: path %q names file %q outside the directory", dir, p.Name, p.Hgrm)
		}
		g, err := readHgrmFile(filepath.Join(dir, p.Hgrm))
		if err != nil {
			return nil, err
		}
		l.Hgrm = append(l.Hgrm, g)
	}
	return l, nil
}

// ReadSummary reads and checks a summary.json.
func ReadSummary(file string) (*Summary, error) {
	data, err := readBounded(file, summaryBytesMax)
	if err != nil {
		return nil, err
	}
	s, err := parseSummary(data)
	if err != nil {
		return nil, fmt.Errorf("reports: read %s: %w", file, err)
	}
	return s, nil
}

// ErrSummaryFormat marks JSON that is not a venue latency summary.
var ErrSummaryFormat = errors.New("not a venue latency summary")

// ParseSummary decodes summary.json bytes and checks the format tag and the
// paths. Malformed input gives an error wrapping ErrSummaryFormat.
func ParseSummary(data []byte) (*Summary, error) {
	s, err := parseSummary(data)
	if err != nil {
		return nil, fmt.Errorf("reports: parse summary: %w", err)
	}
	return s, nil
}

func parseSummary(data []byte) (*Summary, error) {
	var s Summary
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSummaryFormat, err)
	}
	if s.Format != SummaryFormat {
		return nil, fmt.Errorf("%w: format %q, want %q", ErrSummaryFormat, s.Format, SummaryFormat)
	}
	for _, p := range s.Paths {
		if p.Name == "" || p.Hgrm == "" {
			return nil, fmt.Errorf("%w: a path lacks a name or hgrm file", ErrSummaryFormat)
		}
	}
	return &s, nil
}

func readHgrmFile(file string) (*Hgrm, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("reports: read %s: %w", file, err)
	}
	defer f.Close()
	g, err := parseHgrm(f)
	if err != nil {
		return nil, fmt.Errorf("reports: read %s: %w", file, err)
	}
	return g, nil
}

func readBounded(file string, limit int64) ([]byte, error) {
	info, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("reports: read %s: %w", file, err)
	}
	if info.Size() > limit {
		return nil, fmt.Errorf("reports: read %s: %d bytes, more than %d", file, info.Size(), limit)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("reports: read %s: %w", file, err)
	}
	return data, nil
}
