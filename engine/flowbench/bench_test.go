package flowbench

import (
	"testing"
	"time"
)

// BenchmarkEngineS100 times whole passes of the engine over the timed
// part of s100, each on an engine warmed up untimed; one op is one record.
func BenchmarkEngineS100(b *testing.B) { benchmarkEngineS100(b, false) }

// BenchmarkEngineS100Hinted is BenchmarkEngineS100 with each command
// hinted engine.HintAhead commands ahead (Engine.Hint).
func BenchmarkEngineS100Hinted(b *testing.B) { benchmarkEngineS100(b, true) }

func benchmarkEngineS100(b *testing.B, hint bool) {
	f := readFlow(b, "s100.bin")
	flow, err := Encode(f)
	if err != nil {
		b.Fatal(err)
	}
	warm, n := int(f.Header.Warmup), f.Len()
	b.ReportAllocs()
	b.ResetTimer()
	ops := 0
	var cpu time.Duration
	for range b.N {
		b.StopTimer()
		r, err := newRunner(flow, f.Header, hint)
		if err != nil {
			b.Fatal(err)
		}
		r.apply(flow, 0, warm)
		b.StartTimer()
		c := processCPU()
		r.apply(flow, warm, n)
		cpu += processCPU() - c
		ops += n - warm
	}
	b.ReportMetric(float64(ops)/b.Elapsed().Seconds(), "records/s")
	// CPU time is what a loaded machine disturbs least: time the process
	// was not running is not counted.
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(ops), "cpu-ns/record")
}
