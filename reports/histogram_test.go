package reports

import (
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// within reports whether got is within HdrHistogram's 3-significant-digit
// precision (0.1%, plus one for rounding) of want.
func within(got, want int64) bool {
	d := got - want
	if d < 0 {
		d = -d
	}
	return d <= want/1000+1
}

func TestLatencyOfUniform(t *testing.T) {
	// 1..10000 µs uniform, one value each: the k-th percentile is k% of
	// 10000 µs, exactly, up to the histogram's precision.
	h := NewHistogram()
	for us := int64(1); us <= 10000; us++ {
		if err := h.RecordValue(us * 1000); err != nil {
			t.Fatal(err)
		}
	}
	l := LatencyOf(h)
	tests := []struct {
		name      string
		got, want int64
	}{
		{"p50", l.P50Ns, 5_000_000},
		{"p90", l.P90Ns, 9_000_000},
		{"p99", l.P99Ns, 9_900_000},
		{"p99.9", l.P999Ns, 9_990_000},
		{"p99.99", l.P9999Ns, 9_999_000},
		{"max", l.MaxNs, 10_000_000},
		{"mean", int64(l.MeanNs), 5_000_500},
		{"count", l.Count, 10000},
	}
	for _, tt := range tests {
		if !within(tt.got, tt.want) {
			t.Errorf("%s = %d ns, want %d ns within 0.1%%", tt.name, tt.got, tt.want)
		}
	}
	if l.Count != 10000 {
		t.Errorf("count = %d, want exactly 10000", l.Count)
	}
}

func TestLatencyOfSmallValuesExact(t *testing.T) {
	// Below 2048 ns the histogram has 1 ns resolution: percentiles are exact.
	h := NewHistogram()
	for v := int64(1); v <= 1000; v++ {
		_ = h.RecordValue(v)
	}
	l := LatencyOf(h)
	if l.P50Ns != 500 || l.P90Ns != 900 || l.P99Ns != 990 || l.P999Ns != 999 || l.MaxNs != 1000 {
		t.Errorf("latency = %+v, want p50 500 p90 900 p99 990 p99.9 999 max 1000 exactly", l)
	}
}

func TestLatencyOfEmpty(t *testing.T) {
	if l := LatencyOf(NewHistogram()); l != (Latency{}) {
		t.Errorf("empty histogram: %+v, want zeros", l)
	}
}

func TestFormatNs(t *testing.T) {
	tests := []struct {
		ns   int64
		want string
	}{
		{0, "0ns"}, {850, "850ns"}, {1_000, "1.00µs"}, {12_345, "12.3µs"}, {123_456, "123µs"},
		{4_560_000, "4.56ms"}, {1_200_000_000, "1.20s"}, {60_000_000_000, "60.0s"},
	}
	for _, tt := range tests {
		if got := FormatNs(tt.ns); got != tt.want {
			t.Errorf("FormatNs(%d) = %q, want %q", tt.ns, got, tt.want)
		}
	}
}

func newHist(lowest, highest int64, digits int) *Hist {
	return hdrhistogram.New(lowest, highest, digits)
}

func TestConstantRelations(t *testing.T) {
	// Every recordable value must survive a trip through a .hgrm file.
	if float64(histHighestNs)/hgrmNsPerUnit > hgrmValueMaxUs {
		t.Error("the histogram's highest value does not fit a .hgrm value")
	}
	// Three decimals of a microsecond stay exact in a float64 below 2^41.
	if hgrmValueMaxUs >= 1<<41 {
		t.Error("hgrmValueMaxUs too large for exact three-decimal values")
	}
	// The histogram distinguishes the precision the reports print.
	if h := NewHistogram(); h.LowestTrackableValue() != 1 || h.SignificantFigures() != 3 || h.HighestTrackableValue() < histHighestNs {
		t.Errorf("NewHistogram range %d..%d, %d digits", h.LowestTrackableValue(), h.HighestTrackableValue(), h.SignificantFigures())
	}
	// The back-fill bound keeps RecordCorrected's worst case small.
	if backfillValuesMax > 1<<20 {
		t.Error("backfillValuesMax allows a slow RecordCorrected")
	}
}
