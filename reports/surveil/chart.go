package surveil

import (
	"bytes"
	"fmt"
	"image/color"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	_ "gonum.org/v1/plot/vg/vgimg" // registers png
)

// Chart geometry and colours.
const (
	priceChartWidth  = 9 * vg.Inch
	priceChartHeight = 4 * vg.Inch
	bookChartWidth   = 4 * vg.Inch
	bookChartHeight  = 4 * vg.Inch
	markerRadius     = 4 // points
	tapeRadius       = 1.5
	nsPerSecond      = 1e9
	chartPadPrice    = 0.5 // price units above and below the data
)

var (
	colourBuy  = color.RGBA{R: 0x1a, G: 0x9e, B: 0x3a, A: 0xff}
	colourSell = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colourTape = color.RGBA{R: 0x88, G: 0x88, B: 0x88, A: 0xff}
	colourGrey = color.RGBA{R: 0x44, G: 0x44, B: 0x44, A: 0xff}
)

func sideColour(s uint8) color.Color {
	if s == 2 {
		return colourSell
	}
	return colourBuy
}

// PriceChart draws an alert's price/time chart: the tape around the
// alert in grey, and the account's orders (triangles: up buy, down sell),
// cancels (crosses) and fills (filled circles) over it. Time is seconds
// from the alert's start.
func PriceChart(a *Alert) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s %s %s", a.Type, a.Account, a.Symbol)
	p.X.Label.Text = "seconds from " + FormatTime(a.Start)
	p.Y.Label.Text = "price"
	p.Add(plotter.NewGrid())
	if len(a.Tape) > 0 {
		xys := make(plotter.XYs, len(a.Tape))
		for i, t := range a.Tape {
			xys[i] = plotter.XY{X: float64(t.Time-a.Start) / nsPerSecond, Y: float64(t.Price)}
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("surveil: chart: %w", err)
		}
		line.Color, points.Color, points.Radius = colourTape, colourTape, tapeRadius
		p.Add(line, points)
		p.Legend.Add("tape", line)
	}
	groups := []struct {
		label string
		keep  func(e *AlertEvent) bool
		shape draw.GlyphDrawer
	}{
		{"order", func(e *AlertEvent) bool { return e.Kind == KindNew || e.Kind == KindReplace }, nil},
		{"cancel", func(e *AlertEvent) bool { return e.Kind == KindCancel || e.Kind == KindExpire }, draw.CrossGlyph{}},
		{"fill", func(e *AlertEvent) bool { return e.Kind == KindFill }, draw.CircleGlyph{}},
	}
	for _, g := range groups {
		for _, side := range []uint8{1, 2} {
			if err := addMarkers(p, a, side, g.label, g.keep, g.shape); err != nil {
				return nil, err
			}
		}
	}
	p.Legend.Top = true
	p.Y.Min, p.Y.Max = p.Y.Min-chartPadPrice, p.Y.Max+chartPadPrice // keep edge markers whole
	return p, nil
}

// addMarkers adds the alert's events of one group and side.
func addMarkers(p *plot.Plot, a *Alert, side uint8, label string, keep func(*AlertEvent) bool, shape draw.GlyphDrawer) error {
	var xys plotter.XYs
	for i := range a.Events {
		e := &a.Events[i]
		if uint8(e.Side) != side || !keep(e) {
			continue
		}
		px := e.Price
		if e.Kind == KindFill {
			px = e.LastPx
		}
		xys = append(xys, plotter.XY{X: float64(e.Time-a.Start) / nsPerSecond, Y: float64(px)})
	}
	if len(xys) == 0 {
		return nil
	}
	sc, err := plotter.NewScatter(xys)
	if err != nil {
		return fmt.Errorf("surveil: chart: %w", err)
	}
	sc.Color, sc.Radius = sideColour(side), markerRadius
	switch {
	case shape != nil:
		sc.Shape = shape
	case side == 1:
		sc.Shape = draw.TriangleGlyph{}
	default:
		sc.Shape = downTriangle{}
	}
	p.Add(sc)
	name := "buy "
	if side == 2 {
		name = "sell "
	}
	p.Legend.Add(name+label, sc)
	return nil
}

// downTriangle is a triangle pointing down, for sell orders.
type downTriangle struct{}

// DrawGlyph draws the glyph.
func (downTriangle) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(0.5)})
	r := sty.Radius
	var path vg.Path
	path.Move(vg.Point{X: pt.X - r, Y: pt.Y + r*0.6})
	path.Line(vg.Point{X: pt.X + r, Y: pt.Y + r*0.6})
	path.Line(vg.Point{X: pt.X, Y: pt.Y - r})
	path.Close()
	c.Fill(path)
}

// BookChart draws the book at the alert's key moment: quantity per level,
// bids green below asks red, best prices in the middle.
func BookChart(a *Alert) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = "book at " + FormatTime(a.Book.Time)
	p.X.Label.Text = "quantity"
	n := len(a.Book.Bids) + len(a.Book.Asks)
	if n == 0 {
		return p, nil
	}
	bids, asks := make(plotter.Values, n), make(plotter.Values, n)
	labels := make([]string, n)
	for i, l := range a.Book.Bids { // lowest bid at the bottom
		j := len(a.Book.Bids) - 1 - i
		bids[j], labels[j] = float64(l.Quantity), strconv.FormatInt(l.Price, 10)
	}
	for i, l := range a.Book.Asks {
		j := len(a.Book.Bids) + i
		asks[j], labels[j] = float64(l.Quantity), strconv.FormatInt(l.Price, 10)
	}
	for _, s := range []struct {
		v   plotter.Values
		col color.Color
	}{{bids, colourBuy}, {asks, colourSell}} {
		bc, err := plotter.NewBarChart(s.v, vg.Points(12))
		if err != nil {
			return nil, fmt.Errorf("surveil: book chart: %w", err)
		}
		bc.Horizontal, bc.Color, bc.LineStyle.Color = true, s.col, colourGrey
		p.Add(bc)
	}
	p.NominalY(labels...)
	return p, nil
}

// renderPNG draws a plot as PNG bytes.
func renderPNG(p *plot.Plot, w, h vg.Length) ([]byte, error) {
	wt, err := p.WriterTo(w, h, "png")
	if err != nil {
		return nil, fmt.Errorf("surveil: rendering chart: %w", err)
	}
	var buf bytes.Buffer
	if _, err := wt.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("surveil: rendering chart: %w", err)
	}
	return buf.Bytes(), nil
}
