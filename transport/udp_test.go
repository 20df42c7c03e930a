package transport

import (
	"fmt"
	"math/rand"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// freeUDPPort returns a port that was free a moment ago on 127.0.0.1.
func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func udpDriver(t testing.TB, network Network, seed int64) *Driver {
	t.Helper()
	d, err := NewDriver(DriverConfig{Network: network, Threading: ThreadingShared, Seed: seed,
		TermLength: 1 << 20, NAKRetry: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	diagDrivers = append(diagDrivers, d)
	return d
}

// diagDrivers are the real-UDP drivers of the running test, for failure
// diagnostics (tests here are not parallel).
var diagDrivers []*Driver

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		osYield()
	}
}

// streamOverReal offers count messages of up to sizeMax bytes and waits
// until every subscription has them all, in order, exactly once.
func streamOverReal(t *testing.T, pub *Publication, subs []*Subscription, count, sizeMax int) {
	t.Helper()
	rng := rand.New(rand.NewSource(7))
	checkers := make([]*orderChecker, len(subs))
	handlers := make([]FragmentHandler, len(subs))
	for i := range subs {
		checkers[i] = &orderChecker{t: t, name: fmt.Sprintf("sub%d", i)}
		handlers[i] = NewFragmentAssembler(checkers[i].onMessage).Handler()
	}
	poll := func() {
		for i, s := range subs {
			s.Poll(handlers[i], 256)
		}
	}
	waitFor(t, 10*time.Second, "connection", func() bool {
		for _, s := range subs {
			if s.ImageCount() == 0 {
				return false
			}
		}
		return pub.IsConnected()
	})
	buf := make([]byte, sizeMax)
	deadline := time.Now().Add(30 * time.Second)
	for i := 0; i < count; i++ {
		msg := makeMessage(buf, uint64(i), 12+rng.Intn(sizeMax-11), rng)
		for {
			_, r := pub.Offer(msg)
			if r == OfferOK {
				break
			}
			if r != BackPressured && r != AdminAction {
				t.Fatalf("offer %d: %v", i, r)
			}
			poll()
			if time.Now().After(deadline) {
				t.Fatalf("stuck at message %d", i)
			}
		}
	}
	deadline = time.Now().Add(30 * time.Second)
	for {
		poll()
		done := true
		for _, c := range checkers {
			done = done && c.next >= uint64(count)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for every message: %s", streamDiagnostics(pub, subs, checkers))
		}
		osYield()
	}
}

// streamDiagnostics describes a stuck stream for the failure message.
func streamDiagnostics(pub *Publication, subs []*Subscription, checkers []*orderChecker) string {
	s := fmt.Sprintf("publication at %d connected=%v", pub.Position(), pub.IsConnected())
	if np := pub.net; np != nil {
		s += fmt.Sprintf(" sender at %d limit %d", np.senderPosition.Load(), np.senderLimitCtr.Get())
	}
	for i, sub := range subs {
		s += fmt.Sprintf("; sub%d got %d images:", i, checkers[i].next)
		for _, img := range sub.Images() {
			s += fmt.Sprintf(" [session %d join %d pos %d]", img.SessionID(), img.JoinPosition(), img.Position())
		}
	}
	for i, d := range diagDrivers {
		s += fmt.Sprintf("\ndriver %d:", i)
		for _, ep := range *d.receiver.eps.Load() {
			for _, ni := range *ep.list.Load() {
				s += fmt.Sprintf(" image rebuild %d hwm %d minSub %d gap %v@%d", ni.rebuildPos, ni.hwm, ni.minSub, ni.gapActive, ni.gapPos)
			}
		}
		d.counters.Reader().ForEach(func(c CounterInfo) {
			if c.Value != 0 && c.TypeID < 50 {
				s += fmt.Sprintf(" %s=%d", c.Label, c.Value)
			}
		})
	}
	return s
}

func TestUDPUnicastInOrderOverLoopback(t *testing.T) {
	ep := fmt.Sprintf("udp?endpoint=127.0.0.1:%d", freeUDPPort(t))
	sd, rd := udpDriver(t, UDPNetwork{}, 1), udpDriver(t, UDPNetwork{}, 2)
	sub := mustSub(t, rd, ep, 1, SubscriptionOptions{})
	pub := mustPub(t, sd, ep, 1)
	streamOverReal(t, pub, []*Subscription{sub}, 8000, 600)
}

func TestUDPUnicastUnderInjectedLossOverLoopback(t *testing.T) {
	ep := fmt.Sprintf("udp?endpoint=127.0.0.1:%d", freeUDPPort(t))
	faults := SimFaults{LossPermille: 100, DuplicatePermille: 30, ReorderPermille: 50}
	sd := udpDriver(t, &FaultyNetwork{Inner: UDPNetwork{}, Seed: 1, Faults: faults}, 1)
	rd := udpDriver(t, &FaultyNetwork{Inner: UDPNetwork{}, Seed: 2, Faults: faults}, 2)
	sub := mustSub(t, rd, ep, 1, SubscriptionOptions{})
	pub := mustPub(t, sd, ep, 1)
	streamOverReal(t, pub, []*Subscription{sub}, 2000, 3000)
	if sd.SystemCounters().Retransmits.Get() == 0 {
		t.Fatal("no retransmits under 10% loss")
	}
}

func TestUDPLargeMessagesOverLoopback(t *testing.T) {
	ep := fmt.Sprintf("udp?endpoint=127.0.0.1:%d|term-length=8388608", freeUDPPort(t))
	sd, rd := udpDriver(t, UDPNetwork{}, 1), udpDriver(t, UDPNetwork{}, 2)
	sub := mustSub(t, rd, ep, 1, SubscriptionOptions{})
	pub := mustPub(t, sd, ep, 1)
	streamOverReal(t, pub, []*Subscription{sub}, 4, 1<<20)
}

func TestUDPMultiDestinationOverLoopback(t *testing.T) {
	sd := udpDriver(t, UDPNetwork{}, 1)
	pub := mustPub(t, sd, "udp?control-mode=manual|control=127.0.0.1:0", 5)
	var subs []*Subscription
	for i := 0; i < 2; i++ {
		ep := fmt.Sprintf("udp?endpoint=127.0.0.1:%d", freeUDPPort(t))
		subs = append(subs, mustSub(t, udpDriver(t, UDPNetwork{}, int64(10+i)), ep, 5, SubscriptionOptions{}))
		if err := pub.AddDestination(ep); err != nil {
			t.Fatal(err)
		}
	}
	streamOverReal(t, pub, subs, 5000, 500)
}

func TestUDPMulticastOverLoopback(t *testing.T) {
	ch := fmt.Sprintf("udp?endpoint=239.255.90.%d:%d|interface=lo|ttl=0|fc=min", 1+rand.Intn(200), freeUDPPort(t))
	sd := udpDriver(t, UDPNetwork{}, 1)
	var subs []*Subscription
	for i := 0; i < 2; i++ {
		s, err := udpDriver(t, UDPNetwork{}, int64(10+i)).AddSubscription(ch, 6, SubscriptionOptions{})
		if err != nil {
			if strings.Contains(err.Error(), "join") || strings.Contains(err.Error(), "interface") {
				t.Skipf("multicast unavailable here: %v", err)
			}
			t.Fatal(err)
		}
		subs = append(subs, s)
	}
	pub := mustPub(t, sd, ch, 6)
	streamOverReal(t, pub, subs, 5000, 500)
}

func TestUDPEndOfStreamOverLoopback(t *testing.T) {
	ep := fmt.Sprintf("udp?endpoint=127.0.0.1:%d", freeUDPPort(t))
	sd, rd := udpDriver(t, UDPNetwork{}, 1), udpDriver(t, UDPNetwork{}, 2)
	eos := make(chan bool, 1)
	sub := mustSub(t, rd, ep, 1, SubscriptionOptions{OnUnavailableImage: func(img *Image) { eos <- img.IsEndOfStream() }})
	pub := mustPub(t, sd, ep, 1)
	streamOverReal(t, pub, []*Subscription{sub}, 100, 100)
	pub.Close()
	waitFor(t, 10*time.Second, "end of stream", func() bool {
		sub.Poll(func([]byte, *Header) {}, 10)
		return len(eos) == 1
	})
	if !<-eos {
		t.Fatal("image went away without end of stream")
	}
}

func TestBlockingWaitDoesNotAllocate(t *testing.T) {
	d, err := NewDriver(DriverConfig{Threading: ThreadingInvoker, TermLength: TermLengthMin})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	mustSub(t, d, "udp?endpoint=127.0.0.1:"+itoa(freeUDPPort(t)), 1, SubscriptionOptions{})
	idle := NewBlockingIdleStrategy(d)
	idle.Timeout = 10 * time.Microsecond
	if n := testing.AllocsPerRun(50, func() { idle.Idle(0) }); n != 0 {
		t.Fatalf("%v allocations per blocking wait", n)
	}
}

// An offer made on an application goroutine must wake a driver whose agents
// are parked in the poller: with a 5 s wait timeout, anything but an
// immediate wake-up would blow the deadline.
func TestOfferWakesParkedSender(t *testing.T) {
	for _, mode := range []ThreadingMode{ThreadingShared, ThreadingDedicated} {
		t.Run(mode.String(), func(t *testing.T) {
			mk := func(seed int64) *Driver {
				d, err := NewDriver(DriverConfig{Threading: mode, Seed: seed, TermLength: 1 << 20,
					NewIdleStrategy: func() IdleStrategy {
						s := NewBlockingIdleStrategy(nil)
						s.Timeout = 5 * time.Second
						return s
					}})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				return d
			}
			ep := "udp?endpoint=127.0.0.1:" + itoa(freeUDPPort(t))
			sd, rd := mk(1), mk(2)
			sub := mustSub(t, rd, ep, 1, SubscriptionOptions{})
			pub := mustPub(t, sd, ep, 1)
			waitFor(t, 3*time.Second, "connected", func() bool { return pub.IsConnected() && sub.ImageCount() == 1 })
			for i := 0; i < 20; i++ {
				if _, r := pub.Offer([]byte("wake up")); r != OfferOK {
					t.Fatalf("offer %d: %v", i, r)
				}
				got := 0
				waitFor(t, 2*time.Second, "delivery", func() bool { got += sub.Poll(func([]byte, *Header) {}, 10); return got == 1 })
			}
		})
	}
}

func TestUDPLivenessTimeoutsOverLoopback(t *testing.T) {
	mk := func(seed int64) *Driver {
		d, err := NewDriver(DriverConfig{Seed: seed, TermLength: TermLengthMin,
			ImageLivenessTimeout: 200 * time.Millisecond, PublicationConnectionTimeout: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	ep := "udp?endpoint=127.0.0.1:" + itoa(freeUDPPort(t))
	sd, rd := mk(1), mk(2)
	unavailable := make(chan *Image, 1)
	sub := mustSub(t, rd, ep, 1, SubscriptionOptions{OnUnavailableImage: func(img *Image) { unavailable <- img }})
	pub := mustPub(t, sd, ep, 1)
	waitFor(t, 5*time.Second, "connected", func() bool { return pub.IsConnected() && sub.ImageCount() == 1 })
	// The sender's process dies: the receiver times the image out.
	sd.Close()
	waitFor(t, 5*time.Second, "image unavailable", func() bool {
		sub.Poll(func([]byte, *Header) {}, 10)
		return len(unavailable) == 1
	})
	if img := <-unavailable; img.IsEndOfStream() {
		t.Fatal("a dead sender looked like end of stream")
	}
	// And the other way: the receiver dies, the publication disconnects.
	sd2, rd2 := mk(3), mk(4)
	ep2 := "udp?endpoint=127.0.0.1:" + itoa(freeUDPPort(t))
	sub2 := mustSub(t, rd2, ep2, 1, SubscriptionOptions{})
	pub2 := mustPub(t, sd2, ep2, 1)
	waitFor(t, 5*time.Second, "connected", func() bool { return pub2.IsConnected() && sub2.ImageCount() == 1 })
	rd2.Close()
	waitFor(t, 5*time.Second, "publication not connected", func() bool { return !pub2.IsConnected() })
	if _, r := pub2.Offer([]byte("x")); r != NotConnected {
		t.Fatalf("offer after the receiver died: %v", r)
	}
}

func TestUDPSlowReceiverIsNeverOverrun(t *testing.T) {
	mk := func(seed int64) *Driver {
		d, err := NewDriver(DriverConfig{Seed: seed, TermLength: TermLengthMin, ReceiverWindow: 8192, PublicationWindow: 8192})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { d.Close() })
		return d
	}
	ep := "udp?endpoint=127.0.0.1:" + itoa(freeUDPPort(t))
	sd, rd := mk(1), mk(2)
	sub := mustSub(t, rd, ep, 1, SubscriptionOptions{})
	pub := mustPub(t, sd, ep, 1)
	waitFor(t, 5*time.Second, "connected", func() bool { return pub.IsConnected() && sub.ImageCount() == 1 })
	const count = 3000
	checker := &orderChecker{t: t, name: "slow"}
	handler := NewFragmentAssembler(checker.onMessage).Handler()
	rng := rand.New(rand.NewSource(3))
	buf := make([]byte, 500)
	maxLead := int64(0)
	deadline := time.Now().Add(30 * time.Second)
	for sent := 0; checker.next < count; {
		if sent < count {
			if _, r := pub.Offer(makeMessage(buf, uint64(sent), 12+rng.Intn(488), rng)); r == OfferOK {
				sent++
			}
		}
		sub.Poll(handler, 1) // one fragment at a time: a slow consumer
		maxLead = max(maxLead, int64(pub.Position())-int64(sub.Images()[0].Position()))
		if time.Now().After(deadline) {
			t.Fatalf("stuck: sent %d received %d", sent, checker.next)
		}
	}
	if n := rd.SystemCounters().FlowControlOverruns.Get(); n != 0 {
		t.Fatalf("%d frames arrived beyond the receiver window", n)
	}
	if maxLead > 8192+8192+1024 {
		t.Fatalf("publisher led the subscriber by %d bytes", maxLead)
	}
}

// TestEphemeralSubscriptionPort: a subscription on port 0 reports the port
// it got, two such subscriptions get different ports, and a publication to
// the reported address reaches only its own subscription.
func TestEphemeralSubscriptionPort(t *testing.T) {
	d := udpDriver(t, nil, 1)
	s1, err := d.AddSubscription("udp?endpoint=127.0.0.1:0", 7, SubscriptionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s2, err := d.AddSubscription("udp?endpoint=127.0.0.1:0", 7, SubscriptionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	a1, ok1 := s1.LocalAddr()
	a2, ok2 := s2.LocalAddr()
	if !ok1 || !ok2 || a1.Port() == 0 || a1 == a2 {
		t.Fatalf("local addresses %v %v", a1, a2)
	}
	pub, err := d.AddPublication("udp?endpoint="+a2.String(), 7)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	got := 0
	for got == 0 && time.Now().Before(deadline) {
		pub.Offer([]byte("hello"))
		got += s2.Poll(func([]byte, *Header) {}, 10)
		if s1.Poll(func([]byte, *Header) {}, 10) != 0 {
			t.Fatal("message reached the other ephemeral subscription")
		}
		time.Sleep(time.Millisecond)
	}
	if got == 0 {
		t.Fatal("nothing arrived at the ephemeral port")
	}
	if _, ok := (&Subscription{}).LocalAddr(); ok {
		t.Fatal("zero subscription reports an address")
	}
}

// TestWaitReadablePrecise: a sub-millisecond wait ends near its deadline
// when nothing arrives, and at once when a datagram is waiting.
func TestWaitReadablePrecise(t *testing.T) {
	d, err := NewDriver(DriverConfig{Threading: ThreadingInvoker})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	sub, err := d.AddSubscription("udp?endpoint=127.0.0.1:0", 1, SubscriptionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for range 10 { // consume the wake-ups that setting up left behind
		d.DoWork(MonotonicNanos())
		if !d.WaitReadablePrecise(time.Microsecond) {
			break
		}
	}
	// The wait sets its thread's timer slack to the least: Linux's default
	// 50 µs would be added to every deadline.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := unix.Prctl(unix.PR_SET_TIMERSLACK, 0, 0, 0, 0); err != nil { // 0: back to the default
		t.Fatal(err)
	}
	start := time.Now()
	if d.WaitReadablePrecise(200 * time.Microsecond) {
		t.Fatal("readable with nothing sent")
	}
	if slack, err := unix.PrctlRetInt(unix.PR_GET_TIMERSLACK, 0, 0, 0, 0); err != nil || slack != preciseTimerSlackNs {
		t.Fatalf("timer slack after a precise wait: %d ns (%v), want %d", slack, err, preciseTimerSlackNs)
	}
	if el := time.Since(start); el < 200*time.Microsecond {
		t.Fatalf("returned after %v, before its deadline", el)
	}
	addr, _ := sub.LocalAddr()
	c, err := net.Dial("udp4", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !d.WaitReadablePrecise(time.Second) {
		if time.Now().After(deadline) {
			t.Fatal("a waiting datagram never made the driver readable")
		}
	}
}
