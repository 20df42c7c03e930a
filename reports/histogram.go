package reports

import (
	"fmt"
	"math"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram range and precision shared by every latency histogram venue
// writes, so histograms from different runs, paths and benches merge and
// compare bucket for bucket. Values are nanoseconds.
const (
	// histLowestNs is the smallest distinguishable value. One nanosecond
	// keeps three significant digits all the way down: a 1 µs floor would
	// make HdrHistogram's unit 512 ns and blur every sub-millisecond latency.
	histLowestNs = 1
	// histHighestNs is the largest value recorded as itself; anything slower
	// is recorded at this value and counted as saturated, never dropped.
	histHighestNs = 60 * 1_000_000_000
	// histSignificantDigits is the value precision: 0.1% relative error.
	histSignificantDigits = 3
)

// NewHistogram returns an empty latency histogram with venue's standard
// range (1 ns to 60 s) and precision (3 significant digits), recording
// nanoseconds. It holds about 220 KB of counts.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowestNs, histHighestNs, histSignificantDigits)
}

// Latency is the standard set of latency statistics every venue report and
// bench prints, under the same JSON keys everywhere.
type Latency struct {
	P50Ns   int64   `json:"p50_ns"`
	P90Ns   int64   `json:"p90_ns"`
	P99Ns   int64   `json:"p99_ns"`
	P999Ns  int64   `json:"p999_ns"`
	P9999Ns int64   `json:"p9999_ns"`
	MaxNs   int64   `json:"max_ns"`
	MeanNs  float64 `json:"mean_ns"`
	Count   int64   `json:"count"`
}

// standardPercentiles are the percentiles of Latency, in field order.
var standardPercentiles = []float64{50, 90, 99, 99.9, 99.99}

// LatencyOf summarizes a histogram of nanosecond values into the standard
// keys. Percentiles are HdrHistogram's: the highest value equivalent (within
// the histogram's precision) to the recorded value at that rank. An empty
// histogram gives all zeros.
func LatencyOf(h *hdrhistogram.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	v := h.ValueAtPercentilesSlice(standardPercentiles)
	return Latency{
		P50Ns: v[0], P90Ns: v[1], P99Ns: v[2], P999Ns: v[3], P9999Ns: v[4],
		MaxNs:  h.Max(),
		MeanNs: math.Round(h.Mean()),
		Count:  h.TotalCount(),
	}
}

// Percentiles returns the standard percentiles in order, with their labels,
// for tables and charts.
func (l Latency) Percentiles() []LabeledValue {
	return []LabeledValue{
		{"p50", l.P50Ns}, {"p90", l.P90Ns}, {"p99", l.P99Ns},
		{"p99.9", l.P999Ns}, {"p99.99", l.P9999Ns}, {"max", l.MaxNs},
	}
}

// String formats the statistics for a bench's text output:
// "n=1000 p50 12.3µs p90 ... max 1.20ms".
func (l Latency) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "n=%d", l.Count)
	for _, v := range l.Percentiles() {
		fmt.Fprintf(&b, " %s %s", v.Label, FormatNs(v.Ns))
	}
	return b.String()
}

// LabeledValue is one named nanosecond statistic.
type LabeledValue struct {
	Label string
	Ns    int64
}

// Hist is the HdrHistogram type this package records into.
type Hist = hdrhistogram.Histogram
