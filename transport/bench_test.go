package transport

import "testing"

// BenchmarkIPCOfferPoll measures one 32-byte offer plus its poll; it must
// report 0 allocs/op.
func BenchmarkIPCOfferPoll(b *testing.B) {
	d := newIPCDriver(b, TermLengthDefault)
	sub := mustSub(b, d, "ipc", 1, SubscriptionOptions{})
	pub := mustPub(b, d, "ipc", 1)
	msg := make([]byte, 32)
	handler := FragmentHandler(func([]byte, *Header) {})
	b.ReportAllocs()
	b.SetBytes(32)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for {
			if _, r := pub.Offer(msg); r == OfferOK {
				break
			}
			sub.Poll(handler, 256)
		}
		if i&63 == 63 {
			sub.Poll(handler, 256)
		}
	}
}

// BenchmarkIPCTryClaim measures zero-copy claims.
func BenchmarkIPCTryClaim(b *testing.B) {
	d := newIPCDriver(b, TermLengthDefault)
	sub := mustSub(b, d, "ipc", 1, SubscriptionOptions{})
	pub := mustPub(b, d, "ipc", 1)
	handler := FragmentHandler(func([]byte, *Header) {})
	var c BufferClaim
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for {
			if _, r := pub.TryClaim(32, &c); r == OfferOK {
				break
			}
			sub.Poll(handler, 256)
		}
		c.Buffer()[0] = byte(i)
		c.Commit()
		if i&63 == 63 {
			sub.Poll(handler, 256)
		}
	}
}

// BenchmarkFragmentAssembler measures reassembly of 4 KiB messages.
func BenchmarkFragmentAssembler(b *testing.B) {
	d := newIPCDriver(b, TermLengthDefault)
	sub := mustSub(b, d, "ipc", 1, SubscriptionOptions{})
	pub := mustPub(b, d, "ipc", 1)
	msg := make([]byte, 4096)
	asm := NewFragmentAssembler(func([]byte, *Header) {})
	h := asm.Handler()
	b.ReportAllocs()
	b.SetBytes(4096)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for {
			if _, r := pub.Offer(msg); r == OfferOK {
				break
			}
			sub.Poll(h, 256)
		}
		sub.Poll(h, 256)
	}
}

// BenchmarkUDPOfferPoll measures a 32-byte message through a real loopback
// socket pair, with both drivers invoked on the benchmark goroutine; the
// steady state must not allocate per message.
func BenchmarkUDPOfferPoll(b *testing.B) {
	ep := "udp?endpoint=127.0.0.1:" + itoa(freeUDPPort(b))
	mk := func(seed int64) *Driver {
		d, err := NewDriver(DriverConfig{Threading: ThreadingInvoker, Seed: seed, TermLength: 1 << 22})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { d.Close() })
		return d
	}
	sd, rd := mk(1), mk(2)
	sub := mustSub(b, rd, ep, 1, SubscriptionOptions{})
	pub := mustPub(b, sd, ep, 1)
	for !pub.IsConnected() || sub.ImageCount() == 0 {
		sd.DoWork(MonotonicNanos())
		rd.DoWork(MonotonicNanos())
	}
	msg := make([]byte, 32)
	handler := FragmentHandler(func([]byte, *Header) {})
	b.ReportAllocs()
	b.SetBytes(32)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for {
			if _, r := pub.Offer(msg); r == OfferOK {
				break
			}
			sd.DoWork(MonotonicNanos())
			rd.DoWork(MonotonicNanos())
			sub.Poll(handler, 1024)
		}
		if i&255 == 255 {
			sd.DoWork(MonotonicNanos())
			rd.DoWork(MonotonicNanos())
			sub.Poll(handler, 1024)
		}
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}

// BenchmarkUDPRoundTrip sends one 200-byte message per datagram each way
// (ping, echo) through loopback sockets, both drivers invoked on the
// benchmark goroutine: one datagram per message must not allocate either.
func BenchmarkUDPRoundTrip(b *testing.B) {
	mk := func(seed int64) *Driver {
		d, err := NewDriver(DriverConfig{Threading: ThreadingInvoker, Seed: seed, TermLength: 1 << 20})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { d.Close() })
		return d
	}
	a, z := mk(1), mk(2)
	chA, chZ := "udp?endpoint=127.0.0.1:"+itoa(freeUDPPort(b)), "udp?endpoint=127.0.0.1:"+itoa(freeUDPPort(b))
	subZ := mustSub(b, z, chA, 1, SubscriptionOptions{})
	subA := mustSub(b, a, chZ, 2, SubscriptionOptions{})
	pubA := mustPub(b, a, chA, 1)
	pubZ := mustPub(b, z, chZ, 2)
	duty := func() { a.DoWork(MonotonicNanos()); z.DoWork(MonotonicNanos()) }
	for !pubA.IsConnected() || !pubZ.IsConnected() || subA.ImageCount() == 0 || subZ.ImageCount() == 0 {
		duty()
	}
	msg := make([]byte, 200)
	echo := FragmentHandler(func(p []byte, _ *Header) {
		for {
			if _, r := pubZ.Offer(p); r == OfferOK {
				return
			}
			duty()
		}
	})
	got := false
	pong := FragmentHandler(func([]byte, *Header) { got = true })
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for {
			if _, r := pubA.Offer(msg); r == OfferOK {
				break
			}
			duty()
		}
		for got = false; !got; {
			duty()
			subZ.Poll(echo, 10)
			duty()
			subA.Poll(pong, 10)
		}
	}
}
