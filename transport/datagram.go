package transport

import (
	"net/netip"
	"time"
)

// Datagram is one UDP payload with its peer address. On receive Buf is the
// caller's buffer, N is set to the bytes received and Addr to the source; on
// send Buf[:N] is sent to Addr.
type Datagram struct {
	Buf  []byte
	N    int
	Addr netip.AddrPort
}

// DatagramConn is the datagram layer the sender and receiver use: a bound
// socket that moves batches. Real UDP sockets implement it with
// recvmmsg/sendmmsg; SimNetwork implements it with seeded faults so that a
// test or the simulator can drive the transport deterministically.
type DatagramConn interface {
	// ReadBatch receives up to len(ds) datagrams without blocking and
	// returns how many it filled (0 when none are waiting, or, for a UDP
	// socket the driver watches, when none were at its duty cycle's
	// readiness refresh: see udpConn.ReadBatch).
	ReadBatch(ds []Datagram) (int, error)
	// WriteBatch sends ds and returns how many were sent.
	WriteBatch(ds []Datagram) (int, error)
	// LocalAddr returns the bound address.
	LocalAddr() netip.AddrPort
	// Close releases the socket.
	Close() error
}

// ReadWaiter is implemented by conns that can block until readable, which is
// what BlockingIdleStrategy uses to park in the network poller.
type ReadWaiter interface {
	// WaitReadable blocks until a datagram is waiting or timeout passes.
	WaitReadable(timeout time.Duration) bool
}

// MulticastOptions configures a multicast socket.
type MulticastOptions struct {
	Interface string // e.g. "lo"; empty means the system default
	TTL       int
	Loopback  bool
}

// Network opens DatagramConns: UDPNetwork for real sockets, SimNetwork for
// tests and simulation.
type Network interface {
	// ListenUnicast binds addr (port 0 picks one).
	ListenUnicast(addr netip.AddrPort) (DatagramConn, error)
	// ListenMulticast binds group's port, joins group and sets the sending
	// options.
	ListenMulticast(group netip.AddrPort, opts MulticastOptions) (DatagramConn, error)
	// SenderConn opens a socket that sends to destinations (multicast
	// options apply when any destination is a group) and receives control.
	SenderConn(local netip.AddrPort, opts MulticastOptions) (DatagramConn, error)
}
