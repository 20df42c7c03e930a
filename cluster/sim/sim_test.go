package sim

import (
	"flag"
	"testing"
	"time"
)

var (
	flagSeed  = flag.Uint64("sim.seed", 0, "run only this seed (replays a failure exactly)")
	flagSeeds = flag.Int("sim.seeds", 0, "run this many seeds from -sim.start and print a summary")
	flagStart = flag.Uint64("sim.start", 1, "first seed of a -sim.seeds run")
	flagTrace = flag.Bool("sim.trace", false, "with -sim.seed: log every fault and role change")
)

// regressionSeeds once failed; they run on every `go test`. 6952: a stale
// probe accepted after the follower's log changed left it mid-entry.
// 1003191: a follower that came back to its leader holding the whole log
// waited in catch-up for an AppendLog that an idle log never sends.
var regressionSeeds = []uint64{6952, 1003191}

// defaultSeeds is how many seeds plain `go test` runs (raceSeeds under the
// race detector, defaultShortSeeds with -short).
const (
	defaultSeeds      = 300
	raceSeeds         = 120
	defaultShortSeeds = 40
)

// TestSimulator runs seeds through the simulator. A failure prints the
// command that replays it.
func TestSimulator(t *testing.T) {
	if *flagSeed != 0 {
		runSeed(t, *flagSeed, true)
		return
	}
	n := defaultSeeds
	if raceEnabled {
		n = raceSeeds
	}
	if testing.Short() {
		n = defaultShortSeeds
	}
	if *flagSeeds > 0 {
		n = *flagSeeds
	}
	for _, seed := range regressionSeeds {
		runSeed(t, seed, false)
	}
	start := time.Now()
	var failed int
	var virtualNs int64
	var stats Stats
	for i := range n {
		seed := *flagStart + uint64(i)
		s, ok := runSeed(t, seed, false)
		if !ok {
			failed++
		}
		virtualNs += s.nowNs
		stats.Add(s.Stats())
	}
	if *flagSeeds > 0 || testing.Verbose() {
		t.Logf("sim summary: seeds=%d passed=%d failed=%d virtual=%.1fs wall=%.1fs\n  %+v",
			n, n-failed, failed, float64(virtualNs)/1e9, time.Since(start).Seconds(), stats)
	}
}

func runSeed(t *testing.T, seed uint64, verbose bool) (*Simulator, bool) {
	t.Helper()
	var tracef func(string, ...any)
	if verbose && *flagTrace {
		tracef = t.Logf
	}
	s, err := RunTraced(seed, tracef)
	if verbose {
		t.Logf("%v", s.opts)
		t.Logf("end: %s", s.describe())
	}
	if err != nil {
		t.Errorf("seed %d failed: %v\n  options: %v\n  replay: go test ./cluster/sim -run 'TestSimulator$' -sim.seed=%d -v",
			seed, err, s.opts, seed)
		return s, false
	}
	return s, true
}

// TestSimulatorReplaysExactly: the same seed gives the same run, to the
// byte: a failing seed can always be replayed.
func TestSimulatorReplaysExactly(t *testing.T) {
	for _, seed := range []uint64{3, 4} {
		a, errA := Run(seed)
		b, errB := Run(seed)
		if (errA == nil) != (errB == nil) || a.Stats() != b.Stats() || a.describe() != b.describe() ||
			string(a.check.canon) != string(b.check.canon) {
			t.Fatalf("seed %d differs:\n%+v %s\n%+v %s", seed, a.Stats(), a.describe(), b.Stats(), b.describe())
		}
	}
}
