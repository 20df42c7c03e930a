package reports

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// FuzzParseHgrm checks that ParseHgrm never panics, that what it accepts
// obeys its invariants, and that writing it back and parsing again is stable.
func FuzzParseHgrm(f *testing.F) {
	const header = "       Value     Percentile TotalCount 1/(1-Percentile)\n\n"
	// A complete file as WriteHgrm writes it.
	f.Add(goldenHgrm)
	// The same cut inside a row: truncation.
	f.Add(goldenHgrm[:200])
	// Header only, as for an empty histogram (footer follows).
	f.Add(header + "#[Mean    =        0.000, StdDeviation   =        0.000]\n")
	// hdrhistogram-go PercentilesPrint layout: tabs, six decimals, inf.
	f.Add(" Value\tPercentile\tTotalCount\t1/(1-Percentile)\n\n       1.000     1.000000            1          inf\n")
	// Rows that decrease: must be rejected.
	f.Add(header + "2.000 0.5 2 2.00\n1.000 0.6 1 2.50\n")
	// Extreme numbers: exponent notation, huge counts, the value bound.
	f.Add(header + "1e12 0.999999999999 9223372036854775807 1e12\n")
	// A footer with an unknown field and odd spacing.
	f.Add(header + "#[Foo=1,Max   =1.5 , Total count=2]\n")
	// Not a histogram at all.
	f.Add("{\"format\":\"venue-latency-report/1\"}")
	f.Fuzz(func(t *testing.T, in string) {
		g, err := ParseHgrm(strings.NewReader(in))
		if err != nil {
			return
		}
		checkHgrmInvariants(t, g)
		var once bytes.Buffer
		if err := g.Write(&once); err != nil {
			t.Fatal(err)
		}
		g1, err := ParseHgrm(bytes.NewReader(once.Bytes()))
		if err != nil {
			t.Fatalf("re-parse of written output: %v\n%s", err, once.String())
		}
		var twice bytes.Buffer
		if err := g1.Write(&twice); err != nil {
			t.Fatal(err)
		}
		g2, err := ParseHgrm(bytes.NewReader(twice.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		if len(g2.Rows) != len(g1.Rows) || g2.MaxNs != g1.MaxNs || g2.TotalCount != g1.TotalCount {
			t.Fatalf("not stable:\n%s\nthen\n%s", once.String(), twice.String())
		}
		for i := range g1.Rows {
			if g1.Rows[i] != g2.Rows[i] {
				t.Fatalf("row %d: %+v then %+v", i, g1.Rows[i], g2.Rows[i])
			}
		}
	})
}

func checkHgrmInvariants(t *testing.T, g *Hgrm) {
	t.Helper()
	for i, r := range g.Rows {
		if r.ValueNs < 0 || r.TotalCount < 0 || !(r.Percentile >= 0 && r.Percentile <= 1) {
			t.Fatalf("row %d out of range: %+v", i, r)
		}
		if i > 0 && (r.ValueNs < g.Rows[i-1].ValueNs || r.TotalCount < g.Rows[i-1].TotalCount) {
			t.Fatalf("row %d decreases", i)
		}
	}
	if math.IsNaN(g.MeanNs) || g.MaxNs < 0 || g.TotalCount < 0 {
		t.Fatalf("footer out of range: %+v", g)
	}
	_ = g.ValueAtPercentile(99.9)
}

// FuzzParseSummary checks that ParseSummary never panics on outside bytes and
// that what it accepts names every path and file.
func FuzzParseSummary(f *testing.F) {
	// A minimal valid summary.
	f.Add(`{"format":"venue-latency-report/1","paths":[{"name":"order→new","hgrm":"order-new.hgrm","p99_ns":5}]}`)
	// The wrong format tag.
	f.Add(`{"format":"other/1"}`)
	// A path without a file.
	f.Add(`{"format":"venue-latency-report/1","paths":[{"name":"x"}]}`)
	// Truncated JSON.
	f.Add(`{"format":"venue-latency-report/1","paths":[{"na`)
	// Wrong types.
	f.Add(`{"format":"venue-latency-report/1","count":"many","series":7}`)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseSummary([]byte(in))
		if err != nil {
			return
		}
		for _, p := range s.Paths {
			if p.Name == "" || p.Hgrm == "" {
				t.Fatalf("accepted a path without name or file: %+v", p)
			}
		}
	})
}
