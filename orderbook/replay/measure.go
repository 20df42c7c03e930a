package replay

import (
	"fmt"
	"runtime"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"venue/orderbook/orderflow"
)

// Histogram range: one nanosecond to ten seconds at three significant
// digits.
const (
	latencyLowestNs  = 1
	latencyHighestNs = 10_000_000_000
	latencySigFigs   = 3
)

// Result is one benchmark run. Trades, Volume and Rejects count every
// record, warm-up included (as the order-flow README's table does);
// throughput and latency count only the timed records.
type Result struct {
	Records     int     `json:"records"`
	Warmup      int     `json:"warmup"`
	Instruments int     `json:"instruments"`
	Ops         int     `json:"ops"`
	Seconds     float64 `json:"seconds"`
	OpsPerSec   float64 `json:"ops_per_sec"`
	// CPUSeconds is the process CPU time of the throughput pass, and
	// CPUOpsPerSec the throughput by it: on a shared machine these leave
	// out time spent descheduled (0 where not available).
	CPUSeconds   float64 `json:"cpu_seconds"`
	CPUOpsPerSec float64 `json:"cpu_ops_per_sec"`
	P50Ns        int64   `json:"p50_ns"`
	P90Ns        int64   `json:"p90_ns"`
	P99Ns        int64   `json:"p99_ns"`
	P999Ns       int64   `json:"p999_ns"`
	MaxNs        int64   `json:"max_ns"`
	MeanNs       float64 `json:"mean_ns"`
	// ClockOverheadNs is the median interval the latency clock reports
	// around nothing; it has been taken off every latency sample above, so
	// the percentiles are the book's and not the clock's.
	ClockOverheadNs int64 `json:"clock_overhead_ns"`
	// Lookahead says whether records were applied with hints ahead (see
	// Options.Lookahead).
	Lookahead   bool    `json:"lookahead"`
	AllocsPerOp float64 `json:"allocs_per_op"`
	Trades      uint64  `json:"trades"`
	Volume      uint64  `json:"volume"`
	Rejects     uint64  `json:"rejects"`
	// Tail is where the slowest 1% of timed commands go, with
	// Options.TailClasses; classes with the most slow commands first.
	Tail []TailClass `json:"tail,omitempty"`
}

// Options are the benchmark's settings.
type Options struct {
	// Lookahead applies each record with Replayer.ApplyAhead, hinting the
	// books about the next few records, as a caller holding a queue of
	// commands (the engine with a batch of committed entries) can. Both
	// passes do it, and the hints for later records are issued inside each
	// command's timed interval, so their cost is counted where it is paid.
	Lookahead bool
	// TailClasses keeps each command's latency in the latency pass and
	// reports in Result.Tail where the slowest 1% go, by what the commands
	// did (see TailClass). It costs a slice of the latencies and one more
	// replay, both outside the timed passes.
	TailClasses bool
}

// Measure benchmarks f on the calling goroutine: warm-up records untimed,
// then a timed throughput pass over the rest; then, on fresh books, the
// warm-up again and a pass timing each command into an HdrHistogram.
//
// Each latency sample is the interval a cheap monotonic clock (see
// latencyClock) reports around one Replayer.Apply (ApplyAhead with
// Options.Lookahead), less the clock's own overhead: the median interval it
// reports around nothing, measured just before the pass and reported as
// ClockOverheadNs. The clock costs about as much as a command that hits the
// cache, so without that correction the percentiles would mostly measure
// the clock.
func Measure(f *orderflow.File, opts Options) (Result, error) {
	n, warm := f.Len(), int(f.Header.Warmup)
	res := Result{Records: n, Warmup: warm, Instruments: int(f.Header.Instruments), Ops: n - warm, Lookahead: opts.Lookahead}

	r := New(f.Header, nil)
	r.ApplyRange(f, 0, warm)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpuStart := processCPUNs()
	start := time.Now()
	if opts.Lookahead {
		r.ApplyRangeAhead(f, warm, n)
	} else {
		r.ApplyRange(f, warm, n)
	}
	elapsed := time.Since(start)
	cpuNs := processCPUNs() - cpuStart
	runtime.ReadMemStats(&after)

	c := r.Counts()
	res.Trades, res.Volume, res.Rejects = c.Trades, c.Volume, c.Rejects
	res.Seconds = elapsed.Seconds()
	res.CPUSeconds = float64(cpuNs) / 1e9
	if res.Ops > 0 {
		res.OpsPerSec = float64(res.Ops) / res.Seconds
		if cpuNs > 0 {
			res.CPUOpsPerSec = float64(res.Ops) / res.CPUSeconds
		}
		res.AllocsPerOp = float64(after.Mallocs-before.Mallocs) / float64(res.Ops)
	}
	if err := measureLatency(f, opts, &res); err != nil {
		return Result{}, err
	}
	return res, nil
}

func measureLatency(f *orderflow.File, opts Options, res *Result) error {
	n, warm := f.Len(), int(f.Header.Warmup)
	h := hdrhistogram.New(latencyLowestNs, latencyHighestNs, latencySigFigs)
	r := New(f.Header, nil)
	r.ApplyRange(f, 0, warm)
	runtime.GC()
	var kept []int64 // each timed command's latency, with TailClasses
	if opts.TailClasses {
		kept = make([]int64, 0, n-warm)
	}
	clock := newLatencyClock()
	overhead := clock.overheadNs()
	for i := warm; i < n; i++ {
		var ns int64
		if opts.Lookahead {
			start := clock.nowNs()
			r.ApplyAhead(f, i, n)
			ns = clock.nowNs() - start - overhead
		} else {
			rec := f.Record(i)
			start := clock.nowNs()
			r.Apply(rec)
			ns = clock.nowNs() - start - overhead
		}
		if err := h.RecordValue(max(ns, latencyLowestNs)); err != nil {
			return fmt.Errorf("replay: recording latency %d ns: %w", ns, err)
		}
		if opts.TailClasses {
			kept = append(kept, ns)
		}
	}
	if r.Counts() != (Counts{Trades: res.Trades, Volume: res.Volume, Rejects: res.Rejects}) {
		return fmt.Errorf("replay: latency pass produced %+v, throughput pass %d trades %d volume %d rejects",
			r.Counts(), res.Trades, res.Volume, res.Rejects)
	}
	res.P50Ns = h.ValueAtQuantile(50)
	res.P90Ns = h.ValueAtQuantile(90)
	res.P99Ns = h.ValueAtQuantile(99)
	res.P999Ns = h.ValueAtQuantile(99.9)
	res.MaxNs = h.Max()
	res.MeanNs = h.Mean()
	res.ClockOverheadNs = overhead
	if opts.TailClasses {
		res.Tail = tailClasses(f, kept)
	}
	return nil
}
