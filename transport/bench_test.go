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
