package transport

import (
	"testing"
	"time"
)

// TestQuietInterval: the quiet interval is idleIntervalFactor intervals,
// capped at a quarter of the timeout it keeps alive, never below one
// interval.
func TestQuietInterval(t *testing.T) {
	ms := time.Millisecond
	for _, c := range []struct {
		interval, timeout time.Duration
		want              int64
	}{
		{10 * ms, 2 * time.Second, int64(idleIntervalFactor * 10 * ms)},
		{10 * ms, 50 * ms, int64(50 * ms / 4)},
		{10 * ms, 20 * ms, int64(10 * ms)},
	} {
		if got := quietInterval(c.interval, c.timeout); got != c.want {
			t.Errorf("quietInterval(%v, %v) = %d, want %d", c.interval, c.timeout, got, c.want)
		}
	}
	var cfg DriverConfig
	cfg.applyDefaults()
	if cfg.quietStatusNs*4 > int64(min(cfg.PublicationConnectionTimeout, cfg.ReceiverTimeout)) {
		t.Fatalf("defaults: quiet status interval %d ns outruns its timeouts", cfg.quietStatusNs)
	}
}

// TestSimQuietStreamRepeatsLessOften: once a stream goes quiet, its
// receiver sends status messages at the quiet interval, not every interval
// (its sender still heartbeats every interval), the stream stays
// connected, and new data flows at once.
func TestSimQuietStreamRepeatsLessOften(t *testing.T) {
	h := newSimHarness(t, 11, SimFaults{DelayNs: 10_000})
	sd, rd := h.driver(1, nil), h.driver(2, nil)
	sub := mustSub(t, rd, "udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{})
	pub := mustPub(t, sd, "udp?endpoint=10.0.0.2:40001", 10)
	h.until(10000, "connected", func() bool { return pub.IsConnected() && sub.ImageCount() == 1 })
	got := 0
	poll := func() { sub.Poll(func([]byte, *Header) { got++ }, 10) }
	if _, r := pub.Offer([]byte("tail")); r != OfferOK {
		t.Fatalf("offer: %v", r)
	}
	h.until(10000, "delivered", func() bool { poll(); return got == 1 })
	hb, sm := sd.SystemCounters().HeartbeatsSent.Get(), rd.SystemCounters().StatusMessagesSent.Get()
	quiet := 500 * time.Millisecond
	for range int(quiet / time.Duration(simStepNs)) {
		h.step()
		poll()
	}
	hbN := sd.SystemCounters().HeartbeatsSent.Get() - hb
	smN := rd.SystemCounters().StatusMessagesSent.Get() - sm
	most := int64(quiet/(idleIntervalFactor*statusMessageIntervalDefault)) + 1
	if smN > most || smN == 0 || hbN < int64(quiet/heartbeatIntervalDefault)-1 {
		t.Fatalf("%v quiet: %d status messages, want 1..%d; %d heartbeats", quiet, smN, most, hbN)
	}
	if !pub.IsConnected() || sub.ImageCount() != 1 {
		t.Fatalf("quiet stream lost: connected %v images %d", pub.IsConnected(), sub.ImageCount())
	}
	if _, r := pub.Offer([]byte("again")); r != OfferOK {
		t.Fatalf("offer after quiet: %v", r)
	}
	h.until(1000, "delivered after quiet", func() bool { poll(); return got == 2 })
}
