// Package fixbench measures order entry through the FIX gateway: FIX
// initiators → gateway → cluster → engine → ExecutionReport, open loop at a
// target rate (one pacer, sending what is due every millisecond) or closed
// loop with a window of orders in flight per session, with latency from
// each order's send to its ExecutionReport New in an HdrHistogram. Open
// loop never waits for answers nor skips what falls due while it is late,
// and reports how late it was against its schedule apart (PacerLate*).
//
// The initiators run in the same process, on the same cores, as the
// gateway. By default they are a lean FIX client of the benchmark's own
// (rawclient.go), so that the numbers are mostly the gateway's; quickfixgo's
// initiators (Config.Client) cost about as much as the gateway itself.
//
// The cluster (Config.Cluster, and Result.Cluster says which ran) is by
// default an embedded replicated one: three members on loopback UDP in
// this process, each with its log store (fsync as Config.Fsync says) and
// the engine, provisioned through the log, the gateway a client of it
// through clusterlink — what `venue run` runs. The in-process alternative
// is fakecluster's stand-in, one log in the process with the engine and no
// consensus: its numbers measure the gateway, quickfixgo, the FIX store
// and the engine, not replication.
//
// The gateway's FIX store (Config.Store) is by default the gateway's
// journal as `venue run` has it, FileStoreSync=N: each message is written
// before it goes out and survives a gateway crash, not a host crash.
// "file" is quickfixgo's file store, the same way; the "-sync" variants
// have FileStoreSync=Y: every outbound message and every sequence number
// persisted is fsynced before quickfixgo sends the message, one after the
// other on each session. The memory alternative keeps nothing across a
// crash; it measures the rest.
package fixbench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/quickfixgo/quickfix"

	"venue/cluster/config"
	"venue/fixgateway"
	"venue/fixgateway/fakecluster"
)

// Histogram bounds and limits.
const (
	latencyLowestNs  = 1_000
	latencyHighestNs = int64(60 * time.Second)
	latencySigFigs   = 3
	// ordersMax bounds one run's orders (each needs a send-time slot).
	ordersMax = 50_000_000
	// sessionOrdersMax bounds one session's orders.
	sessionOrdersMax = 4_000_000
	// StoreJournal, StoreFile and StoreMemory name the gateway's FIX
	// stores (fixgateway.KeyFIXStore) as `venue run` has them, without an
	// fsync per message (FileStoreSync=N); StoreJournalSync and
	// StoreFileSync are the journal and the file store with one.
	StoreJournal     = fixgateway.FIXStoreJournal
	StoreJournalSync = fixgateway.FIXStoreJournal + syncSuffix
	StoreFile        = fixgateway.FIXStoreFile
	StoreFileSync    = fixgateway.FIXStoreFile + syncSuffix
	StoreMemory      = fixgateway.FIXStoreMemory
	syncSuffix       = "-sync"
	// ClientRaw and ClientQuickfixgo name the benchmark's FIX clients: a
	// lean initiator of its own (rawclient.go), or quickfixgo's.
	ClientRaw        = "raw"
	ClientQuickfixgo = "quickfixgo"
	// DefaultWindow is the orders in flight per session at rate 0: enough
	// to keep the pipeline full, so that rate 0 measures what the venue can
	// take rather than the client's window over the latency. Under data
	// fsync an order waits ~4 ms for its commit at full load; 4 sessions
	// with 64 each left a third of the 2 cores idle (28–58 k orders/s),
	// with 256 each 53–76 k, with 512 each 74–75 k. A quarter of what the
	// gateway lets a session have in flight (SessionInFlightMax).
	DefaultWindow = 256
	// logonTimeout bounds waiting for the sessions to log on.
	logonTimeout = 20 * time.Second
	// drainTimeout bounds waiting for the last reports.
	drainTimeout = 10 * time.Second
	// pacerTick is the open loop's period: the pacer sends the orders due
	// in bursts this far apart (about the runtime's timer resolution when
	// the process is idle).
	pacerTick = time.Millisecond
)

// Config is one run.
type Config struct {
	Sessions int           // FIX sessions, 1..
	Rate     int           // orders per second over all sessions; 0 = as fast as a window allows
	Window   int           // rate 0: orders in flight per session (DefaultWindow when 0), at most fixgateway.SessionInFlightMax
	Duration time.Duration // sending time
	Store    string        // the gateway's FIX store: StoreJournal (default: `venue run`'s), StoreJournalSync, StoreFile, StoreFileSync or StoreMemory
	Client   string        // the FIX clients: "raw" (default: a lean initiator) or "quickfixgo"
	Dir      string        // for the file store and the embedded cluster's data; a temporary directory when empty
	// Cluster is ClusterEmbedded (the default when empty) or
	// ClusterInProcess.
	Cluster string
	// Fsync is the embedded cluster's log durability (empty: the embedded
	// default's, config.FsyncData).
	Fsync config.Fsync
}

// Result is what a run measured.
type Result struct {
	Cluster string `json:"cluster"` // ClusterEmbedded or ClusterInProcess
	Engine  string `json:"engine"`
	// Members and Fsync describe the embedded cluster (absent in process).
	Members      int     `json:"members,omitempty"`
	Fsync        string  `json:"fsync,omitempty"`
	FIXStore     string  `json:"fix_store"`
	FIXClient    string  `json:"fix_client"`
	Sessions     int     `json:"sessions"`
	Rate         int     `json:"rate"`
	DurationSec  float64 `json:"duration_s"`
	Sent         int64   `json:"orders_sent"`
	Acked        int64   `json:"orders_acked"`
	Refused      int64   `json:"orders_refused"` // rejected by the gateway or the engine (a full queue, say)
	OrdersPerSec float64 `json:"orders_per_sec"`
	P50Ns        int64   `json:"p50_ns"`
	P90Ns        int64   `json:"p90_ns"`
	P99Ns        int64   `json:"p99_ns"`
	P999Ns       int64   `json:"p999_ns"`
	P9999Ns      int64   `json:"p9999_ns"`
	MaxNs        int64   `json:"max_ns"`
	// How late the open-loop pacer woke for its ticks (0 in closed loop):
	// what the runtime's timers and a busy host add before an order is
	// sent, which the latencies above do not include.
	PacerLateP50Ns int64 `json:"pacer_late_p50_ns"`
	PacerLateP99Ns int64 `json:"pacer_late_p99_ns"`
	PacerLateMaxNs int64 `json:"pacer_late_max_ns"`
	// WireWaitsCut counts the gateway's waits for quickfixgo's writers
	// that gave up (fixgateway.CounterWireWaitsCut): a writer not done
	// within the bound, on a host too busy to run it.
	WireWaitsCut int64 `json:"wire_waits_cut"`
	// What the gateway saw of the cluster (fixgateway.Stats), which
	// explains refused orders: leader changes, messages whose outcome the
	// cluster client could not vouch for, commands refused because the
	// cluster was unavailable or a session's queue was full.
	LeaderChanges   int64 `json:"leader_changes"`
	UnknownOutcomes int64 `json:"unknown_outcomes"`
	Unavailable     int64 `json:"unavailable"`
	QueueFull       int64 `json:"queue_full"`
	// Where the orders' round trips went, as the gateway timed them
	// (fixgateway.Stages): quickfixgo from reading the order off the
	// socket to the gateway's FromApp (its session goroutine's backlog),
	// the gateway's way in (FromApp to the cluster client
	// taking the command), the cluster (offer to the engine's answer
	// polled: replication, commit, the engine, egress), and its way out
	// (to the ExecutionReport in quickfixgo's hands), and quickfixgo's
	// queue until its session goroutine hands the report to the writer.
	// The rest of the latencies above is the FIX connection both ways (the
	// order waiting in the socket before quickfixgo reads it, the write of
	// the report) and the client.
	FIXInP50Ns      int64 `json:"fix_in_p50_ns"`
	FIXInP99Ns      int64 `json:"fix_in_p99_ns"`
	FIXInMaxNs      int64 `json:"fix_in_max_ns"`
	GatewayInP50Ns  int64 `json:"gateway_in_p50_ns"`
	GatewayInP99Ns  int64 `json:"gateway_in_p99_ns"`
	GatewayInMaxNs  int64 `json:"gateway_in_max_ns"`
	ClusterP50Ns    int64 `json:"cluster_p50_ns"`
	ClusterP99Ns    int64 `json:"cluster_p99_ns"`
	ClusterMaxNs    int64 `json:"cluster_max_ns"`
	GatewayOutP50Ns int64 `json:"gateway_out_p50_ns"`
	GatewayOutP99Ns int64 `json:"gateway_out_p99_ns"`
	GatewayOutMaxNs int64 `json:"gateway_out_max_ns"`
	FIXOutP50Ns     int64 `json:"fix_out_p50_ns"`
	FIXOutP99Ns     int64 `json:"fix_out_p99_ns"`
	FIXOutMaxNs     int64 `json:"fix_out_max_ns"`
}

// Run runs the benchmark.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if cfg.Window == 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.Sessions < 1 || cfg.Rate < 0 || cfg.Duration <= 0 || cfg.Window < 1 || cfg.Window > fixgateway.SessionInFlightMax {
		return Result{}, fmt.Errorf("fixbench: need sessions >= 1, rate >= 0, duration > 0, 1 <= window <= %d", fixgateway.SessionInFlightMax)
	}
	switch cfg.Store {
	case "":
		cfg.Store = StoreJournal
	case StoreJournal, StoreJournalSync, StoreFile, StoreFileSync, StoreMemory:
	default:
		return Result{}, fmt.Errorf("fixbench: store %q: want %s, %s, %s, %s or %s", cfg.Store,
			StoreJournal, StoreJournalSync, StoreFile, StoreFileSync, StoreMemory)
	}
	switch cfg.Cluster {
	case "":
		cfg.Cluster = ClusterEmbedded
	case ClusterEmbedded, ClusterInProcess:
	default:
		return Result{}, fmt.Errorf("fixbench: cluster %q: want %s or %s", cfg.Cluster, ClusterEmbedded, ClusterInProcess)
	}
	switch cfg.Fsync {
	case "":
		cfg.Fsync = config.DefaultSettings().Fsync
	case config.FsyncData, config.FsyncNone:
	default:
		return Result{}, fmt.Errorf("fixbench: fsync %q: want %s or %s", cfg.Fsync, config.FsyncData, config.FsyncNone)
	}
	switch cfg.Client {
	case "":
		cfg.Client = ClientRaw
	case ClientRaw, ClientQuickfixgo:
	default:
		return Result{}, fmt.Errorf("fixbench: client %q: want %s or %s", cfg.Client, ClientRaw, ClientQuickfixgo)
	}
	dir := cfg.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "venue-bench-fix-")
		if err != nil {
			return Result{}, fmt.Errorf("fixbench: %w", err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	b, err := newBench(ctx, cfg, dir)
	if err != nil {
		return Result{}, err
	}
	defer b.close()
	return b.run(ctx)
}

type bench struct {
	cfg     Config
	late    *hdrhistogram.Histogram // the pacer's lateness per tick
	gw      *fixgateway.Gateway
	init    *quickfix.Initiator
	cluster *embedded // nil in process
	clients []*client
	start   time.Time
}

func compID(i int) string { return "BENCH" + strconv.Itoa(i+1) }

func newBench(ctx context.Context, cfg Config, dir string) (*bench, error) {
	b := &bench{cfg: cfg, late: hdrhistogram.New(latencyLowestNs, latencyHighestNs, latencySigFigs)}
	spec := fakecluster.DemoSpec()
	spec.Traders = map[string][]string{}
	var acc, ini strings.Builder
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(&acc, "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptHost=127.0.0.1\nSocketAcceptPort=%d\n", port)
	fmt.Fprintf(&acc, "%s=%s\n", fixgateway.KeyFIXStore, strings.TrimSuffix(cfg.Store, syncSuffix))
	if cfg.Store != StoreMemory {
		sync := "N"
		if strings.HasSuffix(cfg.Store, syncSuffix) {
			sync = "Y"
		}
		fmt.Fprintf(&acc, "FileStorePath=%s/gateway\nFileStoreSync=%s\n", dir, sync)
	}
	// The initiators stand in for the FIX clients: they keep no copies of
	// what they send (PersistMessages=N), which a real client would on its
	// own machine.
	fmt.Fprintf(&ini, "[DEFAULT]\nConnectionType=initiator\nSocketConnectHost=127.0.0.1\nSocketConnectPort=%d\nHeartBtInt=30\nReconnectInterval=1\nResetOnLogon=Y\nPersistMessages=N\n", port)
	for i := 0; i < cfg.Sessions; i++ {
		id := compID(i)
		spec.Traders[id] = []string{id}
		fmt.Fprintf(&acc, "\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=%s\nVenuePassword=bench\n", id)
		fmt.Fprintf(&ini, "\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=%s\nTargetCompID=VENUE\n", id)
	}
	gcfg, err := fixgateway.ParseConfig(strings.NewReader(acc.String()))
	if err != nil {
		return nil, err
	}
	cl, err := b.startCluster(ctx, dir, spec)
	if err != nil {
		return nil, err
	}
	// No StoreFactory: the gateway takes the store the settings name; its
	// logs are null.
	if b.gw, err = fixgateway.New(gcfg, fixgateway.Options{Client: cl}); err != nil {
		cl.Close()
		b.close()
		return nil, err
	}
	if err := b.gw.Start(ctx); err != nil {
		b.close()
		return nil, err
	}
	start := b.startClients
	if cfg.Client == ClientRaw {
		start = func(_ string, cfg Config) error { return b.startRawClients(port, cfg) }
	}
	if err := start(ini.String(), cfg); err != nil {
		b.close()
		return nil, err
	}
	return b, nil
}

// startCluster starts the cluster Config.Cluster names, provisioned with
// spec, and returns the gateway's client of it.
func (b *bench) startCluster(ctx context.Context, dir string, spec fakecluster.Spec) (fixgateway.ClusterClient, error) {
	if b.cfg.Cluster == ClusterInProcess {
		venue, err := fakecluster.NewVenue(spec)
		if err != nil {
			return nil, err
		}
		return venue.NewClient(), nil
	}
	e, err := startEmbedded(ctx, filepath.Join(dir, "cluster"), b.cfg.Fsync, spec)
	if err != nil {
		return nil, err
	}
	b.cluster = e
	cl, err := e.link()
	if err != nil {
		b.close()
		return nil, err
	}
	return cl, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("fixbench: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (b *bench) startClients(settings string, cfg Config) error {
	s, err := quickfix.ParseSettings(strings.NewReader(settings))
	if err != nil {
		return err
	}
	per := perSession(cfg)
	app := &clientApp{byComp: map[string]*client{}}
	for i := 0; i < cfg.Sessions; i++ {
		c := &client{id: quickfix.SessionID{BeginString: "FIX.4.4", SenderCompID: compID(i), TargetCompID: "VENUE"},
			sentAt: make([]int64, per), hist: hdrhistogram.New(latencyLowestNs, latencyHighestNs, latencySigFigs),
			window: make(chan struct{}, cfg.Window)}
		b.clients = append(b.clients, c)
		app.byComp[c.id.SenderCompID] = c
	}
	store := quickfix.MessageStoreFactory(quickfix.NewMemoryStoreFactory())
	if b.init, err = quickfix.NewInitiator(app, store, s, logFactory{}); err != nil {
		return err
	}
	if err := b.init.Start(); err != nil {
		return err
	}
	return b.awaitLogons()
}

// startRawClients connects a raw client per session.
func (b *bench) startRawClients(port int, cfg Config) error {
	per := perSession(cfg)
	for i := 0; i < cfg.Sessions; i++ {
		c := &client{id: quickfix.SessionID{BeginString: "FIX.4.4", SenderCompID: compID(i), TargetCompID: "VENUE"},
			sentAt: make([]int64, per), hist: hdrhistogram.New(latencyLowestNs, latencyHighestNs, latencySigFigs),
			window: make(chan struct{}, cfg.Window)}
		r, err := dialRaw(net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), c.id.SenderCompID, c.id.TargetCompID, "bench", c)
		if err != nil {
			return err
		}
		c.raw = r
		b.clients = append(b.clients, c)
	}
	return b.awaitLogons()
}

func (b *bench) awaitLogons() error {
	deadline := time.Now().Add(logonTimeout)
	for _, c := range b.clients {
		for !c.loggedOn.Load() {
			if time.Now().After(deadline) {
				return errors.New("fixbench: sessions did not log on")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// perSession is how many order slots each session needs.
func perSession(cfg Config) int {
	n := sessionOrdersMax // rate 0: as many as fit
	if cfg.Rate > 0 {
		n = int(int64(cfg.Rate)*int64(cfg.Duration)/int64(time.Second))/cfg.Sessions + 1
	}
	return min(n, ordersMax/cfg.Sessions, sessionOrdersMax)
}

func (b *bench) close() {
	if b.init != nil {
		b.init.Stop()
	}
	for _, c := range b.clients {
		if c.raw != nil {
			c.raw.close()
		}
	}
	if b.gw != nil {
		b.gw.Stop() // closes its cluster session through the log
	}
	if b.cluster != nil {
		b.cluster.close()
		b.cluster = nil
	}
}

func (b *bench) run(ctx context.Context) (Result, error) {
	b.start = time.Now()
	var wg sync.WaitGroup
	// Sending ends with the duration even if the gateway stops answering.
	sendCtx, cancel := context.WithDeadline(ctx, b.start.Add(b.cfg.Duration))
	defer cancel()
	for _, c := range b.clients {
		c.start = b.start
		c.closedLoop = b.cfg.Rate == 0
	}
	if b.cfg.Rate > 0 {
		b.pace(ctx) // its schedule ends with the duration: the last tick is due then
	} else {
		for _, c := range b.clients {
			wg.Add(1)
			go func() { defer wg.Done(); c.closedLoopSend(sendCtx, b.cfg) }()
		}
		wg.Wait()
	}
	deadline := time.Now().Add(drainTimeout)
	for !b.drained() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(b.start)
	res := Result{Cluster: b.cfg.Cluster, Engine: "engine (in-process)", FIXStore: b.cfg.Store, FIXClient: b.cfg.Client,
		Sessions: b.cfg.Sessions, Rate: b.cfg.Rate, DurationSec: elapsed.Seconds()}
	if b.cluster != nil {
		res.Engine = "engine (on every member)"
		res.Members, res.Fsync = len(b.cluster.cc.Members), string(b.cluster.cc.Fsync)
	}
	h := hdrhistogram.New(latencyLowestNs, latencyHighestNs, latencySigFigs)
	for _, c := range b.clients {
		c.mu.Lock()
		h.Merge(c.hist)
		c.mu.Unlock()
		res.Sent += c.sent.Load()
		res.Acked += c.acked.Load()
		res.Refused += c.refused.Load()
	}
	res.OrdersPerSec = float64(res.Acked) / elapsed.Seconds()
	res.P50Ns, res.P90Ns, res.P99Ns = h.ValueAtQuantile(50), h.ValueAtQuantile(90), h.ValueAtQuantile(99)
	res.P999Ns, res.P9999Ns, res.MaxNs = h.ValueAtQuantile(99.9), h.ValueAtQuantile(99.99), h.Max()
	st := b.gw.Stats()
	res.WireWaitsCut, res.LeaderChanges, res.UnknownOutcomes = st.WireWaitsCut, st.LeaderChanges, st.UnknownOutcomes
	res.Unavailable, res.QueueFull = st.Unavailable, st.QueueFull
	sg := b.gw.Stages()
	res.FIXInP50Ns, res.FIXInP99Ns, res.FIXInMaxNs = sg.FIXIn.P50, sg.FIXIn.P99, sg.FIXIn.Max
	res.GatewayInP50Ns, res.GatewayInP99Ns, res.GatewayInMaxNs = sg.Ingress.P50, sg.Ingress.P99, sg.Ingress.Max
	res.ClusterP50Ns, res.ClusterP99Ns, res.ClusterMaxNs = sg.Cluster.P50, sg.Cluster.P99, sg.Cluster.Max
	res.GatewayOutP50Ns, res.GatewayOutP99Ns, res.GatewayOutMaxNs = sg.Egress.P50, sg.Egress.P99, sg.Egress.Max
	res.FIXOutP50Ns, res.FIXOutP99Ns, res.FIXOutMaxNs = sg.FIXOut.P50, sg.FIXOut.P99, sg.FIXOut.Max
	if b.late.TotalCount() > 0 {
		res.PacerLateP50Ns, res.PacerLateP99Ns, res.PacerLateMaxNs = b.late.ValueAtQuantile(50), b.late.ValueAtQuantile(99), b.late.Max()
	}
	return res, nil
}

func (b *bench) drained() bool {
	for _, c := range b.clients {
		if c.acked.Load()+c.refused.Load() < c.sent.Load() {
			return false
		}
	}
	return true
}

// client is one FIX session's sender and the latencies it saw.
type client struct {
	id         quickfix.SessionID
	sentAt     []int64 // when order i was sent, ns since start
	sent       atomic.Int64
	acked      atomic.Int64
	refused    atomic.Int64
	loggedOn   atomic.Bool
	window     chan struct{} // rate 0: orders in flight
	raw        *rawConn      // the raw client's connection; nil with quickfixgo's
	closedLoop bool
	start      time.Time
	mu         sync.Mutex
	hist       *hdrhistogram.Histogram
}

// pace sends orders open loop at the configured rate until the duration
// passes, round robin over the sessions, in bursts: every pacerTick it
// sends the orders the rate makes due by then (rate × pacerTick, a
// fraction carried over), however late it woke, and never waits for an
// answer. Each order's latency runs from its actual send; how late the
// pacer woke for each tick is recorded apart (Result.PacerLate*). The
// runtime's timers round a sleep below a millisecond up to one when the
// process is idle, so the pacer wakes about half a millisecond late at low
// rates: charging that to every order would measure the pacer, and a pacer
// that spun to be punctual held a whole core of the two the benchmark
// shares with the gateway. One goroutine paces all sessions.
func (b *bench) pace(ctx context.Context) {
	n := len(b.clients)
	k := 0 // orders sent so far
	for tick := pacerTick; tick <= b.cfg.Duration; tick += pacerTick {
		if wait := tick - time.Since(b.start); wait > 0 {
			time.Sleep(wait)
		}
		_ = b.late.RecordValue(max(int64(time.Since(b.start)-tick), latencyLowestNs))
		due := int(int64(b.cfg.Rate) * int64(tick) / int64(time.Second))
		for ; k < due; k++ {
			c, i := b.clients[k%n], k/n
			if ctx.Err() != nil || i >= len(c.sentAt) {
				return
			}
			if c.addOrder(i, time.Since(b.start)) != nil {
				return
			}
		}
		for _, c := range b.clients {
			if c.flush() != nil {
				return
			}
		}
	}
}

// closedLoopSend sends orders, Window in flight, until the duration passes.
func (c *client) closedLoopSend(ctx context.Context, cfg Config) {
	for i := 0; i < len(c.sentAt); i++ {
		if ctx.Err() != nil || time.Since(c.start) >= cfg.Duration {
			return
		}
		select {
		case c.window <- struct{}{}:
		case <-ctx.Done():
			return
		}
		if c.sendOrder(i, time.Since(c.start)) != nil {
			return
		}
	}
}

// sendOrder sends order i, at due after the start (now). Orders are DAY buys
// far below any seller: each gets exactly one report, ExecutionReport New,
// and rests.
func (c *client) sendOrder(i int, due time.Duration) error {
	return c.order(i, due, true)
}

// addOrder is sendOrder for the pacer: a raw client's order waits for the
// pacer's flush, which writes the tick's orders of the session at once,
// on the pacer's goroutine (quickfixgo's clients send at once).
func (c *client) addOrder(i int, due time.Duration) error {
	return c.order(i, due, false)
}

// flush writes a raw client's orders added since the last flush.
func (c *client) flush() error {
	if c.raw == nil {
		return nil
	}
	return c.raw.flush()
}

// order sends order i, at due after the start; a raw client's goes to its
// writer goroutine when kick is set, else it waits for flush.
func (c *client) order(i int, due time.Duration, kick bool) error {
	c.sentAt[i] = int64(due)
	c.sent.Add(1)
	if r := c.raw; r != nil {
		if r.closed.Load() {
			return net.ErrClosed
		}
		send := r.add
		if kick {
			send = r.queue
		}
		send("D", func(b []byte, _ int) []byte {
			b = append(b, "11="...)
			b = strconv.AppendInt(b, int64(i), 10)
			b = append(b, "\x0155=ALPHA\x0154=1\x0138=1\x0140=2\x0144=91.00\x0159=0\x0160="...)
			b = time.Now().UTC().AppendFormat(b, rawSendingTime)
			return append(b, '\x01')
		})
		return nil
	}
	m := quickfix.NewMessage()
	m.Header.SetString(35, "D")
	m.Body.SetString(11, strconv.Itoa(i))
	m.Body.SetString(55, "ALPHA")
	m.Body.SetString(54, "1")
	m.Body.SetString(38, "1")
	m.Body.SetString(40, "2")
	m.Body.SetString(44, "91.00")
	m.Body.SetString(59, "0")
	m.Body.SetField(60, quickfix.FIXUTCTimestamp{Time: time.Now().UTC()})
	return quickfix.SendToTarget(m, c.id)
}

// onReport records an ExecutionReport New.
func (c *client) onReport(m *quickfix.Message) {
	et, _ := m.Body.GetString(150)
	id, _ := m.Body.GetBytes(11)
	if len(et) == 1 {
		c.onExecutionReport(et[0], id)
	}
}

// onExecutionReport records an ExecutionReport New (rawHandler); a
// Rejected one counts the order refused.
func (c *client) onExecutionReport(execType byte, clOrdID []byte) {
	switch execType {
	case '0':
	case '8':
		c.onRefused()
		return
	default:
		return
	}
	c.done()
	id, err := strconv.Atoi(string(clOrdID))
	if err != nil || id < 0 || id >= len(c.sentAt) {
		return
	}
	lat := int64(time.Since(c.start)) - c.sentAt[id]
	c.mu.Lock()
	_ = c.hist.RecordValue(max(lat, latencyLowestNs))
	c.mu.Unlock()
	c.acked.Add(1)
}

// onRefused counts an order the gateway or the engine refused (rawHandler).
func (c *client) onRefused() {
	c.done()
	c.refused.Add(1)
}

// done frees the order's place in the closed loop's window.
func (c *client) done() {
	if c.closedLoop {
		select {
		case <-c.window:
		default:
		}
	}
}

func (c *client) onLogon()  { c.loggedOn.Store(true) }
func (c *client) onLogout() { c.loggedOn.Store(false) }

type clientApp struct{ byComp map[string]*client }

func (a *clientApp) OnCreate(quickfix.SessionID) {}
func (a *clientApp) OnLogon(id quickfix.SessionID) {
	a.byComp[id.SenderCompID].loggedOn.Store(true)
}
func (a *clientApp) OnLogout(id quickfix.SessionID) {
	a.byComp[id.SenderCompID].loggedOn.Store(false)
}
func (a *clientApp) ToAdmin(m *quickfix.Message, _ quickfix.SessionID) {
	if m.IsMsgTypeOf("A") {
		m.Body.SetString(554, "bench")
	}
}
func (a *clientApp) ToApp(*quickfix.Message, quickfix.SessionID) error { return nil }
func (a *clientApp) FromAdmin(m *quickfix.Message, id quickfix.SessionID) quickfix.MessageRejectError {
	if m.IsMsgTypeOf("3") {
		a.byComp[id.SenderCompID].onRefused()
	}
	return nil
}
func (a *clientApp) FromApp(m *quickfix.Message, id quickfix.SessionID) quickfix.MessageRejectError {
	switch {
	case m.IsMsgTypeOf("8"):
		a.byComp[id.SenderCompID].onReport(m)
	case m.IsMsgTypeOf("j"):
		a.byComp[id.SenderCompID].onRefused()
	}
	return nil
}

// logFactory makes the initiators' session logs: they log nothing and
// yield to the connection's writer after each hand-off, as the gateway's
// do (quickfixgo v0.9.10 spins otherwise; see fixgateway's handoff).
type logFactory struct{}

func (logFactory) Create() (quickfix.Log, error) { return quickfix.NewNullLogFactory().Create() }
func (logFactory) CreateSessionLog(quickfix.SessionID) (quickfix.Log, error) {
	return clientLog{}, nil
}

type clientLog struct{}

func (clientLog) OnIncoming([]byte)               {}
func (clientLog) OnEvent(string)                  {}
func (clientLog) OnEventf(string, ...interface{}) {}
func (clientLog) OnOutgoing([]byte)               { runtime.Gosched() }
