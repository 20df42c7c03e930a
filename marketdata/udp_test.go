package marketdata

import (
	"bytes"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"venue/transport"
)

// freePort returns a UDP port nobody on the host is bound to right now.
func freePort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Skipf("no UDP on this host: %v", err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// loopbackChannel returns a multicast channel on lo, skipping the test when
// the platform refuses multicast there.
func loopbackChannel(t *testing.T, group string) UDPConfig {
	cfg := UDPConfig{Group: group, Port: freePort(t), Interface: InterfaceDefault, TTL: 1}
	probe, err := ListenUDP(cfg)
	if err != nil {
		t.Skipf("multicast on loopback refused: %v", err)
	}
	probe.Close()
	return cfg
}

// udpPair dials a sender and joins a receiver on cfg's channel, both
// closed when the test ends.
func udpPair(t *testing.T, cfg UDPConfig) (tx, rx *UDPConn) {
	t.Helper()
	tx, err := DialUDP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tx.Close() })
	if rx, err = ListenUDP(cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rx.Close() })
	return tx, rx
}

// udpRun is a publisher agent and subscribers on real sockets.
type udpRun struct {
	t       *testing.T
	runners []*transport.AgentRunner
	stop    chan struct{}
	wg      sync.WaitGroup
}

func (r *udpRun) startPublisher(p *Publisher) {
	ar := transport.NewAgentRunner(p, transport.NewBackoffIdleStrategy(), nil)
	ar.Start()
	r.runners = append(r.runners, ar)
}

func (r *udpRun) startSubscriber(cfg UDPConfig, sub *Subscriber) {
	conn, err := ListenUDP(cfg)
	if err != nil {
		r.t.Fatal(err)
	}
	r.wg.Go(func() {
		defer conn.Close()
		if err := sub.Run(conn, r.stop); err != nil {
			r.t.Error(err)
		}
	})
}

func (r *udpRun) close() {
	close(r.stop)
	r.wg.Wait()
	for _, ar := range r.runners {
		if err := ar.Close(); err != nil {
			r.t.Error(err)
		}
	}
}

// waitConverged polls (with a deadline, no sleeps on the happy path) until
// every subscriber shows the reference's final state for every instrument.
func waitConverged(t *testing.T, ref *refSink, subs ...*Subscriber) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		diff := ""
		for i, sub := range subs {
			for id, want := range ref.final {
				if got, ok := sub.Book(id); !ok || !got.View.Equal(&want) {
					diff = fmt.Sprintf("subscriber %d instrument %d: got %s want %s", i, id, describe(&got.View), describe(&want))
					break
				}
			}
		}
		if diff == "" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not converged: %s", diff)
		}
		time.Sleep(time.Millisecond) // polling interval, not a wait for an event
	}
}

// precompute runs a generated stream through the reference first, so that
// subscriber goroutines only read it.
func precompute(seed uint64, instruments, commands, depth int) (*refSink, [][]call) {
	ref := newRefSink(depth)
	gen := newGenerator(seed, instruments)
	cmds := make([][]call, commands)
	for i := range cmds {
		cmds[i] = gen.next()
		fanout{ref}.run(cmds[i])
	}
	return ref, cmds
}

// TestMulticastLoopbackEndToEnd: over real multicast on lo, two subscribers
// bound to the same group and port (SO_REUSEADDR) rebuild books equal to the
// reference at every position, while a third socket joined to the group never
// reads (a slow subscriber) and slows nothing.
func TestMulticastLoopbackEndToEnd(t *testing.T) {
	cfg := loopbackChannel(t, "239.255.10.201")
	ref, cmds := precompute(11, 50, 20_000, DepthDefault)
	conn, err := DialUDP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pub := mustPublisher(t, PublisherConfig{Conn: conn, SnapshotInterval: 50 * time.Millisecond})
	slow, err := ListenUDP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	run := &udpRun{t: t, stop: make(chan struct{})}
	var mu sync.Mutex // checkers run on two subscriber goroutines
	var subs []*Subscriber
	for range 2 {
		chk := newChecker(t, ref)
		subs = append(subs, mustSubscriber(t, SubscriberConfig{OnUpdate: func(b *Book) {
			mu.Lock()
			chk.onUpdate(b)
			mu.Unlock()
		}}))
		run.startSubscriber(cfg, subs[len(subs)-1])
	}
	pub.SetLeader(true, 1)
	run.startPublisher(pub)
	for _, cmd := range cmds {
		fanout{pub}.run(cmd)
	}
	waitConverged(t, ref, subs...)
	run.close()
	t.Logf("subscriber: %+v; publisher: %d packets, %d send errors", subs[0].Stats(), pub.c.packets.Get(), pub.c.sendErrors.Get())
}

// TestMulticastFailover: two publishers on separate sockets absorb the same
// stream; the leader stops mid-stream and the other takes over with a new
// session. Every instrument stays monotonic and the books converge.
func TestMulticastFailover(t *testing.T) {
	cfg := loopbackChannel(t, "239.255.10.202")
	mid, first := precompute(12, 20, 5_000, DepthDefault)
	ref, cmds := precompute(12, 20, 10_000, DepthDefault)
	var pubs [2]*Publisher
	for i := range pubs {
		conn, err := DialUDP(cfg)
		if err != nil {
			t.Fatal(err)
		}
		pubs[i] = mustPublisher(t, PublisherConfig{Conn: conn, SnapshotInterval: 20 * time.Millisecond})
	}
	chk := newChecker(t, ref)
	sub := mustSubscriber(t, SubscriberConfig{OnUpdate: chk.onUpdate})
	run := &udpRun{t: t, stop: make(chan struct{})}
	run.startSubscriber(cfg, sub)
	pubs[0].SetLeader(true, 1)
	for _, p := range pubs {
		run.startPublisher(p)
	}
	for _, cmd := range cmds[:len(first)] {
		fanout{pubs[0], pubs[1]}.run(cmd)
	}
	waitConverged(t, mid, sub) // the subscriber follows session 1...
	pubs[0].SetLeader(false, 0)
	pubs[1].SetLeader(true, 2) // ...when it fails over to session 2
	for _, cmd := range cmds[len(first):] {
		fanout{pubs[0], pubs[1]}.run(cmd)
	}
	waitConverged(t, ref, sub)
	run.close()
	if st := sub.Stats(); st.SessionChanges != 1 {
		t.Fatalf("session changes %d: %+v", st.SessionChanges, st)
	}
}

// TestUnicastEndToEnd: the same feed without multicast.
func TestUnicastEndToEnd(t *testing.T) {
	cfg := UDPConfig{Group: "127.0.0.1", Port: freePort(t)}
	ref, cmds := precompute(13, 10, 2000, DepthDefault)
	conn, err := DialUDP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pub := mustPublisher(t, PublisherConfig{Conn: conn, SnapshotInterval: 20 * time.Millisecond})
	sub := mustSubscriber(t, SubscriberConfig{OnUpdate: newChecker(t, ref).onUpdate})
	run := &udpRun{t: t, stop: make(chan struct{})}
	run.startSubscriber(cfg, sub)
	pub.SetLeader(true, 1)
	run.startPublisher(pub)
	for _, cmd := range cmds {
		fanout{pub}.run(cmd)
	}
	waitConverged(t, ref, sub)
	run.close()
}

// TestUDPConfigErrors: bad addresses are reported, naming what failed.
func TestUDPConfigErrors(t *testing.T) {
	for _, cfg := range []UDPConfig{
		{Group: "not-an-ip", Port: 1},
		{Group: "239.255.10.1", Port: 0},
		{Group: "239.255.10.1", Port: 1, Interface: "no-such-interface0"},
	} {
		if _, err := ListenUDP(cfg); err == nil {
			t.Errorf("ListenUDP(%+v) succeeded", cfg)
		}
		if _, err := DialUDP(cfg); err == nil {
			t.Errorf("DialUDP(%+v) succeeded", cfg)
		}
	}
}

// lossyConn drops every period-th of the first lossyUntil datagrams before
// they reach the socket, then none: an episode of loss that must heal.
type lossyConn struct {
	Conn
	period, until, n int
}

func (c *lossyConn) Send(p []byte) error {
	c.n++
	if c.n <= c.until && c.n%c.period == 0 {
		return nil
	}
	return c.Conn.Send(p)
}

// TestMulticastLossAndGarbageHealed: over real multicast, a publisher that
// loses every 7th of its first 500 packets, and a stranger sending garbage
// to the group: the subscriber detects the gaps, counts every malformed
// datagram, never shows a state that differs from the reference, and heals
// from a snapshot once the loss stops. (A snapshot heals only if none of its
// packets is lost, so under loss this steady the subscriber stays
// recovering — correctly, since any lost packet may have carried any
// instrument.)
func TestMulticastLossAndGarbageHealed(t *testing.T) {
	cfg := loopbackChannel(t, "239.255.10.206")
	ref, cmds := precompute(14, 30, 5_000, DepthDefault)
	conn, err := DialUDP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pub := mustPublisher(t, PublisherConfig{Conn: &lossyConn{Conn: conn, period: 7, until: 500}, SnapshotInterval: 20 * time.Millisecond})
	sub := mustSubscriber(t, SubscriberConfig{OnUpdate: newChecker(t, ref).onUpdate})
	run := &udpRun{t: t, stop: make(chan struct{})}
	run.startSubscriber(cfg, sub)
	stranger, err := DialUDP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer stranger.Close()
	pub.SetLeader(true, 1)
	run.startPublisher(pub)
	garbage := malformedVariants(samplePackets()[0])
	for i, cmd := range cmds {
		fanout{pub}.run(cmd)
		if i%500 == 0 {
			for _, g := range garbage[1:] { // [0] is empty: nothing to send
				if err := stranger.Send(g); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	waitConverged(t, ref, sub)
	deadline := time.Now().Add(10 * time.Second)
	for sub.Recovering() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	run.close()
	st := sub.Stats()
	if st.GapsDetected == 0 || st.Recoveries == 0 || sub.Recovering() {
		t.Fatalf("loss not detected or not healed: %+v", st)
	}
	if want := int64(10 * (len(garbage) - 1)); st.MalformedDropped != want {
		t.Fatalf("malformed dropped %d, want %d", st.MalformedDropped, want)
	}
}

// TestUDPConnSingleDatagramCalls: the one-datagram calls of UDPConn —
// TryReceive returns at once, Receive times out with no error, and both
// deliver what Send sent, whatever read deadline an earlier timed receive
// left set; a closed conn says ErrClosed.
func TestUDPConnSingleDatagramCalls(t *testing.T) {
	tx, rx := udpPair(t, loopbackChannel(t, "239.255.10.207"))
	buf := make([]byte, receiveBufferLength)
	if n, err := rx.TryReceive(buf); n != 0 || err != nil {
		t.Fatalf("TryReceive on an empty socket: %d, %v", n, err)
	}
	if n, err := rx.Receive(buf, time.Millisecond); n != 0 || err != nil {
		t.Fatalf("Receive timeout: %d, %v", n, err)
	}
	for _, msg := range []string{"first", "second"} {
		if err := tx.Send([]byte(msg)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := rx.Receive(buf, 5*time.Second)
	if err != nil || string(buf[:n]) != "first" {
		t.Fatalf("Receive: %q, %v", buf[:n], err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for n, err = rx.TryReceive(buf); n == 0 && err == nil && time.Now().Before(deadline); n, err = rx.TryReceive(buf) {
	}
	if err != nil || string(buf[:n]) != "second" {
		t.Fatalf("TryReceive: %q, %v", buf[:n], err)
	}
	// The 5 s deadline left set must not stretch a shorter wait, and one
	// that has passed must not fail the calls after it.
	start := time.Now()
	if n, err := rx.Receive(buf, time.Millisecond); n != 0 || err != nil || time.Since(start) > time.Second {
		t.Fatalf("Receive timeout after a longer one: %d, %v after %v", n, err, time.Since(start))
	}
	if n, err := rx.TryReceive(buf); n != 0 || err != nil {
		t.Fatalf("TryReceive after a timeout: %d, %v", n, err)
	}
	bufs, sizes := [][]byte{buf}, []int{0}
	if n, err := rx.ReceiveBatch(bufs, sizes, time.Millisecond); n != 0 || err != nil {
		t.Fatalf("ReceiveBatch timeout: %d, %v", n, err)
	}
	if err := tx.Send([]byte("third")); err != nil {
		t.Fatal(err)
	}
	for n, err = rx.TryReceive(buf); n == 0 && err == nil && time.Now().Before(deadline); n, err = rx.TryReceive(buf) {
	}
	if err != nil || string(buf[:n]) != "third" {
		t.Fatalf("TryReceive after a batch timeout: %q, %v", buf[:n], err)
	}
	if err := tx.Send([]byte("fourth")); err != nil {
		t.Fatal(err)
	}
	if n, err := rx.ReceiveBatch(bufs, sizes, 5*time.Second); n != 1 || err != nil || string(buf[:sizes[0]]) != "fourth" {
		t.Fatalf("ReceiveBatch: %d, %v", n, err)
	}
	rx.Close()
	if _, err := rx.TryReceive(buf); err != ErrClosed {
		t.Fatalf("TryReceive after Close: %v, want ErrClosed", err)
	}
}

// TestRunBenchSmoke: a short `venue bench md` run measures something in
// every phase and sees no malformed or lost packet.
func TestRunBenchSmoke(t *testing.T) {
	loopbackChannel(t, benchGroupDefault) // skip where multicast on lo is refused
	res, err := RunBench(BenchConfig{Instruments: 50, Duration: 100 * time.Millisecond, PacedChangesPerSec: 20_000})
	if err != nil {
		t.Fatal(err)
	}
	if res.Changes == 0 || res.ChangesPerSec <= 0 || res.UpdatesApplied == 0 || res.LatencySamples == 0 || res.P99Ns <= 0 {
		t.Fatalf("nothing measured: %+v", res)
	}
	if res.MalformedDropped != 0 || res.SendErrors != 0 {
		t.Fatalf("malformed %d, send errors %d", res.MalformedDropped, res.SendErrors)
	}
	if res.GSO != gsoSupported {
		t.Fatalf("GSO %v at the end of the run, want %v", res.GSO, gsoSupported)
	}
	// Every command of the latency phase is one sample once the feed has
	// drained, conflated or not.
	if res.LatencyCommands == 0 || res.LatencyUndelivered != 0 || res.LatencySamples != res.LatencyCommands {
		t.Fatalf("latency phase: %d commands, %d samples, %d undelivered", res.LatencyCommands, res.LatencySamples, res.LatencyUndelivered)
	}
	if res.PickupP99Ns <= 0 || res.WireP99Ns <= 0 || res.PickupP99Ns > res.MaxNs || res.WireP99Ns > res.MaxNs {
		t.Fatalf("stage p99s pickup %d, wire %d, total max %d", res.PickupP99Ns, res.WireP99Ns, res.MaxNs)
	}
	// The wire stage's split at the send covers samples, each part no
	// longer than the whole.
	if res.WireSplitSamples <= 0 || res.WireSplitSamples > res.LatencySamples || res.EncodeP99Ns <= 0 || res.DeliverP99Ns <= 0 ||
		res.EncodeP99Ns > res.MaxNs || res.DeliverP99Ns > res.MaxNs {
		t.Fatalf("wire split: %d samples, encode p99 %d, deliver p99 %d, total max %d", res.WireSplitSamples, res.EncodeP99Ns, res.DeliverP99Ns, res.MaxNs)
	}
	// The deliver stage's split at the receive, and every stage's median
	// no more than its p99.
	if res.WakeP99Ns <= 0 || res.ApplyP99Ns <= 0 || res.WakeP99Ns > res.MaxNs || res.ApplyP99Ns > res.MaxNs {
		t.Fatalf("deliver split: wake p99 %d, apply p99 %d, total max %d", res.WakeP99Ns, res.ApplyP99Ns, res.MaxNs)
	}
	for _, s := range [][2]int64{{res.PickupP50Ns, res.PickupP99Ns}, {res.EncodeP50Ns, res.EncodeP99Ns},
		{res.DeliverP50Ns, res.DeliverP99Ns}, {res.WakeP50Ns, res.WakeP99Ns}, {res.ApplyP50Ns, res.ApplyP99Ns}} {
		if s[0] <= 0 || s[0] > s[1] {
			t.Fatalf("a stage's p50 %d outside (0, p99 %d]: %+v", s[0], s[1], res)
		}
	}
	// The pacer offers the configured load: 20 k changes/s for 100 ms is
	// 1000 commands (half of it is a bound a loaded test host still meets).
	if want := int64(20_000/benchChangesPerCommand) / 10; res.LatencyCommands < want/2 || res.LatencyCommands > want+1 {
		t.Fatalf("latency phase issued %d commands, want about %d", res.LatencyCommands, want)
	}
}

// TestSendBatchDeliversEachPacket: a batch of packets of different lengths,
// more than one GSO send holds, arrives as one datagram per packet, in order,
// each parsing to the packet sent (GSO pads all but the last of a send with
// zeros) — with GSO and without.
func TestSendBatchDeliversEachPacket(t *testing.T) {
	for _, noGSO := range []bool{false, true} {
		cfg := loopbackChannel(t, "239.255.10.208")
		cfg.NoGSO = noGSO
		tx, rx := udpPair(t, cfg)
		w := NewPacketWriter(MTUDefault)
		var pkts [][]byte
		for i := range sendBatchMax + 9 { // 73 packets: two GSO sends
			w.Begin(PacketUpdate, 1)
			for range 1 + i%3 {
				w.AppendUpdate(sampleView(i%5, i%7))
			}
			pkts = append(pkts, bytes.Clone(w.Finish(uint64(i+1), 0)))
		}
		if n, err := tx.SendBatch(pkts); n != len(pkts) || err != nil {
			t.Fatalf("gso %v: SendBatch sent %d of %d: %v", !noGSO, n, len(pkts), err)
		}
		if tx.gso.enabled != (!noGSO && gsoSupported) {
			t.Fatalf("gso %v: the conn's GSO is %v after the batch", !noGSO, tx.gso.enabled)
		}
		for i, d := range receiveN(t, rx, len(pkts)) {
			h, err := ParsePacket(d)
			if err != nil || !bytes.Equal(h, pkts[i]) {
				t.Fatalf("gso %v: datagram %d (%d bytes): %v, or not the packet sent (%d bytes)", !noGSO, i, len(d), err, len(pkts[i]))
			}
		}
	}
}

// receiveN receives n datagrams from rx (copies, in arrival order), failing
// the test if they do not all come within 5 s.
func receiveN(t *testing.T, rx *UDPConn, n int) [][]byte {
	t.Helper()
	bufs, sizes := make([][]byte, receiveBatchMax), make([]int, receiveBatchMax)
	for i := range bufs {
		bufs[i] = make([]byte, receiveBufferLength)
	}
	var got [][]byte
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < n && time.Now().Before(deadline) {
		k, err := rx.ReceiveBatch(bufs, sizes, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		for i := range k {
			got = append(got, bytes.Clone(bufs[i][:sizes[i]]))
		}
	}
	if len(got) < n {
		t.Fatalf("received %d of %d datagrams", len(got), n)
	}
	return got
}
