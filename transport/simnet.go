package transport

import (
	"fmt"
	"math/rand"
	"net/netip"
	"sort"
	"sync"
)

// SimFaults are the fault probabilities and delays of a SimNetwork, as
// integer per-mille ratios so that a seed reproduces a run exactly.
type SimFaults struct {
	LossPermille      int   // datagrams dropped
	DuplicatePermille int   // datagrams delivered twice
	ReorderPermille   int   // datagrams delayed by an extra ReorderDelayNs
	DelayNs           int64 // one-way delay for every datagram
	ReorderDelayNs    int64 // extra delay of a reordered datagram
}

// SimNetwork is an in-memory, seeded, fault-injecting datagram network for
// tests and the simulator. Time comes from the clock it is given; a datagram
// is readable once the clock reaches its delivery time. Multicast groups
// deliver to every conn bound to the group address.
type SimNetwork struct {
	mu         sync.Mutex
	rng        *rand.Rand
	clock      NanoClock
	faults     SimFaults
	conns      map[netip.AddrPort][]*simConn
	partitions map[[2]netip.Addr]bool
	nextPort   uint16
	seq        uint64

	// Sent, Dropped and Duplicated count datagrams for test assertions.
	Sent, Dropped, Duplicated int
}

// NewSimNetwork returns a network with faults, seeded by seed, whose time is clock.
func NewSimNetwork(seed int64, clock NanoClock, faults SimFaults) *SimNetwork {
	return &SimNetwork{rng: rand.New(rand.NewSource(seed)), clock: clock, faults: faults,
		conns: map[netip.AddrPort][]*simConn{}, partitions: map[[2]netip.Addr]bool{}, nextPort: 30000}
}

// SetFaults replaces the fault settings.
func (n *SimNetwork) SetFaults(f SimFaults) {
	n.mu.Lock()
	n.faults = f
	n.mu.Unlock()
}

// SetPartitioned cuts (or heals) traffic between hosts a and b, both ways.
func (n *SimNetwork) SetPartitioned(a, b netip.Addr, cut bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.partitions[[2]netip.Addr{a, b}] = cut
	n.partitions[[2]netip.Addr{b, a}] = cut
}

type simDatagram struct {
	at   int64
	seq  uint64
	data []byte
	from netip.AddrPort
}

type simConn struct {
	net    *SimNetwork
	local  netip.AddrPort
	inbox  []simDatagram
	closed bool
}

func (n *SimNetwork) bind(addr netip.AddrPort, shared bool) (*simConn, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if addr.Port() == 0 {
		n.nextPort++
		addr = netip.AddrPortFrom(addr.Addr(), n.nextPort)
	}
	if len(n.conns[addr]) > 0 && !shared {
		return nil, fmt.Errorf("transport: sim address %s in use", addr)
	}
	c := &simConn{net: n, local: addr}
	n.conns[addr] = append(n.conns[addr], c)
	return c, nil
}

// ListenUnicast binds addr.
func (n *SimNetwork) ListenUnicast(addr netip.AddrPort) (DatagramConn, error) {
	return n.bind(addr, false)
}

// ListenMulticast binds the group address; several conns may share it.
func (n *SimNetwork) ListenMulticast(group netip.AddrPort, _ MulticastOptions) (DatagramConn, error) {
	return n.bind(group, true)
}

// SenderConn binds local (port 0 picks one; an invalid address means 0.0.0.0).
func (n *SimNetwork) SenderConn(local netip.AddrPort, _ MulticastOptions) (DatagramConn, error) {
	if !local.IsValid() {
		local = netip.AddrPortFrom(netip.IPv4Unspecified(), 0)
	}
	return n.bind(local, false)
}

// ReadBatch returns datagrams whose delivery time has come, in delivery order.
func (c *simConn) ReadBatch(ds []Datagram) (int, error) {
	n := c.net
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.clock()
	got := 0
	for got < len(ds) && len(c.inbox) > 0 && c.inbox[0].at <= now {
		d := c.inbox[0]
		c.inbox = c.inbox[1:]
		ds[got].N = copy(ds[got].Buf, d.data)
		if len(d.data) > len(ds[got].Buf) {
			ds[got].N = len(ds[got].Buf) + 1 // oversized, as with MSG_TRUNC
		}
		ds[got].Addr = d.from
		got++
	}
	return got, nil
}

// WriteBatch applies the faults to each datagram and queues it at every conn
// bound to its destination.
func (c *simConn) WriteBatch(ds []Datagram) (int, error) {
	n := c.net
	n.mu.Lock()
	defer n.mu.Unlock()
	now := n.clock()
	for i := range ds {
		n.Sent++
		for _, dst := range n.conns[ds[i].Addr] {
			n.deliver(c, dst, ds[i].Buf[:ds[i].N], now)
		}
	}
	return len(ds), nil
}

func (n *SimNetwork) deliver(src, dst *simConn, data []byte, now int64) {
	f := n.faults
	if dst.closed || n.partitions[[2]netip.Addr{src.local.Addr(), dst.local.Addr()}] {
		n.Dropped++
		return
	}
	if n.rng.Intn(1000) < f.LossPermille {
		n.Dropped++
		return
	}
	copies := 1
	if n.rng.Intn(1000) < f.DuplicatePermille {
		copies = 2
		n.Duplicated++
	}
	for i := 0; i < copies; i++ {
		at := now + f.DelayNs
		if n.rng.Intn(1000) < f.ReorderPermille {
			at += 1 + n.rng.Int63n(max(f.ReorderDelayNs, 1))
		}
		n.seq++
		dst.push(simDatagram{at: at, seq: n.seq, data: append([]byte(nil), data...), from: src.local})
	}
}

// push inserts d keeping the inbox ordered by delivery time, then send order.
func (c *simConn) push(d simDatagram) {
	i := sort.Search(len(c.inbox), func(i int) bool {
		e := c.inbox[i]
		return e.at > d.at || (e.at == d.at && e.seq > d.seq)
	})
	c.inbox = append(c.inbox, simDatagram{})
	copy(c.inbox[i+1:], c.inbox[i:])
	c.inbox[i] = d
}

// LocalAddr returns the bound address.
func (c *simConn) LocalAddr() netip.AddrPort { return c.local }

// Close unbinds the conn.
func (c *simConn) Close() error {
	n := c.net
	n.mu.Lock()
	defer n.mu.Unlock()
	c.closed = true
	list := n.conns[c.local]
	for i, x := range list {
		if x == c {
			n.conns[c.local] = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	return nil
}

// SimClock is a manually advanced clock for deterministic tests.
type SimClock struct {
	mu  sync.Mutex
	now int64
}

// Now returns the current time in nanoseconds.
func (c *SimClock) Now() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves time forward by ns.
func (c *SimClock) Advance(ns int64) {
	c.mu.Lock()
	c.now += ns
	c.mu.Unlock()
}
