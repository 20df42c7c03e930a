package flowbench

import (
	"fmt"
	"runtime"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"venue/engine"
	"venue/orderbook/orderflow"
	"venue/orderbook/replay"
)

// Histogram range: one nanosecond to ten seconds at three significant
// digits.
const (
	latencyLowestNs  = 1
	latencyHighestNs = 10_000_000_000
	latencySigFigs   = 3
	// logEntryBytes is the log position advance per command: a plausible
	// frame size; positions only need to grow.
	logEntryBytes = 128
	// ordersHintMax caps the per-book room reserved up front.
	ordersHintMax = 1 << 20
)

// Result is one run. Trades and Volume count every record, warm-up
// included (as the order-flow README does); throughput, latency and
// allocations count only the timed records. One op is one record.
//
// The engine and the bare book are timed alternately, Passes times each on
// freshly warmed state, and the fastest pass of each is reported: on a
// machine shared with other work the fastest pass is the one least
// disturbed. The *_cpu_* figures divide by the process's CPU time instead of
// wall-clock time.
type Result struct {
	Input              string  `json:"input,omitempty"`
	Records            int     `json:"records"`
	Warmup             int     `json:"warmup"`
	Instruments        int     `json:"instruments"`
	Users              int     `json:"users"`
	Ops                int     `json:"ops"`
	Commands           int     `json:"commands"`
	Passes             int     `json:"passes"`
	Lookahead          bool    `json:"lookahead"`
	EngineSeconds      float64 `json:"engine_seconds"`
	EngineOpsPerSec    float64 `json:"engine_ops_per_sec"`
	BookOpsPerSec      float64 `json:"book_ops_per_sec"`
	EngineToBook       float64 `json:"engine_to_book"`
	EngineCPUOpsPerSec float64 `json:"engine_cpu_ops_per_sec"`
	BookCPUOpsPerSec   float64 `json:"book_cpu_ops_per_sec"`
	EngineToBookCPU    float64 `json:"engine_to_book_cpu"`
	P50Ns              int64   `json:"p50_ns"`
	P90Ns              int64   `json:"p90_ns"`
	P99Ns              int64   `json:"p99_ns"`
	P999Ns             int64   `json:"p999_ns"`
	MaxNs              int64   `json:"max_ns"`
	BookP50Ns          int64   `json:"book_p50_ns"`
	BookP99Ns          int64   `json:"book_p99_ns"`
	AllocsPerOp        float64 `json:"allocs_per_op"`
	BookAllocsPerOp    float64 `json:"book_allocs_per_op"`
	Trades             uint64  `json:"trades"`
	Volume             uint64  `json:"volume"`
	BookTrades         uint64  `json:"book_trades"`
	BookVolume         uint64  `json:"book_volume"`
	Reports            uint64  `json:"reports"`
	Rejects            uint64  `json:"rejects"`
}

// counter is the benchmark's egress and market-data sink: it counts and
// keeps nothing.
type counter struct {
	engine.NopMarketDataSink
	reports, trades, volume uint64
}

func (c *counter) Send(_ engine.SessionID, msg []byte) { c.reports++ }

func (c *counter) OnTrade(_ uint32, _ uint64, _, qty int64, _ engine.Side, _, _ int64) {
	c.trades++
	c.volume += uint64(qty)
}

// runner is one engine set up for a flow, with its log position.
type runner struct {
	e   *engine.Engine
	c   *counter
	pos int64
	// hint says whether apply hints each command engine.HintAhead
	// commands before applying it (Options.Lookahead).
	hint bool
}

func newRunner(flow *Flow, h orderflow.Header, hint bool) (*runner, error) {
	c := &counter{}
	e, err := engine.New(engine.Config{
		BootstrapAdmin: adminName, Egress: c, MarketData: c,
		OrdersHint: ordersHint(h),
	})
	if err != nil {
		return nil, fmt.Errorf("flowbench: %w", err)
	}
	r := &runner{e: e, c: c, hint: hint}
	r.e.OnSessionOpen(adminSession, []byte(adminName), r.next(), 0)
	r.e.OnSessionOpen(gatewaySession, []byte(gatewayName), r.next(), 0)
	r.e.OnSessionMessage(adminSession, r.next(), 0, principalMsg(gatewayName, engine.RoleGateway))
	for i, msg := range flow.Setup {
		r.e.OnSessionMessage(flow.SetupBy[i], r.next(), 0, msg)
	}
	r.c.reports = 0
	if n := r.e.Counters(); n.Malformed+n.NotAuthorized+n.LimitExceeded != 0 {
		return nil, fmt.Errorf("flowbench: setup refused: %+v", n)
	}
	return r, nil
}

// ordersHint is the room per book reserved up front: the same as
// orderbook/replay gives the bare book, so that both paths run books of
// the same configuration.
func ordersHint(h orderflow.Header) int {
	return int(min(h.TargetLive+h.TargetLive/4, ordersHintMax))
}

func principalMsg(name string, role engine.Role) []byte {
	msg, m := engine.AppendSetPrincipal(nil)
	m.SetPrincipal(name)
	m.SetRole(role)
	return msg
}

func (r *runner) next() int64 {
	r.pos += logEntryBytes
	return r.pos
}

// apply applies the commands of records [from, to). The cluster time is
// the log position: any growing value will do, and reading a clock here
// would cost what is being measured.
//
// With hints, each command is hinted engine.HintAhead commands before it
// is applied, as a service holding a batch of committed entries can: the
// hints run on across calls (up to the flow's last command), so a range
// applied after another finds its first commands hinted already.
func (r *runner) apply(flow *Flow, from, to int) {
	if r.hint {
		r.applyHinted(flow, from, to)
		return
	}
	for j := flow.First[from]; j < flow.First[to]; j++ {
		r.pos += logEntryBytes
		r.e.OnSessionMessage(gatewaySession, r.pos, r.pos, flow.Command(int(j)))
	}
}

func (r *runner) applyHinted(flow *Flow, from, to int) {
	n := int32(flow.Len())
	if from == 0 {
		// Prime the pipeline: the first commands are hinted before any
		// is applied.
		for k := int32(0); k < min(engine.HintAhead, n); k++ {
			r.e.Hint(flow.Command(int(k)))
		}
	}
	for j := flow.First[from]; j < flow.First[to]; j++ {
		if k := j + engine.HintAhead; k < n {
			r.e.Hint(flow.Command(int(k)))
		}
		r.pos += logEntryBytes
		r.e.OnSessionMessage(gatewaySession, r.pos, r.pos, flow.Command(int(j)))
	}
}

// DefaultPasses is how many timed passes Measure makes of each path.
const DefaultPasses = 3

// Options configures Measure.
type Options struct {
	// Passes is how many timed passes of each path to make (at least 1).
	Passes int
	// Lookahead hints each command ahead of applying it, on both paths
	// alike: the engine through Engine.Hint (engine.HintAhead commands
	// ahead), the bare book through replay.Replayer.ApplyAhead (its
	// orderbook.Prefetch hints). Both are what a caller holding a batch of
	// commands can do; the hinting is timed with the command.
	Lookahead bool
}

// Measure runs the flow through the engine and through the bare book,
// opts.Passes times each.
func Measure(f *orderflow.File, opts Options) (Result, error) {
	flow, err := Encode(f)
	if err != nil {
		return Result{}, err
	}
	passes := max(opts.Passes, 1)
	n, warm := f.Len(), int(f.Header.Warmup)
	res := Result{Records: n, Warmup: warm, Instruments: int(f.Header.Instruments), Users: flow.Users,
		Ops: n - warm, Commands: int(flow.First[n] - flow.First[warm]), Passes: passes,
		Lookahead: opts.Lookahead}
	var engine, book pass
	for range passes {
		p, err := enginePass(flow, f.Header, &res)
		if err != nil {
			return Result{}, err
		}
		engine = engine.best(p)
		book = book.best(bookPass(f, &res))
	}
	if res.Trades != res.BookTrades || res.Volume != res.BookVolume {
		return Result{}, fmt.Errorf("flowbench: the engine traded %d (volume %d), the bare book %d (volume %d): the paths are not comparable",
			res.Trades, res.Volume, res.BookTrades, res.BookVolume)
	}
	res.EngineSeconds = engine.wall.Seconds()
	res.EngineOpsPerSec, res.EngineCPUOpsPerSec, res.AllocsPerOp = engine.rates(res.Ops)
	res.BookOpsPerSec, res.BookCPUOpsPerSec, res.BookAllocsPerOp = book.rates(res.Ops)
	res.EngineToBook = ratio(res.EngineOpsPerSec, res.BookOpsPerSec)
	res.EngineToBookCPU = ratio(res.EngineCPUOpsPerSec, res.BookCPUOpsPerSec)
	if err := measureLatency(flow, f.Header, &res); err != nil {
		return Result{}, err
	}
	if err := measureBookLatency(f, &res); err != nil {
		return Result{}, err
	}
	return res, nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// pass is one timed pass: wall and CPU time, allocations.
type pass struct {
	wall, cpu time.Duration
	mallocs   uint64
}

// best returns the faster (by wall clock) of p and q; the zero pass loses.
func (p pass) best(q pass) pass {
	if p.wall == 0 || (q.wall != 0 && q.wall < p.wall) {
		return q
	}
	return p
}

func (p pass) rates(ops int) (wallOps, cpuOps, allocs float64) {
	if ops == 0 {
		return 0, 0, 0
	}
	wallOps = float64(ops) / p.wall.Seconds()
	if p.cpu > 0 {
		cpuOps = float64(ops) / p.cpu.Seconds()
	}
	return wallOps, cpuOps, float64(p.mallocs) / float64(ops)
}

// timed runs f once, measuring it.
func timed(f func()) pass {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu := processCPU()
	start := time.Now()
	f()
	wall := time.Since(start)
	cpu = processCPU() - cpu
	runtime.ReadMemStats(&after)
	return pass{wall: wall, cpu: cpu, mallocs: after.Mallocs - before.Mallocs}
}

func enginePass(flow *Flow, h orderflow.Header, res *Result) (pass, error) {
	r, err := newRunner(flow, h, res.Lookahead)
	if err != nil {
		return pass{}, err
	}
	r.apply(flow, 0, res.Warmup)
	p := timed(func() { r.apply(flow, res.Warmup, res.Records) })
	res.Trades, res.Volume, res.Reports = r.c.trades, r.c.volume, r.c.reports
	c := r.e.Counters()
	res.Rejects = c.Malformed + c.NotAuthorized + c.Duplicates + c.LimitExceeded
	if err := r.e.Check(); err != nil {
		return pass{}, fmt.Errorf("flowbench: after the run: %w", err)
	}
	return p, nil
}

func bookPass(f *orderflow.File, res *Result) pass {
	r := replay.New(f.Header, nil)
	apply := r.ApplyRange
	if res.Lookahead {
		apply = r.ApplyRangeAhead
	}
	apply(f, 0, res.Warmup)
	p := timed(func() { apply(f, res.Warmup, res.Records) })
	c := r.Counts()
	res.BookTrades, res.BookVolume = c.Trades, c.Volume
	return p
}

func measureLatency(flow *Flow, hd orderflow.Header, res *Result) error {
	r, err := newRunner(flow, hd, res.Lookahead)
	if err != nil {
		return err
	}
	h := hdrhistogram.New(latencyLowestNs, latencyHighestNs, latencySigFigs)
	r.apply(flow, 0, res.Warmup)
	runtime.GC()
	for i := res.Warmup; i < res.Records; i++ {
		start := time.Now()
		r.apply(flow, i, i+1)
		if err := record(h, time.Since(start)); err != nil {
			return err
		}
	}
	if r.c.trades != res.Trades || r.c.volume != res.Volume {
		return fmt.Errorf("flowbench: latency pass traded %d/%d, throughput pass %d/%d", r.c.trades, r.c.volume, res.Trades, res.Volume)
	}
	res.P50Ns = h.ValueAtQuantile(50)
	res.P90Ns = h.ValueAtQuantile(90)
	res.P99Ns = h.ValueAtQuantile(99)
	res.P999Ns = h.ValueAtQuantile(99.9)
	res.MaxNs = h.Max()
	return nil
}

func measureBookLatency(f *orderflow.File, res *Result) error {
	h := hdrhistogram.New(latencyLowestNs, latencyHighestNs, latencySigFigs)
	r := replay.New(f.Header, nil)
	if res.Lookahead {
		r.ApplyRangeAhead(f, 0, res.Warmup)
	} else {
		r.ApplyRange(f, 0, res.Warmup)
	}
	runtime.GC()
	for i := res.Warmup; i < res.Records; i++ {
		rec := f.Record(i)
		start := time.Now()
		if res.Lookahead {
			r.ApplyAhead(f, i, res.Records)
		} else {
			r.Apply(rec)
		}
		if err := record(h, time.Since(start)); err != nil {
			return err
		}
	}
	res.BookP50Ns = h.ValueAtQuantile(50)
	res.BookP99Ns = h.ValueAtQuantile(99)
	return nil
}

func record(h *hdrhistogram.Histogram, d time.Duration) error {
	ns := d.Nanoseconds()
	if err := h.RecordValue(max(ns, latencyLowestNs)); err != nil {
		return fmt.Errorf("flowbench: recording latency %d ns: %w", ns, err)
	}
	return nil
}
