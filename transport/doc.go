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
// Threading: a Publication is used by one goroutine at a time; a
// Subscription (and its Images) is polled by one goroutine, on which its
// image callbacks also run. The driver's agents run on their own goroutines
// or on the caller's (ThreadingInvoker), always with time passed in.
package transport
