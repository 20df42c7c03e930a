// Package client is the Go client library of a venue cluster: it opens a
// session with the cluster, offers messages to the leader's ingress without
// blocking, and polls the session's egress.
//
// Unlike Aeron's cluster client, it keeps its session across a leader
// change without the application doing anything: the new leader tells every
// session (a NewLeader event carrying the last of the session's messages the
// log holds) and the client moves its ingress there. Every message the
// client offered is accounted for: the leader acknowledges committed
// messages (Ack), and a message that is not in the log after a leader change
// or that the leader refused is handed back to the application through
// Handler.OnUnknownOutcome — never dropped silently.
//
// A Client is used from one goroutine: Offer and Poll must not run
// concurrently. Poll is its duty cycle (keepalives, leader probing); call it
// regularly.
package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"

	"venue/cluster/consensus"
	"venue/cluster/protocol"
	"venue/transport"
)

// Defaults and bounds.
const (
	defaultKeepAliveIntervalNs = 1_000_000_000
	// defaultLeaderTimeoutNs: with messages outstanding and nothing heard
	// from the cluster for this long, the client probes every member.
	defaultLeaderTimeoutNs = 500_000_000
	defaultWindowMax       = 4096
	// WindowMaxLimit bounds Config.WindowMax.
	WindowMaxLimit = 1 << 20
	// connectRetryNs: the connect request is resent this often until a
	// member answers.
	connectRetryNs = 100_000_000
	// pollFragmentsMax bounds egress fragments per Poll when limit is 0.
	pollFragmentsMax = 64
	// ingressTermLength sizes the ingress publications' terms, one
	// publication per member (the driver's 16 MiB default would cost 48 MiB
	// each, and the same again in every member's image of it).
	ingressTermLength = 1 << 20
)

// Errors. ErrBackPressured, ErrNotConnected and ErrWindowFull are transient:
// poll and offer again.
var (
	ErrBackPressured = errors.New("client: back pressured")
	ErrNotConnected  = errors.New("client: leader not connected")
	ErrWindowFull    = errors.New("client: too many messages awaiting acknowledgement")
	ErrTooLarge      = errors.New("client: message too large")
	ErrClosed        = errors.New("client: session closed")
	ErrRejected      = errors.New("client: connect rejected")
)

// Config configures a Client.
type Config struct {
	// Driver is the transport the client uses (shared or its own).
	Driver *transport.Driver
	// InvokeDriver: the driver was made with ThreadingInvoker and the
	// client runs its duty cycle from Connect and Poll, so that client and
	// transport share one goroutine.
	InvokeDriver bool
	// Members are the members' ingress endpoints ("host:port"), indexed by
	// member id.
	Members []string
	// IngressStreamID defaults to protocol.IngressStreamID.
	IngressStreamID int32
	// ResponseEndpoint is where members answer ("host:port"; port 0 picks
	// a free one). Defaults to this host's address on the route to the
	// first member, port 0 (127.0.0.1 for members on this host).
	ResponseEndpoint string
	// ResponseStreamID defaults to protocol.ResponseStreamID.
	ResponseStreamID int32
	// Credentials are sent with the connect request.
	Credentials []byte
	// OnChallenge answers an authenticator's challenge (nil: none expected).
	OnChallenge func(challenge []byte) []byte
	// KeepAliveIntervalNs: a keepalive goes to the leader this often.
	KeepAliveIntervalNs int64
	// LeaderTimeoutNs: see defaultLeaderTimeoutNs.
	LeaderTimeoutNs int64
	// WindowMax bounds messages offered but not yet acknowledged; the
	// client keeps a copy of each to hand back if its outcome is lost.
	WindowMax int
	// Clock is the nanosecond clock (nil: transport.MonotonicNanos).
	Clock transport.NanoClock
}

// localAddressTowards returns this host's address on the route to
// endpoint (a connected UDP socket sends nothing), so that members on other
// hosts can answer; 127.0.0.1 if there is no route.
func localAddressTowards(endpoint string) string {
	conn, err := net.Dial("udp4", endpoint)
	if err != nil {
		return "127.0.0.1"
	}
	defer conn.Close()
	if a, ok := conn.LocalAddr().(*net.UDPAddr); ok && !a.IP.IsUnspecified() {
		return a.IP.String()
	}
	return "127.0.0.1"
}

func (c *Config) applyDefaults() error {
	if c.Driver == nil || len(c.Members) == 0 {
		return errors.New("client: config needs a driver and member endpoints")
	}
	if c.IngressStreamID == 0 {
		c.IngressStreamID = protocol.IngressStreamID
	}
	if c.ResponseStreamID == 0 {
		c.ResponseStreamID = protocol.ResponseStreamID
	}
	if c.ResponseEndpoint == "" {
		c.ResponseEndpoint = localAddressTowards(c.Members[0]) + ":0"
	}
	if c.KeepAliveIntervalNs == 0 {
		c.KeepAliveIntervalNs = defaultKeepAliveIntervalNs
	}
	if c.LeaderTimeoutNs == 0 {
		c.LeaderTimeoutNs = defaultLeaderTimeoutNs
	}
	if c.WindowMax == 0 {
		c.WindowMax = defaultWindowMax
	}
	if c.Clock == nil {
		c.Clock = transport.MonotonicNanos
	}
	if c.WindowMax < 1 || c.WindowMax > WindowMaxLimit {
		return fmt.Errorf("client: window %d not in [1,%d]", c.WindowMax, WindowMaxLimit)
	}
	return nil
}

// Handler receives what Poll delivers. Slices are valid only during a call.
type Handler interface {
	// OnMessage is one egress message from the service, stamped with the
	// cluster time and log position it was produced at.
	OnMessage(timestampNs, position int64, payload []byte)
	// OnNewLeader: leader now leads term; the client already follows it.
	OnNewLeader(leader int32, term int64)
	// OnUnknownOutcome hands back a message the client offered (with the
	// correlation id Offer returned) whose fate the client cannot vouch
	// for: after a leader change it is not in the log (and never will be),
	// the leader refused it (reason), or the session ended before it was
	// acknowledged. The application decides whether to offer it again.
	OnUnknownOutcome(correlationID int64, payload []byte, reason string)
}

// AdminHandler is implemented by a Handler that makes admin requests
// (RequestSnapshot): it gets their answers. A Handler without it has them
// counted (Counters.AdminResponses) and dropped.
type AdminHandler interface {
	// OnAdminResponse answers the admin request correlationID: code
	// protocol.EventOK when its action is in the leader's log at position
	// (every member acts on it there once committed), else why not
	// (protocol.EventAuthRejected: this session's principal may not).
	OnAdminResponse(correlationID int64, code protocol.EventCode, position int64, detail string)
}

// Counters count client events.
type Counters struct {
	Offered, Acknowledged, Unknown, Redirects, NewLeaders, Probes, KeepAlives uint64
	Decode                                                                    protocol.DecodeCounters
	Foreign                                                                   uint64 // egress for another session
	AdminRequests, AdminResponses                                             uint64
}

// inflight is one offered message awaiting acknowledgement.
type inflight struct {
	corr    int64
	payload []byte // reused slot buffer
	done    bool   // already handed back (refused)
}

// Client is one cluster session.
type Client struct {
	cfg             Config
	ingress         []*transport.Publication // by member id
	response        *transport.Subscription
	assembler       *transport.FragmentAssembler
	responseChannel string

	sessionID   int64
	leader      int32
	term        int64
	nextCorr    int64
	nextAdmin   int64 // the next admin request's correlation id: a sequence of its own
	resync      int64 // > 0: the next id, to tell the leader before new messages (a resynchronization)
	closed      bool
	closeReason string

	window      []inflight // ring
	head, count int

	nowNs       int64
	lastKeepNs  int64
	awaiting    bool // a keepalive was sent and nothing heard since
	lastProbeNs int64

	handler Handler // during Poll
	pending []protocol.Message
	msg     protocol.Message
	enc     []byte
	vec     [2][]byte
	// Counters count what happened; read from the client's goroutine.
	Counters Counters
}

// Connect opens a session: it sends the connect request to every member,
// follows redirects, answers a challenge, and returns once the leader
// confirmed the session is in the log, or ctx ends.
func Connect(ctx context.Context, cfg Config) (*Client, error) {
	if err := cfg.applyDefaults(); err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, leader: protocol.NoLeader, nextCorr: 1, nextAdmin: 1, window: make([]inflight, cfg.WindowMax)}
	if err := c.open(); err != nil {
		c.release()
		return nil, err
	}
	if err := c.handshake(ctx); err != nil {
		c.release()
		return nil, err
	}
	return c, nil
}

func (c *Client) open() error {
	sub, err := c.cfg.Driver.AddSubscription("udp?endpoint="+c.cfg.ResponseEndpoint, c.cfg.ResponseStreamID,
		transport.SubscriptionOptions{})
	if err != nil {
		return fmt.Errorf("client: response subscription on %s: %w", c.cfg.ResponseEndpoint, err)
	}
	c.response = sub
	addr, ok := sub.LocalAddr()
	if !ok {
		return fmt.Errorf("client: response endpoint %s has no address", c.cfg.ResponseEndpoint)
	}
	if addr.Addr().IsUnspecified() {
		addr = netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), addr.Port())
	}
	c.responseChannel = "udp?endpoint=" + addr.String()
	c.assembler = transport.NewFragmentAssembler(c.onFragment)
	for id, ep := range c.cfg.Members {
		pub, err := c.cfg.Driver.AddPublication(fmt.Sprintf("udp?endpoint=%s|term-length=%d", ep, ingressTermLength),
			c.cfg.IngressStreamID)
		if err != nil {
			return fmt.Errorf("client: ingress publication to member %d at %s: %w", id, ep, err)
		}
		c.ingress = append(c.ingress, pub)
	}
	return nil
}

// handshake runs the connect protocol until the session is open.
func (c *Client) handshake(ctx context.Context) error {
	const connectCorr = 1
	req := protocol.Message{Type: protocol.Connect, CorrelationID: connectCorr, StreamID: c.cfg.ResponseStreamID,
		Channel: []byte(c.responseChannel), Credentials: c.cfg.Credentials}
	connectMsg, err := protocol.Append(nil, &req)
	if err != nil {
		return fmt.Errorf("client: connect request: %w", err)
	}
	var lastSent int64 = -connectRetryNs
	for {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("client: connect to %v: %w", c.cfg.Members, err)
		}
		now := c.cfg.Clock()
		if now-lastSent >= connectRetryNs {
			lastSent = now
			for _, pub := range c.ingress {
				pub.Offer(connectMsg) // a member not yet reachable is tried again
			}
		}
		if c.cfg.InvokeDriver {
			c.cfg.Driver.DoWork(now)
		}
		c.pending = c.pending[:0]
		c.response.Poll(c.assembler.Handler(), pollFragmentsMax)
		for i := range c.pending {
			m := &c.pending[i]
			switch {
			case m.Type == protocol.Challenge && m.CorrelationID == connectCorr:
				if c.cfg.OnChallenge == nil {
					return fmt.Errorf("%w: challenged, but no OnChallenge is configured", ErrRejected)
				}
				resp := protocol.Message{Type: protocol.ChallengeResponse, CorrelationID: connectCorr,
					SessionID: m.SessionID, Credentials: c.cfg.OnChallenge(m.Credentials)}
				b, err := protocol.Append(nil, &resp)
				if err != nil {
					return fmt.Errorf("client: challenge response: %w", err)
				}
				c.offerTo(c.leaderOr(m), b)
				lastSent = now + 10*connectRetryNs // wait for the verdict
			case m.Type != protocol.SessionEvent || m.CorrelationID != connectCorr:
			case m.Code == protocol.EventOK:
				c.sessionID, c.leader = m.SessionID, m.Leader
				c.lastKeepNs = now
				return nil
			case m.Code == protocol.EventRedirect:
				c.Counters.Redirects++ // the leader answers the same broadcast
			default:
				return fmt.Errorf("%w: %v: %s", ErrRejected, m.Code, m.Detail)
			}
		}
		c.cfg.Driver.WaitReadable(time.Millisecond)
	}
}

func (c *Client) leaderOr(m *protocol.Message) int32 {
	if m.Leader >= 0 && int(m.Leader) < len(c.ingress) {
		return m.Leader
	}
	return 0
}

func (c *Client) offerTo(member int32, b []byte) bool {
	if member < 0 || int(member) >= len(c.ingress) {
		return false
	}
	_, r := c.ingress[member].Offer(b)
	return r == transport.OfferOK
}

// onFragment decodes one egress message into c.pending (copying only the
// small fields it needs later) or hands it straight to the handler.
func (c *Client) onFragment(b []byte, _ *transport.Header) {
	m := &c.msg
	if c.Counters.Decode.Decode(b, m) != nil || !m.Type.IsEgress() {
		return
	}
	if c.sessionID != 0 && m.SessionID != c.sessionID && m.Type != protocol.SessionEvent {
		c.Counters.Foreign++
		return
	}
	c.awaiting = false
	if c.handler == nil { // handshake: no payloads, keep the message
		m.Detail = append([]byte(nil), m.Detail...)
		m.Credentials = append([]byte(nil), m.Credentials...)
		c.pending = append(c.pending, *m)
		return
	}
	c.dispatch(m)
}

// SessionID returns the cluster session id.
func (c *Client) SessionID() int64 { return c.sessionID }

// Leader returns the member the client believes leads.
func (c *Client) Leader() int32 { return c.leader }

// Outstanding returns the messages offered and not yet acknowledged.
func (c *Client) Outstanding() int { return c.count }

// Offer sends payload to the leader without blocking and returns its
// correlation id (increasing from 1). The payload is copied.
func (c *Client) Offer(payload []byte) (int64, error) {
	switch {
	case c.closed:
		return 0, fmt.Errorf("%w: %s", ErrClosed, c.closeReason)
	case len(payload) > consensus.PayloadLengthMax:
		return 0, fmt.Errorf("%w: %d bytes > %d", ErrTooLarge, len(payload), consensus.PayloadLengthMax)
	case c.count == len(c.window):
		return 0, ErrWindowFull
	case c.leader < 0:
		return 0, ErrNotConnected
	case c.resync > 0:
		if c.sendResync(); c.resync > 0 {
			return 0, ErrBackPressured
		}
	}
	corr := c.nextCorr
	c.enc = protocol.AppendSessionMessageHeader(c.enc[:0], c.sessionID, corr)
	c.vec[0], c.vec[1] = c.enc, payload
	_, r := c.ingress[c.leader].OfferVectored(c.vec[:])
	switch r {
	case transport.OfferOK:
	case transport.NotConnected:
		return 0, ErrNotConnected
	case transport.Closed:
		return 0, ErrClosed
	default:
		return 0, ErrBackPressured
	}
	c.nextCorr++
	slot := &c.window[(c.head+c.count)%len(c.window)]
	slot.corr, slot.payload, slot.done = corr, append(slot.payload[:0], payload...), false
	c.count++
	c.Counters.Offered++
	return corr, nil
}

// Poll delivers up to limit egress messages (0: a default batch) to h, sends
// keepalives and probes for a leader when the cluster has gone quiet. It
// returns the work done (0: idle).
func (c *Client) Poll(h Handler, limit int) int {
	if limit <= 0 {
		limit = pollFragmentsMax
	}
	c.nowNs = c.cfg.Clock()
	n := 0
	if c.cfg.InvokeDriver {
		n += c.cfg.Driver.DoWork(c.nowNs)
	}
	c.handler = h
	n += c.response.Poll(c.assembler.Handler(), limit)
	c.handler = nil
	if c.closed {
		return n
	}
	if c.resync > 0 {
		c.sendResync()
	}
	switch {
	case c.awaiting && c.nowNs-c.lastKeepNs > c.cfg.LeaderTimeoutNs &&
		c.nowNs-c.lastProbeNs > c.cfg.LeaderTimeoutNs:
		// A keepalive went unanswered (the leader acknowledges every one):
		// ask every member who leads; followers redirect.
		c.probe()
		n++
	case c.nowNs-c.lastKeepNs >= c.cfg.KeepAliveIntervalNs:
		c.keepAlive(c.leader)
		n++
	}
	return n
}

func (c *Client) keepAlive(member int32) {
	c.lastKeepNs, c.awaiting = c.nowNs, true
	m := protocol.Message{Type: protocol.KeepAlive, SessionID: c.sessionID}
	c.enc, _ = protocol.Append(c.enc[:0], &m)
	if c.offerTo(member, c.enc) {
		c.Counters.KeepAlives++
	}
}

// probe sends a keepalive to every member: followers answer with a
// redirect, the leader with an Ack.
func (c *Client) probe() {
	c.lastProbeNs = c.nowNs
	c.Counters.Probes++
	for id := range c.ingress {
		c.keepAlive(int32(id))
	}
}

func (c *Client) dispatch(m *protocol.Message) {
	switch m.Type {
	case protocol.Egress:
		c.handler.OnMessage(m.TimestampNs, m.Position, m.Payload)
	case protocol.Ack:
		c.acknowledge(m.CorrelationID)
	case protocol.NewLeader:
		c.onNewLeader(m)
	case protocol.SessionEvent:
		c.onEvent(m)
	case protocol.AdminResponse:
		c.Counters.AdminResponses++
		if h, ok := c.handler.(AdminHandler); ok {
			h.OnAdminResponse(m.CorrelationID, m.Code, m.Position, string(m.Detail))
		}
	}
}

// RequestSnapshot asks the leader to have every member take a snapshot
// (through the log, so all at the same position), if this session's
// principal may make admin requests. It returns the request's correlation
// id; the answer goes to the Poll handler's OnAdminResponse (AdminHandler).
// It is not retried across a leader change: no answer means ask again.
func (c *Client) RequestSnapshot() (int64, error) {
	switch {
	case c.closed:
		return 0, fmt.Errorf("%w: %s", ErrClosed, c.closeReason)
	case c.leader < 0:
		return 0, ErrNotConnected
	}
	m := protocol.Message{Type: protocol.AdminRequest, SessionID: c.sessionID, CorrelationID: c.nextAdmin,
		Request: protocol.AdminSnapshot}
	c.enc, _ = protocol.Append(c.enc[:0], &m)
	if !c.offerTo(c.leader, c.enc) {
		return 0, ErrBackPressured
	}
	c.nextAdmin++
	c.Counters.AdminRequests++
	return m.CorrelationID, nil
}

func (c *Client) acknowledge(corr int64) {
	for c.count > 0 && c.window[c.head].corr <= corr {
		if !c.window[c.head].done {
			c.Counters.Acknowledged++
		}
		c.pop()
	}
}

func (c *Client) pop() {
	c.head = (c.head + 1) % len(c.window)
	c.count--
}

// onNewLeader: the log holds the session's messages up to m.CorrelationID;
// the rest of the window is not in it and never will be (the old leader's
// uncommitted tail is truncated).
func (c *Client) onNewLeader(m *protocol.Message) {
	c.Counters.NewLeaders++
	c.acknowledge(m.CorrelationID)
	c.giveBackAll("not in the log after leader change")
	if m.Term >= c.term {
		c.leader, c.term = m.Leader, m.Term
	}
	// The new leader takes nothing from this session until told the last id
	// the client has sent (and so taken back): anything it received before
	// is dropped, and was handed back just now.
	c.resync = c.nextCorr
	c.sendResync()
	c.handler.OnNewLeader(m.Leader, m.Term)
}

func (c *Client) giveBackAll(reason string) {
	for c.count > 0 {
		s := &c.window[c.head]
		if !s.done {
			c.Counters.Unknown++
			c.handler.OnUnknownOutcome(s.corr, s.payload, reason)
		}
		c.pop()
	}
}

func (c *Client) onEvent(m *protocol.Message) {
	if m.SessionID != c.sessionID && m.SessionID != 0 {
		c.Counters.Foreign++
		return
	}
	switch m.Code {
	case protocol.EventRedirect:
		c.Counters.Redirects++
		if m.Leader >= 0 && int(m.Leader) < len(c.ingress) && m.Leader != c.leader {
			c.leader = m.Leader
			c.keepAlive(c.leader) // the leader answers with an Ack or a NewLeader event
		}
	case protocol.EventIngressLimit, protocol.EventTooLarge, protocol.EventBackPressure, protocol.EventError:
		if m.CorrelationID != 0 {
			c.refused(m.CorrelationID, m.Code.String()+": "+string(m.Detail))
		}
	case protocol.EventClosed:
		c.closed, c.closeReason = true, "closed by cluster: "+string(m.Detail)
		c.giveBackAll(c.closeReason)
	}
}

// refused: the leader did not put message corr in the log, and refuses the
// session's later messages until the client resynchronizes — so none of
// them can be committed ahead of it. The client hands back corr and every
// later message still outstanding, in order, then tells the leader the last
// id it sent (a keepalive carrying it), after which new messages go in.
func (c *Client) refused(corr int64, reason string) {
	found := false
	for i := range c.count {
		s := &c.window[(c.head+i)%len(c.window)]
		if s.corr == corr {
			found = true
		}
		if found && !s.done {
			s.done = true
			c.Counters.Unknown++
			c.handler.OnUnknownOutcome(s.corr, s.payload, reason)
		}
	}
	if found {
		c.resync = c.nextCorr
		c.sendResync()
	}
}

// sendResync tells the leader the client has taken back everything before
// c.resync, the id of its next message; until it is sent, Offer refuses.
func (c *Client) sendResync() {
	m := protocol.Message{Type: protocol.KeepAlive, SessionID: c.sessionID, CorrelationID: c.resync}
	c.enc, _ = protocol.Append(c.enc[:0], &m)
	if c.offerTo(c.leader, c.enc) {
		c.resync = 0
	}
}

// Close closes the session through the log (best effort) and releases the
// client's publications and subscription.
func (c *Client) Close() error {
	if !c.closed && c.leader >= 0 {
		m := protocol.Message{Type: protocol.CloseSession, SessionID: c.sessionID}
		c.enc, _ = protocol.Append(c.enc[:0], &m)
		if c.offerTo(c.leader, c.enc) && c.cfg.InvokeDriver {
			c.flush()
		}
	}
	c.closed, c.closeReason = true, "closed by client"
	c.release()
	return nil
}

// closeFlushNs bounds how long Close drives an invoked driver so that the
// close request leaves before the publications go.
const closeFlushNs = 20_000_000

func (c *Client) flush() {
	for start := c.cfg.Clock(); c.cfg.Clock()-start < closeFlushNs; {
		if c.cfg.Driver.DoWork(c.cfg.Clock()) == 0 {
			c.cfg.Driver.WaitReadable(time.Millisecond)
		}
	}
}

func (c *Client) release() {
	for _, p := range c.ingress {
		p.Close()
	}
	c.ingress = nil
	if c.response != nil {
		c.response.Close()
	}
}
