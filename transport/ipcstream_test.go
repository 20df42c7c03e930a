package transport

import (
	"sync"
	"testing"
)

// BenchmarkIPCStreamTwoGoroutines measures a publisher and a subscriber on
// separate goroutines (the "venue bench transport --media ipc --mode stream"
// shape) with 32-byte messages.
func BenchmarkIPCStreamTwoGoroutines(b *testing.B) {
	d := newIPCDriver(b, TermLengthDefault)
	sub := mustSub(b, d, "ipc", 1, SubscriptionOptions{})
	pub := mustPub(b, d, "ipc", 1)
	msg := make([]byte, 32)
	var wg sync.WaitGroup
	wg.Add(1)
	b.ReportAllocs()
	b.SetBytes(32)
	b.ResetTimer()
	go func() {
		defer wg.Done()
		got := 0
		handler := FragmentHandler(func([]byte, *Header) { got++ })
		for got < b.N {
			sub.Poll(handler, 1024)
		}
	}()
	for i := 0; i < b.N; i++ {
		for {
			if _, r := pub.Offer(msg); r == OfferOK {
				break
			}
		}
	}
	wg.Wait()
}
