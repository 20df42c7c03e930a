package loadgen_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"

	"venue/fixgateway"
	"venue/fixgateway/fakecluster"
	"venue/loadgen"
	"venue/reports"
)

// startDemoGateway runs the demo gateway (DEMO1..DEMO4, password demo)
// in-process on a free loopback port against fakecluster's embedded
// engine, as `venue gateway --demo` does, and returns its HOST:PORT.
func startDemoGateway(t *testing.T) string {
	t.Helper()
	for attempt := 0; ; attempt++ {
		port := freePort(t)
		text := fixgateway.DemoAcceptorSettings(port, t.TempDir())
		settings, err := quickfix.ParseSettings(strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		settings.GlobalSettings().Set("SocketAcceptHost", "127.0.0.1")
		cfg, err := fixgateway.NewConfig(settings)
		if err != nil {
			t.Fatal(err)
		}
		venue, err := fakecluster.NewVenue(fakecluster.SpecFor(cfg))
		if err != nil {
			t.Fatal(err)
		}
		g, err := fixgateway.New(cfg, fixgateway.Options{Client: venue.NewClient(), StoreFactory: quickfix.NewMemoryStoreFactory()})
		if err != nil {
			t.Fatal(err)
		}
		err = g.Start(context.Background())
		if err == nil {
			t.Cleanup(g.Stop)
			return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		}
		if attempt < 5 && strings.Contains(err.Error(), "address already in use") {
			continue
		}
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// The load generator's defaults are the demo venue's: instruments,
// CompIDs, TargetCompID and password.
func TestDefaultsMatchTheDemoVenue(t *testing.T) {
	spec := fakecluster.DemoSpec()
	got := loadgen.DemoInstruments()
	if len(got) != len(spec.Instruments) {
		t.Fatalf("%d instruments, the demo venue lists %d", len(got), len(spec.Instruments))
	}
	for i, in := range spec.Instruments {
		want := loadgen.Instrument{Symbol: in.Symbol, ID: in.ID, PriceDecimals: in.PriceDecimals, TickSize: in.TickSize,
			LotSize: in.LotSize, ReferencePrice: in.ReferencePrice, BandBps: in.BandBps}
		if got[i] != want {
			t.Errorf("instrument %d: %+v, the demo venue's is %+v", i, got[i], want)
		}
	}
	if strings.Join(loadgen.DemoCompIDs(), ",") != strings.Join(fixgateway.DemoCompIDs(), ",") ||
		loadgen.DefaultTargetCompID != fixgateway.DemoTargetCompID || loadgen.DefaultPassword != fixgateway.DemoPassword {
		t.Error("the FIX defaults differ from the demo gateway's")
	}
}

// A short run of the default mix through the FIX gateway writes a complete
// report: summary.json and every .hgrm parse back, every path has samples,
// percentiles are monotonic, the charts and loadgen.json exist.
func TestRunThroughGatewayWritesCompleteReport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a gateway and sends for two seconds")
	}
	target := startDemoGateway(t)
	dir := filepath.Join(t.TempDir(), "report")
	var progress strings.Builder
	cfg := loadgen.Config{Target: target, Sessions: 4, RatePerS: 100, Duration: 1500 * time.Millisecond,
		Warmup: 300 * time.Millisecond, Timeout: 5 * time.Second, Seed: 7, Cleanup: true,
		ReportDir: dir, Progress: &progress}
	d, err := loadgen.NewDriver(cfg)
	if err != nil {
		t.Fatal(err)
	}
	res, err := loadgen.Run(context.Background(), cfg, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("progress:\n%s", progress.String())
	t.Logf("stats: %+v", res.Stats)
	checkReportDir(t, dir)
	// How fast the gateway answers on a loaded machine is not this test's
	// business (timeouts are allowed); that every message went out and was
	// accounted for is.
	if res.Stats.SendFailures != 0 || res.Stats.WarmupSent == 0 {
		t.Errorf("%d send failures, %d warm-up messages", res.Stats.SendFailures, res.Stats.WarmupSent)
	}
	// 1.5 s at 100/s is 150 measured messages; a sender that falls behind
	// still sends every one of them (open loop).
	if res.Summary.Sent != 150 {
		t.Errorf("sent %d measured messages, want 150", res.Summary.Sent)
	}
	if got := res.Stats.Answered + res.Stats.Timeouts; got != res.Summary.Sent {
		t.Errorf("%d answered + %d timeouts, want the %d sent", res.Stats.Answered, res.Stats.Timeouts, res.Summary.Sent)
	}
	if !strings.Contains(progress.String(), "order→new") {
		t.Errorf("no progress line with a p99")
	}
}

// checkReportDir reads a report directory back and checks it is complete.
func checkReportDir(t *testing.T, dir string) {
	t.Helper()
	l, err := reports.ReadReport(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := l.Summary
	var cfg map[string]any
	if err := json.Unmarshal(s.Config, &cfg); err != nil || cfg["rate_per_s"] == nil || cfg["source"] != "mix" {
		t.Errorf("config in summary.json: %v (%v)", cfg, err)
	}
	if _, leaked := cfg["Password"]; leaked {
		t.Error("summary.json holds the password")
	}
	if s.AchievedRatePerS <= 0 || s.DurationNs <= 0 {
		t.Errorf("achieved rate %v over %d ns", s.AchievedRatePerS, s.DurationNs)
	}
	if len(s.Paths) != len(loadgen.PathNames()) {
		t.Fatalf("%d paths, want %v", len(s.Paths), loadgen.PathNames())
	}
	for i, p := range s.Paths {
		if p.Name != loadgen.PathNames()[i] || p.Count == 0 {
			t.Errorf("path %d: %q with %d samples", i, p.Name, p.Count)
		}
		v := []int64{p.P50Ns, p.P90Ns, p.P99Ns, p.P999Ns, p.P9999Ns, p.MaxNs}
		for j := 1; j < len(v); j++ {
			if v[j] < v[j-1] || v[0] <= 0 {
				t.Errorf("%s: percentiles not monotonic: %v", p.Name, v)
			}
		}
		g := l.Hgrm[i]
		if g.TotalCount != p.Count || len(g.Rows) == 0 {
			t.Errorf("%s.hgrm: %d samples in %d rows, summary says %d", p.Name, g.TotalCount, len(g.Rows), p.Count)
		}
		for j := 1; j < len(g.Rows); j++ {
			if g.Rows[j].ValueNs < g.Rows[j-1].ValueNs || g.Rows[j].Percentile < g.Rows[j-1].Percentile {
				t.Errorf("%s.hgrm rows %d..%d not monotonic", p.Name, j-1, j)
				break
			}
		}
	}
	for _, f := range []string{reports.PercentileChartBase + ".png", reports.PercentileChartBase + ".svg",
		reports.OverTimeChartBase + ".png", reports.OverTimeChartBase + ".svg", reports.IntervalLogFile, loadgen.StatsFile} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, loadgen.StatsFile))
	if err != nil {
		t.Fatal(err)
	}
	var st loadgen.StatsReport
	if err := json.Unmarshal(data, &st); err != nil || st.Sent["new"] == 0 || st.FillsTimed == 0 {
		t.Errorf("%s: %+v (%v)", loadgen.StatsFile, st, err)
	}
}
