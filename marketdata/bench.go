package marketdata

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"venue/engine"
	"venue/transport"
)

// BenchConfig configures RunBench (`venue bench md`).
type BenchConfig struct {
	Instruments int           // default benchInstrumentsDefault
	Duration    time.Duration // per phase; default benchPhaseDefault
	Depth       int           // published depth; default DepthDefault
	MTU         int           // largest datagram; default MTUDefault
	// UDP is the channel; Port 0 picks a free port. Default: group
	// benchGroupDefault on lo, so a running venue is not disturbed.
	UDP UDPConfig
	// DeliveryChangesPerSec is the change rate of the delivery phase
	// (default benchDeliveryRateDefault).
	DeliveryChangesPerSec int
	// PacedChangesPerSec is the change rate of the latency phase (default
	// benchPacedRateDefault).
	PacedChangesPerSec int
	// Idle is the publisher agent's idle strategy: "wake" (default: the
	// publisher's own, which sleeps until the sink hands over work), "yield",
	// "backoff" or "spin".
	Idle string
}

// Bench defaults.
const (
	benchInstrumentsDefault = 1000
	benchPhaseDefault       = 2 * time.Second
	benchGroupDefault       = "239.255.10.250"
	benchPacedRateDefault   = 100_000
	// benchDeliveryRateDefault is the absorption target: the delivery phase
	// feeds changes at it and counts what reaches the subscriber.
	benchDeliveryRateDefault = 1_000_000
	// benchPriceLevels is how many price points each side of a bench book
	// uses, so most books have a full DepthDefault.
	benchPriceLevels = 16
	// benchPaceSliceNs is the paced phases' slice: the feed waits, then
	// applies the changes due in the slice.
	benchPaceSliceNs = int64(200 * time.Microsecond)
	// benchLatencyMaxNs is the largest latency the histogram records.
	benchLatencyMaxNs = int64(10 * time.Second)
	// benchWarmup is the unmeasured run before phase 1 that grows every
	// book, buffer and slice to its steady size.
	benchWarmup = 300 * time.Millisecond
	// benchQuiet is how long the feed must be silent to count as drained,
	// and benchQuiesceMax how long to wait for that.
	benchQuiet      = 20 * time.Millisecond
	benchQuiesceMax = 3 * SnapshotIntervalDefault
	// benchChangesPerCommand is the level changes per OnApplied, a typical
	// order's aggregate changes.
	benchChangesPerCommand = 2
	// benchPositionStep is how far each bench command moves the log
	// position, so that a book's position names the command it shows.
	benchPositionStep = 64
)

// BenchResult is `venue bench md --json`.
type BenchResult struct {
	Instruments     int     `json:"instruments"`
	Depth           int     `json:"depth"`
	MTU             int     `json:"mtu"`
	Idle            string  `json:"idle"`
	PhaseSeconds    float64 `json:"phase_seconds"`
	Changes         int64   `json:"changes"`
	ChangesPerSec   float64 `json:"changes_absorbed_per_sec"`
	AllocsPerChange float64 `json:"allocs_per_change"`
	// SaturatedUpdatesPerSec is the subscriber's rate during phase 1, when
	// the producer takes a whole core.
	SaturatedUpdatesPerSec float64 `json:"saturated_updates_delivered_per_sec"`
	DeliveryChangesPerSec  int     `json:"delivery_changes_per_sec"`
	UpdatesSent            int64   `json:"updates_sent"`
	UpdatesApplied         int64   `json:"updates_delivered"`
	UpdatesPerSec          float64 `json:"updates_delivered_per_sec"`
	PacketsSent            int64   `json:"packets_sent"`
	PacketsPerSec          float64 `json:"packets_sent_per_sec"`
	PacketsLost            int64   `json:"packets_lost"`
	// SendErrors and BackPressured are the publisher's counts over the run:
	// packets a failing socket dropped, and duty cycles a full one paused.
	SendErrors    int64 `json:"send_errors"`
	BackPressured int64 `json:"back_pressured"`
	// LateOrDuplicate counts packets the subscriber got out of order.
	LateOrDuplicate int64 `json:"late_or_duplicate"`
	// MalformedDropped counts packets the subscriber could not parse.
	MalformedDropped int64 `json:"malformed_dropped"`
	PacedPerSec      int   `json:"paced_changes_per_sec"`
	// LatencyCommands is how many commands the latency phase handed to the
	// sink, and LatencySamples how many of them the subscriber saw applied
	// (each command is one sample, including those a conflated update
	// folded into a later one); the rest are LatencyUndelivered.
	LatencyCommands    int64 `json:"latency_commands"`
	LatencySamples     int64 `json:"latency_samples"`
	LatencyUndelivered int64 `json:"latency_undelivered"`
	// LatencyPacketsLost counts losses during the latency phase: each one
	// delays the instruments it carried until the next snapshot.
	LatencyPacketsLost int64 `json:"latency_packets_lost"`
	P50Ns              int64 `json:"p50_ns"`
	P90Ns              int64 `json:"p90_ns"`
	P99Ns              int64 `json:"p99_ns"`
	P999Ns             int64 `json:"p999_ns"`
	MaxNs              int64 `json:"max_ns"`
	// PickupP99Ns is the p99 of a command's hand-off to the start of the
	// publisher duty cycle that sent it (the agent's wake-up and queueing),
	// and WireP99Ns that of the duty cycle's start to the subscriber
	// applying it (encoding, sendmmsg, the kernel, the subscriber's
	// wake-up): where the tail comes from.
	PickupP99Ns int64 `json:"pickup_p99_ns"`
	WireP99Ns   int64 `json:"wire_p99_ns"`
	// EncodeP99Ns and DeliverP99Ns split the wire stage where the send
	// system call begins: the duty cycle's encoding up to it, then the
	// send (which over loopback queues the datagrams at the subscriber's
	// socket and wakes it), the subscriber's wake-up, receive and apply.
	// WireSplitSamples is how many samples the split covers (those whose
	// send was still in the bench's log).
	EncodeP99Ns      int64 `json:"encode_p99_ns"`
	DeliverP99Ns     int64 `json:"deliver_p99_ns"`
	WireSplitSamples int64 `json:"wire_split_samples"`
	// WakeP99Ns and ApplyP99Ns split the deliver stage where the
	// subscriber's receive call returns: the send, the kernel, the
	// subscriber's wake-up and receive; then parsing and applying the
	// datagrams of its batch up to the update.
	WakeP99Ns  int64 `json:"wake_p99_ns"`
	ApplyP99Ns int64 `json:"apply_p99_ns"`
	// The medians of the same stages: where a typical command's time goes.
	PickupP50Ns  int64 `json:"pickup_p50_ns"`
	EncodeP50Ns  int64 `json:"encode_p50_ns"`
	DeliverP50Ns int64 `json:"deliver_p50_ns"`
	WakeP50Ns    int64 `json:"wake_p50_ns"`
	ApplyP50Ns   int64 `json:"apply_p50_ns"`
	// CPUMs is the CPU time the process used during the latency phase, and
	// RunDelayMs the time its threads were runnable but waited for a CPU
	// (Linux schedstat; -1 elsewhere): on a shared host the second explains
	// most of the tail.
	CPUMs      int64 `json:"latency_phase_cpu_ms"`
	RunDelayMs int64 `json:"latency_phase_run_delay_ms"`
	// OtherCPUMs is the CPU time the rest of the host (other processes,
	// the kernel's threads) used during the latency phase, and StealMs the
	// time the hypervisor took from this machine's CPUs (/proc, in 10 ms
	// ticks; -1 elsewhere): on a shared 2-CPU host they are what the
	// bench's threads competed with.
	OtherCPUMs int64 `json:"latency_phase_other_cpu_ms"`
	StealMs    int64 `json:"latency_phase_steal_ms"`
	// LoadAverage is the host's 1-minute load average when the run ended:
	// on a shared machine it explains most of the variance between runs.
	LoadAverage float64 `json:"load_average_1m"`
	// GSO says whether the publisher's batches still went as UDP GSO sends
	// when the run ended (UDPConfig.NoGSO turns them off; a kernel that
	// refuses them turns them off itself).
	GSO bool `json:"gso"`
}

func (c *BenchConfig) withDefaults() (BenchConfig, error) {
	d := *c
	d.Instruments = cmp0(d.Instruments, benchInstrumentsDefault)
	d.Duration = cmp0(d.Duration, benchPhaseDefault)
	d.Depth = cmp0(d.Depth, DepthDefault)
	d.MTU = cmp0(d.MTU, MTUDefault)
	d.PacedChangesPerSec = cmp0(d.PacedChangesPerSec, benchPacedRateDefault)
	d.DeliveryChangesPerSec = cmp0(d.DeliveryChangesPerSec, benchDeliveryRateDefault)
	if d.UDP.Group == "" {
		d.UDP = UDPConfig{Group: benchGroupDefault, Interface: InterfaceDefault, TTL: TTLDefault}
	}
	if d.Idle == "" {
		d.Idle = "wake"
	}
	if d.Instruments < 1 || d.Instruments > InstrumentsMax {
		return d, fmt.Errorf("marketdata: bench: instruments %d outside [1, %d]", d.Instruments, InstrumentsMax)
	}
	if d.UDP.Port == 0 {
		p, err := freeUDPPort()
		if err != nil {
			return d, err
		}
		d.UDP.Port = p
	}
	return d, nil
}

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("marketdata: bench: find a free port: %w", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

func idleStrategy(name string, p *Publisher) (transport.IdleStrategy, error) {
	switch name {
	case "wake":
		return p.IdleStrategy(), nil
	case "yield":
		return transport.YieldIdleStrategy{}, nil
	case "backoff":
		return transport.NewBackoffIdleStrategy(), nil
	case "spin":
		return transport.BusySpinIdleStrategy{}, nil
	}
	return nil, fmt.Errorf("marketdata: bench: unknown idle strategy %q (wake, yield, backoff, spin)", name)
}

// benchRig is the publisher, subscriber and their goroutines.
type benchRig struct {
	tx     *UDPConn
	rx     *benchRxConn // the subscriber's goroutine's
	sends  benchSendLog // the publisher's sends, for the latency phase's wire split
	pub    *Publisher
	sub    *Subscriber
	runner *transport.AgentRunner
	stop   chan struct{}
	done   chan error
	// lat is the latency phase's record while it runs and drains; the
	// subscriber goroutine owns its histograms until done.
	lat atomic.Pointer[benchLatency]
}

// RunBench measures the publisher and subscriber over UDP on one host, in
// three phases of Duration each:
//
//  1. absorb: one goroutine applies changes to the sink as fast as it can
//     (changes absorbed per second, and what the subscriber gets meanwhile);
//  2. deliver: changes paced at DeliveryChangesPerSec (updates delivered per
//     second, packets, losses);
//  3. latency: changes paced at PacedChangesPerSec; every command's hand-off
//     to the sink is stamped, and the subscriber records, for each command,
//     the time from that hand-off to applying the first update that
//     includes it (see benchLatency), draining the feed after the phase so
//     that the commands in flight when it ends are counted too.
//
// A warm-up precedes phase 1, and between phases the feed is drained and any
// loss healed.
func RunBench(cfg BenchConfig) (BenchResult, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return BenchResult{}, err
	}
	rig, err := startBenchRig(c)
	if err != nil {
		return BenchResult{}, err
	}
	res := BenchResult{Instruments: c.Instruments, Depth: c.Depth, MTU: c.MTU, Idle: c.Idle, PhaseSeconds: c.Duration.Seconds(),
		PacedPerSec: c.PacedChangesPerSec, DeliveryChangesPerSec: c.DeliveryChangesPerSec}
	feed := newBenchFeed(c.Instruments)
	feed.define(rig.pub)
	lat, err := rig.phases(c, feed, &res)
	if cerr := rig.close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, err
	}
	res.LatencySamples = lat.hist.TotalCount()
	res.LatencyUndelivered = res.LatencyCommands - res.LatencySamples
	res.P50Ns, res.P90Ns = lat.hist.ValueAtQuantile(50), lat.hist.ValueAtQuantile(90)
	res.P99Ns, res.P999Ns = lat.hist.ValueAtQuantile(99), lat.hist.ValueAtQuantile(99.9)
	res.MaxNs = lat.hist.Max()
	res.PickupP99Ns, res.WireP99Ns = lat.pickup.ValueAtQuantile(99), lat.wire.ValueAtQuantile(99)
	res.EncodeP99Ns, res.DeliverP99Ns = lat.encode.ValueAtQuantile(99), lat.deliver.ValueAtQuantile(99)
	res.WireSplitSamples = lat.encode.TotalCount()
	res.PickupP50Ns, res.EncodeP50Ns = lat.pickup.ValueAtQuantile(50), lat.encode.ValueAtQuantile(50)
	res.DeliverP50Ns = lat.deliver.ValueAtQuantile(50)
	res.WakeP50Ns, res.WakeP99Ns = lat.wake.ValueAtQuantile(50), lat.wake.ValueAtQuantile(99)
	res.ApplyP50Ns, res.ApplyP99Ns = lat.apply.ValueAtQuantile(50), lat.apply.ValueAtQuantile(99)
	res.LoadAverage = loadAverage()
	res.GSO = rig.tx.gso.enabled // the agent has stopped: no race
	res.SendErrors, res.BackPressured = rig.pub.Stats().SendErrors, rig.pub.Stats().BackPressured
	res.LateOrDuplicate = rig.sub.Stats().LateOrDuplicate
	res.MalformedDropped = rig.sub.Stats().MalformedDropped
	return res, nil
}

// phases runs the warm-up and the three phases, each after the feed has
// drained.
func (r *benchRig) phases(c BenchConfig, feed *benchFeed, res *BenchResult) (*benchLatency, error) {
	// Grow books and buffers to steady size.
	if err := r.paced(feed, c.DeliveryChangesPerSec, benchWarmup, nil); err != nil {
		return nil, err
	}
	r.quiesce()
	r.absorb(c, feed, res)
	r.quiesce()
	if err := r.deliver(c, feed, res); err != nil {
		return nil, err
	}
	r.quiesce()
	return r.latency(c, feed, res)
}

// loadAverage reads the 1-minute load average (0 where /proc is missing).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	var l float64
	fmt.Sscan(string(b), &l)
	return l
}

func startBenchRig(c BenchConfig) (*benchRig, error) {
	rx, err := ListenUDP(c.UDP)
	if err != nil {
		return nil, err
	}
	tx, err := DialUDP(c.UDP)
	if err != nil {
		rx.Close()
		return nil, err
	}
	r := &benchRig{tx: tx, stop: make(chan struct{}), done: make(chan error, 1)}
	r.pub, err = NewPublisher(PublisherConfig{Conn: benchConn{UDPConn: tx, log: &r.sends}, Depth: c.Depth, MTU: c.MTU, InstrumentsMax: c.Instruments})
	if err == nil {
		r.sub, err = NewSubscriber(SubscriberConfig{OnUpdate: r.onUpdate, InstrumentsMax: c.Instruments})
	}
	if err != nil {
		rx.Close()
		tx.Close()
		return nil, err
	}
	idle, err := idleStrategy(c.Idle, r.pub)
	if err != nil {
		rx.Close()
		tx.Close()
		return nil, err
	}
	r.rx = &benchRxConn{UDPConn: rx}
	go func() { r.done <- r.sub.Run(r.rx, r.stop); rx.Close() }()
	r.pub.SetLeader(true, 1)
	r.runner = transport.NewAgentRunner(r.pub, idle, nil)
	r.runner.Start()
	return r, nil
}

func (r *benchRig) onUpdate(b *Book) {
	if l := r.lat.Load(); l != nil {
		l.applied(b, r.rx.receivedNs, transport.MonotonicNanos())
	}
}

// latency runs phase 3: changes at the paced rate, each command's hand-off
// stamped, then the feed drained so that every command still in flight when
// the phase ends is counted too (or reported undelivered).
func (r *benchRig) latency(c BenchConfig, feed *benchFeed, res *BenchResult) (*benchLatency, error) {
	lat, err := newBenchLatency(feed, int(int64(c.PacedChangesPerSec)*int64(c.Duration)/int64(time.Second))/benchChangesPerCommand+1)
	if err != nil {
		return nil, err
	}
	lat.sends = &r.sends
	// The record just allocated (megabytes) would start a GC cycle inside
	// the phase, whose mark worker takes one of the two Ps for milliseconds;
	// run it now: the publisher and subscriber allocate nothing per change.
	runtime.GC()
	lost0 := r.sub.Stats().PacketsLost
	cpu0, wait0, ok := schedStats()
	other0, steal0, otherOK := otherCPUStats()
	r.lat.Store(lat)
	if err := r.paced(feed, c.PacedChangesPerSec, c.Duration, lat); err != nil {
		r.lat.Store(nil)
		return nil, err
	}
	cpu1, wait1, ok1 := schedStats()
	other1, steal1, otherOK1 := otherCPUStats()
	res.CPUMs, res.RunDelayMs = (cpu1-cpu0)/int64(time.Millisecond), (wait1-wait0)/int64(time.Millisecond)
	if !ok || !ok1 {
		res.CPUMs, res.RunDelayMs = -1, -1
	}
	res.OtherCPUMs, res.StealMs = -1, -1
	if otherOK && otherOK1 {
		// max: a process that exits during the phase takes its time away.
		res.OtherCPUMs = max(0, other1-other0) / int64(time.Millisecond)
		res.StealMs = (steal1 - steal0) / int64(time.Millisecond)
	}
	r.quiesce()
	r.lat.Store(nil)
	res.LatencyCommands = lat.issued.Load()
	res.LatencyPacketsLost = r.sub.Stats().PacketsLost - lost0
	return lat, nil
}

func (r *benchRig) close() error {
	close(r.stop)
	err := <-r.done
	if cerr := r.runner.Close(); err == nil {
		err = cerr
	}
	return err
}

// absorb runs phase 1: the sink as fast as the caller can go.
func (r *benchRig) absorb(c BenchConfig, feed *benchFeed, res *BenchResult) {
	applied0 := r.sub.Stats().UpdatesApplied
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	start := time.Now()
	deadline := start.Add(c.Duration)
	changes := int64(0)
	for time.Now().Before(deadline) {
		for range 1024 {
			feed.command(r.pub, transport.MonotonicNanos())
		}
		changes += 1024 * benchChangesPerCommand
	}
	elapsed := time.Since(start).Seconds()
	runtime.ReadMemStats(&ms1)
	res.Changes = changes
	res.ChangesPerSec = float64(changes) / elapsed
	res.AllocsPerChange = float64(ms1.Mallocs-ms0.Mallocs) / float64(changes)
	res.SaturatedUpdatesPerSec = float64(r.sub.Stats().UpdatesApplied-applied0) / elapsed
}

// deliver runs phase 2: changes at the delivery rate, updates counted.
func (r *benchRig) deliver(c BenchConfig, feed *benchFeed, res *BenchResult) error {
	sent0, applied0, pkts0 := r.pub.c.updates.Get(), r.sub.Stats().UpdatesApplied, r.pub.c.packets.Get()
	lost0 := r.sub.Stats().PacketsLost
	start := time.Now()
	if err := r.paced(feed, c.DeliveryChangesPerSec, c.Duration, nil); err != nil {
		return err
	}
	elapsed := time.Since(start).Seconds()
	res.UpdatesSent = r.pub.c.updates.Get() - sent0
	res.UpdatesApplied = r.sub.Stats().UpdatesApplied - applied0
	res.UpdatesPerSec = float64(res.UpdatesApplied) / elapsed
	res.PacketsSent = r.pub.c.packets.Get() - pkts0
	res.PacketsPerSec = float64(res.PacketsSent) / elapsed
	res.PacketsLost = r.sub.Stats().PacketsLost - lost0
	return nil
}

// quiesce waits until the publisher has nothing pending, the subscriber has
// stopped receiving and has healed phase 1's losses from a snapshot, so that
// neither phase 1's backlog nor its repairs are timed in phase 2.
func (r *benchRig) quiesce() {
	deadline := time.Now().Add(benchQuiesceMax)
	last, quietSince := int64(-1), time.Now()
	for time.Now().Before(deadline) {
		got := r.sub.Stats().PacketsReceived
		if got != last || r.pub.Pending() > 0 || r.sub.Recovering() {
			last, quietSince = got, time.Now()
		} else if time.Since(quietSince) >= benchQuiet {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// paced applies changes at rate per second for d: it waits for the end of
// the next slice of benchPaceSliceNs, then applies the changes due by then,
// so a late wake-up is made up at once. With lat, each command's hand-off is
// stamped first; a command is stamped when it is handed over, not when it
// was due, because what is measured is the publisher's latency, not the
// pacing's.
//
// The wait is a benchPacer's, not time.Sleep: a sleep under a millisecond
// ends when a Go processor next looks at its timers, and with nothing else
// runnable the runtime waits for the network poller with a timeout rounded up
// to a whole millisecond; the slices then ran 1-1.1 ms apart (seen in an
// execution trace) unless some other goroutine kept a processor busy (the
// publisher's yields did), so the offered load depended on the publisher's
// idle strategy.
func (r *benchRig) paced(feed *benchFeed, rate int, d time.Duration, lat *benchLatency) error {
	pacer, err := newBenchPacer()
	if err != nil {
		return err
	}
	defer pacer.close()
	start := transport.MonotonicNanos()
	done := int64(0)
	for slice := int64(1); ; slice++ {
		elapsed := transport.MonotonicNanos() - start
		if elapsed >= int64(d) {
			return nil
		}
		due := int64(rate) * elapsed / int64(time.Second) / benchChangesPerCommand
		for ; done < due; done++ {
			now := transport.MonotonicNanos()
			if lat != nil && !lat.stamp(now) {
				return nil
			}
			feed.command(r.pub, now)
		}
		next := start + slice*benchPaceSliceNs
		if now := transport.MonotonicNanos(); next <= now {
			slice = (now - start) / benchPaceSliceNs // late: skip the slices missed
			continue
		}
		if err := pacer.waitUntil(next); err != nil {
			return err
		}
	}
}

// benchFeed produces engine-like commands from precomputed random choices.
type benchFeed struct {
	instruments int
	choices     []uint64
	i           int
	pos         int64
}

const benchChoices = 1 << 16

func newBenchFeed(instruments int) *benchFeed {
	rng := rand.New(rand.NewPCG(1, 2))
	f := &benchFeed{instruments: instruments, choices: make([]uint64, benchChoices)}
	for i := range f.choices {
		f.choices[i] = rng.Uint64()
	}
	return f
}

func (f *benchFeed) define(s engine.MarketDataSink) {
	for id := range f.instruments {
		f.pos += 32
		var sym [SymbolLength]byte
		copy(sym[:], fmt.Sprintf("BENCH%04d", id))
		s.OnInstrument(engine.InstrumentInfo{ID: uint32(id), Symbol: sym, PriceDecimals: 2, State: engine.TradingStateOpen}, f.pos, 0)
		s.OnApplied(f.pos, 0)
	}
}

// instrumentAt returns the instrument the i-th command changes.
func (f *benchFeed) instrumentAt(i int) uint32 {
	return uint32(f.choices[i&(benchChoices-1)] % uint64(f.instruments))
}

// command applies one command's changes and its OnApplied, stamped with nowNs
// as cluster time.
func (f *benchFeed) command(s engine.MarketDataSink, nowNs int64) {
	f.pos += benchPositionStep
	x := f.choices[f.i&(benchChoices-1)]
	id := f.instrumentAt(f.i)
	f.i++
	x /= uint64(f.instruments)
	for range benchChangesPerCommand {
		side, price := engine.SideBuy, int64(10_000-1-int(x%benchPriceLevels))
		if x&0x10 != 0 {
			side, price = engine.SideSell, 10_000+1+int64(x%benchPriceLevels)
		}
		qty := int64(x>>5) % 64 // 0 removes the level
		s.OnLevel(id, side, price, qty*10, int32(qty%7)+1, f.pos, nowNs)
		x >>= 11
	}
	s.OnApplied(f.pos, nowNs)
}
