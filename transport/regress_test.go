package transport

import (
	"encoding/binary"
	"fmt"
	"math/rand"
	"net/netip"
	"testing"
	"time"
)

// TestSimLossAfterTermEndPadIsRepairedWithFullReceiverWindow streams under
// 10% loss with the receiver window at its cap (half a term). The sender
// may send a term-end pad whose header fits below its limit and so run up
// to a term end past the limit; a loss just behind that pad must still be
// retransmitted, or the stream stalls for good.
func TestSimLossAfterTermEndPadIsRepairedWithFullReceiverWindow(t *testing.T) {
	h := newSimHarness(t, 2, SimFaults{LossPermille: 100, DelayNs: 20_000})
	halfTerm := func(c *DriverConfig) {
		c.ReceiverWindow = TermLengthMin / 2
		c.PublicationWindow = TermLengthMin / 2
	}
	sd, rd := h.driver(1, halfTerm), h.driver(2, halfTerm)
	sub := mustSub(t, rd, "udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{})
	pub := mustPub(t, sd, "udp?endpoint=10.0.0.2:40001", 10)
	h.runStream(pub, []*Subscription{sub}, streamSpec{count: 3000, sizeMax: 3000})
	if n := sd.SystemCounters().InvalidFrames.Get(); n != 0 {
		t.Fatalf("sender refused %d control frames", n)
	}
}

// TestSimClosedPublicationLingersUntilReceiverHasTail closes a publication
// whose last messages, and its first end-of-stream heartbeats, were lost to
// a partition. The publication must linger, heartbeating and answering
// NAKs, until the receiver reports the end position, so that the image
// reaches end of stream with every message rather than timing out.
func TestSimClosedPublicationLingersUntilReceiverHasTail(t *testing.T) {
	h := newSimHarness(t, 12, SimFaults{DelayNs: 10_000})
	sd, rd := h.driver(1, nil), h.driver(2, nil)
	var unavailable *Image
	sub := mustSub(t, rd, "udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{
		OnUnavailableImage: func(img *Image) { unavailable = img }})
	pub := mustPub(t, sd, "udp?endpoint=10.0.0.2:40001|control=10.0.0.1:0", 10)
	const before, tail = 100, 20
	checkers := h.runStream(pub, []*Subscription{sub}, streamSpec{count: before, sizeMax: 300})
	asm := NewFragmentAssembler(checkers[0].onMessage).Handler()
	poll := func() { sub.Poll(asm, 64) }

	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	h.net.SetPartitioned(a, b, true)
	rng := rand.New(rand.NewSource(1))
	buf := make([]byte, 300)
	for i := 0; i < tail; i++ {
		offerRetry(t, pub, makeMessage(buf, uint64(before+i), 100, rng), func() { h.step(); poll() })
	}
	pub.Close()
	h.until(100_000, "the end-of-stream heartbeats sent into the partition", func() bool {
		return pub.net.eosSent >= eosHeartbeatsMin
	})
	h.net.SetPartitioned(a, b, false)
	h.until(1_000_000, "image unavailable", func() bool { poll(); return unavailable != nil })
	if !unavailable.IsEndOfStream() || checkers[0].next != before+tail {
		t.Fatalf("image ended at end of stream %v with %d of %d messages (timeouts %d)",
			unavailable.IsEndOfStream(), checkers[0].next, before+tail, rd.SystemCounters().ImageTimeouts.Get())
	}
	h.until(1_000_000, "sender retired the publication", func() bool { return len(*sd.sender.pubs.Load()) == 0 })
}

// joinChecker asserts in-order delivery of makeMessage messages from
// whichever message arrives first.
type joinChecker struct {
	t      testing.TB
	joined bool
	first  uint64
	next   uint64
}

func (c *joinChecker) onMessage(b []byte, _ *Header) {
	seq := binary.LittleEndian.Uint64(b)
	if !c.joined {
		c.joined, c.first, c.next = true, seq, seq
	}
	if seq != c.next {
		c.t.Fatalf("joined at %d: got message %d, want %d", c.first, seq, c.next)
	}
	c.next++
}

// TestSimDestinationAddedToRunningStreamJoinsAndKeepsUp streams
// continuously to one destination of a multi-destination publication, adds
// a second mid-stream, and requires the newcomer to receive every message
// from its join position on while the publisher keeps going.
func TestSimDestinationAddedToRunningStreamJoinsAndKeepsUp(t *testing.T) {
	for _, seed := range []int64{4, 24} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			h := newSimHarness(t, seed, SimFaults{LossPermille: 200, DelayNs: 50_000})
			halfTerm := func(c *DriverConfig) {
				c.ReceiverWindow = TermLengthMin / 2
				c.PublicationWindow = TermLengthMin / 2
			}
			sd := h.driver(1, halfTerm)
			subA := mustSub(t, h.driver(2, halfTerm), "udp?endpoint=10.0.1.1:40002", 20, SubscriptionOptions{})
			subB := mustSub(t, h.driver(3, halfTerm), "udp?endpoint=10.0.1.2:40002", 20, SubscriptionOptions{})
			pub := mustPub(t, sd, "udp?control-mode=manual", 20)
			if err := pub.AddDestination("udp?endpoint=10.0.1.1:40002"); err != nil {
				t.Fatal(err)
			}
			h.until(100_000, "first destination connected", pub.IsConnected)
			rng := rand.New(rand.NewSource(seed))
			buf := make([]byte, 1000)
			a := &orderChecker{t: t, name: "a"}
			b := &joinChecker{t: t}
			asmA, asmB := NewFragmentAssembler(a.onMessage).Handler(), NewFragmentAssembler(b.onMessage).Handler()
			const total, addAt = 3000, 2000
			for sent := 0; sent < total; {
				if sent == addAt {
					if err := pub.AddDestination("udp?endpoint=10.0.1.2:40002"); err != nil {
						t.Fatal(err)
					}
				}
				msg := makeMessage(buf, uint64(sent), 12+rng.Intn(900), rng)
				for steps := 0; ; steps++ {
					if _, r := pub.Offer(msg); r == OfferOK {
						break
					}
					if steps > 200_000 {
						t.Fatalf("publisher stalled at message %d (b joined %v at %d, got to %d)", sent, b.joined, b.first, b.next)
					}
					h.step()
					subA.Poll(asmA, 64)
					subB.Poll(asmB, 64)
				}
				sent++
			}
			h.until(200_000, "both received every message", func() bool {
				subA.Poll(asmA, 64)
				subB.Poll(asmB, 64)
				return a.next == total && b.next == total
			})
			if b.first > addAt+uint64(total-addAt)/2 {
				t.Fatalf("b joined at message %d, long after it was added at %d", b.first, addAt)
			}
		})
	}
}

// TestSimReceiverLeftBehindRejoinsWithoutStallingTheStream cuts one of two
// destinations off for longer than the receiver timeout while the stream
// runs on more than a term, then heals the partition. The stranded receiver
// must neither stall the publisher (its status messages report a position
// retransmits no longer reach) nor stay stranded: its image goes
// unavailable and a new one joins at the current position.
func TestSimReceiverLeftBehindRejoinsWithoutStallingTheStream(t *testing.T) {
	h := newSimHarness(t, 14, SimFaults{DelayNs: 20_000})
	sd := h.driver(1, func(c *DriverConfig) { c.ReceiverTimeout = 50 * time.Millisecond })
	subA := mustSub(t, h.driver(2, nil), "udp?endpoint=10.0.1.1:40002", 20, SubscriptionOptions{})
	var lost *Image
	subB := mustSub(t, h.driver(3, nil), "udp?endpoint=10.0.1.2:40002", 20, SubscriptionOptions{
		OnUnavailableImage: func(img *Image) { lost = img }})
	pub := mustPub(t, sd, "udp?control-mode=manual", 20)
	for _, ep := range []string{"udp?endpoint=10.0.1.1:40002", "udp?endpoint=10.0.1.2:40002"} {
		if err := pub.AddDestination(ep); err != nil {
			t.Fatal(err)
		}
	}
	h.until(100_000, "both images", func() bool { return subA.ImageCount() == 1 && subB.ImageCount() == 1 })
	msg := make([]byte, 500)
	gotB := 0
	offer := func(n int) {
		for i := 0; i < n; i++ {
			for steps := 0; ; steps++ {
				if _, r := pub.Offer(msg); r == OfferOK {
					break
				}
				if steps > 100_000 {
					t.Fatalf("publisher stalled (b got %d)", gotB)
				}
				h.step()
				subA.Poll(func([]byte, *Header) {}, 64)
				gotB += subB.Poll(func([]byte, *Header) {}, 64)
			}
		}
	}
	offer(100)
	a, b := netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("10.0.1.2")
	h.net.SetPartitioned(a, b, true)
	offer(4 * TermLengthMin / len(msg)) // the receiver timeout passes and the stream runs on
	h.net.SetPartitioned(a, b, false)
	offer(1000)
	before := gotB
	h.until(100_000, "the stranded receiver rejoined and receives again", func() bool {
		// Keep the stream running, as a live source does: the receiver is
		// judged stranded only after strandedConfirmNs of frames beyond reach.
		pub.Offer(msg)
		subA.Poll(func([]byte, *Header) {}, 64)
		gotB += subB.Poll(func([]byte, *Header) {}, 64)
		return lost != nil && subB.ImageCount() == 1 && gotB > before
	})
	offer(1000)
}

// TestSimStatusFromReceiverOutOfReachDoesNotStallTheStream delivers a
// status message from a destination reporting a position more than a term
// behind the sender (a receiver that timed out of flow control while the
// stream ran on). Counting it would hold the sender below its own position
// for good, since retransmits no longer reach what it misses.
func TestSimStatusFromReceiverOutOfReachDoesNotStallTheStream(t *testing.T) {
	h := newSimHarness(t, 15, SimFaults{DelayNs: 20_000})
	sd := h.driver(1, nil)
	sub := mustSub(t, h.driver(2, nil), "udp?endpoint=10.0.1.1:40002", 20, SubscriptionOptions{})
	pub := mustPub(t, sd, "udp?control-mode=manual", 20)
	if err := pub.AddDestination("udp?endpoint=10.0.1.1:40002"); err != nil {
		t.Fatal(err)
	}
	h.until(100_000, "connected", pub.IsConnected)
	msg := make([]byte, 500)
	drain := func() { h.step(); sub.Poll(func([]byte, *Header) {}, 64) }
	for i := 0; i < 4*TermLengthMin/len(msg); i++ {
		offerRetry(t, pub, msg, drain)
	}
	h.until(100_000, "sender caught up", func() bool {
		sub.Poll(func([]byte, *Header) {}, 64)
		return pub.net.senderPos == int64(pub.Position())
	})
	stale := netip.MustParseAddrPort("10.0.1.2:40002")
	if err := pub.AddDestination("udp?endpoint=" + stale.String()); err != nil {
		t.Fatal(err)
	}
	sm := make([]byte, StatusLength)
	EncodeStatus(sm, 0, pub.SessionID(), pub.StreamID(), pub.InitialTermID(), 0, TermLengthMin/2, 99)
	pub.net.onStatus(ControlFrame(sm), 0, stale, h.clock.Now())
	for i := 0; i < 1000; i++ {
		for steps := 0; ; steps++ {
			if _, r := pub.Offer(msg); r == OfferOK {
				break
			}
			if steps > 10_000 { // 100 ms, well inside the 2 s receiver timeout
				t.Fatalf("publisher stalled at message %d", i)
			}
			drain()
		}
	}
}

// TestSimResumedSessionReplacesEndedImage closes a publication, then
// resumes its session (same session id, at its end position) from another
// publication. The receiver still holds the old, ended image until its
// liveness timeout; the new setup must replace it at once rather than be
// ignored until then.
func TestSimResumedSessionReplacesEndedImage(t *testing.T) {
	h := newSimHarness(t, 16, SimFaults{DelayNs: 20_000})
	sd, rd := h.driver(1, nil), h.driver(2, nil)
	sub := mustSub(t, rd, "udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{})
	first := mustPub(t, sd, "udp?endpoint=10.0.0.2:40001|session-id=77", 10)
	h.runStream(first, []*Subscription{sub}, streamSpec{count: 100, sizeMax: 300})
	end := int64(first.Position())
	first.Close()
	h.until(100_000, "first publication retired", func() bool {
		sub.Poll(func([]byte, *Header) {}, 64)
		return len(*sd.sender.pubs.Load()) == 0
	})
	termID := first.InitialTermID() + int32(end/int64(first.TermLength()))
	ch := fmt.Sprintf("udp?endpoint=10.0.0.2:40001|session-id=77|init-term-id=%d|term-id=%d|term-offset=%d",
		first.InitialTermID(), termID, end%int64(first.TermLength()))
	second := mustPub(t, sd, ch, 10)
	got := 0
	h.until(20_000, "the resumed session's first message within 200 ms", func() bool {
		second.Offer([]byte("resumed"))
		got += sub.Poll(func([]byte, *Header) {}, 64)
		return got > 0
	})
	if img := sub.Images()[0]; img.JoinPosition() != Position(end) {
		t.Fatalf("resumed image joined at %d, want %d", img.JoinPosition(), end)
	}
}

// TestSimOneFrameBeyondReachDoesNotEndALiveImage forges a single data frame
// that claims a position more than a term ahead (a corrupt or hostile
// datagram with a bogus term id). The image must drop it and live on: only
// frames that keep showing the source beyond reach for strandedConfirmNs,
// with none within reach, mean the receiver was left behind.
func TestSimOneFrameBeyondReachDoesNotEndALiveImage(t *testing.T) {
	h := newSimHarness(t, 16, SimFaults{})
	sd := h.driver(1, nil)
	rd := h.driver(2, nil)
	var lost *Image
	sub := mustSub(t, rd, "udp?endpoint=10.0.1.1:40002", 20, SubscriptionOptions{
		OnUnavailableImage: func(img *Image) { lost = img }})
	pub := mustPub(t, sd, "udp?endpoint=10.0.1.1:40002", 20)
	h.until(100_000, "connected", pub.IsConnected)
	msg := make([]byte, 100)
	got := 0
	var termID int32
	onMsg := func(_ []byte, hd *Header) { termID = hd.TermID() }
	send := func(n int) {
		for i := 0; i < n; {
			if _, r := pub.Offer(msg); r == OfferOK {
				i++
			}
			h.step()
			got += sub.Poll(onMsg, 64)
		}
	}
	send(50)
	img := sub.Images()[0]
	forged := make([]byte, HeaderLength+len(msg))
	fh := FrameHeader(forged)
	fh.SetFrameLength(int32(len(forged)))
	fh.SetVersion(CurrentVersion)
	fh.SetFlags(FlagsUnfragmented)
	fh.SetType(TypeData)
	fh.SetSessionID(img.SessionID())
	fh.SetStreamID(20)
	fh.SetTermID(termID + 3) // three terms beyond the stream: out of reach
	ep := (*rd.receiver.eps.Load())[0]
	ParseDatagram(forged, ep)
	send(50)
	h.until(100_000, "every message", func() bool {
		got += sub.Poll(onMsg, 64)
		return got == 100
	})
	if lost != nil || sub.ImageCount() != 1 {
		t.Fatalf("one forged frame ended the image (lost %v, images %d)", lost != nil, sub.ImageCount())
	}
}
