// Package transport moves position-addressed streams between publishers and
// subscribers, Aeron-style, in one process (IPC) or over UDP unicast,
// multicast and multi-destination unicast.
//
// It owns: log buffers (three term partitions of 32-byte-aligned frames,
// frame.go), publications (Offer, OfferVectored, TryClaim; never blocking,
// returning a position or an OfferResult), subscriptions and images (Poll,
// ControlledPoll, BoundedPoll, end of stream, fragment reassembly), and the
// driver that moves network streams: the sender (many frames per datagram,
// batched sendmmsg, setup, heartbeats, retransmits), the receiver (rebuild by
// position, duplicate and reorder handling, loss detection and NAKs, status
// messages) and the conductor (housekeeping). Flow control is receiver
// driven: status messages carry a consumption position and window that set
// the sender limit (unicast, min or max across receivers). Counters for every
// position and system event live in a CountersManager that other processes
// can map. Agents, idle strategies (including blocking in the network
// poller) and the datagram layer (real UDP or the seeded SimNetwork) are
// small interfaces so a simulator can drive everything with a fake clock.
//
// It does not know what a message means, persist anything (the archive
// records streams), or decide what is committed (the cluster does, using
// BoundedPoll to stop at its commit position).
//
// Using it:
//
//	d, _ := transport.NewDriver(transport.DriverConfig{})       // agents on one goroutine, blocking idle
//	pub, _ := d.AddPublication("udp?endpoint=10.0.0.2:40123", 10) // or "ipc", or a multicast group
//	sub, _ := d.AddSubscription("udp?endpoint=10.0.0.2:40123", 10, transport.SubscriptionOptions{})
//	pos, r := pub.Offer(msg)          // r is OK, NotConnected, BackPressured, AdminAction, Closed, ...
//	sub.Poll(asm.Handler(), 10)       // asm := transport.NewFragmentAssembler(handler)
//
// Multi-destination: AddPublication("udp?control-mode=manual", id) then
// pub.AddDestination("10.0.0.3:40123") / RemoveDestination at run time (min
// flow control with a receiver timeout; fc=max for the fastest). A receiver
// joins a running stream at the sender position of the setup it gets, and
// min flow control holds the sender near there until the newcomer's first
// status message, so that it never falls out of retransmit reach. Spy:
// AddSubscription("spy:udp?endpoint=...", id) reads a local network
// publication's log in place. A publication can continue a stream at a
// position: "...|init-term-id=I|term-id=T|term-offset=O|session-id=S".
// Images offer Poll, ControlledPoll, BoundedPoll (stop at a limit position)
// and BlockPoll (raw frames for recording; ControlledBlockPoll may refuse a
// block, leaving the image where it was). Tests and the simulator pass a
// SimNetwork (or a FaultyNetwork over real UDP) as DriverConfig.Network,
// ThreadingInvoker and a fake Clock, and call Driver.DoWork themselves.
//
// Threading: a Publication is used by one goroutine at a time; a
// Subscription (and its Images) is polled by one goroutine, on which its
// image callbacks also run. The driver's agents run on their own goroutines
// or on the caller's (ThreadingInvoker), always with time passed in.
package transport
