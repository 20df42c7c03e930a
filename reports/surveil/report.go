package surveil

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// Report is what a surveillance run produced, ready to write.
type Report struct {
	Source  string  `json:"source"`   // where the log came from
	Events  uint64  `json:"events"`   // order events examined
	Start   int64   `json:"start_ns"` // cluster time of the first and last event
	End     int64   `json:"end_ns"`
	Rules   Rules   `json:"rules"`
	Dropped Dropped `json:"dropped"`
	Alerts  []Alert `json:"alerts"`
	// ChartsMax is how many alerts (the first ones) get charts in the
	// HTML report; 0 means chartsMax (50).
	ChartsMax int `json:"-"`
}

// Files of a report directory.
const (
	JSONFile = "alerts.json"
	CSVFile  = "alerts.csv"
	HTMLFile = "report.html"
)

// NewReport gathers a finished run: alerts are s.Finish's.
func NewReport(source string, s *Surveillance, alerts []Alert, events uint64) *Report {
	return &Report{Source: source, Events: events, Start: s.first, End: s.last, Rules: s.rules,
		Dropped: s.Dropped(), Alerts: alerts}
}

// WriteJSON writes the report as one indented JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("surveil: writing JSON: %w", err)
	}
	return nil
}

// csvHeader names the CSV columns: one row per alert.
var csvHeader = []string{"type", "score", "account", "counterparty", "instrument", "symbol", "start", "end",
	"start_ns", "end_ns", "start_position", "end_position", "count", "orders_and_trades", "summary"}

// WriteCSV writes one row per alert.
func (r *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return fmt.Errorf("surveil: writing CSV: %w", err)
	}
	for _, a := range r.Alerts {
		row := []string{a.Type.String(), strconv.FormatFloat(a.Score, 'f', 3, 64), a.Account, a.Counterparty,
			strconv.FormatUint(uint64(a.Instrument), 10), a.Symbol, FormatTime(a.Start), FormatTime(a.End),
			strconv.FormatInt(a.Start, 10), strconv.FormatInt(a.End, 10), strconv.FormatInt(a.StartPosition, 10),
			strconv.FormatInt(a.EndPosition, 10), strconv.Itoa(a.Count), strconv.Itoa(len(a.Events)), a.Summary}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("surveil: writing CSV: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("surveil: writing CSV: %w", err)
	}
	return nil
}

// FormatTime prints a cluster time (ns since the Unix epoch) in UTC to the
// microsecond.
func FormatTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format("2006-01-02 15:04:05.000000")
}

// WriteDir writes alerts.json, alerts.csv and report.html into dir
// (created if missing) and returns their paths.
func (r *Report) WriteDir(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("surveil: report directory: %w", err)
	}
	writers := []struct {
		name  string
		write func(io.Writer) error
	}{{JSONFile, r.WriteJSON}, {CSVFile, r.WriteCSV}, {HTMLFile, r.WriteHTML}}
	var paths []string
	for _, w := range writers {
		p := filepath.Join(dir, w.name)
		if err := writeFile(p, w.write); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("surveil: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("surveil: %w", err)
	}
	return nil
}
