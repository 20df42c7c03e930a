package reports

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestCompareTwoRuns(t *testing.T) {
	base := t.TempDir()
	a, b := filepath.Join(base, "baseline"), filepath.Join(base, "slower")
	writeTestReport(t, a, 1000, 1, false)
	writeTestReport(t, b, 1000, 2, false) // every latency doubled
	c, err := LoadComparison([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := c.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	t.Logf("\n%s", out)
	lines := strings.Split(out, "\n")
	// order→new: baseline 1..1000 µs, slower 2..2000 µs: every percentile
	// ratio is 2.00x.
	wantRows := []string{
		"order→new count errors timeouts p50 p90 p99 p99.9 p99.99 max",
		"baseline 3000 0 0 500µs 900µs 990µs 999µs 1.00ms 1.00ms",
		"slower 3000 0 0 1.00ms 1.80ms 1.98ms 2.00ms 2.00ms 2.00ms",
		"ratio to baseline 2.00x 2.00x 2.00x 2.00x 2.00x 2.00x",
	}
	for _, want := range wantRows {
		if !containsFields(lines, want) {
			t.Errorf("table lacks a row %q", want)
		}
	}
	// cancel→canceled: the same one timeout in each: 1.00x.
	if !containsFields(lines, "ratio to baseline 1.00x 1.00x 1.00x 1.00x 1.00x 1.00x") {
		t.Error("table lacks the 1.00x row for cancel→canceled")
	}
	// replace→replaced has no traffic: ratios are undefined.
	if !containsFields(lines, "ratio to baseline - - - - - -") {
		t.Error("table lacks the undefined-ratio row for replace→replaced")
	}
}

// containsFields reports whether some line has the same whitespace-separated
// fields as want, so column widths don't matter.
func containsFields(lines []string, want string) bool {
	w := strings.Join(strings.Fields(want), " ")
	for _, l := range lines {
		if strings.Join(strings.Fields(l), " ") == w {
			return true
		}
	}
	return false
}

func TestCompareMissingPathAndChart(t *testing.T) {
	base := t.TempDir()
	a, b := filepath.Join(base, "a"), filepath.Join(base, "b")
	writeTestReport(t, a, 100, 1, false)
	c1, _ := NewCollector(Config{Paths: []string{"order→new", "other"}}, 0)
	r := c1.NewRecorder()
	r.Record(0, 0, 150_000, OutcomeOK)
	run, _ := c1.Finish(1e9)
	if _, err := WriteReport(b, Report{Run: run, SkipCharts: true}); err != nil {
		t.Fatal(err)
	}
	c, err := LoadComparison([]string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.Paths, ",") != "order→new,order→fill,cancel→canceled,replace→replaced,other" {
		t.Errorf("paths = %v", c.Paths)
	}
	var buf bytes.Buffer
	_ = c.WriteTable(&buf)
	lines := strings.Split(buf.String(), "\n")
	if !containsFields(lines, "b - - - - - - - - -") || !containsFields(lines, "a - - - - - - - - -") {
		t.Errorf("missing paths not shown as dashes:\n%s", buf.String())
	}
	if !containsFields(lines, "ratio to a 3.00x 1.67x 1.52x 1.50x 1.50x 1.50x") {
		t.Errorf("order→new ratios wrong:\n%s", buf.String())
	}
	out := t.TempDir()
	files, err := c.WriteChart(out)
	if err != nil || len(files) != 2 {
		t.Fatalf("chart files %v, %v", files, err)
	}
	checkPNG(t, filepath.Join(out, CompareChartBase+".png"))
	checkSVG(t, filepath.Join(out, CompareChartBase+".svg"))
}

func TestCompareKeepPaths(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a")
	writeTestReport(t, dir, 10, 1, false)
	c, err := LoadComparison([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.KeepPaths([]string{"nope"}); err == nil {
		t.Error("unknown path accepted")
	}
	if err := c.KeepPaths([]string{"cancel→canceled", "order→new"}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_ = c.WriteTable(&buf)
	out := buf.String()
	if strings.Contains(out, "order→fill") || strings.Index(out, "cancel→canceled") > strings.Index(out, "order→new") {
		t.Errorf("table not narrowed to the two paths in order:\n%s", out)
	}
}

func TestCompareErrors(t *testing.T) {
	if _, err := LoadComparison(nil); err == nil {
		t.Error("no directories accepted")
	}
	if _, err := LoadComparison([]string{filepath.Join(t.TempDir(), "none")}); err == nil {
		t.Error("missing directory accepted")
	}
}

func TestRunNames(t *testing.T) {
	tests := []struct {
		dirs []string
		want string
	}{
		{[]string{"x/run1", "y/run2/"}, "run1 run2"},
		{[]string{"x/run", "y/run"}, "x/run y/run"},
	}
	for _, tt := range tests {
		if got := strings.Join(runNames(tt.dirs), " "); got != tt.want {
			t.Errorf("runNames(%v) = %q, want %q", tt.dirs, got, tt.want)
		}
	}
}

func TestFormatRatio(t *testing.T) {
	if FormatRatio(3, 2) != "1.50x" || FormatRatio(1, 0) != "-" || FormatRatio(0, 4) != "0.00x" {
		t.Error("FormatRatio")
	}
}
