package flowbench

import "testing"

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
	for range b.N {
		b.StopTimer()
		r, err := newRunner(flow, f.Header, hint)
		if err != nil {
			b.Fatal(err)
		}
		r.apply(flow, 0, warm)
		b.StartTimer()
		r.apply(flow, warm, n)
		ops += n - warm
	}
	b.ReportMetric(float64(ops)/b.Elapsed().Seconds(), "records/s")
}
