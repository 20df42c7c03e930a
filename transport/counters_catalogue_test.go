package transport

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestStreamAndSystemCountersVisibleThroughMappedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), CountersFileName)
	cm, err := CreateCountersFile(path, 256)
	if err != nil {
		t.Fatal(err)
	}
	defer cm.Close()
	h := newSimHarness(t, 1, SimFaults{LossPermille: 50, DelayNs: 10_000})
	sd := h.driver(1, func(c *DriverConfig) { c.Counters = cm })
	rd := h.driver(2, nil)
	sub := mustSub(t, rd, "udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{})
	pub := mustPub(t, sd, "udp?endpoint=10.0.0.2:40001", 10)
	spy := mustSub(t, sd, "spy:udp?endpoint=10.0.0.2:40001", 10, SubscriptionOptions{})
	h.runStream(pub, []*Subscription{sub, spy}, streamSpec{count: 300, sizeMax: 200})

	r, err := OpenCountersFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	values := map[string]int64{}
	types := map[string]int32{}
	r.ForEach(func(c CounterInfo) {
		kind, _, _ := strings.Cut(c.Label, ":")
		values[kind] = c.Value
		types[kind] = c.TypeID
	})
	pos := int64(pub.Position())
	for kind, typeID := range map[string]int32{"pub-pos": CounterPublisherPosition, "pub-lmt": CounterPublisherLimit,
		"snd-pos": CounterSenderPosition, "snd-lmt": CounterSenderLimit, "sub-pos": CounterSubscriberPosition} {
		if types[kind] != typeID {
			t.Errorf("counter %s: type %d want %d", kind, types[kind], typeID)
		}
	}
	if values["snd-pos"] != pos || values["sub-pos"] != pos {
		t.Errorf("sender position %d, spy position %d, want %d", values["snd-pos"], values["sub-pos"], pos)
	}
	if values["pub-lmt"] <= values["pub-pos"]-1 || values["snd-lmt"] < values["snd-pos"] {
		t.Errorf("limits behind positions: %v", values)
	}
	for _, name := range []string{"Bytes sent", "Datagrams sent", "Status messages received", "Setup frames sent",
		"NAKs received", "Retransmits sent"} {
		if values[name] == 0 {
			t.Errorf("system counter %q is zero", name)
		}
	}
	// The receiver's own catalogue (in memory) has the image counters.
	var hwm, rcv int64
	rd.Counters().Reader().ForEach(func(c CounterInfo) {
		switch c.TypeID {
		case CounterReceiverHWM:
			hwm = c.Value
		case CounterReceiverPosition:
			rcv = c.Value
		}
	})
	if hwm != pos || rcv != pos {
		t.Errorf("receiver hwm %d position %d, want %d", hwm, rcv, pos)
	}
}

func TestDedicatedAndSharedThreadingOverLoopback(t *testing.T) {
	for _, mode := range []ThreadingMode{ThreadingDedicated, ThreadingShared} {
		t.Run(mode.String(), func(t *testing.T) {
			mk := func(seed int64, idle func() IdleStrategy) *Driver {
				d, err := NewDriver(DriverConfig{Threading: mode, Seed: seed, TermLength: 1 << 20, NewIdleStrategy: idle})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { d.Close() })
				return d
			}
			ep := "udp?endpoint=127.0.0.1:" + itoa(freeUDPPort(t))
			sd := mk(1, func() IdleStrategy { return NewBackoffIdleStrategy() })
			rd := mk(2, nil) // default: blocking in the poller
			sub := mustSub(t, rd, ep, 1, SubscriptionOptions{})
			pub := mustPub(t, sd, ep, 1)
			streamOverReal(t, pub, []*Subscription{sub}, 2000, 300)
		})
	}
}

// TestConstantRelationships pins the bounds that other bounds rely on.
func TestConstantRelationships(t *testing.T) {
	checks := []struct {
		ok   bool
		what string
	}{
		{MaxDatagramLengthDefault >= MTULengthDefault, "the default receive buffer holds a default-MTU datagram"},
		{MTULengthDefault%FrameAlignment == 0 && CheckMTU(MTULengthDefault) == nil, "default MTU is valid"},
		{TermLengthMin >= MTULengthMax, "a max-size frame fits a term"},
		{MaxMessageLength(TermLengthMax) == MessageLengthMax, "messages are capped at 16 MiB"},
		{gapScanLengthMax <= TermLengthMin, "a loss scan stays inside one term"},
		{controlBufferLength >= StatusLength && controlBufferLength >= NAKLength, "control buffers hold a control frame"},
		{StatusLength%8 == 0 && SetupLength%8 == 0 && HeaderLength == FrameAlignment, "control frames are word aligned"},
		{sendBatchMax >= 1 && receiveBatchMax >= 1 && controlOutMax >= nakGapsMax+1, "a cycle can NAK every gap and send a status message"},
		{int64(nakRetryDefault) > int64(nakUnicastDelayDefault), "NAK retries back off beyond the first delay"},
		{imageLivenessTimeoutDefault > 10*heartbeatIntervalDefault, "liveness survives several lost heartbeats"},
		{publicationConnectionTimeoutDefault > 10*statusMessageIntervalDefault, "connection survives several lost status messages"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("violated: %s", c.what)
		}
	}
}

func TestChannelParsing(t *testing.T) {
	good := []string{"ipc", "aeron:ipc", "udp?endpoint=127.0.0.1:1", "aeron:udp?endpoint=239.1.1.1:5|interface=lo|ttl=1",
		"udp?control-mode=manual", "udp?control-mode=manual|control=127.0.0.1:9|fc=max", "spy:udp?endpoint=127.0.0.1:1",
		"udp?endpoint=127.0.0.1:1|term-length=65536|mtu=8192", "udp?endpoint=239.1.1.1:5|loopback=false"}
	for _, ch := range good {
		if _, err := parseChannel(ch); err != nil {
			t.Errorf("%q: %v", ch, err)
		}
	}
	bad := []string{"", "tcp://x", "udp?", "udp?endpoint=nohost", "udp?endpoint=1.2.3.4:5|bogus=1", "spy:ipc",
		"udp?control-mode=dynamic", "udp?endpoint=1.2.3.4:5|fc=avg", "udp?endpoint=1.2.3.4:5|loopback=maybe"}
	for _, ch := range bad {
		if _, err := parseChannel(ch); err == nil {
			t.Errorf("%q parsed", ch)
		}
	}
	d := newIPCDriver(t, TermLengthMin)
	if _, err := d.AddPublication("udp?endpoint=127.0.0.1:1|term-length=1000", 1); err == nil {
		t.Error("bad term length accepted")
	}
	p := mustPub(t, d, "ipc", 1)
	if err := p.AddDestination("127.0.0.1:5"); err != ErrNotMDC {
		t.Errorf("AddDestination on IPC: %v", err)
	}
}
