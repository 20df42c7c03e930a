package transport

import (
	"net/netip"
	"testing"
	"time"
)

func TestMultiFlowControlMinMaxAndTimeout(t *testing.T) {
	const timeout = 100
	minFC, maxFC := newMultiFlowControl(false, timeout), newMultiFlowControl(true, timeout)
	for _, fc := range []*multiFlowControl{minFC, maxFC} {
		fc.onStatus(1, netip.AddrPort{}, 1000, 500, 0)  // slow receiver: limit 1500
		fc.onStatus(2, netip.AddrPort{}, 4000, 500, 0)  // fast receiver: limit 4500
		fc.onStatus(2, netip.AddrPort{}, 3000, 500, 10) // a reordered, older status never lowers a limit
	}
	if got := minFC.limit(50); got != 1500 {
		t.Errorf("min limit %d, want the slowest 1500", got)
	}
	if got := maxFC.limit(50); got != 4500 {
		t.Errorf("max limit %d, want the fastest 4500", got)
	}
	// Receiver 1 falls silent; after the timeout only receiver 2 counts.
	minFC.onStatus(2, netip.AddrPort{}, 5000, 500, 150)
	if got := minFC.limit(150); got != 5500 || minFC.receivers() != 1 {
		t.Errorf("after timeout: limit %d receivers %d, want 5500 and 1", got, minFC.receivers())
	}
	// Everyone gone: the limit holds at the last value.
	if got := minFC.limit(1000); got != 5500 || minFC.receivers() != 0 {
		t.Errorf("no receivers: limit %d receivers %d", got, minFC.receivers())
	}
}

func TestMalformedAndForeignDatagramsAreCountedAndDropped(t *testing.T) {
	h := newSimHarness(t, 12, SimFaults{DelayNs: 10_000})
	sd, rd := h.driver(1, nil), h.driver(2, nil)
	sub := mustSub(t, rd, "udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{})
	pub := mustPub(t, sd, "udp?endpoint=10.0.0.2:40001", 10)
	h.until(10000, "connected", pub.IsConnected)
	attacker, err := h.net.SenderConn(netip.MustParseAddrPort("10.0.0.9:0"), MulticastOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rcv := netip.MustParseAddrPort("10.0.0.2:40001")
	snd := (*sd.sender.pubs.Load())[0].conn.LocalAddr()
	garbage := [][]byte{
		{1, 2, 3},               // truncated header
		make([]byte, 100),       // zero version
		make([]byte, 9000),      // oversized (beyond MaxDatagramLength)
		fuzzSeedDatagrams()[11], // frame length beyond the datagram
		fuzzSeedDatagrams()[13], // unaligned term offset
		fuzzSeedDatagrams()[8],  // a NAK sent to a receiver
	}
	var ds []Datagram
	for _, g := range garbage {
		ds = append(ds, Datagram{Buf: g, N: len(g), Addr: rcv}, Datagram{Buf: g, N: len(g), Addr: snd})
	}
	before := rd.SystemCounters().InvalidFrames.Get() + sd.SystemCounters().InvalidFrames.Get()
	attacker.WriteBatch(ds)
	h.runStream(pub, []*Subscription{sub}, streamSpec{count: 200, sizeMax: 300})
	after := rd.SystemCounters().InvalidFrames.Get() + sd.SystemCounters().InvalidFrames.Get()
	if after-before < int64(2*len(garbage)) {
		t.Fatalf("invalid frames counted %d, want >= %d", after-before, 2*len(garbage))
	}
}

func TestMinFlowControlHoldsForJoiningReceiver(t *testing.T) {
	a, b := netip.MustParseAddrPort("10.0.0.1:1"), netip.MustParseAddrPort("10.0.0.2:1")
	fc := newMultiFlowControl(false, int64(time.Second))
	fc.onStatus(1, a, 1000, 5000, 0) // limit 6000
	fc.onJoin(b, 2000, 3000, 0)      // newcomer joins at 2000: hold at 3000
	fc.onJoin(b, 2500, 3500, 0)      // a repeated setup keeps the earliest hold
	if got := fc.limit(10); got != 3000 || fc.receivers() != 1 || !fc.reached(1000) {
		t.Errorf("joining: limit %d receivers %d reached %v, want 3000, 1, true", got, fc.receivers(), fc.reached(1000))
	}
	fc.onStatus(2, b, 2000, 5000, 20) // its first status message replaces the hold
	if got := fc.limit(30); got != 6000 || fc.receivers() != 2 || fc.reached(1500) {
		t.Errorf("joined: limit %d receivers %d reached %v, want 6000, 2, false", got, fc.receivers(), fc.reached(1500))
	}
	fc.onJoin(netip.MustParseAddrPort("10.0.0.3:1"), 2000, 2500, 40) // nobody listens there
	if got := fc.limit(40 + joinTimeoutNs + 1); got != 6000 {
		t.Errorf("after the join timeout: limit %d, want 6000", got)
	}
	maxFC := newMultiFlowControl(true, int64(time.Second))
	maxFC.onJoin(b, 0, 0, 0)
	if len(maxFC.rs) != 0 {
		t.Error("max flow control held for a joining receiver")
	}
}
