package reports

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// The .hgrm format is HdrHistogram's percentile distribution text, as Java's
// Histogram.outputPercentileDistribution writes it and
// HdrHistogram/plotFiles.html reads it: a header, one row per percentile step
// (value, percentile as a fraction, cumulative count, 1/(1-percentile)), a
// last row at 100% without the inverted column, and a #[Mean ...], #[Max ...],
// #[Buckets ...] footer. Values are written in microseconds with three
// decimals, so nanosecond values survive exactly.
//
// hdrhistogram-go's PercentilesPrint is not used: it writes a tab-separated
// header, six-decimal percentiles (99.99999% and 99.9999% print alike) and an
// "inf" column on the last row, none of which is the standard layout.
const (
	// hgrmNsPerUnit converts recorded nanoseconds to the file's microseconds.
	hgrmNsPerUnit = 1000.0
	// hgrmValueUnit names the unit of .hgrm values in summary.json.
	hgrmValueUnit = "us"
	// hgrmTicksPerHalfDistance is the percentile step density; 5 is the
	// HdrHistogram tools' default.
	hgrmTicksPerHalfDistance = 5
	// hgrmRowsMax bounds the rows a parsed file may hold. A 60 s range at 3
	// significant digits prints a few hundred; the bound rejects garbage.
	hgrmRowsMax = 100_000
	// hgrmLineBytesMax bounds one line of a parsed file.
	hgrmLineBytesMax = 4096
	// hgrmValueMaxUs bounds a parsed value (11.6 days): below 2^41 µs a
	// float64 holds three decimals exactly, so values round-trip to the
	// nanosecond.
	hgrmValueMaxUs = 1e12
)

// Hgrm is a parsed (or computed) percentile distribution.
type Hgrm struct {
	Rows       []HgrmRow
	MeanNs     float64
	StdDevNs   float64
	MaxNs      int64
	TotalCount int64
	Buckets    int64
	SubBuckets int64
}

// HgrmRow is one row of a percentile distribution: TotalCount values are at
// or below ValueNs, which is the Percentile (a fraction, 0..1) point.
type HgrmRow struct {
	ValueNs    int64
	Percentile float64
	TotalCount int64
}

// HgrmOf computes the percentile distribution a .hgrm file of h holds.
func HgrmOf(h *hdrhistogram.Histogram) *Hgrm {
	out := &Hgrm{
		MeanNs: h.Mean(), StdDevNs: h.StdDev(), MaxNs: h.Max(), TotalCount: h.TotalCount(),
	}
	out.Buckets, out.SubBuckets = histGeometry(h)
	if h.TotalCount() == 0 {
		return out // Java prints no rows for an empty histogram
	}
	for _, b := range h.CumulativeDistributionWithTicks(hgrmTicksPerHalfDistance) {
		out.Rows = append(out.Rows, HgrmRow{ValueNs: b.ValueAt, Percentile: b.Quantile / 100, TotalCount: b.Count})
	}
	return out
}

// histGeometry recomputes the bucket and sub-bucket counts of h for the
// footer (hdrhistogram-go keeps them private), as HdrHistogram does.
func histGeometry(h *hdrhistogram.Histogram) (buckets, subBuckets int64) {
	singleUnitMax := 2 * math.Pow10(int(h.SignificantFigures()))
	subBuckets = int64(1) << int(math.Ceil(math.Log2(singleUnitMax)))
	unitMagnitude := int(math.Floor(math.Log2(float64(max(h.LowestTrackableValue(), 1)))))
	smallestUntrackable := subBuckets << unitMagnitude
	buckets = 1
	for smallestUntrackable <= h.HighestTrackableValue() {
		if smallestUntrackable > math.MaxInt64/2 {
			return buckets + 1, subBuckets
		}
		smallestUntrackable <<= 1
		buckets++
	}
	return buckets, subBuckets
}

// WriteHgrm writes h's percentile distribution in the standard .hgrm text
// format, values in microseconds.
func WriteHgrm(w io.Writer, h *hdrhistogram.Histogram) error {
	return HgrmOf(h).Write(w)
}

// Write writes the distribution in the standard .hgrm text format.
func (g *Hgrm) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)")
	for _, r := range g.Rows {
		v := float64(r.ValueNs) / hgrmNsPerUnit
		if r.Percentile != 1 {
			fmt.Fprintf(bw, "%12.3f %2.12f %10d %14.2f\n", v, r.Percentile, r.TotalCount, 1/(1-r.Percentile))
		} else {
			fmt.Fprintf(bw, "%12.3f %2.12f %10d\n", v, r.Percentile, r.TotalCount)
		}
	}
	fmt.Fprintf(bw, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", g.MeanNs/hgrmNsPerUnit, g.StdDevNs/hgrmNsPerUnit)
	fmt.Fprintf(bw, "#[Max     = %12.3f, Total count    = %12d]\n", float64(g.MaxNs)/hgrmNsPerUnit, g.TotalCount)
	fmt.Fprintf(bw, "#[Buckets = %12d, SubBuckets     = %12d]\n", g.Buckets, g.SubBuckets)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("reports: write hgrm: %w", err)
	}
	return nil
}

// ErrHgrmFormat marks input that is not a percentile distribution.
var ErrHgrmFormat = errors.New("not an hgrm percentile distribution")

// ParseHgrm reads a .hgrm percentile distribution whose values are in
// microseconds. It accepts what Java's outputPercentileDistribution and
// hdrhistogram-go's PercentilesPrint write; it requires the header line and
// rows whose percentiles and counts never decrease; the footer and comment
// lines are optional. Malformed input gives an error wrapping ErrHgrmFormat.
func ParseHgrm(r io.Reader) (*Hgrm, error) {
	g, err := parseHgrm(r)
	if err != nil {
		return nil, fmt.Errorf("reports: parse hgrm: %w", err)
	}
	return g, nil
}

// parseHgrm is ParseHgrm without the package prefix, for callers that add
// their own (the file name).
func parseHgrm(r io.Reader) (*Hgrm, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), hgrmLineBytesMax)
	g := &Hgrm{}
	header := false
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		var err error
		switch {
		case text == "":
		case strings.HasPrefix(text, "#") && !strings.HasPrefix(text, "#["):
			// A comment some writers add; nothing to read.
		case !header:
			if !strings.HasPrefix(text, "Value") {
				return nil, fmt.Errorf("%w: line %d: want the Value/Percentile header", ErrHgrmFormat, line)
			}
			header = true
		case strings.HasPrefix(text, "#["):
			err = g.parseFooter(text)
		default:
			err = g.parseRow(text)
		}
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrHgrmFormat, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if !header {
		return nil, fmt.Errorf("%w: no header", ErrHgrmFormat)
	}
	return g, nil
}

func (g *Hgrm) parseRow(text string) error {
	f := strings.Fields(text)
	if len(f) != 3 && len(f) != 4 {
		return fmt.Errorf("row has %d fields, want 3 or 4", len(f))
	}
	if len(g.Rows) >= hgrmRowsMax {
		return fmt.Errorf("more than %d rows", hgrmRowsMax)
	}
	v, err := parseValueNs(f[0])
	if err != nil {
		return err
	}
	p, err := strconv.ParseFloat(f[1], 64)
	if err != nil || !(p >= 0 && p <= 1) {
		return fmt.Errorf("percentile %q not in 0..1", f[1])
	}
	c, err := strconv.ParseInt(f[2], 10, 64)
	if err != nil || c < 0 {
		return fmt.Errorf("count %q not a non-negative integer", f[2])
	}
	row := HgrmRow{ValueNs: v, Percentile: p, TotalCount: c}
	if n := len(g.Rows); n > 0 {
		prev := g.Rows[n-1]
		if row.Percentile < prev.Percentile || row.TotalCount < prev.TotalCount || row.ValueNs < prev.ValueNs {
			return fmt.Errorf("row decreases")
		}
	}
	g.Rows = append(g.Rows, row)
	return nil
}

// parseValueNs parses a microsecond value into nanoseconds.
func parseValueNs(s string) (int64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v >= 0 && v <= hgrmValueMaxUs) {
		return 0, fmt.Errorf("value %q not in 0..%g µs", s, hgrmValueMaxUs)
	}
	return int64(math.Round(v * hgrmNsPerUnit)), nil
}

// parseFooter reads one "#[Name = value, Name = value]" footer line.
func (g *Hgrm) parseFooter(text string) error {
	body, ok := strings.CutSuffix(strings.TrimPrefix(text, "#["), "]")
	if !ok {
		return fmt.Errorf("footer not closed by ]")
	}
	for _, kv := range strings.Split(body, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("footer field %q has no =", kv)
		}
		if err := g.setFooter(strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
			return err
		}
	}
	return nil
}

func (g *Hgrm) setFooter(k, v string) error {
	var err error
	var ns int64
	switch k {
	case "Mean", "StdDeviation", "Max":
		ns, err = parseValueNs(v)
		if err != nil {
			return err
		}
		f, _ := strconv.ParseFloat(v, 64)
		switch k {
		case "Mean":
			g.MeanNs = f * hgrmNsPerUnit
		case "StdDeviation":
			g.StdDevNs = f * hgrmNsPerUnit
		default:
			g.MaxNs = ns
		}
	case "Total count":
		g.TotalCount, err = parseCount(v)
	case "Buckets":
		g.Buckets, err = parseCount(v)
	case "SubBuckets":
		g.SubBuckets, err = parseCount(v)
	default:
		// Unknown footer fields from other writers are ignored.
	}
	return err
}

func parseCount(v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("count %q not a non-negative integer", v)
	}
	return n, nil
}

// ValueAtPercentile returns the value at percentile pct (0..100) read from
// the rows: the value of the first row holding at least that rank of the
// total count. It is exact when a row ends at the rank's bucket and an upper
// bound otherwise (the rows are a sample of the buckets); summary.json holds
// the exact standard percentiles. Zero if there are no rows.
func (g *Hgrm) ValueAtPercentile(pct float64) int64 {
	if len(g.Rows) == 0 {
		return 0
	}
	total := g.Rows[len(g.Rows)-1].TotalCount
	// HdrHistogram's rank rule, so a row-exact answer matches the histogram's.
	rank := int64(pct/100*float64(total) + 0.5)
	for _, r := range g.Rows {
		if r.TotalCount >= rank && r.TotalCount > 0 {
			return r.ValueNs
		}
	}
	return g.Rows[len(g.Rows)-1].ValueNs
}
