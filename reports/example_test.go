package reports_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"venue/reports"
)

// A load generator: one Collector per run, one Recorder per goroutine,
// latencies from intended send times, a Tick per progress interval, and a
// report directory at the end.
func ExampleCollector() {
	const second = int64(1_000_000_000)
	col, err := reports.NewCollector(reports.Config{
		Paths:     []string{"order→new", "cancel→canceled"},
		TimeoutNs: 5 * second,
	}, 0)
	if err != nil {
		panic(err)
	}
	orderNew, _ := col.Path("order→new")
	rec := col.NewRecorder() // one per sending/receiving goroutine

	// Open loop at 1000/s: order i is due at i ms and answered 40 µs later.
	for i := int64(0); i < 1000; i++ {
		intended := i * second / 1000
		rec.Record(orderNew, intended, intended+40_000, reports.OutcomeOK)
	}
	pt := col.Tick(1 * second) // once per second: the progress line
	fmt.Println(reports.Progress{ElapsedNs: second, Sent: 1000, RatePerS: 1000, Point: pt, PathNames: col.PathNames()})

	run, err := col.Finish(1 * second)
	if err != nil {
		panic(err)
	}
	dir, _ := os.MkdirTemp("", "report")
	defer os.RemoveAll(dir)
	s, err := reports.WriteReport(filepath.Join(dir, "run1"), reports.Report{
		Config: map[string]any{"rate": 1000}, Sent: 1000, Run: run, SkipCharts: true,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Paths[0].Name, s.Paths[0].Latency)
	// Output:
	//     1.0s  sent 1000  rate 1000/s  in flight 0  errors 0  timeouts 0  p99 order→new 40.0µs
	// order→new n=1000 p50 40.0µs p90 40.0µs p99 40.0µs p99.9 40.0µs p99.99 40.0µs max 40.0µs
}

// A bench prints its latency histogram under the standard keys.
func ExampleLatencyOf() {
	h := reports.NewHistogram()
	for ns := int64(1); ns <= 1000; ns++ {
		_ = h.RecordValue(ns)
	}
	out, _ := json.Marshal(reports.LatencyOf(h))
	fmt.Println(string(out))
	// Output:
	// {"p50_ns":500,"p90_ns":900,"p99_ns":990,"p999_ns":999,"p9999_ns":1000,"max_ns":1000,"mean_ns":501,"count":1000}
}
