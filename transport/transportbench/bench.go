package transportbench

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand"
	"net"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"venue/transport"
)

// Benchmark bounds and defaults.
const (
	// SizeMin is the smallest message: it carries an 8-byte timestamp and
	// an 8-byte sequence number.
	SizeMin = 16
	// histogramMaxNs bounds recorded latencies (values above are clamped).
	histogramMaxNs = int64(10 * time.Second)
	// fragmentLimit is the poll batch of the stream receiver.
	fragmentLimit = 1024
	// runTimeoutNs aborts a benchmark that stops making progress.
	runTimeoutNs = int64(60 * time.Second)
	// streamWindowBytes is the publication and receiver window for streams.
	streamWindowBytes = 2 << 20
	// streamTermLength is the term length used by the benchmark streams.
	streamTermLength = 16 << 20
	// streamSampleEvery: a stream times one message in this many (reading
	// the clock for every message would cost more than sending it).
	streamSampleEvery = 8
	// streamDutyEvery: the stream publisher runs its sender after this many
	// offers, so that one sendmmsg carries many datagrams.
	streamDutyEvery = 256
	// pingStreamID and pongStreamID name the two directions.
	pingStreamID = 1001
	pongStreamID = 1002
)

// Config selects a benchmark.
type Config struct {
	Media  string // ipc, udp, mcast
	Mode   string // pingpong, stream
	Size   int    // message bytes, >= SizeMin
	Count  int    // measured messages
	Warmup int    // unmeasured messages first (default Count/10, at most 10000)
	Idle   string // spin, yield, backoff, block ("" = block)
}

// Result is what "venue bench transport --json" prints. Latencies are round
// trips for ping-pong and one-way (offer to poll, one message in
// streamSampleEvery) for streams.
type Result struct {
	Media      string  `json:"media"`
	Mode       string  `json:"mode"`
	Size       int     `json:"size"`
	Count      int     `json:"count"`
	Idle       string  `json:"idle"`
	MsgsPerSec float64 `json:"msgs_per_sec"`
	MBPerSec   float64 `json:"mb_per_sec"`
	P50Ns      int64   `json:"p50_ns"`
	P90Ns      int64   `json:"p90_ns"`
	P99Ns      int64   `json:"p99_ns"`
	P999Ns     int64   `json:"p999_ns"`
	MaxNs      int64   `json:"max_ns"`
	ElapsedNs  int64   `json:"elapsed_ns"`
}

// ErrConfig reports an invalid benchmark configuration.
var ErrConfig = errors.New("transportbench: bad config")

func (c *Config) validate() error {
	switch {
	case c.Media != "ipc" && c.Media != "udp" && c.Media != "mcast":
		return fmt.Errorf("%w: media %q (want ipc, udp or mcast)", ErrConfig, c.Media)
	case c.Mode != "pingpong" && c.Mode != "stream":
		return fmt.Errorf("%w: mode %q (want pingpong or stream)", ErrConfig, c.Mode)
	case c.Size < SizeMin || c.Size > transport.MessageLengthMax:
		return fmt.Errorf("%w: size %d (want %d..%d)", ErrConfig, c.Size, SizeMin, transport.MessageLengthMax)
	case c.Count <= 0:
		return fmt.Errorf("%w: count %d", ErrConfig, c.Count)
	}
	if c.Idle == "" {
		c.Idle = "block"
	}
	if _, err := newIdle(c.Idle, nil); err != nil {
		return err
	}
	if c.Warmup <= 0 {
		c.Warmup = min(c.Count/10, 10000)
	}
	return nil
}

func newIdle(name string, d *transport.Driver) (transport.IdleStrategy, error) {
	switch name {
	case "spin":
		return transport.BusySpinIdleStrategy{}, nil
	case "yield":
		return transport.YieldIdleStrategy{}, nil
	case "backoff":
		return transport.NewBackoffIdleStrategy(), nil
	case "block":
		if d == nil {
			return transport.NewBlockingIdleStrategy(nil), nil
		}
		return transport.NewBlockingIdleStrategy(d), nil
	}
	return nil, fmt.Errorf("%w: idle %q (want spin, yield, backoff or block)", ErrConfig, name)
}

// side is one end of a benchmark: a driver (nil agents for IPC) with one
// publication and one subscription, run by one goroutine.
type side struct {
	d    *transport.Driver
	pub  *transport.Publication
	sub  *transport.Subscription
	idle transport.IdleStrategy
}

// duty runs the side's driver agents once.
func (s *side) duty() int {
	if s.d == nil {
		return 0
	}
	return s.d.DoWork(transport.MonotonicNanos())
}

// Run runs one benchmark and returns its result.
func Run(cfg Config) (Result, error) {
	if err := cfg.validate(); err != nil {
		return Result{}, err
	}
	ping, pong, cleanup, err := setup(cfg)
	if err != nil {
		return Result{}, err
	}
	defer cleanup()
	if err := connect(ping, pong); err != nil {
		return Result{}, err
	}
	hist := newHist()
	var elapsed int64
	if cfg.Mode == "pingpong" {
		elapsed, err = runPingPong(cfg, ping, pong, hist)
	} else {
		elapsed, err = runStream(cfg, ping, pong, hist)
	}
	if err != nil {
		return Result{}, err
	}
	secs := float64(elapsed) / 1e9
	return Result{
		Media: cfg.Media, Mode: cfg.Mode, Size: cfg.Size, Count: cfg.Count, Idle: cfg.Idle,
		MsgsPerSec: float64(cfg.Count) / secs,
		MBPerSec:   float64(cfg.Count) * float64(cfg.Size) / secs / 1e6,
		P50Ns:      hist.ValueAtQuantile(50), P90Ns: hist.ValueAtQuantile(90),
		P99Ns: hist.ValueAtQuantile(99), P999Ns: hist.ValueAtQuantile(99.9), MaxNs: hist.Max(),
		ElapsedNs: elapsed,
	}, nil
}

// setup builds the two sides: ping publishes on pingStreamID and subscribes
// to pongStreamID; pong the other way round.
func setup(cfg Config) (ping, pong *side, cleanup func(), err error) {
	var closers []func()
	cleanup = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	newDriver := func(seed int64) (*transport.Driver, error) {
		d, err := transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingInvoker, Seed: seed,
			TermLength: streamTermLength, PublicationWindow: streamWindowBytes, ReceiverWindow: streamWindowBytes})
		if err == nil {
			closers = append(closers, func() { d.Close() })
		}
		return d, err
	}
	chPing, chPong, err := channels(cfg.Media)
	if err != nil {
		return nil, nil, cleanup, err
	}
	ping, pong = &side{}, &side{}
	if ping.d, err = newDriver(1); err != nil {
		return nil, nil, cleanup, err
	}
	pong.d = ping.d
	if cfg.Media != "ipc" {
		if pong.d, err = newDriver(2); err != nil {
			return nil, nil, cleanup, err
		}
	}
	if pong.sub, err = pong.d.AddSubscription(chPing, pingStreamID, transport.SubscriptionOptions{}); err != nil {
		return nil, nil, cleanup, err
	}
	if ping.sub, err = ping.d.AddSubscription(chPong, pongStreamID, transport.SubscriptionOptions{}); err != nil {
		return nil, nil, cleanup, err
	}
	if ping.pub, err = ping.d.AddPublication(chPing, pingStreamID); err != nil {
		return nil, nil, cleanup, err
	}
	if pong.pub, err = pong.d.AddPublication(chPong, pongStreamID); err != nil {
		return nil, nil, cleanup, err
	}
	if cfg.Media == "ipc" {
		ping.d, pong.d = nil, nil // IPC needs no agents
	}
	ping.idle, _ = newIdle(cfg.Idle, ping.d)
	pong.idle, _ = newIdle(cfg.Idle, pong.d)
	return ping, pong, cleanup, nil
}

// channels picks the two channels for media on free loopback ports.
func channels(media string) (string, string, error) {
	switch media {
	case "ipc":
		return "ipc", "ipc", nil
	case "udp":
		p1, p2, err := freePorts()
		return fmt.Sprintf("udp?endpoint=127.0.0.1:%d", p1), fmt.Sprintf("udp?endpoint=127.0.0.1:%d", p2), err
	default:
		p1, p2, err := freePorts()
		g := 1 + rand.Intn(200)
		return fmt.Sprintf("udp?endpoint=239.255.91.%d:%d|interface=lo|ttl=0", g, p1),
			fmt.Sprintf("udp?endpoint=239.255.92.%d:%d|interface=lo|ttl=0", g, p2), err
	}
}

func freePorts() (int, int, error) {
	var ports [2]int
	for i := range ports {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return 0, 0, fmt.Errorf("transportbench: free port: %w", err)
		}
		defer c.Close()
		ports[i] = c.LocalAddr().(*net.UDPAddr).Port
	}
	return ports[0], ports[1], nil
}

// connect drives both sides until each publication is connected and each
// subscription has its image.
func connect(ping, pong *side) error {
	deadline := transport.MonotonicNanos() + int64(10*time.Second)
	for !(ping.pub.IsConnected() && pong.pub.IsConnected() && ping.sub.ImageCount() > 0 && pong.sub.ImageCount() > 0) {
		ping.duty()
		pong.duty()
		if transport.MonotonicNanos() > deadline {
			return errors.New("transportbench: sides did not connect within 10s")
		}
		time.Sleep(50 * time.Microsecond)
	}
	return nil
}

// offer offers msg until accepted, running the side's agents meanwhile.
func (s *side) offer(msg []byte, deadlineNs int64) error {
	for {
		_, r := s.pub.Offer(msg)
		switch r {
		case transport.OfferOK:
			return nil
		case transport.BackPressured, transport.AdminAction, transport.NotConnected:
			s.idle.Idle(s.duty())
			if transport.MonotonicNanos() > deadlineNs {
				return fmt.Errorf("transportbench: offer stuck (%v)", r)
			}
		default:
			return fmt.Errorf("transportbench: offer: %v", r)
		}
	}
}

func runPingPong(cfg Config, ping, pong *side, hist *hdrhistogram.Histogram) (int64, error) {
	var stop atomic.Bool
	pongErr := make(chan error, 1)
	go func() { pongErr <- pong.echo(&stop) }()
	defer func() { stop.Store(true); <-pongErr }()

	msg := make([]byte, cfg.Size)
	received := false
	handler := transport.FragmentHandler(func([]byte, *transport.Header) { received = true })
	asm := transport.NewFragmentAssembler(handler).Handler()
	deadline := transport.MonotonicNanos() + runTimeoutNs
	var start int64
	for i := 0; i < cfg.Warmup+cfg.Count; i++ {
		if i == cfg.Warmup {
			start = transport.MonotonicNanos()
		}
		t0 := transport.MonotonicNanos()
		binary.LittleEndian.PutUint64(msg, uint64(t0))
		if err := ping.offer(msg, deadline); err != nil {
			return 0, err
		}
		received = false
		for !received {
			work := ping.duty()
			work += ping.sub.Poll(asm, 1)
			if !received {
				ping.idle.Idle(work)
			}
			if transport.MonotonicNanos() > deadline {
				return 0, fmt.Errorf("transportbench: no pong for message %d", i)
			}
		}
		if i >= cfg.Warmup {
			hist.RecordValue(min(transport.MonotonicNanos()-t0, histogramMaxNs))
		}
		ping.idle.Reset()
	}
	return transport.MonotonicNanos() - start, nil
}

// echo returns every message it receives until stop.
func (s *side) echo(stop *atomic.Bool) error {
	var err error
	deadline := transport.MonotonicNanos() + runTimeoutNs
	handler := transport.FragmentHandler(func(b []byte, _ *transport.Header) {
		if err == nil {
			err = s.offer(b, deadline)
		}
	})
	asm := transport.NewFragmentAssembler(handler).Handler()
	for !stop.Load() && err == nil {
		work := s.duty()
		if n := s.sub.Poll(asm, 16); n > 0 {
			work += n + s.duty() // send the echo now
		}
		s.idle.Idle(work)
	}
	return err
}

func runStream(cfg Config, pub, sub *side, hist *hdrhistogram.Histogram) (int64, error) {
	total := cfg.Warmup + cfg.Count
	var startNs, endNs atomic.Int64
	subErr := make(chan error, 1)
	go func() { subErr <- sub.consume(total, cfg.Warmup, hist, &startNs, &endNs) }()
	msg := make([]byte, cfg.Size)
	deadline := transport.MonotonicNanos() + runTimeoutNs
	for i := 0; i < total; i++ {
		if i%streamSampleEvery == 0 || i == cfg.Warmup {
			binary.LittleEndian.PutUint64(msg, uint64(transport.MonotonicNanos()))
		}
		binary.LittleEndian.PutUint64(msg[8:], uint64(i))
		if err := pub.offer(msg, deadline); err != nil {
			return 0, err
		}
		if i%streamDutyEvery == streamDutyEvery-1 {
			pub.duty() // send a batch; read status messages
		}
	}
	for {
		select {
		case err := <-subErr:
			if err != nil {
				return 0, err
			}
			return endNs.Load() - startNs.Load(), nil
		default:
		}
		pub.idle.Idle(pub.duty())
		if transport.MonotonicNanos() > deadline {
			return 0, errors.New("transportbench: stream did not complete")
		}
	}
}

// consume polls until total messages arrived, checking their order and
// timing the measured part.
func (s *side) consume(total, warmup int, hist *hdrhistogram.Histogram, startNs, endNs *atomic.Int64) error {
	next := 0
	var err error
	handler := transport.FragmentHandler(func(b []byte, _ *transport.Header) {
		if seq := int(binary.LittleEndian.Uint64(b[8:])); seq != next && err == nil {
			err = fmt.Errorf("transportbench: got message %d, want %d", seq, next)
		}
		if next == warmup {
			startNs.Store(int64(binary.LittleEndian.Uint64(b)))
		}
		if next >= warmup && next%streamSampleEvery == 0 {
			hist.RecordValue(min(transport.MonotonicNanos()-int64(binary.LittleEndian.Uint64(b)), histogramMaxNs))
		}
		next++
		if next == total {
			endNs.Store(transport.MonotonicNanos())
		}
	})
	asm := transport.NewFragmentAssembler(handler).Handler()
	deadline := transport.MonotonicNanos() + runTimeoutNs
	for next < total && err == nil {
		work := s.duty()
		work += s.sub.Poll(asm, fragmentLimit)
		s.idle.Idle(work)
		if transport.MonotonicNanos() > deadline {
			return fmt.Errorf("transportbench: received %d of %d", next, total)
		}
	}
	return err
}

func newHist() *hdrhistogram.Histogram { return hdrhistogram.New(1, histogramMaxNs, 3) }
