package loadgen

import (
	"testing"

	"venue/reports"
)

func TestScheduleIntendedTimes(t *testing.T) {
	tests := []struct {
		name  string
		sched Schedule
		i     int64
		want  int64
	}{
		{"first message at the start", Schedule{StartNs: 100, RatePerS: 3}, 0, 100},
		{"a third of a second, rounded down", Schedule{StartNs: 100, RatePerS: 3}, 1, 100 + 333_333_333},
		{"two thirds", Schedule{StartNs: 100, RatePerS: 3}, 2, 100 + 666_666_666},
		{"a whole second exactly, no drift", Schedule{StartNs: 100, RatePerS: 3}, 3, 100 + 1_000_000_000},
		{"one per second", Schedule{RatePerS: 1}, 7, 7_000_000_000},
		{"a million per second", Schedule{RatePerS: 1_000_000}, 1_500_000, 1_500_000_000},
		{"a day at the top rate does not drift", Schedule{StartNs: 5, RatePerS: 999_983}, 999_983 * 86_400, 5 + 86_400*1_000_000_000},
		{"7 per second, message 10", Schedule{RatePerS: 7}, 10, 1_000_000_000 + 3*1_000_000_000/7},
	}
	for _, tc := range tests {
		if got := tc.sched.IntendedNs(tc.i); got != tc.want {
			t.Errorf("%s: IntendedNs(%d) = %d, want %d", tc.name, tc.i, got, tc.want)
		}
	}
}

// A sender behind schedule sends at once (no wait) and its intended time
// does not move; ahead of it, it waits exactly the difference.
func TestScheduleWaitAndCatchUp(t *testing.T) {
	s := Schedule{StartNs: 1_000, RatePerS: 1000} // one per ms
	tests := []struct {
		i, nowNs, wait int64
	}{
		{0, 0, 1_000},            // before the start
		{0, 1_000, 0},            // exactly due
		{5, 1_000, 5_000_000},    // ahead: wait
		{5, 50_000_000, 0},       // behind by ~45 ms: send now
		{5, 5_001_000 - 1, 1},    // one nanosecond early
		{1000, 1_000_000_999, 1}, // one second in
		{1000, 1_000_001_000, 0}, // due
		{1000, 9_000_000_000, 0}, // far behind
		{1_000_000, 1_000, 1e9 * 1000},
	}
	for _, tc := range tests {
		if got := s.WaitNs(tc.i, tc.nowNs); got != tc.wait {
			t.Errorf("WaitNs(%d, %d) = %d, want %d", tc.i, tc.nowNs, got, tc.wait)
		}
	}
}

// Coordinated omission, worked through with known numbers: 1000 messages at
// 1000/s, each answered 100 µs after it is actually sent, but the sender is
// stalled from 200 ms to 300 ms and sends the 100 messages due meanwhile at
// 300 ms. Timed from the actual send, every latency is 100 µs and the stall
// vanishes; timed from the intended send (what the engine records), the
// delayed messages carry 100.1 ms down to 1.1 ms, so the p99 is ~90 ms.
func TestCoordinatedOmissionCorrection(t *testing.T) {
	const ms = int64(1_000_000)
	s := Schedule{RatePerS: 1000}
	col, err := reports.NewCollector(reports.Config{Paths: []string{"corrected", "naive"}}, 0)
	if err != nil {
		t.Fatal(err)
	}
	rec := col.NewRecorder()
	for i := int64(0); i < 1000; i++ {
		intended := s.IntendedNs(i)
		sent := intended
		if intended >= 200*ms && intended < 300*ms {
			sent = 300 * ms // stalled
		}
		answered := sent + 100_000
		rec.Record(0, intended, answered, reports.OutcomeOK)
		rec.Record(1, sent, answered, reports.OutcomeOK)
	}
	run, err := col.Finish(1000 * ms)
	if err != nil {
		t.Fatal(err)
	}
	corrected, naive := reports.LatencyOf(run.Paths[0].Hist), reports.LatencyOf(run.Paths[1].Hist)
	// The 990th smallest latency: 900 at 100 µs, then 1.1 ms, 2.1 ms, ...;
	// the 90th of the delayed ones is 90.1 ms.
	within := func(got, want int64) bool { return got >= want && got <= want+want/500 }
	if !within(corrected.P99Ns, 90*ms+100_000) || !within(corrected.MaxNs, 100*ms+100_000) {
		t.Errorf("corrected: %v, want p99 ≈ 90.1ms, max ≈ 100.1ms", corrected)
	}
	if !within(corrected.P50Ns, 100_000) {
		t.Errorf("corrected: p50 %d, want ≈ 100µs", corrected.P50Ns)
	}
	if !within(naive.P99Ns, 100_000) || !within(naive.MaxNs, 100_000) {
		t.Errorf("naive: %v, want everything ≈ 100µs (the stall hidden)", naive)
	}
}
