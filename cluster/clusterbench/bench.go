// Package clusterbench measures the cluster on the seeds' own workload:
// members on loopback UDP with their real log stores, an echo service, and
// one client sending bursts of fixed-size messages open-loop at a target
// rate. Latency runs from each message's intended send time to its echo
// arriving back at the client (so a stall delays the clock of every message
// queued behind it: coordinated omission corrected), in an HdrHistogram.
// `venue bench cluster` prints its Result.
package clusterbench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"venue/cluster"
	"venue/cluster/client"
	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/cluster/member"
	"venue/transport"
)

// Bounds and defaults.
const (
	latencyLowestNs  = 1_000
	latencyHighestNs = 60_000_000_000
	latencySigFigs   = 3
	// windowDefault bounds messages in flight when Rate is 0.
	windowDefault = 2048
	// drainTimeout: after the run, echoes still missing after this long
	// are counted unanswered.
	drainTimeout = 5 * time.Second
	// sizeMin holds the intended send time and a sequence number.
	sizeMin = 16
	// wakeEarly: the client's timed wait for the next burst ends this long
	// before the burst is due, and it polls for the rest. Even with a 1 ns
	// timer slack a timed wait on the 2-core VM wakes 31–34 µs late at the
	// median (up to hundreds at the tail), and coordinated omission
	// correction would charge that lateness, the client's own, to the
	// cluster. Polling costs the client at most this much CPU per burst.
	wakeEarly = 50 * time.Microsecond
)

// Config is one benchmark run.
type Config struct {
	Members  int
	Size     int           // message bytes
	Burst    int           // messages per burst
	Rate     float64       // messages per second; 0: as fast as Window allows
	Duration time.Duration // measured
	Warmup   time.Duration // sent but not measured
	Fsync    config.Fsync
	Window   int    // in-flight bound when Rate is 0
	Dir      string // data directory ("" : a temporary one, removed after)
	// Multicast is a "group:port" the leader replicates the log on, over
	// lo ("" : unicast to each follower).
	Multicast string
	// MTU is the cluster's and the client's datagram size in bytes (0: the
	// cluster's automatic choice, config.LoopbackMTU on loopback).
	MTU      int
	Progress io.Writer
}

// Result is what `venue bench cluster --json` prints.
type Result struct {
	Members    int     `json:"members"`
	Size       int     `json:"size"`
	Burst      int     `json:"burst"`
	Rate       float64 `json:"rate"`
	Fsync      string  `json:"fsync"`
	MTU        int     `json:"mtu"`
	MsgsPerSec float64 `json:"msgs_per_sec"`
	P50        int64   `json:"p50_ns"`
	P90        int64   `json:"p90_ns"`
	P99        int64   `json:"p99_ns"`
	P999       int64   `json:"p999_ns"`
	P9999      int64   `json:"p9999_ns"`
	Max        int64   `json:"max_ns"`
	Sent       int64   `json:"sent"`
	Received   int64   `json:"received"`
	// Unanswered counts messages neither echoed nor handed back by the end
	// of the drain. The leader's egress is best effort across a leader
	// change (as in Aeron): an echo the old leader had not sent when it lost
	// leadership is not sent again, though the message is in the log.
	Unanswered int64 `json:"unanswered"`
	Unknown    int64 `json:"unknown_outcome"`
	// LeaderChanges counts new-leader events the client saw after it
	// connected: a run with any measured a failover too.
	LeaderChanges int64 `json:"leader_changes"`
	// Multicast is the log multicast group ("" : off). With it on, the
	// members' peer counters summed: AppendLogs published on the group,
	// unicast copies it saved, and AppendLogs that still went by unicast.
	Multicast        string `json:"multicast,omitempty"`
	MulticastSent    uint64 `json:"multicast_sent"`
	MulticastSkipped uint64 `json:"multicast_skipped"`
	MulticastUnicast uint64 `json:"multicast_unicast"`
}

// Echo is the benchmark's service: every message goes back to its sender.
// It has no state, so its snapshots are empty.
type Echo struct{}

func (Echo) OnStart(cluster.Cluster, io.Reader) error                         { return nil }
func (Echo) OnSessionOpen(cluster.ClientSession, int64)                       {}
func (Echo) OnSessionClose(cluster.ClientSession, int64, cluster.CloseReason) {}
func (Echo) OnSessionMessage(s cluster.ClientSession, _ int64, _ cluster.Position, p []byte) {
	s.Offer(p)
}
func (Echo) OnTimerEvent(int64, int64)      {}
func (Echo) OnTakeSnapshot(io.Writer) error { return nil }
func (Echo) OnRoleChange(cluster.Role)      {}
func (Echo) OnTerminate(cluster.Cluster)    {}

// Run starts the cluster, runs the load and stops the cluster.
func Run(cfg Config) (Result, error) {
	if cfg.Members < 1 || cfg.Size < sizeMin || cfg.Size > consensus.PayloadLengthMax || cfg.Burst < 1 ||
		cfg.Rate < 0 || cfg.Duration <= 0 {
		return Result{}, fmt.Errorf("clusterbench: bad config %+v (size >= %d)", cfg, sizeMin)
	}
	if cfg.Window <= 0 {
		cfg.Window = windowDefault
	}
	dir := cfg.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "venue-bench-cluster-")
		if err != nil {
			return Result{}, fmt.Errorf("clusterbench: %w", err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	base, err := FreeBasePort(cfg.Members)
	if err != nil {
		return Result{}, err
	}
	cc := config.Loopback(cfg.Members, base, dir)
	cc.Fsync = cfg.Fsync
	cc.SessionIngressLimit = max(cc.SessionIngressLimit, cfg.Window)
	cc.MTU = cfg.MTU
	if err := cc.Validate(); err != nil {
		return Result{}, fmt.Errorf("clusterbench: %w", err)
	}
	if cfg.Multicast != "" {
		cc.LogMulticast, cc.LogMulticastInterface = cfg.Multicast, "lo"
		if err := cc.Validate(); err != nil {
			return Result{}, fmt.Errorf("clusterbench: --multicast: %w", err)
		}
	}
	nodes := make([]*member.Node, 0, cfg.Members)
	defer func() {
		for _, n := range nodes {
			n.Close()
		}
	}()
	for i := range cfg.Members {
		n, err := member.Launch(cc, consensus.MemberID(i), Echo{}, member.Options{})
		if err != nil {
			return Result{}, err
		}
		nodes = append(nodes, n)
	}
	ingress := make([]string, cfg.Members)
	for i, m := range cc.Members {
		ingress[i] = m.Ingress
	}
	res, err := runLoad(cfg, ingress, cc.TransportMTU())
	if cfg.Multicast != "" {
		res.Multicast = cfg.Multicast
		for _, n := range nodes {
			c := n.PeerCounters()
			res.MulticastSent += c.MulticastSent
			res.MulticastSkipped += c.MulticastSkipped
			res.MulticastUnicast += c.MulticastUnicast
		}
	}
	return res, err
}

// FreeBasePort finds a base port whose loopback layout (config.Loopback)
// is free for members members.
func FreeBasePort(members int) (int, error) {
	for try := range 50 {
		base := 20_000 + (os.Getpid()*7919+try*997)%30_000
		if portsFree(base, members) {
			return base, nil
		}
	}
	return 0, errors.New("clusterbench: no free loopback port range found")
}

func portsFree(base, members int) bool {
	var held []net.PacketConn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for kind := range 5 {
		for i := range members {
			c, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", base+kind*10+i))
			if err != nil {
				return false
			}
			held = append(held, c)
		}
	}
	return true
}

// load is the client side: schedule, send, receive, record.
type load struct {
	cfg      Config
	c        *client.Client
	hist     *hdrhistogram.Histogram
	startNs  int64 // measured window start (after warmup)
	endNs    int64
	sent     int64
	received int64
	measured int64 // received echoes sent in the measured window
	unknown  int64
	leaders  int64
	inflight int64
	payload  []byte
}

func (l *load) OnMessage(_, _ int64, p []byte) {
	if len(p) < sizeMin {
		return
	}
	intended := int64(binary.LittleEndian.Uint64(p))
	l.received++
	l.inflight--
	if intended >= l.startNs && intended < l.endNs {
		l.measured++
		_ = l.hist.RecordValue(min(max(transport.MonotonicNanos()-intended, latencyLowestNs), latencyHighestNs))
	}
}

func (l *load) OnNewLeader(int32, int64) { l.leaders++ }

func (l *load) OnUnknownOutcome(int64, []byte, string) {
	l.unknown++
	l.inflight--
}

func runLoad(cfg Config, ingress []string, mtu int) (Result, error) {
	d, err := transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingInvoker, MTU: mtu})
	if err != nil {
		return Result{}, fmt.Errorf("clusterbench: client transport: %w", err)
	}
	defer d.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := client.Connect(ctx, client.Config{Driver: d, InvokeDriver: true, Members: ingress,
		WindowMax: max(cfg.Window, 4*cfg.Burst, client.WindowMaxLimit/16)})
	if err != nil {
		return Result{}, fmt.Errorf("clusterbench: connect: %w", err)
	}
	defer c.Close()
	l := &load{cfg: cfg, c: c, hist: hdrhistogram.New(latencyLowestNs, latencyHighestNs, latencySigFigs),
		payload: make([]byte, cfg.Size)}
	t0 := transport.MonotonicNanos()
	l.startNs = t0 + int64(cfg.Warmup)
	l.endNs = l.startNs + int64(cfg.Duration)
	idle := transport.NewBlockingIdleStrategy(d)
	var next int64 = t0       // intended time of the next burst (Rate > 0)
	var backlog int           // messages of due bursts not yet sent
	var backlogIntended int64 // intended time of the backlog's burst
	interval := int64(0)
	if cfg.Rate > 0 {
		interval = int64(float64(cfg.Burst) / cfg.Rate * 1e9)
	}
	lastProgress := t0
	for {
		now := transport.MonotonicNanos()
		if now >= l.endNs {
			break
		}
		work := 0
		if cfg.Rate > 0 {
			for backlog == 0 && next <= now {
				backlog, backlogIntended = cfg.Burst, next
				next += interval
			}
		} else if backlog == 0 && l.inflight+int64(cfg.Burst) <= int64(cfg.Window) {
			backlog, backlogIntended = cfg.Burst, now
		}
		for backlog > 0 {
			binary.LittleEndian.PutUint64(l.payload, uint64(backlogIntended))
			binary.LittleEndian.PutUint64(l.payload[8:], uint64(l.sent))
			if _, err := c.Offer(l.payload); err != nil {
				if errors.Is(err, client.ErrClosed) || errors.Is(err, client.ErrTooLarge) {
					return Result{}, fmt.Errorf("clusterbench: offer: %w", err)
				}
				break // back pressure: retry after polling; the intended time stays
			}
			l.sent++
			l.inflight++
			backlog--
			work++
		}
		work += c.Poll(l, 256)
		if cfg.Progress != nil && now-lastProgress > int64(time.Second) {
			lastProgress = now
			fmt.Fprintf(cfg.Progress, "sent %d received %d in flight %d p99 %.1f µs\n",
				l.sent, l.received, l.inflight, float64(l.hist.ValueAtQuantile(99))/1e3)
		}
		if work == 0 && backlog == 0 {
			// Park in the poller until an echo arrives or the next burst is
			// due. Spinning instead would starve the members: while every
			// processor has a runnable goroutine, Go checks the network
			// poller only from its monitor thread, and the members' wake-ups
			// would wait for it.
			wait := time.Millisecond
			if cfg.Rate > 0 {
				wait = min(wait, time.Duration(next-transport.MonotonicNanos())-wakeEarly)
			}
			switch {
			case wait >= time.Millisecond:
				d.WaitReadable(wait)
			case wait > 0: // the poller would round it up to a millisecond
				d.WaitReadablePrecise(wait)
			default: // the burst is due within wakeEarly: poll until it is
			}
		}
	}
	// Drain: wait for the echoes still in flight.
	deadline := transport.MonotonicNanos() + int64(drainTimeout)
	for l.inflight > 0 && transport.MonotonicNanos() < deadline {
		idle.Idle(c.Poll(l, 256))
	}
	unanswered := max(l.inflight, 0)
	res := Result{Members: cfg.Members, Size: cfg.Size, Burst: cfg.Burst, Rate: cfg.Rate, Fsync: string(cfg.Fsync), MTU: mtu,
		MsgsPerSec: float64(l.measured) / cfg.Duration.Seconds(),
		P50:        l.hist.ValueAtQuantile(50), P90: l.hist.ValueAtQuantile(90), P99: l.hist.ValueAtQuantile(99),
		P999: l.hist.ValueAtQuantile(99.9), P9999: l.hist.ValueAtQuantile(99.99), Max: l.hist.Max(),
		Sent: l.sent, Received: l.received, Unanswered: unanswered, Unknown: l.unknown,
		LeaderChanges: l.leaders}
	return res, nil
}
