package transport

import (
	"math/rand"
	"net/netip"
	"sync"
)

// FaultyNetwork wraps another Network (normally real UDP) and drops,
// duplicates and reorders outgoing datagrams with seeded probabilities, so
// the reliability tests can run over real sockets on a kernel without
// tc netem.
type FaultyNetwork struct {
	Inner  Network
	Seed   int64
	Faults SimFaults // LossPermille, DuplicatePermille, ReorderPermille (delays unused)

	mu  sync.Mutex
	rng *rand.Rand
}

func (n *FaultyNetwork) wrap(c DatagramConn, err error) (DatagramConn, error) {
	if err != nil {
		return nil, err
	}
	n.mu.Lock()
	if n.rng == nil {
		n.rng = rand.New(rand.NewSource(n.Seed))
	}
	n.mu.Unlock()
	return &faultyConn{DatagramConn: c, n: n}, nil
}

// ListenUnicast wraps Inner.ListenUnicast.
func (n *FaultyNetwork) ListenUnicast(a netip.AddrPort) (DatagramConn, error) {
	return n.wrap(n.Inner.ListenUnicast(a))
}

// ListenMulticast wraps Inner.ListenMulticast.
func (n *FaultyNetwork) ListenMulticast(g netip.AddrPort, o MulticastOptions) (DatagramConn, error) {
	return n.wrap(n.Inner.ListenMulticast(g, o))
}

// SenderConn wraps Inner.SenderConn.
func (n *FaultyNetwork) SenderConn(a netip.AddrPort, o MulticastOptions) (DatagramConn, error) {
	return n.wrap(n.Inner.SenderConn(a, o))
}

type faultyConn struct {
	DatagramConn
	n    *FaultyNetwork
	out  []Datagram
	held []byte // one datagram held back for reordering
	hAt  netip.AddrPort
}

// WriteBatch applies the faults, then sends what survives.
func (c *faultyConn) WriteBatch(ds []Datagram) (int, error) {
	c.out = c.out[:0]
	c.n.mu.Lock()
	f := c.n.Faults
	for _, d := range ds {
		switch r := c.n.rng.Intn(1000); {
		case r < f.LossPermille:
		case r < f.LossPermille+f.DuplicatePermille:
			c.out = append(c.out, d, d)
		case r < f.LossPermille+f.DuplicatePermille+f.ReorderPermille && c.held == nil:
			c.held, c.hAt = append([]byte(nil), d.Buf[:d.N]...), d.Addr
		default:
			c.out = append(c.out, d)
			if c.held != nil {
				c.out = append(c.out, Datagram{Buf: c.held, N: len(c.held), Addr: c.hAt})
				c.held = nil
			}
		}
	}
	c.n.mu.Unlock()
	if len(c.out) > 0 {
		if _, err := c.DatagramConn.WriteBatch(c.out); err != nil {
			return 0, err
		}
	}
	return len(ds), nil
}

// sysfd exposes the wrapped socket to the driver's waiter.
func (c *faultyConn) sysfd() int {
	if fc, ok := c.DatagramConn.(fdConn); ok {
		return fc.sysfd()
	}
	return -1
}

// gate binds the wrapped socket's reads to the waiter's readiness.
func (c *faultyConn) gate(w *socketWaiter) {
	if fc, ok := c.DatagramConn.(fdConn); ok {
		fc.gate(w)
	}
}
