package reports

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/plot"
)

// CompareChartBase is the overlay chart `venue report compare` writes, without
// extension.
const CompareChartBase = "compare"

// Comparison is several report directories read side by side; the first is
// the baseline every ratio is taken against.
type Comparison struct {
	Runs  []*Loaded
	Names []string // one per run: the directory's base name, or its path if base names repeat
	Paths []string // every path of any run, in first-seen order
}

// LoadComparison reads the report directories to compare.
func LoadComparison(dirs []string) (*Comparison, error) {
	if len(dirs) == 0 {
		return nil, errors.New("reports: compare: no report directories")
	}
	c := &Comparison{}
	seenPath := map[string]bool{}
	for _, d := range dirs {
		l, err := ReadReport(d)
		if err != nil {
			return nil, err
		}
		c.Runs = append(c.Runs, l)
		for _, p := range l.Summary.Paths {
			if !seenPath[p.Name] {
				seenPath[p.Name] = true
				c.Paths = append(c.Paths, p.Name)
			}
		}
	}
	c.Names = runNames(dirs)
	return c, nil
}

// runNames names runs by their directories' base names, falling back to the
// cleaned paths when two base names are the same.
func runNames(dirs []string) []string {
	names := make([]string, len(dirs))
	seen := map[string]bool{}
	unique := true
	for i, d := range dirs {
		names[i] = filepath.Base(filepath.Clean(d))
		if seen[names[i]] {
			unique = false
		}
		seen[names[i]] = true
	}
	if !unique {
		for i, d := range dirs {
			names[i] = filepath.Clean(d)
		}
	}
	return names
}

// path returns run i's summary and distribution of the named path.
func (c *Comparison) path(i int, name string) (*PathSummary, *Hgrm, bool) {
	l := c.Runs[i]
	for j := range l.Summary.Paths {
		if l.Summary.Paths[j].Name == name {
			return &l.Summary.Paths[j], l.Hgrm[j], true
		}
	}
	return nil, nil, false
}

// WriteTable prints, per path, each run's standard percentiles in
// microseconds with its count, errors and timeouts, and under every run after
// the first the ratio of each percentile to the first run's (2.00x: twice as
// slow). Percentiles come from summary.json, so they are exact.
func (c *Comparison) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	for pi, name := range c.Paths {
		if pi > 0 {
			fmt.Fprintln(tw, "\t")
		}
		fmt.Fprintf(tw, "%s (µs)\tcount\terrors\ttimeouts\tp50\tp90\tp99\tp99.9\tp99.99\tmax\t\n", name)
		base, _, baseOK := c.path(0, name)
		for i := range c.Runs {
			c.writeRunRow(tw, i, name)
			if p, _, ok := c.path(i, name); i > 0 && ok && baseOK {
				writeRatioRow(tw, c.Names[0], p.Latency, base.Latency)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("reports: compare: write table: %w", err)
	}
	return nil
}

func (c *Comparison) writeRunRow(w io.Writer, i int, name string) {
	p, _, ok := c.path(i, name)
	if !ok {
		fmt.Fprintf(w, "%s\t-\t-\t-\t-\t-\t-\t-\t-\t-\t\n", c.Names[i])
		return
	}
	fmt.Fprintf(w, "%s\t%d\t%d\t%d", c.Names[i], p.Count, p.Errors, p.Timeouts)
	for _, v := range p.Percentiles() {
		fmt.Fprintf(w, "\t%.2f", float64(v.Ns)/hgrmNsPerUnit)
	}
	fmt.Fprint(w, "\t\n")
}

func writeRatioRow(w io.Writer, baseName string, run, base Latency) {
	fmt.Fprintf(w, "ratio to %s\t\t\t", baseName)
	bp := base.Percentiles()
	for j, v := range run.Percentiles() {
		fmt.Fprintf(w, "\t%s", FormatRatio(v.Ns, bp[j].Ns))
	}
	fmt.Fprint(w, "\t\n")
}

// FormatRatio formats run/base as "1.23x", or "-" when base is zero.
func FormatRatio(run, base int64) string {
	if base == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", float64(run)/float64(base))
}

// Chart overlays every run's percentile curves: one color per run, one dash
// pattern per path.
func (c *Comparison) Chart() (*plot.Plot, error) {
	var curves []Curve
	for pi, name := range c.Paths {
		for i := range c.Runs {
			p, g, ok := c.path(i, name)
			if !ok || len(g.Rows) == 0 {
				continue
			}
			label := curveLabel(c.Names[i]+": "+name, p.Latency)
			curves = append(curves, Curve{Label: label, Rows: g.Rows, Color: i, Dash: pi})
		}
	}
	return PercentileChart("latency by percentile: "+strings.Join(c.Names, " vs "), curves)
}

// WriteChart writes the overlay chart as compare.png and compare.svg in dir
// and returns the files written.
func (c *Comparison) WriteChart(dir string) ([]string, error) {
	p, err := c.Chart()
	if err != nil {
		return nil, err
	}
	return SaveCharts(filepath.Join(dir, CompareChartBase), []*plot.Plot{p})
}
