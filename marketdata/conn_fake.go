package marketdata

import (
	"math/rand/v2"
	"sync"
	"time"
)

// FakeFaults are a FakeNetwork's fault probabilities, in parts per thousand
// per datagram per receiver.
type FakeFaults struct {
	LossPermille      int // the datagram is not delivered
	DuplicatePermille int // the datagram is delivered twice
	ReorderPermille   int // the datagram overtakes the one queued before it
}

// fakeQueueLengthDefault bounds a fake receiver's queue, like a socket
// receive buffer; datagrams beyond it are dropped.
const fakeQueueLengthDefault = 1 << 12

// FakeNetwork is a seeded in-memory datagram network for deterministic tests:
// every send to an address is copied to each receiver on that address, with
// seeded loss, duplication and reordering. The same seed and the same calls
// give the same deliveries. Safe for concurrent use.
type FakeNetwork struct {
	mu        sync.Mutex
	rng       *rand.Rand
	faults    FakeFaults
	receivers map[string][]*FakeConn
}

// NewFakeNetwork returns an empty network.
func NewFakeNetwork(seed uint64, faults FakeFaults) *FakeNetwork {
	return &FakeNetwork{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), faults: faults,
		receivers: map[string][]*FakeConn{}}
}

// SetFaults changes the fault probabilities from now on.
func (n *FakeNetwork) SetFaults(f FakeFaults) {
	n.mu.Lock()
	n.faults = f
	n.mu.Unlock()
}

// Sender returns a Conn whose Send goes to every receiver on addr.
func (n *FakeNetwork) Sender(addr string) *FakeConn {
	return &FakeConn{net: n, addr: addr, notify: make(chan struct{}, 1)}
}

// Receiver returns a Conn that receives what is sent to addr, queueing at
// most queueLength datagrams (0 means fakeQueueLengthDefault).
func (n *FakeNetwork) Receiver(addr string, queueLength int) *FakeConn {
	c := &FakeConn{net: n, addr: addr, queueMax: cmp0(queueLength, fakeQueueLengthDefault),
		notify: make(chan struct{}, 1)}
	n.mu.Lock()
	n.receivers[addr] = append(n.receivers[addr], c)
	n.mu.Unlock()
	return c
}

func (n *FakeNetwork) roll(permille int) bool {
	return permille > 0 && n.rng.IntN(1000) < permille
}

func (n *FakeNetwork) deliver(addr string, p []byte) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, r := range n.receivers[addr] {
		if r.closed || n.roll(n.faults.LossPermille) {
			continue
		}
		copies := 1
		if n.roll(n.faults.DuplicatePermille) {
			copies = 2
		}
		for range copies {
			r.enqueue(append([]byte(nil), p...), n.roll(n.faults.ReorderPermille))
		}
	}
}

// FakeConn is one endpoint of a FakeNetwork.
type FakeConn struct {
	net      *FakeNetwork
	addr     string
	queueMax int
	queue    [][]byte // guarded by net.mu
	closed   bool     // guarded by net.mu
	notify   chan struct{}

	// Dropped counts datagrams lost because the queue was full (guarded by net.mu).
	dropped int
}

func (c *FakeConn) enqueue(p []byte, reorder bool) {
	if len(c.queue) >= c.queueMax {
		c.dropped++
		return
	}
	c.queue = append(c.queue, p)
	if k := len(c.queue); reorder && k >= 2 {
		c.queue[k-1], c.queue[k-2] = c.queue[k-2], c.queue[k-1]
	}
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// Dropped returns how many datagrams this receiver lost to a full queue.
func (c *FakeConn) Dropped() int {
	c.net.mu.Lock()
	defer c.net.mu.Unlock()
	return c.dropped
}

// Queued returns how many datagrams wait to be received.
func (c *FakeConn) Queued() int {
	c.net.mu.Lock()
	defer c.net.mu.Unlock()
	return len(c.queue)
}

// Send implements Conn.
func (c *FakeConn) Send(p []byte) error {
	c.net.mu.Lock()
	closed := c.closed
	c.net.mu.Unlock()
	if closed {
		return ErrClosed
	}
	c.net.deliver(c.addr, p)
	return nil
}

// TryReceive implements Conn.
func (c *FakeConn) TryReceive(buf []byte) (int, error) {
	c.net.mu.Lock()
	defer c.net.mu.Unlock()
	if c.closed {
		return 0, ErrClosed
	}
	if len(c.queue) == 0 {
		return 0, nil
	}
	p := c.queue[0]
	c.queue[0] = nil
	c.queue = c.queue[1:]
	return copy(buf, p), nil
}

// Receive implements Conn.
func (c *FakeConn) Receive(buf []byte, timeout time.Duration) (int, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	for {
		n, err := c.TryReceive(buf)
		if n > 0 || err != nil {
			return n, err
		}
		select {
		case <-c.notify:
		case <-t.C:
			return 0, nil
		}
	}
}

// Close implements Conn.
func (c *FakeConn) Close() error {
	c.net.mu.Lock()
	defer c.net.mu.Unlock()
	c.closed = true
	select {
	case c.notify <- struct{}{}:
	default:
	}
	return nil
}
