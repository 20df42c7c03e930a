package reports

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	_ "gonum.org/v1/plot/vg/vgimg" // registers png
	_ "gonum.org/v1/plot/vg/vgsvg" // registers svg
)

// Chart geometry.
const (
	chartWidth          = 10 * vg.Inch
	chartHeight         = 6 * vg.Inch
	overTimePanelHeight = 3 * vg.Inch
	chartLineWidth      = 1.5 // points
	// latencyFloorUs keeps zero latencies plottable on the log axis: 1 ns.
	latencyFloorUs = 0.001
	// ninesDecadesMin is the least width of the nines axis: 0% to 90%.
	ninesDecadesMin = 1
	// labelledMinorDecadesMax is the widest latency axis whose 2 and 5
	// ticks are labelled; wider axes label decades only.
	labelledMinorDecadesMax = 3
	// glyphPointsMax is the most points a line may have and still get a
	// glyph on each: sparse lines (a path with one sample, a short run) stay
	// visible, dense ones stay clean.
	glyphPointsMax = 30
	glyphRadius    = 2.5 // points
	legendInset    = 8   // points from the plot area's corner
	latencyLabel   = "latency (log scale)"
)

// chartFormats are the formats every chart is written in, by extension.
var chartFormats = []string{"png", "svg"}

// Curve is one line on a latency-by-percentile chart.
type Curve struct {
	Label string
	Rows  []HgrmRow
	Color int // index into plotutil's palette
	Dash  int // index into plotutil's dash patterns; 0 is solid
}

// PercentileChart draws latency by percentile: the x axis is 1/(1-p) on a
// log scale, labelled as percentiles (0%, 90%, 99%, 99.9%, ...), the usual
// HdrHistogram "nines" axis, so the tail gets as much room as the median.
// The y axis is latency on a log scale with unit-labelled ticks (1µs, 1ms),
// so runs an order of magnitude apart stay readable on one chart.
func PercentileChart(title string, curves []Curve) (*plot.Plot, error) {
	p := newPlot(title, "percentile (log scale of 1/(1-p))", latencyLabel)
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = ninesTicks{}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(legendInset), -vg.Points(legendInset)
	maxX := math.Pow10(ninesDecadesMin)
	var ys []float64
	for _, c := range curves {
		xys := make(plotter.XYs, 0, len(c.Rows))
		for _, r := range c.Rows {
			if r.Percentile >= 1 {
				continue // 1/(1-p) is infinite; the max sits on the row before
			}
			x := 1 / (1 - r.Percentile)
			y := max(float64(r.ValueNs)/hgrmNsPerUnit, latencyFloorUs)
			xys = append(xys, plotter.XY{X: x, Y: y})
			maxX, ys = max(maxX, x), append(ys, y)
		}
		if err := addLine(p, c.Label, xys, c.Color, c.Dash); err != nil {
			return nil, err
		}
	}
	p.X.Min, p.X.Max = 1, math.Pow10(int(math.Ceil(math.Log10(maxX)-1e-9)))
	setLatencyAxis(p, ys)
	return p, nil
}

// OverTimeChart draws one panel per path with p50, p99 and max latency per
// interval against seconds since the start. Paths without traffic are left
// out; if none had any, one empty panel says so.
func OverTimeChart(title string, names []string, series []IntervalPoint) ([]*plot.Plot, error) {
	var panels []*plot.Plot
	for i, name := range names {
		var p50, p99, pmax plotter.XYs
		var ys []float64
		for _, pt := range series {
			if i >= len(pt.Paths) || pt.Paths[i].Count == 0 {
				continue
			}
			x, ip := float64(pt.EndNs)/1e9, pt.Paths[i]
			for _, s := range []struct {
				xys *plotter.XYs
				ns  int64
			}{{&p50, ip.P50Ns}, {&p99, ip.P99Ns}, {&pmax, ip.MaxNs}} {
				y := max(float64(s.ns)/hgrmNsPerUnit, latencyFloorUs)
				*s.xys, ys = append(*s.xys, plotter.XY{X: x, Y: y}), append(ys, y)
			}
		}
		if len(ys) == 0 {
			continue
		}
		p := newPlot(title+": "+name, "time since start (s)", latencyLabel)
		p.Legend.Top = true
		p.Legend.XOffs, p.Legend.YOffs = -vg.Points(legendInset), -vg.Points(legendInset)
		for j, l := range []struct {
			label string
			xys   plotter.XYs
		}{{"p50", p50}, {"p99", p99}, {"max", pmax}} {
			if err := addLine(p, l.label, l.xys, j, 0); err != nil {
				return nil, err
			}
		}
		setLatencyAxis(p, ys)
		p.X.Min = 0 // the run starts at 0 even if the first interval was quiet
		panels = append(panels, p)
	}
	if len(panels) == 0 {
		panels = append(panels, newPlot(title+": no traffic", "time since start (s)", latencyLabel))
	}
	return panels, nil
}

func newPlot(title, x, y string) *plot.Plot {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = title, x, y
	p.Add(plotter.NewGrid())
	return p
}

func addLine(p *plot.Plot, label string, xys plotter.XYs, colorIdx, dashIdx int) error {
	if len(xys) == 0 {
		return nil
	}
	l, pts, err := plotter.NewLinePoints(xys)
	if err != nil {
		return fmt.Errorf("reports: chart line %q: %w", label, err)
	}
	l.LineStyle.Color = plotutil.Color(colorIdx)
	l.LineStyle.Dashes = plotutil.Dashes(dashIdx)
	l.LineStyle.Width = vg.Points(chartLineWidth)
	p.Add(l)
	if len(xys) > glyphPointsMax {
		p.Legend.Add(label, l)
		return nil
	}
	pts.GlyphStyle.Color = l.LineStyle.Color
	pts.GlyphStyle.Radius = vg.Points(glyphRadius)
	pts.GlyphStyle.Shape = draw.CircleGlyph{}
	p.Add(pts)
	p.Legend.Add(label, l, pts)
	return nil
}

// setLatencyAxis makes the y axis logarithmic over whole decades covering ys.
func setLatencyAxis(p *plot.Plot, ys []float64) {
	lo, hi := latencyFloorUs, 1.0
	if len(ys) > 0 {
		lo, hi = ys[0], ys[0]
		for _, y := range ys {
			lo, hi = min(lo, y), max(hi, y)
		}
	}
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = latencyTicks{}
	p.Y.Min = math.Pow10(int(math.Floor(math.Log10(lo) + 1e-9)))
	p.Y.Max = math.Pow10(int(math.Ceil(math.Log10(hi) - 1e-9)))
	if p.Y.Max <= p.Y.Min {
		p.Y.Max = p.Y.Min * 10
	}
}

// ninesTicks labels the decades of 1/(1-p) as percentiles.
type ninesTicks struct{}

// Ticks implements plot.Ticker.
func (ninesTicks) Ticks(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for k := 0; k < 18; k++ {
		v := math.Pow10(k)
		if v > hi*(1+1e-9) {
			break
		}
		if v >= lo*(1-1e-9) {
			ticks = append(ticks, plot.Tick{Value: v, Label: NinesLabel(k)})
		}
	}
	return ticks
}

// NinesLabel is the percentile at 1/(1-p) = 10^k: "0%", "90%", "99%",
// "99.9%", ...
func NinesLabel(k int) string {
	switch {
	case k <= 0:
		return "0%"
	case k == 1:
		return "90%"
	case k == 2:
		return "99%"
	}
	return "99." + strings.Repeat("9", k-2) + "%"
}

// latencyTicks marks a log axis at 1, 2 and 5 per decade (labelled when the
// axis spans few decades) with unlabelled minor ticks in between.
type latencyTicks struct{}

// Ticks implements plot.Ticker.
func (latencyTicks) Ticks(lo, hi float64) []plot.Tick {
	first := int(math.Floor(math.Log10(lo) + 1e-9))
	last := int(math.Ceil(math.Log10(hi) - 1e-9))
	labelMinor := last-first <= labelledMinorDecadesMax
	var ticks []plot.Tick
	for d := first; d <= last; d++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow10(d)
			if v < lo*(1-1e-9) || v > hi*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || (labelMinor && (m == 2 || m == 5)) {
				t.Label = LatencyTickLabel(v)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// LatencyTickLabel labels a latency axis tick given in microseconds with a
// unit that suits it: "500ns", "2µs", "50ms", "10s".
func LatencyTickLabel(us float64) string {
	ns := us * hgrmNsPerUnit
	v, unit := ns, "ns"
	switch {
	case ns >= 1e9:
		v, unit = ns/1e9, "s"
	case ns >= 1e6:
		v, unit = ns/1e6, "ms"
	case ns >= 1e3:
		v, unit = ns/1e3, "µs"
	}
	// Round away float noise (5e-3 * 1e3 is 4.999...).
	v = math.Round(v*1e6) / 1e6
	return strconv.FormatFloat(v, 'f', -1, 64) + unit
}

// SaveCharts writes the plots, stacked vertically, as base.png and base.svg
// (base is a path without extension) and returns the files written.
func SaveCharts(base string, plots []*plot.Plot) ([]string, error) {
	h := chartHeight
	if len(plots) > 1 {
		h = vg.Length(len(plots)) * overTimePanelHeight
	}
	var files []string
	for _, format := range chartFormats {
		file := base + "." + format
		if err := saveChart(file, format, h, plots); err != nil {
			return files, err
		}
		files = append(files, file)
	}
	return files, nil
}

func saveChart(file, format string, h vg.Length, plots []*plot.Plot) error {
	c, err := draw.NewFormattedCanvas(chartWidth, h, format)
	if err != nil {
		return fmt.Errorf("reports: chart %s: %w", file, err)
	}
	dc := draw.New(c)
	column := make([][]*plot.Plot, len(plots))
	for i, p := range plots {
		column[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(plots), Cols: 1, PadY: vg.Points(10)}
	canvases := plot.Align(column, tiles, dc)
	for i, p := range plots {
		p.Draw(canvases[i][0])
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return fmt.Errorf("reports: chart %s: %w", file, err)
	}
	return writeFile(file, buf.Bytes())
}

// writeFile writes data to a temporary file and renames it into place, so a
// reader never sees half a report file.
func writeFile(file string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".tmp*")
	if err != nil {
		return fmt.Errorf("reports: write %s: %w", file, err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(reportFileMode) // CreateTemp makes 0600; reports are for reading
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), file)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("reports: write %s: %w", file, err)
	}
	return nil
}
