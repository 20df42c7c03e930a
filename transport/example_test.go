package transport_test

import (
	"fmt"

	"venue/transport"
)

// An IPC stream: offer, then poll in place. Over UDP only the channel
// changes ("udp?endpoint=127.0.0.1:40123"), and the driver's agents move
// the data.
func Example() {
	d, err := transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingInvoker, TermLength: transport.TermLengthMin})
	if err != nil {
		panic(err)
	}
	defer d.Close()
	sub, _ := d.AddSubscription("ipc", 1, transport.SubscriptionOptions{})
	pub, _ := d.AddPublication("ipc", 1)

	pos, result := pub.Offer([]byte("hello"))
	fmt.Println(pos, result)

	asm := transport.NewFragmentAssembler(func(msg []byte, h *transport.Header) {
		fmt.Printf("%s at %d\n", msg, h.Position())
	})
	sub.Poll(asm.Handler(), 10)
	// Output:
	// 64 OK
	// hello at 64
}
