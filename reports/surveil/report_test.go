package surveil

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var reportOut = flag.String("surveil.out", "", "also write the scenario report into this directory, to look at")

// The scenario day's report: JSON that reads back, one CSV row per alert,
// and an HTML page with every alert and its charts embedded.
func TestReportFiles(t *testing.T) {
	s := New(DayRules())
	res, err := GenerateDay(DayConfig{Seed: 1, Events: scenarioEvents, Inject: true}, s)
	if err != nil {
		t.Fatal(err)
	}
	rep := NewReport("generated day (seed 1)", s, s.Finish(), res.Events)
	charts := len(rep.Alerts)
	if raceEnabled {
		charts = 2 // drawing is slow under the race detector
	}
	rep.ChartsMax = charts
	dir := t.TempDir()
	if *reportOut != "" {
		dir = *reportOut
	}
	paths, err := rep.WriteDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != 3 {
		t.Fatalf("wrote %v", paths)
	}
	var back Report
	if err := json.Unmarshal(read(t, dir, JSONFile), &back); err != nil {
		t.Fatalf("alerts.json: %v", err)
	}
	if len(back.Alerts) != len(rep.Alerts) || len(rep.Alerts) == 0 {
		t.Fatalf("alerts.json has %d alerts, want %d", len(back.Alerts), len(rep.Alerts))
	}
	rows, err := csv.NewReader(bytes.NewReader(read(t, dir, CSVFile))).ReadAll()
	if err != nil || len(rows) != len(rep.Alerts)+1 {
		t.Fatalf("alerts.csv: %d rows, %v", len(rows), err)
	}
	html := string(read(t, dir, HTMLFile))
	if n := strings.Count(html, "data:image/png;base64,"); n < charts {
		t.Errorf("report.html embeds %d charts for %d alerts", n, charts)
	}
	for _, bad := range []string{"http://", "https://", "<script"} {
		if strings.Contains(html, bad) {
			t.Errorf("report.html contains %q: it must open without a network", bad)
		}
	}
	for _, ty := range Types() {
		if !strings.Contains(html, ty.String()) {
			t.Errorf("report.html does not mention %s", ty)
		}
	}
}

func read(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
