package marketdata

import (
	"math/rand/v2"
	"os"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"

	"venue/engine"
)

// TestBenchLatencyCountsEveryCommand checks the latency record against a
// naive model: every command is one sample, timed to the first applied
// update of its instrument at or after its position, including the
// commands a conflated update folded in and none twice. Updates arrive per
// instrument in position order, possibly skipping commands (conflation),
// as the subscriber delivers them.
func TestBenchLatencyCountsEveryCommand(t *testing.T) {
	for seed := range uint64(50) {
		rng := rand.New(rand.NewPCG(seed, 7))
		instruments := 1 + rng.IntN(5)
		commands := 1 + rng.IntN(200)
		feed := newBenchFeed(instruments)
		feed.define(&nopSink{})
		for range rng.IntN(100) { // the phase starts mid-feed
			feed.command(&nopSink{}, 0)
		}
		lat, err := newBenchLatency(feed, commands)
		if err != nil {
			t.Fatal(err)
		}
		pos0, i0 := feed.pos, feed.i
		handoff := make([]int64, commands)
		for j := range commands {
			handoff[j] = int64(1000 + 10*j)
			if !lat.stamp(handoff[j]) {
				t.Fatalf("seed %d: stamp %d refused", seed, j)
			}
		}
		if lat.stamp(0) {
			t.Fatalf("seed %d: stamp past the phase accepted", seed)
		}
		// Deliver a random subset of commands as updates, in order, then
		// the last command of every instrument so that all are delivered.
		want := make([]int64, commands) // naive: latency per command
		pending := map[uint32][]int{}
		now := int64(1_000_000)
		apply := func(j int) {
			id := feed.instrumentAt(i0 + j)
			now += 7
			b := &Book{View: View{InstrumentID: id, LogPosition: pos0 + int64(j+1)*benchPositionStep}, SendTimeNs: now - 3}
			lat.applied(b, 0, now)
			for _, k := range pending[id] {
				want[k] = now - handoff[k]
			}
			pending[id] = nil
		}
		last := map[uint32]int{}
		for j := range commands {
			id := feed.instrumentAt(i0 + j)
			pending[id] = append(pending[id], j)
			last[id] = j
			if rng.IntN(3) == 0 {
				apply(j)
			}
		}
		for id := range uint32(instruments) {
			if j, ok := last[id]; ok && len(pending[id]) > 0 {
				apply(j)
			}
		}
		naive := hdrhistogram.New(1, benchLatencyMaxNs, 3)
		for _, w := range want {
			naive.RecordValue(max(1, w))
		}
		if !lat.hist.Equals(naive) {
			t.Fatalf("seed %d: %d samples (max %d), want %d (max %d)", seed,
				lat.hist.TotalCount(), lat.hist.Max(), naive.TotalCount(), naive.Max())
		}
		// A repeated or older update completes nothing more.
		lat.applied(&Book{View: View{InstrumentID: feed.instrumentAt(i0), LogPosition: pos0 + benchPositionStep}}, 0, now)
		if got := lat.hist.TotalCount(); got != int64(commands) {
			t.Fatalf("seed %d: %d samples after a repeat, want %d", seed, got, commands)
		}
	}
}

// TestBenchLatencyIgnoresOtherPhases: states from before the phase (or past
// its record) are not timed.
func TestBenchLatencyIgnoresOtherPhases(t *testing.T) {
	feed := newBenchFeed(2)
	feed.define(&nopSink{})
	feed.command(&nopSink{}, 0)
	lat, err := newBenchLatency(feed, 4)
	if err != nil {
		t.Fatal(err)
	}
	lat.stamp(5)
	for _, pos := range []int64{feed.pos, feed.pos - benchPositionStep, feed.pos + 5*benchPositionStep} {
		lat.applied(&Book{View: View{InstrumentID: 0, LogPosition: pos}}, 0, 100)
		lat.applied(&Book{View: View{InstrumentID: 1, LogPosition: pos}}, 0, 100)
	}
	lat.applied(&Book{View: View{InstrumentID: 7, LogPosition: feed.pos + benchPositionStep}}, 0, 100) // not an instrument of the feed
	if n := lat.hist.TotalCount(); n != 0 {
		t.Fatalf("%d samples from outside the phase", n)
	}
	if _, err := newBenchLatency(feed, benchLatencyCommandsMax+1); err == nil {
		t.Fatal("a phase past benchLatencyCommandsMax was accepted")
	}
}

// nopSink is a market-data sink that ignores everything, for driving the
// bench feed without a publisher.
type nopSink struct{}

func (*nopSink) OnInstrument(engine.InstrumentInfo, int64, int64)                {}
func (*nopSink) OnLevel(uint32, engine.Side, int64, int64, int32, int64, int64)  {}
func (*nopSink) OnTrade(uint32, uint64, int64, int64, engine.Side, int64, int64) {}
func (*nopSink) OnTradingState(uint32, engine.TradingState, int64, int64)        {}
func (*nopSink) OnApplied(int64, int64)                                          {}

// TestBenchSendLogFindsNewestSend checks the send log against a naive model
// (a map from duty-cycle time to the newest send time): a duty cycle's
// newest send is found while it is among the last benchSendLogLength sends,
// and nothing is found for one never recorded or pushed out.
func TestBenchSendLogFindsNewestSend(t *testing.T) {
	var log benchSendLog
	if _, ok := log.sendAt(1); ok {
		t.Fatal("found a send in an empty log")
	}
	if _, ok := (*benchSendLog)(nil).sendAt(1); ok {
		t.Fatal("found a send in a nil log")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	type rec struct{ duty, send int64 }
	var recs []rec
	duty := int64(100)
	for range 3 * benchSendLogLength {
		duty += int64(rng.IntN(3)) * 10 // 0: a duty cycle that sent twice
		recs = append(recs, rec{duty, duty + 1 + int64(rng.IntN(50))})
		log.record(recs[len(recs)-1].duty, recs[len(recs)-1].send)
		if rng.IntN(64) != 0 {
			continue
		}
		kept := recs[max(0, len(recs)-benchSendLogLength):]
		newest := map[int64]int64{}
		for _, r := range kept {
			newest[r.duty] = r.send
		}
		// The oldest kept, any kept, the newest, one not yet sent, one
		// never sent, the newest pushed out (found only if the duty cycle
		// sent again since).
		probes := []int64{kept[0].duty, kept[rng.IntN(len(kept))].duty, duty, duty + 5, recs[0].duty - 1}
		if out := len(recs) - benchSendLogLength - 1; out >= 0 {
			probes = append(probes, recs[out].duty)
		}
		for _, probe := range probes {
			want, wantOK := newest[probe]
			got, ok := log.sendAt(probe)
			if ok != wantOK || got != want {
				t.Fatalf("after %d sends: sendAt(%d) = %d, %v; want %d, %v", len(recs), probe, got, ok, want, wantOK)
			}
		}
	}
}

// TestOtherCPUStatsNeverGoBackwards checks that the host's other CPU time
// and steal, where /proc has them, are non-negative and only grow, so the
// latency phase's differences are never negative.
func TestOtherCPUStatsNeverGoBackwards(t *testing.T) {
	other0, steal0, ok := otherCPUStats()
	if !ok {
		if _, err := os.Stat("/proc/stat"); err == nil {
			t.Fatal("/proc/stat exists but otherCPUStats failed")
		}
		t.Skip("no /proc/stat")
	}
	other1, steal1, ok := otherCPUStats()
	if !ok {
		t.Fatal("second read failed")
	}
	if other0 < 0 || steal0 < 0 || steal1 < steal0 {
		t.Fatalf("other %d ns, steal %d then %d ns", other0, steal0, steal1)
	}
	// Processes that exit between the reads take their time with them, so
	// other may shrink; it must still be a plausible sum.
	if other1 < 0 {
		t.Fatalf("other %d ns", other1)
	}
}
