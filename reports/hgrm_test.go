package reports

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

// goldenHgrm is five values (1, 2, 3, 4 and 100 µs) in Java's
// outputPercentileDistribution layout, values in µs: the rows step through
// the percentile levels 0, 10, ..., 50, 55, ... 77.5, 80, 82.5 and end at 100%
// without the 1/(1-p) column.
const goldenHgrm = `       Value     Percentile TotalCount 1/(1-Percentile)

       1.000 0.000000000000          1           1.00
       1.000 0.100000000000          1           1.11
       1.000 0.200000000000          1           1.25
       2.000 0.300000000000          2           1.43
       2.000 0.400000000000          2           1.67
       3.001 0.500000000000          3           2.00
       3.001 0.550000000000          3           2.22
       3.001 0.600000000000          3           2.50
       4.001 0.650000000000          4           2.86
       4.001 0.700000000000          4           3.33
       4.001 0.750000000000          4           4.00
       4.001 0.775000000000          4           4.44
       4.001 0.800000000000          4           5.00
     100.031 0.825000000000          5           5.71
     100.031 1.000000000000          5
#[Mean    =       22.000, StdDeviation   =       39.013]
#[Max     =      100.031, Total count    =            5]
#[Buckets =           26, SubBuckets     =         2048]
`

func fiveValues() *Hist {
	h := NewHistogram()
	for _, v := range []int64{1000, 2000, 3000, 4000, 100_000} {
		_ = h.RecordValue(v)
	}
	return h
}

func TestWriteHgrmStandardLayout(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHgrm(&buf, fiveValues()); err != nil {
		t.Fatal(err)
	}
	if buf.String() != goldenHgrm {
		t.Errorf("got\n%s\nwant\n%s", buf.String(), goldenHgrm)
	}
}

func TestHgrmFooterGeometryMatchesLibrary(t *testing.T) {
	// The footer's bucket counts are recomputed; PercentilesPrint knows the
	// real ones.
	for _, h := range []*Hist{NewHistogram(), newHist(1000, 60_000_000, 2), newHist(1, 3_600_000_000, 5)} {
		var lib bytes.Buffer
		if _, err := h.PercentilesPrint(&lib, 5, 1); err != nil {
			t.Fatal(err)
		}
		want, err := ParseHgrm(&lib)
		if err != nil {
			t.Fatal(err)
		}
		b, s := histGeometry(h)
		if b != want.Buckets || s != want.SubBuckets {
			t.Errorf("geometry %d/%d, library says %d/%d", b, s, want.Buckets, want.SubBuckets)
		}
	}
}

func TestHgrmRoundTrip(t *testing.T) {
	h := NewHistogram()
	for us := int64(1); us <= 10000; us++ {
		_ = h.RecordValue(us*1000 + us%7) // not whole microseconds
	}
	_ = h.RecordValue(2_500_000_000) // a 2.5 s outlier
	want := HgrmOf(h)
	var buf bytes.Buffer
	if err := want.Write(&buf); err != nil {
		t.Fatal(err)
	}
	got, err := ParseHgrm(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rows) != len(want.Rows) || len(got.Rows) < 50 {
		t.Fatalf("%d rows, want %d (and many)", len(got.Rows), len(want.Rows))
	}
	for i := range want.Rows {
		w, g := want.Rows[i], got.Rows[i]
		if g.ValueNs != w.ValueNs || g.TotalCount != w.TotalCount || math.Abs(g.Percentile-w.Percentile) > 1e-12 {
			t.Fatalf("row %d = %+v, want %+v", i, g, w)
		}
	}
	if got.MaxNs != want.MaxNs || got.TotalCount != want.TotalCount ||
		math.Abs(got.MeanNs-want.MeanNs) > 1 || math.Abs(got.StdDevNs-want.StdDevNs) > 1 {
		t.Errorf("footer %+v, want %+v", got, want)
	}
	for _, pct := range []float64{0, 50, 90, 100} { // levels the rows hit exactly
		if g, w := got.ValueAtPercentile(pct), h.ValueAtPercentile(pct); g != w {
			t.Errorf("p%v from rows = %d, histogram says %d", pct, g, w)
		}
	}
	if g, w := got.ValueAtPercentile(99), h.ValueAtPercentile(99); g < w || g > w+w/500 {
		t.Errorf("p99 from rows = %d, want an upper bound within 0.2%% of %d", g, w)
	}
}

func TestParseHgrmReadsPercentilesPrint(t *testing.T) {
	// hdrhistogram-go's own writer: tab header, six-decimal percentiles and
	// an "inf" column on the last row.
	var buf bytes.Buffer
	if _, err := fiveValues().PercentilesPrint(&buf, 5, hgrmNsPerUnit); err != nil {
		t.Fatal(err)
	}
	g, err := ParseHgrm(&buf)
	if err != nil {
		t.Fatal(err)
	}
	last := g.Rows[len(g.Rows)-1]
	if len(g.Rows) != 15 || last.ValueNs != 100_031 || last.Percentile != 1 || last.TotalCount != 5 || g.TotalCount != 5 {
		t.Errorf("parsed %d rows, last %+v, total %d", len(g.Rows), last, g.TotalCount)
	}
}

func TestParseHgrmSkipsComments(t *testing.T) {
	in := "# written by a tool\n" + goldenHgrm + "# trailing comment\n"
	g, err := ParseHgrm(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Rows) != 15 || g.TotalCount != 5 {
		t.Errorf("with comments: %d rows, total %d; want 15, 5", len(g.Rows), g.TotalCount)
	}
}

func TestParseHgrmRejects(t *testing.T) {
	header := "Value Percentile TotalCount 1/(1-Percentile)\n\n"
	tests := []struct {
		name, in string
	}{
		{"empty", ""},
		{"no header", "1.000 0.5 1 2.00\n"},
		{"too few fields", header + "1.000 0.5\n"},
		{"too many fields", header + "1.000 0.5 1 2.00 7\n"},
		{"value not a number", header + "x 0.5 1 2.00\n"},
		{"negative value", header + "-1.000 0.5 1 2.00\n"},
		{"value NaN", header + "NaN 0.5 1 2.00\n"},
		{"value beyond bound", header + "1e13 0.5 1 2.00\n"},
		{"percentile above 1", header + "1.000 1.5 1 2.00\n"},
		{"negative count", header + "1.000 0.5 -1 2.00\n"},
		{"count decreases", header + "1.000 0.5 2 2.00\n2.000 0.6 1 2.50\n"},
		{"percentile decreases", header + "1.000 0.6 1 2.50\n2.000 0.5 2 2.00\n"},
		{"value decreases", header + "2.000 0.5 1 2.00\n1.000 0.6 2 2.50\n"},
		{"footer unclosed", header + "#[Mean = 1.000, StdDeviation = 0.000\n"},
		{"footer without =", header + "#[Mean 1.000]\n"},
		{"footer bad count", header + "#[Max = 1.000, Total count = -3]\n"},
		{"line too long", header + strings.Repeat("1", hgrmLineBytesMax+1) + "\n"},
	}
	for _, tt := range tests {
		_, err := ParseHgrm(strings.NewReader(tt.in))
		if err == nil {
			t.Errorf("%s: accepted", tt.name)
		} else if !strings.HasPrefix(err.Error(), "reports: ") {
			t.Errorf("%s: error %q lacks the package prefix", tt.name, err)
		}
	}
	if _, err := ParseHgrm(strings.NewReader("1 2 3\n")); !errors.Is(err, ErrHgrmFormat) {
		t.Errorf("error %v does not wrap ErrHgrmFormat", err)
	}
}

func TestParseHgrmTruncated(t *testing.T) {
	// Every prefix of a good file that keeps the header parses, to the rows it
	// holds: a report cut short by a crash is still readable.
	for n := len("       Value     Percentile TotalCount 1/(1-Percentile)\n"); n <= len(goldenHgrm); n++ {
		g, err := ParseHgrm(strings.NewReader(goldenHgrm[:n]))
		if err != nil {
			// A line cut inside a row or footer may be malformed; that must be
			// an ErrHgrmFormat, never a panic or a silent wrong value.
			if !errors.Is(err, ErrHgrmFormat) {
				t.Fatalf("prefix %d: %v", n, err)
			}
			continue
		}
		for _, r := range g.Rows {
			if r.TotalCount > 5 || r.ValueNs > 100_031 {
				t.Fatalf("prefix %d: row %+v beyond the file's", n, r)
			}
		}
	}
}

func TestParseHgrmEmptyHistogram(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteHgrm(&buf, NewHistogram()); err != nil {
		t.Fatal(err)
	}
	g, err := ParseHgrm(&buf)
	if err != nil || len(g.Rows) != 0 || g.TotalCount != 0 || g.ValueAtPercentile(99) != 0 {
		t.Errorf("empty histogram: %+v, %v", g, err)
	}
}
