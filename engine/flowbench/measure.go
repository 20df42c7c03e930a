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
type Result struct {
	Input           string  `json:"input,omitempty"`
	Records         int     `json:"records"`
	Warmup          int     `json:"warmup"`
	Instruments     int     `json:"instruments"`
	Users           int     `json:"users"`
	Ops             int     `json:"ops"`
	Commands        int     `json:"commands"`
	EngineSeconds   float64 `json:"engine_seconds"`
	EngineOpsPerSec float64 `json:"engine_ops_per_sec"`
	BookOpsPerSec   float64 `json:"book_ops_per_sec"`
	EngineToBook    float64 `json:"engine_to_book"`
	P50Ns           int64   `json:"p50_ns"`
	P90Ns           int64   `json:"p90_ns"`
	P99Ns           int64   `json:"p99_ns"`
	P999Ns          int64   `json:"p999_ns"`
	MaxNs           int64   `json:"max_ns"`
	BookP50Ns       int64   `json:"book_p50_ns"`
	BookP99Ns       int64   `json:"book_p99_ns"`
	AllocsPerOp     float64 `json:"allocs_per_op"`
	BookAllocsPerOp float64 `json:"book_allocs_per_op"`
	Trades          uint64  `json:"trades"`
	Volume          uint64  `json:"volume"`
	BookTrades      uint64  `json:"book_trades"`
	BookVolume      uint64  `json:"book_volume"`
	Reports         uint64  `json:"reports"`
	Rejects         uint64  `json:"rejects"`
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
}

func newRunner(flow *Flow, h orderflow.Header) (*runner, error) {
	c := &counter{}
	e, err := engine.New(engine.Config{
		BootstrapAdmin: adminName, Egress: c, MarketData: c,
		OrdersHint: int(min(h.TargetLive*2, ordersHintMax)),
	})
	if err != nil {
		return nil, fmt.Errorf("flowbench: %w", err)
	}
	r := &runner{e: e, c: c}
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
func (r *runner) apply(flow *Flow, from, to int) {
	for _, msg := range flow.Commands[flow.First[from]:flow.First[to]] {
		r.pos += logEntryBytes
		r.e.OnSessionMessage(gatewaySession, r.pos, r.pos, msg)
	}
}

// Measure runs the flow through the engine and through the bare book.
func Measure(f *orderflow.File) (Result, error) {
	flow, err := Encode(f)
	if err != nil {
		return Result{}, err
	}
	n, warm := f.Len(), int(f.Header.Warmup)
	res := Result{Records: n, Warmup: warm, Instruments: int(f.Header.Instruments), Users: flow.Users,
		Ops: n - warm, Commands: int(flow.First[n] - flow.First[warm])}
	if err := measureThroughput(flow, f.Header, &res); err != nil {
		return Result{}, err
	}
	if err := measureLatency(flow, f.Header, &res); err != nil {
		return Result{}, err
	}
	book, err := replay.Measure(f)
	if err != nil {
		return Result{}, err
	}
	res.BookOpsPerSec, res.BookP50Ns, res.BookP99Ns = book.OpsPerSec, book.P50Ns, book.P99Ns
	res.BookAllocsPerOp, res.BookTrades, res.BookVolume = book.AllocsPerOp, book.Trades, book.Volume
	if res.BookOpsPerSec > 0 {
		res.EngineToBook = res.EngineOpsPerSec / res.BookOpsPerSec
	}
	return res, nil
}

func measureThroughput(flow *Flow, h orderflow.Header, res *Result) error {
	r, err := newRunner(flow, h)
	if err != nil {
		return err
	}
	r.apply(flow, 0, res.Warmup)
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	r.apply(flow, res.Warmup, res.Records)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	res.EngineSeconds = elapsed.Seconds()
	if res.Ops > 0 {
		res.EngineOpsPerSec = float64(res.Ops) / res.EngineSeconds
		res.AllocsPerOp = float64(after.Mallocs-before.Mallocs) / float64(res.Ops)
	}
	res.Trades, res.Volume, res.Reports = r.c.trades, r.c.volume, r.c.reports
	c := r.e.Counters()
	res.Rejects = c.Malformed + c.NotAuthorized + c.Duplicates + c.LimitExceeded
	if err := r.e.Check(); err != nil {
		return fmt.Errorf("flowbench: after the run: %w", err)
	}
	return nil
}

func measureLatency(flow *Flow, hd orderflow.Header, res *Result) error {
	r, err := newRunner(flow, hd)
	if err != nil {
		return err
	}
	h := hdrhistogram.New(latencyLowestNs, latencyHighestNs, latencySigFigs)
	r.apply(flow, 0, res.Warmup)
	runtime.GC()
	for i := res.Warmup; i < res.Records; i++ {
		start := time.Now()
		r.apply(flow, i, i+1)
		ns := time.Since(start).Nanoseconds()
		if err := h.RecordValue(max(ns, latencyLowestNs)); err != nil {
			return fmt.Errorf("flowbench: recording latency %d ns: %w", ns, err)
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
