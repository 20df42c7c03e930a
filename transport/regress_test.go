package transport

import (
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
