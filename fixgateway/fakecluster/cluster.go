package fakecluster

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"venue/engine"
	"venue/fixgateway"
)

// Service is the replicated service the fake cluster runs: the engine's
// clustered-service callbacks.
type Service interface {
	OnSessionOpen(id int64, principal []byte, logPosition, clusterTime int64)
	OnSessionMessage(id int64, logPosition, clusterTime int64, payload []byte)
	OnSessionClose(id int64, logPosition, clusterTime int64)
}

// Bounds.
const (
	// EgressCapacity bounds one client's undelivered egress; past it the
	// fake counts and drops, as a real cluster drops egress to a slow
	// client.
	EgressCapacity = 1 << 16
	// sessionEntryBytes is what the fake adds to the log position per
	// entry on top of the payload, standing in for the log's framing.
	sessionEntryBytes = 32
)

// ErrClosed is returned for a closed client.
var ErrClosed = errors.New("fakecluster: client closed")

// Cluster is an in-process stand-in for a Raft cluster: one log, one
// service, any number of clients. Safe for concurrent use.
type Cluster struct {
	mu          sync.Mutex
	svc         Service
	clients     map[int64]*Client
	nextSession int64
	position    int64
	lastTime    int64
	leader      int32
	term        int64

	hold         bool
	held         []heldEntry
	backPressure bool
	dropEgress   bool
	dropped      int64
}

// heldEntry is an uncommitted log entry: a session message, or (msg nil)
// a session close, which must not overtake the messages before it.
type heldEntry struct {
	c   *Client
	msg []byte
	pos int64
}

func (c *Cluster) applyEntry(h heldEntry) {
	if h.msg == nil {
		c.closeSession(h.c, h.pos)
		return
	}
	c.apply(h.c, h.msg, h.pos)
}

func (c *Cluster) closeSession(cl *Client, pos int64) {
	c.svc.OnSessionClose(cl.id, pos, c.now())
	delete(c.clients, cl.id)
}

// New returns a cluster running svc. Reports the service sends reach
// clients through Send.
func New(svc Service) *Cluster {
	return &Cluster{svc: svc, clients: map[int64]*Client{}, leader: 0, term: 1}
}

// SetService sets the service (for services that need the cluster as
// their egress before they exist).
func (c *Cluster) SetService(svc Service) { c.mu.Lock(); c.svc = svc; c.mu.Unlock() }

// Send delivers one egress message to a session; the service calls it
// while applying an entry (the cluster's lock is held).
func (c *Cluster) Send(session int64, msg []byte) {
	cl := c.clients[session]
	if cl == nil || cl.closed || c.dropEgress {
		c.dropped++
		return
	}
	if len(cl.inbox) >= EgressCapacity {
		c.dropped++
		return
	}
	cl.push(event{kind: eventMessage, msg: bytes.Clone(msg)})
}

func (c *Cluster) now() int64 {
	t := time.Now().UnixNano()
	if t <= c.lastTime {
		t = c.lastTime + 1
	}
	c.lastTime = t
	return t
}

// apply appends one entry to the log and applies it.
func (c *Cluster) apply(cl *Client, msg []byte, pos int64) {
	c.svc.OnSessionMessage(cl.id, pos, c.now(), msg)
}

// Hold makes offered messages wait uncommitted (a slow quorum) until
// Release or Failover.
func (c *Cluster) Hold() { c.mu.Lock(); c.hold = true; c.mu.Unlock() }

// Held returns how many offered messages wait uncommitted.
func (c *Cluster) Held() int { c.mu.Lock(); defer c.mu.Unlock(); return len(c.held) }

// HeldOrders returns how many held messages are order commands (new,
// cancel, replace, mass cancel), as opposed to the gateway's own requests.
func (c *Cluster) HeldOrders() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, h := range c.held {
		if t, ok := engine.PeekTemplate(h.msg); ok && t >= engine.TemplateNewOrder && t <= engine.TemplateMassCancel {
			n++
		}
	}
	return n
}

// Release commits and applies every held message, in order, and stops
// holding.
func (c *Cluster) Release() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hold = false
	for _, h := range c.held {
		c.applyEntry(h)
	}
	c.held = nil
}

// Failover simulates the leader failing with the held messages in flight.
// With committed, the new leader had them (they are applied, but their
// egress was lost with the old leader); without, they are lost. Either
// way each client hears of its held messages as unknown outcome, then of
// the new leader. Holding stops.
func (c *Cluster) Failover(committed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hold = false
	for _, h := range c.held {
		if h.msg == nil {
			c.closeSession(h.c, h.pos) // a lost close is a session timeout later
			continue
		}
		if committed {
			c.dropEgress = true
			c.apply(h.c, h.msg, h.pos)
			c.dropEgress = false
		}
		h.c.push(event{kind: eventUnknown, msg: h.msg, pos: h.pos})
		h.c.unknownPending++
	}
	c.held = nil
	c.leader = (c.leader + 1) % 3
	c.term++
	for _, cl := range c.clients {
		if !cl.closed {
			cl.push(event{kind: eventLeader, leader: c.leader, term: c.term})
		}
	}
}

// DropEgress makes the cluster lose every egress message while on, as a
// client that misses its session's egress would.
func (c *Cluster) DropEgress(on bool) { c.mu.Lock(); c.dropEgress = on; c.mu.Unlock() }

// SetBackPressure makes every Offer fail with OfferBackPressured while on.
func (c *Cluster) SetBackPressure(on bool) { c.mu.Lock(); c.backPressure = on; c.mu.Unlock() }

// Do runs fn with the cluster locked, between entries: the service is
// quiescent, so fn may inspect it.
func (c *Cluster) Do(fn func()) { c.mu.Lock(); defer c.mu.Unlock(); fn() }

// Client is one cluster session; it implements fixgateway.ClusterClient.
type Client struct {
	c      *Cluster
	id     int64
	inbox  []event
	closed bool
	batch  []event // Poll's delivery buffer, reused
	// unknownPending counts unknown outcomes in the inbox: Offer refuses
	// while there are any (the ClusterClient ordering contract).
	unknownPending int
	ready          chan struct{} // signalled when the inbox gains an event
}

type eventKind uint8

const (
	eventMessage eventKind = iota + 1
	eventLeader
	eventUnknown
)

type event struct {
	kind   eventKind
	msg    []byte
	pos    int64
	leader int32
	term   int64
}

var (
	_ fixgateway.ClusterClient  = (*Client)(nil)
	_ fixgateway.EgressNotifier = (*Client)(nil)
)

// NewClient returns an unconnected client.
func (c *Cluster) NewClient() *Client { return &Client{c: c, ready: make(chan struct{}, 1)} }

// push adds an event to the inbox (the cluster's lock is held) and wakes
// whoever waits on EgressReady.
func (cl *Client) push(e event) {
	cl.inbox = append(cl.inbox, e)
	select {
	case cl.ready <- struct{}{}:
	default: // a wake-up is already pending
	}
}

// EgressReady implements fixgateway.EgressNotifier.
func (cl *Client) EgressReady() <-chan struct{} { return cl.ready }

// Connect opens the client's session as creds.Principal.
func (cl *Client) Connect(_ context.Context, creds fixgateway.Credentials) error {
	c := cl.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl.closed {
		return ErrClosed
	}
	if cl.id != 0 {
		return nil
	}
	c.nextSession++
	cl.id = c.nextSession
	c.clients[cl.id] = cl
	c.position += sessionEntryBytes
	c.svc.OnSessionOpen(cl.id, []byte(creds.Principal), c.position, c.now())
	return nil
}

// SessionID returns the client's cluster session id (0 before Connect).
func (cl *Client) SessionID() int64 { cl.c.mu.Lock(); defer cl.c.mu.Unlock(); return cl.id }

// Offer sequences msg into the log (or holds it, see Cluster.Hold).
func (cl *Client) Offer(msg []byte) fixgateway.OfferResult {
	c := cl.c
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case cl.closed:
		return fixgateway.OfferClosed
	case cl.id == 0:
		return fixgateway.OfferNotConnected
	case c.backPressure:
		return fixgateway.OfferBackPressured
	case cl.unknownPending > 0:
		return fixgateway.OfferAdminAction
	}
	c.position += int64(len(msg)) + sessionEntryBytes
	if c.hold {
		c.held = append(c.held, heldEntry{c: cl, msg: bytes.Clone(msg), pos: c.position})
	} else {
		c.apply(cl, msg, c.position)
	}
	return fixgateway.OfferResult(c.position)
}

// Poll delivers up to limit events to h.
func (cl *Client) Poll(h fixgateway.ClusterHandler, limit int) int {
	c := cl.c
	c.mu.Lock()
	n := min(limit, len(cl.inbox))
	cl.batch = append(cl.batch[:0], cl.inbox[:n]...)
	cl.inbox = cl.inbox[:copy(cl.inbox, cl.inbox[n:])]
	for _, e := range cl.batch {
		if e.kind == eventUnknown {
			cl.unknownPending--
		}
	}
	c.mu.Unlock()
	for _, e := range cl.batch {
		switch e.kind {
		case eventMessage:
			h.OnMessage(e.msg)
		case eventLeader:
			h.OnNewLeader(e.leader, e.term)
		case eventUnknown:
			h.OnUnknownOutcome(e.pos, e.msg)
		}
	}
	return n
}

// Close closes the session (the service hears of it through the log).
func (cl *Client) Close() error {
	c := cl.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if cl.closed {
		return nil
	}
	cl.closed = true
	if cl.id != 0 {
		c.position += sessionEntryBytes
		if c.hold {
			c.held = append(c.held, heldEntry{c: cl, pos: c.position})
		} else {
			c.closeSession(cl, c.position)
		}
	}
	return nil
}

// String describes the cluster, for test failures.
func (c *Cluster) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprintf("fakecluster{leader %d term %d position %d held %d clients %d dropped %d}",
		c.leader, c.term, c.position, len(c.held), len(c.clients), c.dropped)
}
