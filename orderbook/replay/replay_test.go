package replay

import (
	"fmt"
	"maps"
	"os"
	"runtime"
	"strings"
	"testing"

	"venue/orderbook"
	"venue/orderbook/orderflow"
)

// orderflowDir is where CI keeps the reference files: ../shared beside the
// repository root.
const orderflowDir = "../../../shared/orderflow/"

func readFlow(tb testing.TB, name string) *orderflow.File {
	tb.Helper()
	path := orderflowDir + name
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("%s not present: %v", path, err)
	}
	f, err := orderflow.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// The README's table: trades and volume over all records.
var readmeCounts = []struct {
	file string
	want Counts
}{
	{"s1.bin", Counts{Trades: 196165, Volume: 2072490}},
	{"s100.bin", Counts{Trades: 184226, Volume: 1934363}},
	{"tiny.bin", Counts{}},
}

// TestReplayMatchesReadme replays each file, with and without hints ahead
// (ApplyRangeAhead), and checks the README's counts, the books'
// invariants, and that the part after the warm-up allocated nothing: the
// books are made with room for the file's target live orders.
func TestReplayMatchesReadme(t *testing.T) {
	for _, tc := range readmeCounts {
		for _, ahead := range []bool{false, true} {
			if ahead && tc.file == "s1.bin" {
				continue // one instrument: ApplyAhead gives no hints, and -race makes the pass slow
			}
			t.Run(fmt.Sprintf("%s/ahead=%v", tc.file, ahead), func(t *testing.T) {
				replayReadme(t, tc.file, ahead, tc.want)
			})
		}
	}
}

// allocsOthersMax is how many allocations a replay pass may count that are
// not its own: MemStats counts the whole process, and under -race the
// testing package's goroutine that reports the previous subtest was seen to
// allocate a few objects during the pass. A replay that allocated per
// record would count about a million.
const allocsOthersMax = 16

func replayReadme(t *testing.T, file string, ahead bool, want Counts) {
	f := readFlow(t, file)
	r := New(f.Header, nil)
	warm := int(f.Header.Warmup)
	r.ApplyRange(f, 0, warm)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if ahead {
		r.ApplyRangeAhead(f, warm, f.Len())
	} else {
		r.ApplyRange(f, warm, f.Len())
	}
	runtime.ReadMemStats(&after)
	if n := after.Mallocs - before.Mallocs; n > allocsOthersMax {
		t.Errorf("%d allocations after the warm-up", n)
	}
	if got := r.Counts(); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range int(f.Header.Instruments) {
		if err := r.Book(i).Check(); err != nil {
			t.Fatalf("instrument %d: %v", i, err)
		}
	}
}

func BenchmarkReplayS1(b *testing.B)   { benchReplay(b, "s1.bin") }
func BenchmarkReplayS100(b *testing.B) { benchReplay(b, "s100.bin") }

// benchReplay times whole passes over the timed part of a file, each on
// fresh books warmed up untimed. One op is one pass, so B/op and allocs/op
// are per pass (about a million records); records/s and allocs/record are
// the per-record figures.
func benchReplay(b *testing.B, name string) {
	f := readFlow(b, name)
	warm, n := int(f.Header.Warmup), f.Len()
	b.ReportAllocs()
	b.ResetTimer() // reading and checking the file is not the replay
	ops, mallocs := 0, uint64(0)
	var before, after runtime.MemStats
	for range b.N {
		b.StopTimer()
		r := New(f.Header, nil)
		r.ApplyRange(f, 0, warm)
		runtime.ReadMemStats(&before)
		b.StartTimer()
		r.ApplyRange(f, warm, n)
		b.StopTimer()
		runtime.ReadMemStats(&after)
		mallocs += after.Mallocs - before.Mallocs
		ops += n - warm
	}
	b.ReportMetric(float64(ops)/b.Elapsed().Seconds(), "records/s")
	b.ReportMetric(float64(mallocs)/float64(ops), "allocs/record")
}

// eventCounter counts a listener's events by kind.
type eventCounter struct {
	orderbook.NopListener
	accepted, cancelled, replaced int
}

func (c *eventCounter) OnAccepted(orderbook.Accepted)   { c.accepted++ }
func (c *eventCounter) OnCancelled(orderbook.Cancelled) { c.cancelled++ }
func (c *eventCounter) OnReplaced(orderbook.Replaced)   { c.replaced++ }

// TestReplayTinyEvents replays tiny.bin (13 new orders, 10 cancels, 2
// amends, no trades) with a listener attached beside the counter.
func TestReplayTinyEvents(t *testing.T) {
	f := readFlow(t, "tiny.bin")
	var ec eventCounter
	r := New(f.Header, &ec)
	r.ApplyRange(f, 0, f.Len())
	if ec.accepted != 13 || ec.cancelled != 10 || ec.replaced != 2 {
		t.Fatalf("events: %+v", ec)
	}
	if r.Book(0).Len() != 3 || r.Counts() != (Counts{}) {
		t.Fatalf("%d orders left, counts %+v", r.Book(0).Len(), r.Counts())
	}
}

func TestMeasureTiny(t *testing.T) {
	for _, ahead := range []bool{false, true} {
		t.Run(fmt.Sprintf("lookahead=%v", ahead), func(t *testing.T) { measureTiny(t, ahead) })
	}
}

func measureTiny(t *testing.T, ahead bool) {
	f := readFlow(t, "tiny.bin")
	res, err := Measure(f, Options{Lookahead: ahead})
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 25 || res.Warmup != 5 || res.Ops != 20 || res.Instruments != 1 || res.Lookahead != ahead {
		t.Fatalf("result %+v", res)
	}
	if res.OpsPerSec <= 0 || res.P50Ns <= 0 || res.MaxNs < res.P999Ns || res.P999Ns < res.P99Ns || res.P99Ns < res.P50Ns {
		t.Fatalf("implausible measurements %+v", res)
	}
	if res.Trades != 0 || res.Volume != 0 || res.Rejects != 0 {
		t.Fatalf("counts %+v", res)
	}
}

// TestMeasureTailClasses checks that the classes of Options.TailClasses
// account for every timed command of tiny.bin once, by kind, and that the
// slow ones are at least 1% of them.
func TestMeasureTailClasses(t *testing.T) {
	f := readFlow(t, "tiny.bin")
	res, err := Measure(f, Options{TailClasses: true})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{} // commands per kind in the timed part
	for i := int(f.Header.Warmup); i < f.Len(); i++ {
		want[kindNames[tailClassOf(f.Record(i), 0, 0)/((tailTradesMax+1)*(tailEmptiedMax+1))]]++
	}
	got := map[string]int{}
	total, slow := 0, 0
	for i, c := range res.Tail {
		if c.Count <= 0 || c.Slow < 0 || c.Slow > c.Count || c.MeanNs <= 0 {
			t.Fatalf("class %+v", c)
		}
		if i > 0 && res.Tail[i-1].Slow < c.Slow {
			t.Fatalf("classes not by slow commands: %+v", res.Tail)
		}
		kind, _, _ := strings.Cut(c.Class, " ")
		got[kind] += c.Count
		total += c.Count
		slow += c.Slow
	}
	if total != res.Ops || slow < 1 || !maps.Equal(got, want) {
		t.Fatalf("classes %+v: %d commands (want %d), %d slow, by kind %v (want %v)", res.Tail, total, res.Ops, slow, got, want)
	}
}

// TestTailClassNames checks that every class index has its own name and
// that tailClassOf buckets trades and emptied levels.
func TestTailClassNames(t *testing.T) {
	seen := map[string]bool{}
	for c := range tailClassCount {
		n := tailClassName(c)
		if seen[n] {
			t.Fatalf("class %d: name %q twice", c, n)
		}
		seen[n] = true
	}
	rec := orderflow.Record(orderflow.AppendRecord(nil, orderflow.RecordFields{Op: orderflow.OpNew, Type: orderflow.TypeIOC, ID: 1, Price: 1, Qty: 1}))
	for _, tc := range []struct {
		trades, emptied int
		want            string
	}{
		{0, 0, "new-ioc trades=0 emptied=0"},
		{2, 1, "new-ioc trades=2 emptied=1"},
		{7, 5, "new-ioc trades=3+ emptied=2+"},
	} {
		if got := tailClassName(tailClassOf(rec, tc.trades, tc.emptied)); got != tc.want {
			t.Errorf("trades %d emptied %d: %q, want %q", tc.trades, tc.emptied, got, tc.want)
		}
	}
}
