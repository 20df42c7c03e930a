package surveil

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
)

// chartsMax caps the alerts drawn with charts in the HTML report (the
// first ones in report order); the rest are listed with their events.
const chartsMax = 50

// htmlAlert is one alert as the template shows it.
type htmlAlert struct {
	*Alert
	ID        int
	PricePNG  template.URL
	BookPNG   template.URL
	Start     string
	End       string
	BookTime  string
	EventRows []htmlEvent
}

type htmlEvent struct {
	*AlertEvent
	At string
}

type htmlCount struct {
	Type  Type
	Count int
}

type htmlPage struct {
	*Report
	StartText, EndText string
	RulesJSON          string
	Counts             []htmlCount
	Alerts             []htmlAlert
}

// WriteHTML writes a self-contained HTML report: a summary, the alert
// list, and per alert its price/time chart with the account's orders and
// trades, the book at the key moment (chart and table) and the timeline.
// Charts are PNGs embedded as data URLs: the page needs no network.
func (r *Report) WriteHTML(w io.Writer) error {
	rules, err := json.MarshalIndent(r.Rules, "", "  ")
	if err != nil {
		return fmt.Errorf("surveil: writing HTML: %w", err)
	}
	page := htmlPage{Report: r, StartText: FormatTime(r.Start), EndText: FormatTime(r.End), RulesJSON: string(rules)}
	byType := map[Type]int{}
	for _, a := range r.Alerts {
		byType[a.Type]++
	}
	for _, t := range Types() {
		page.Counts = append(page.Counts, htmlCount{t, byType[t]})
	}
	charts := r.ChartsMax
	if charts <= 0 {
		charts = chartsMax
	}
	for i := range r.Alerts {
		ha, err := htmlAlertOf(&r.Alerts[i], i+1, i < charts)
		if err != nil {
			return err
		}
		page.Alerts = append(page.Alerts, ha)
	}
	if err := pageTemplate.Execute(w, page); err != nil {
		return fmt.Errorf("surveil: writing HTML: %w", err)
	}
	return nil
}

func htmlAlertOf(a *Alert, id int, charts bool) (htmlAlert, error) {
	ha := htmlAlert{Alert: a, ID: id, Start: FormatTime(a.Start), End: FormatTime(a.End), BookTime: FormatTime(a.Book.Time)}
	for i := range a.Events {
		ha.EventRows = append(ha.EventRows, htmlEvent{&a.Events[i], FormatTime(a.Events[i].Time)})
	}
	if !charts {
		return ha, nil
	}
	pc, err := PriceChart(a)
	if err != nil {
		return ha, err
	}
	png, err := renderPNG(pc, priceChartWidth, priceChartHeight)
	if err != nil {
		return ha, err
	}
	ha.PricePNG = dataURL(png)
	if len(a.Book.Bids)+len(a.Book.Asks) > 0 {
		bc, err := BookChart(a)
		if err != nil {
			return ha, err
		}
		if png, err = renderPNG(bc, bookChartWidth, bookChartHeight); err != nil {
			return ha, err
		}
		ha.BookPNG = dataURL(png)
	}
	return ha, nil
}

func dataURL(png []byte) template.URL {
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(png))
}

var pageTemplate = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>venue surveillance report</title>
<style>
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:2em;color:#222;max-width:1200px}
table{border-collapse:collapse;margin:.5em 0 1em}
td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px;text-align:left;vertical-align:top}
th{background:#f2f2f2}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.alert{border-top:2px solid #888;margin-top:2em;padding-top:.5em}
.charts{display:flex;gap:1em;flex-wrap:wrap;align-items:flex-start}
.buy{color:#1a9e3a}.sell{color:#d62728}
pre{background:#f7f7f7;padding:.5em;font-size:12px}
.summary{font-size:15px}
</style></head><body>
<h1>Surveillance report</h1>
<p>Source: {{.Source}}<br>{{.Events}} order events, {{.StartText}} to {{.EndText}} (cluster time, UTC)<br>
{{len .Alerts}} alerts.</p>
<table><tr><th>type</th><th>alerts</th></tr>
{{range .Counts}}<tr><td>{{.Type}}</td><td class="n">{{.Count}}</td></tr>{{end}}</table>
{{with .Dropped}}<p>Ignored at bounds: accounts {{.Accounts}}, account/instruments {{.Pairs}}, live orders {{.SideOrders}}, spoof candidates {{.SpoofCands}}, close windows {{.CloseFills}}, alerts {{.Alerts}}.</p>{{end}}
<h2>Alerts</h2>
<table><tr><th>#</th><th>type</th><th>score</th><th>account</th><th>instrument</th><th>start</th><th>end</th><th>cases</th><th>summary</th></tr>
{{range .Alerts}}<tr><td><a href="#a{{.ID}}">{{.ID}}</a></td><td>{{.Type}}</td><td class="n">{{printf "%.2f" .Score}}</td><td>{{.Account}}{{if .Counterparty}} / {{.Counterparty}}{{end}}</td><td>{{.Symbol}} ({{.Instrument}})</td><td>{{.Start}}</td><td>{{.End}}</td><td class="n">{{.Count}}</td><td>{{.Summary}}</td></tr>
{{end}}</table>
{{range .Alerts}}<div class="alert" id="a{{.ID}}">
<h3>#{{.ID}} {{.Type}} — {{.Account}}{{if .Counterparty}} / {{.Counterparty}}{{end}} on {{.Symbol}} ({{.Instrument}}), score {{printf "%.2f" .Score}}</h3>
<p class="summary">{{.Summary}}</p>
<p>{{.Start}} to {{.End}}; log positions {{.StartPosition}} to {{.EndPosition}}; {{.Count}} case(s).</p>
<div class="charts">
{{if .PricePNG}}<img alt="price/time chart" src="{{.PricePNG}}" width="648">{{end}}
{{if .BookPNG}}<img alt="book chart" src="{{.BookPNG}}" width="288">{{end}}
<div><b>Book at {{.BookTime}}</b> (log position {{.Book.LogPosition}})
<table><tr><th>bid qty</th><th>bid</th><th>ask</th><th>ask qty</th></tr>
{{$asks := .Book.Asks}}{{range $i, $b := .Book.Bids}}<tr><td class="n">{{$b.Quantity}}</td><td class="n buy">{{$b.Price}}</td>{{if lt $i (len $asks)}}{{with index $asks $i}}<td class="n sell">{{.Price}}</td><td class="n">{{.Quantity}}</td>{{end}}{{else}}<td></td><td></td>{{end}}</tr>{{end}}
</table></div></div>
<table><tr><th>time</th><th>log position</th><th>event</th><th>account</th><th>order</th><th>ClOrdID</th><th>side</th><th>price</th><th>qty</th><th>leaves</th><th>fill</th><th>counterparty</th><th>note</th></tr>
{{range .EventRows}}<tr><td>{{.At}}</td><td class="n">{{.LogPosition}}</td><td>{{.Kind}}</td><td>{{.Account}}</td><td class="n">{{.OrderID}}</td><td>{{.ClOrdID}}</td><td>{{.Side}}</td><td class="n">{{.Price}}</td><td class="n">{{.Quantity}}</td><td class="n">{{.Leaves}}</td><td>{{if .LastQty}}{{.LastQty}} @ {{.LastPx}}{{if .Aggressor}} aggressive{{else}} passive{{end}}{{end}}</td><td>{{.Counter}}{{if .CounterID}} #{{.CounterID}}{{end}}</td><td>{{.Note}}</td></tr>
{{end}}</table>
</div>
{{end}}
<h2>Rules</h2>
<pre>{{.RulesJSON}}</pre>
</body></html>
`))
