package marketdata

import (
	"errors"
	"time"
)

// Conn is a best-effort datagram endpoint: the seam between market data and
// the network. UDPConn is the real one; FakeNetwork makes seeded in-memory
// ones. Market data never retransmits, so Conn has no notion of reliability:
// a datagram that cannot be sent at once is dropped and the subscriber heals
// the gap from a snapshot. Send and the receive methods may be used from one
// goroutine each.
type Conn interface {
	// Send sends one datagram without blocking; ErrWouldBlock when the
	// socket's buffer is full (the datagram was not sent; the caller may
	// try again later).
	Send(p []byte) error
	// TryReceive copies the next waiting datagram into buf and returns its
	// length, or 0 at once when none is waiting.
	TryReceive(buf []byte) (int, error)
	// Receive is TryReceive that waits up to timeout for a datagram; it
	// returns 0 and no error on timeout.
	Receive(buf []byte, timeout time.Duration) (int, error)
	// Close releases the endpoint; later calls return ErrClosed.
	Close() error
}

// Conn errors.
var (
	ErrWouldBlock = errors.New("marketdata: socket send buffer full")
	ErrClosed     = errors.New("marketdata: connection closed")
)

// BatchConn is a Conn that moves many datagrams per system call (sendmmsg
// and recvmmsg on Linux). The publisher and Subscriber.Run use it when the
// Conn offers it.
type BatchConn interface {
	Conn
	// SendBatch sends the datagrams in order without blocking and returns how
	// many went; ErrWouldBlock when the socket's buffer filled before the
	// rest (which the caller may send later).
	SendBatch(pkts [][]byte) (int, error)
	// ReceiveBatch waits up to timeout for at least one datagram, then reads
	// up to len(bufs) datagrams, storing each length in sizes. It returns 0
	// and no error on timeout.
	ReceiveBatch(bufs [][]byte, sizes []int, timeout time.Duration) (int, error)
}
