package transport

import (
	"math/rand"
	"net/netip"
	"testing"
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
