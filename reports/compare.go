package reports

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"unicode/utf8"

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

// KeepPaths narrows the table and chart to the named paths, in the order
// given; a name no run has is an error.
func (c *Comparison) KeepPaths(names []string) error {
	have := map[string]bool{}
	for _, p := range c.Paths {
		have[p] = true
	}
	for _, n := range names {
		if !have[n] {
			return fmt.Errorf("reports: compare: no run has path %q (have: %s)", n, strings.Join(c.Paths, ", "))
		}
	}
	c.Paths = append([]string(nil), names...)
	return nil
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

// WriteTable prints, per path, each run's count, errors, timeouts and
// standard percentiles (three significant digits, the histograms'
// precision), and under every run after the first the ratio of each
// percentile to the first run's (2.00x: twice as slow). Percentiles come from
// summary.json, so they are exact.
func (c *Comparison) WriteTable(w io.Writer) error {
	var rows [][]string
	for pi, name := range c.Paths {
		if pi > 0 {
			rows = append(rows, nil) // a blank line between paths
		}
		rows = append(rows, []string{name, "count", "errors", "timeouts", "p50", "p90", "p99", "p99.9", "p99.99", "max"})
		base, _, baseOK := c.path(0, name)
		for i := range c.Runs {
			p, _, ok := c.path(i, name)
			rows = append(rows, runRow(c.Names[i], p, ok))
			if i > 0 && ok && baseOK {
				rows = append(rows, ratioRow(c.Names[0], p.Latency, base.Latency))
			}
		}
	}
	if err := writeAligned(w, rows); err != nil {
		return fmt.Errorf("reports: compare: write table: %w", err)
	}
	return nil
}

func runRow(name string, p *PathSummary, ok bool) []string {
	row := []string{"  " + name}
	if !ok {
		return append(row, "-", "-", "-", "-", "-", "-", "-", "-", "-")
	}
	row = append(row, fmt.Sprint(p.Count), fmt.Sprint(p.Errors), fmt.Sprint(p.Timeouts))
	for _, v := range p.Percentiles() {
		if p.Count == 0 {
			row = append(row, "-") // no traffic: no latency, not a 0 ns one
			continue
		}
		row = append(row, FormatNs(v.Ns))
	}
	return row
}

func ratioRow(baseName string, run, base Latency) []string {
	row := []string{"  ratio to " + baseName, "", "", ""}
	bp := base.Percentiles()
	for j, v := range run.Percentiles() {
		row = append(row, FormatRatio(v.Ns, bp[j].Ns))
	}
	return row
}

// writeAligned prints rows with the first column left-aligned and the others
// right-aligned, each as wide as its widest cell (counted in runes: names
// hold arrows and µ).
func writeAligned(w io.Writer, rows [][]string) error {
	var widths []int
	for _, r := range rows {
		for i, cell := range r {
			if i >= len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(cell))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		for i, cell := range r {
			pad := strings.Repeat(" ", widths[i]-utf8.RuneCountInString(cell))
			if i == 0 {
				b.WriteString(cell + pad)
			} else {
				b.WriteString("  " + pad + cell)
			}
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
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
