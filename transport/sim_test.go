package transport

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/rand"
	"net/netip"
	"testing"
	"time"
)

const simStepNs = int64(10 * time.Microsecond)

// simHarness drives drivers by hand on one SimNetwork with a fake clock.
type simHarness struct {
	t       testing.TB
	clock   *SimClock
	net     *SimNetwork
	drivers []*Driver
	paused  map[*Driver]bool
}

func newSimHarness(t testing.TB, seed int64, faults SimFaults) *simHarness {
	clock := &SimClock{}
	return &simHarness{t: t, clock: clock, net: NewSimNetwork(seed, clock.Now, faults), paused: map[*Driver]bool{}}
}

func (h *simHarness) driver(seed int64, tweak func(*DriverConfig)) *Driver {
	cfg := DriverConfig{Network: h.net, Clock: h.clock.Now, Threading: ThreadingInvoker, Seed: seed,
		TermLength: TermLengthMin, ReceiverWindow: 16 * 1024, PublicationWindow: 16 * 1024}
	if tweak != nil {
		tweak(&cfg)
	}
	d, err := NewDriver(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { d.Close() })
	h.drivers = append(h.drivers, d)
	return d
}

func (h *simHarness) step() {
	h.clock.Advance(simStepNs)
	now := h.clock.Now()
	for _, d := range h.drivers {
		if !h.paused[d] {
			d.DoWork(now)
		}
	}
}

// until steps until cond holds or maxSteps pass.
func (h *simHarness) until(maxSteps int, what string, cond func() bool) {
	h.t.Helper()
	for i := 0; i < maxSteps; i++ {
		if cond() {
			return
		}
		h.step()
	}
	h.t.Fatalf("after %d steps (%v simulated): %s never happened", maxSteps, time.Duration(int64(maxSteps)*simStepNs), what)
}

// message i: 8-byte sequence, 4-byte crc of the rest, then filler.
func makeMessage(buf []byte, seq uint64, size int, rng *rand.Rand) []byte {
	m := buf[:size]
	binary.LittleEndian.PutUint64(m, seq)
	for i := 12; i < size; i++ {
		m[i] = byte(rng.Intn(256))
	}
	binary.LittleEndian.PutUint32(m[8:], crc32.ChecksumIEEE(m[12:]))
	return m
}

// orderChecker asserts exactly-once in-order delivery of makeMessage messages.
type orderChecker struct {
	t    testing.TB
	name string
	next uint64
}

func (c *orderChecker) onMessage(b []byte, _ *Header) {
	if len(b) < 12 {
		c.t.Fatalf("%s: short message %d", c.name, len(b))
	}
	seq := binary.LittleEndian.Uint64(b)
	if seq != c.next {
		c.t.Fatalf("%s: got message %d, want %d", c.name, seq, c.next)
	}
	if crc32.ChecksumIEEE(b[12:]) != binary.LittleEndian.Uint32(b[8:]) {
		c.t.Fatalf("%s: message %d corrupt", c.name, seq)
	}
	c.next++
}

type streamSpec struct {
	count    int
	sizeMax  int
	pollStep int // poll every pollStep steps (slow consumer when > 1)
	fragPoll int
}

// runStream offers count messages and drives until every checker saw all.
func (h *simHarness) runStream(pub *Publication, subs []*Subscription, s streamSpec) []*orderChecker {
	h.t.Helper()
	rng := rand.New(rand.NewSource(42))
	buf := make([]byte, max(s.sizeMax, 12))
	checkers := make([]*orderChecker, len(subs))
	asms := make([]FragmentHandler, len(subs))
	for i := range subs {
		checkers[i] = &orderChecker{t: h.t, name: fmt.Sprintf("sub%d", i)}
		asms[i] = NewFragmentAssembler(checkers[i].onMessage).Handler()
	}
	if s.fragPoll == 0 {
		s.fragPoll = 64
	}
	poll := func(step int) {
		if s.pollStep > 1 && step%s.pollStep != 0 {
			return
		}
		for i, sub := range subs {
			sub.Poll(asms[i], s.fragPoll)
		}
	}
	h.until(200000, "publication connected", pub.IsConnected)
	sent, step := 0, 0
	var msg []byte
	for sent < s.count {
		if msg == nil {
			msg = makeMessage(buf, uint64(sent), 12+rng.Intn(s.sizeMax-11), rng)
		}
		if _, r := pub.Offer(msg); r == OfferOK {
			sent++
			msg = nil
			continue
		} else if r != BackPressured && r != AdminAction && r != NotConnected {
			h.t.Fatalf("offer: %v", r)
		}
		h.step()
		poll(step)
		step++
		if step > 2_000_000 {
			h.t.Fatalf("stuck after %d messages", sent)
		}
	}
	h.until(2_000_000, "all messages delivered", func() bool {
		poll(step)
		step++
		for _, c := range checkers {
			if c.next < uint64(s.count) {
				return false
			}
		}
		return true
	})
	return checkers
}

func TestSimUnicastExactlyOnceInOrderUnderLoss(t *testing.T) {
	for _, lossPermille := range []int{10, 50, 200} {
		t.Run(fmt.Sprintf("loss%d‰", lossPermille), func(t *testing.T) {
			h := newSimHarness(t, int64(lossPermille), SimFaults{LossPermille: lossPermille, DuplicatePermille: 50,
				ReorderPermille: 100, DelayNs: 50_000, ReorderDelayNs: 300_000})
			sd, rd := h.driver(1, nil), h.driver(2, nil)
			sub := mustSub(t, rd, "udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{})
			pub := mustPub(t, sd, "udp?endpoint=10.0.0.2:40001", 10)
			h.runStream(pub, []*Subscription{sub}, streamSpec{count: 1500, sizeMax: 3000})
			sys := rd.SystemCounters()
			if h.net.Dropped == 0 || sys.NaksSent.Get() == 0 || sd.SystemCounters().Retransmits.Get() == 0 {
				t.Fatalf("expected loss and repair: dropped %d naks %d retransmits %d",
					h.net.Dropped, sys.NaksSent.Get(), sd.SystemCounters().Retransmits.Get())
			}
			if h.net.Duplicated == 0 || sys.DuplicateFrames.Get() == 0 {
				t.Fatalf("expected duplicates: %d sent, %d dropped", h.net.Duplicated, sys.DuplicateFrames.Get())
			}
		})
	}
}

func TestSimFlowControlNeverOverrunsSlowReceiver(t *testing.T) {
	h := newSimHarness(t, 3, SimFaults{DelayNs: 20_000})
	sd, rd := h.driver(1, nil), h.driver(2, nil)
	sub := mustSub(t, rd, "udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{})
	pub := mustPub(t, sd, "udp?endpoint=10.0.0.2:40001", 10)
	maxAhead := int64(0)
	h.drivers = append(h.drivers, nil)[:2] // keep two drivers
	done := make(chan struct{})
	_ = done
	orig := h.step
	_ = orig
	checkers := h.runStream(pub, []*Subscription{sub}, streamSpec{count: 2000, sizeMax: 500, pollStep: 20, fragPoll: 2})
	if imgs := sub.Images(); len(imgs) == 1 {
		maxAhead = int64(pub.Position()) - int64(imgs[0].Position())
	}
	if rd.SystemCounters().FlowControlOverruns.Get() != 0 {
		t.Fatalf("receiver dropped %d frames beyond its window", rd.SystemCounters().FlowControlOverruns.Get())
	}
	if sd.SystemCounters().BackPressureEvents.Get() == 0 {
		t.Fatal("slow receiver never back-pressured the publisher")
	}
	if checkers[0].next != 2000 || maxAhead != 0 {
		t.Fatalf("delivered %d, ahead %d", checkers[0].next, maxAhead)
	}
}

func TestSimFlowControlBoundsPublisherLead(t *testing.T) {
	h := newSimHarness(t, 4, SimFaults{DelayNs: 20_000})
	sd, rd := h.driver(1, nil), h.driver(2, nil)
	sub := mustSub(t, rd, "udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{})
	pub := mustPub(t, sd, "udp?endpoint=10.0.0.2:40001", 10)
	h.until(10000, "connected", pub.IsConnected)
	msg := make([]byte, 200)
	// The subscriber never polls: the publisher must stop within
	// publication window + receiver window of the subscriber position.
	for i := 0; i < 5000; i++ {
		pub.Offer(msg)
		h.step()
	}
	img := sub.Images()[0]
	lead := int64(pub.Position()) - int64(img.Position())
	if lead > 16*1024+16*1024+256 {
		t.Fatalf("publisher ran %d bytes ahead of a stalled subscriber", lead)
	}
	if rd.SystemCounters().FlowControlOverruns.Get() != 0 {
		t.Fatal("receiver window overrun")
	}
}

func TestSimLargeMessagesFragmentAndReassembleUnderLoss(t *testing.T) {
	h := newSimHarness(t, 5, SimFaults{LossPermille: 20, ReorderPermille: 50, DelayNs: 20_000, ReorderDelayNs: 100_000})
	big := func(c *DriverConfig) {
		c.TermLength = 8 << 20
		c.ReceiverWindow = 2 << 20
		c.PublicationWindow = 2 << 20
	}
	sd, rd := h.driver(1, big), h.driver(2, big)
	sub := mustSub(t, rd, "udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{})
	pub := mustPub(t, sd, "udp?endpoint=10.0.0.2:40001", 10)
	rng := rand.New(rand.NewSource(1))
	msg := makeMessage(make([]byte, 1<<20), 0, 1<<20, rng)
	checker := &orderChecker{t: t, name: "big"}
	asm := NewFragmentAssembler(checker.onMessage).Handler()
	h.until(10000, "connected", pub.IsConnected)
	for i := 0; i < 4; i++ {
		binary.LittleEndian.PutUint64(msg, uint64(i))
		for {
			_, r := pub.Offer(msg)
			if r == OfferOK {
				break
			}
			h.step()
			sub.Poll(asm, 1000)
		}
	}
	h.until(1_000_000, "4 MiB delivered", func() bool { sub.Poll(asm, 1000); return checker.next == 4 })
}

func TestSimMultiDestinationReachesEveryReceiver(t *testing.T) {
	h := newSimHarness(t, 6, SimFaults{LossPermille: 50, DuplicatePermille: 20, ReorderPermille: 50, DelayNs: 30_000, ReorderDelayNs: 100_000})
	// Long timeouts: removing a destination must free the flow at once,
	// not after a receiver or image timeout.
	sd := h.driver(1, func(c *DriverConfig) { c.ReceiverTimeout = 10 * time.Second })
	var subs []*Subscription
	for i := 0; i < 3; i++ {
		rd := h.driver(int64(10+i), nil)
		subs = append(subs, mustSub(t, rd, fmt.Sprintf("udp?endpoint=10.0.1.%d:40002", i+1), 20, SubscriptionOptions{}))
	}
	pub := mustPub(t, sd, "udp?control-mode=manual", 20)
	for i := 0; i < 3; i++ {
		if err := pub.AddDestination(fmt.Sprintf("udp?endpoint=10.0.1.%d:40002", i+1)); err != nil {
			t.Fatal(err)
		}
	}
	h.until(100000, "all three connected", func() bool {
		for _, s := range subs {
			if s.ImageCount() == 0 {
				return false
			}
		}
		return pub.IsConnected()
	})
	h.runStream(pub, subs, streamSpec{count: 1000, sizeMax: 2000})
	// Remove one destination at run time: the others keep receiving, and
	// after the receiver timeout the removed one no longer holds flow back.
	if err := pub.RemoveDestination("10.0.1.3:40002"); err != nil {
		t.Fatal(err)
	}
	if err := pub.RemoveDestination("10.0.1.3:40002"); err == nil {
		t.Fatal("removing twice succeeded")
	}
	msg := make([]byte, 100)
	got := [3]int{}
	for i := 0; i < 3; i++ {
		subs[i].Poll(func([]byte, *Header) {}, 1<<20)
	}
	sent := 0
	h.until(20_000, "500 more messages to the remaining two within 200 ms", func() bool {
		if sent < 500 {
			if _, r := pub.Offer(msg); r == OfferOK {
				sent++
			}
		}
		for i := 0; i < 3; i++ {
			got[i] += subs[i].Poll(func([]byte, *Header) {}, 64)
		}
		return got[0] == 500 && got[1] == 500
	})
	if got[2] != 0 {
		t.Fatalf("removed destination received %d", got[2])
	}
}

func TestSimMulticastReachesEveryReceiver(t *testing.T) {
	h := newSimHarness(t, 7, SimFaults{LossPermille: 50, DuplicatePermille: 20, ReorderPermille: 50, DelayNs: 30_000, ReorderDelayNs: 100_000})
	sd := h.driver(1, nil)
	ch := "udp?endpoint=239.1.1.1:40100|interface=lo|ttl=1|fc=min"
	var subs []*Subscription
	for i := 0; i < 3; i++ {
		subs = append(subs, mustSub(t, h.driver(int64(20+i), nil), ch, 30, SubscriptionOptions{}))
	}
	pub := mustPub(t, sd, ch, 30)
	h.until(100000, "all three images", func() bool {
		for _, s := range subs {
			if s.ImageCount() == 0 {
				return false
			}
		}
		return true
	})
	h.runStream(pub, subs, streamSpec{count: 1500, sizeMax: 2000})
}

func TestSimLivenessTimeoutsFire(t *testing.T) {
	h := newSimHarness(t, 8, SimFaults{DelayNs: 10_000})
	fast := func(c *DriverConfig) {
		c.ImageLivenessTimeout = 50 * time.Millisecond
		c.PublicationConnectionTimeout = 50 * time.Millisecond
	}
	sd, rd := h.driver(1, fast), h.driver(2, fast)
	var unavailable *Image
	sub := mustSub(t, rd, "udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{
		OnUnavailableImage: func(img *Image) { unavailable = img }})
	pub := mustPub(t, sd, "udp?endpoint=10.0.0.2:40001", 10)
	h.until(10000, "connected", func() bool { return pub.IsConnected() && sub.ImageCount() == 1 })
	// Receiver goes silent: the publication is no longer connected.
	h.paused[rd] = true
	h.until(20000, "publication not connected", func() bool { return !pub.IsConnected() })
	if _, r := pub.Offer([]byte("x")); r != NotConnected {
		t.Fatalf("offer to a dead receiver: %v", r)
	}
	// Sender goes silent instead: the image becomes unavailable.
	h.paused[rd] = false
	h.until(20000, "reconnected", pub.IsConnected)
	h.paused[sd] = true
	h.until(20000, "image unavailable", func() bool { sub.Poll(func([]byte, *Header) {}, 10); return unavailable != nil })
	if unavailable.IsEndOfStream() || rd.SystemCounters().ImageTimeouts.Get() != 1 {
		t.Fatalf("timed out image: eos %v timeouts %d", unavailable.IsEndOfStream(), rd.SystemCounters().ImageTimeouts.Get())
	}
}

func TestSimEndOfStreamOnClose(t *testing.T) {
	h := newSimHarness(t, 9, SimFaults{LossPermille: 100, DelayNs: 10_000})
	sd, rd := h.driver(1, nil), h.driver(2, nil)
	var eos bool
	sub := mustSub(t, rd, "udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{
		OnUnavailableImage: func(img *Image) { eos = img.IsEndOfStream() }})
	pub := mustPub(t, sd, "udp?endpoint=10.0.0.2:40001", 10)
	h.runStream(pub, []*Subscription{sub}, streamSpec{count: 200, sizeMax: 300})
	final := pub.Position()
	pub.Close()
	h.until(200000, "end of stream", func() bool { sub.Poll(func([]byte, *Header) {}, 10); return eos })
	h.until(200000, "sender retired the publication", func() bool { return len(*sd.sender.pubs.Load()) == 0 })
	_ = final
}

func TestSimSpySeesNetworkPublicationLocally(t *testing.T) {
	h := newSimHarness(t, 10, SimFaults{DelayNs: 10_000})
	sd, rd := h.driver(1, nil), h.driver(2, nil)
	sub := mustSub(t, rd, "udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{})
	pub := mustPub(t, sd, "udp?endpoint=10.0.0.2:40001", 10)
	spy := mustSub(t, sd, "spy:udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{})
	if spy.ImageCount() != 1 || spy.Images()[0].SourceIdentity() != "spy" {
		t.Fatal("spy has no image")
	}
	h.runStream(pub, []*Subscription{sub, spy}, streamSpec{count: 500, sizeMax: 500})
}

func TestSimPartitionHealsAndStreamResumes(t *testing.T) {
	h := newSimHarness(t, 11, SimFaults{DelayNs: 10_000})
	sd, rd := h.driver(1, nil), h.driver(2, nil)
	sub := mustSub(t, rd, "udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{})
	pub := mustPub(t, sd, "udp?endpoint=10.0.0.2:40001|control=10.0.0.1:0", 10)
	h.until(10000, "connected", pub.IsConnected)
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	n := 0
	count := func() { n += sub.Poll(func([]byte, *Header) {}, 64) }
	for i := 0; i < 100; i++ {
		offerRetry(t, pub, []byte("before"), func() { h.step(); count() })
	}
	h.net.SetPartitioned(a, b, true)
	for i := 0; i < 100; i++ {
		pub.Offer([]byte("during"))
		h.step()
		count()
	}
	h.net.SetPartitioned(a, b, false)
	h.until(100000, "every message after the partition heals", func() bool {
		count()
		return sub.Images()[0].Position() == pub.Position()
	})
}

func TestSimPublicationStartingAtPositionKeepsPositions(t *testing.T) {
	h := newSimHarness(t, 13, SimFaults{LossPermille: 50, DelayNs: 10_000})
	sd, rd := h.driver(1, nil), h.driver(2, nil)
	sub := mustSub(t, rd, "udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{})
	pub := mustPub(t, sd, "udp?endpoint=10.0.0.2:40001|init-term-id=5|term-id=9|term-offset=1024", 10)
	want := Position(4*TermLengthMin + 1024)
	h.until(10000, "image", func() bool { return sub.ImageCount() == 1 })
	if got := sub.Images()[0].JoinPosition(); got != want {
		t.Fatalf("join position %d, want %d", got, want)
	}
	h.runStream(pub, []*Subscription{sub}, streamSpec{count: 300, sizeMax: 1000})
	if sub.Images()[0].Position() != pub.Position() {
		t.Fatalf("image %d publication %d", sub.Images()[0].Position(), pub.Position())
	}
}

// TestSimRunsReplayExactly runs the same seeded lossy scenario twice and
// requires identical counters: a failing seed must replay exactly.
func TestSimRunsReplayExactly(t *testing.T) {
	run := func() string {
		h := newSimHarness(t, 77, SimFaults{LossPermille: 100, DuplicatePermille: 30, ReorderPermille: 100,
			DelayNs: 50_000, ReorderDelayNs: 300_000})
		sd, rd := h.driver(1, nil), h.driver(2, nil)
		sub := mustSub(t, rd, "udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{})
		pub := mustPub(t, sd, "udp?endpoint=10.0.0.2:40001", 10)
		second := mustSub(t, rd, "udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{})
		h.runStream(pub, []*Subscription{sub, second}, streamSpec{count: 500, sizeMax: 2000})
		trace := fmt.Sprintf("clock %d;", h.clock.Now())
		for _, d := range h.drivers {
			d.counters.Reader().ForEach(func(c CounterInfo) { trace += fmt.Sprintf(" %s=%d", c.Label, c.Value) })
		}
		return trace
	}
	if a, b := run(), run(); a != b {
		t.Fatalf("same seed, different runs:\n%s\n%s", a, b)
	}
}
