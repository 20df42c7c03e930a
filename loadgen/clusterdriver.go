package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"venue/cluster/client"
	"venue/cluster/config"
	"venue/engine"
	"venue/transport"
)

// Cluster driver settings.
const (
	// clusterConnectTimeout bounds opening every session (the cluster must
	// have a leader by then).
	clusterConnectTimeout = 10 * time.Second
	// clusterOutboxCapacity bounds each session's commands waiting to be
	// offered. The engine keeps at most InFlightPerSessionMax requests
	// unanswered per session, so the outbox fills only when requests it
	// gave up on are still waiting (the cluster refuses them for long).
	clusterOutboxCapacity = InFlightPerSessionMax
	// clusterWindowMax is the client's window: commands offered and not
	// yet acknowledged as in the log. Answered commands are in the log, so
	// the window holds about what is in flight, plus the acknowledgements
	// still on their way.
	clusterWindowMax = 4 * InFlightPerSessionMax
	// clusterPollLimit bounds the egress messages one duty cycle delivers,
	// and so how long a cycle keeps the session's lock from Send.
	clusterPollLimit = 64
	// clusterBackoffWait is how long a session whose offer was refused for
	// back pressure (or no leader yet) waits before offering again, unless
	// a datagram wakes it first.
	clusterBackoffWait = 50 * time.Microsecond
	// clusterParkMax bounds one idle wait: the transport's timers (status
	// messages, keepalives) run at least this often. Egress and offers
	// wake the session at once.
	clusterParkMax = time.Millisecond
)

// The cluster driver's errors.
var (
	// ErrUnknownOutcome is a request's failure when the cluster client
	// handed its command back: not in the log after a leader change,
	// refused by the leader, or the session ended before it was
	// acknowledged. Such a request is an error, never silently dropped.
	ErrUnknownOutcome = errors.New("loadgen: cluster outcome unknown")
	// ErrClusterOutboxFull is Send's error when a session's outbox is full.
	ErrClusterOutboxFull = errors.New("loadgen: cluster session's outbox is full")
	// ErrClusterStopped is Send's error once the driver stops.
	ErrClusterStopped = errors.New("loadgen: cluster driver stopped")
	// ErrMassCancelRefused is CancelAll's error when the engine refused it.
	ErrMassCancelRefused = errors.New("loadgen: mass cancel refused")
)

// ClusterCounters count what the cluster driver saw beside the reports it
// passes on. They are safe to read while the driver runs.
type ClusterCounters struct {
	// Offered counts commands the cluster client took.
	Offered atomic.Int64
	// BackPressured counts offers refused for the moment (back pressure,
	// no leader, window full): the command stays queued and is offered
	// again.
	BackPressured atomic.Int64
	// SendFailed counts commands that could not be offered at all (the
	// session closed).
	SendFailed atomic.Int64
	// UnknownOutcomes counts commands the client handed back (each is
	// reported to the sink as a failed send, an error).
	UnknownOutcomes atomic.Int64
	// NewLeaders counts leader changes the sessions saw.
	NewLeaders atomic.Int64
	// Undecodable counts egress messages that were not engine reports;
	// Ignored, reports that answer nothing the load generator sends.
	Undecodable, Ignored atomic.Int64
}

// ClusterDriver talks to the venue's cluster directly, skipping the FIX
// gateway: one cluster session (cluster/client) per load generator
// session, authenticated as a trader principal (Config.CompIDs, DEMO1..DEMO4
// by default) trading the account of its own name, sending the engine's own
// commands and reading its reports. Comparing its latencies with the FIX
// driver's on one venue shows what the gateway costs.
//
// Each session has its own invoker-mode transport driver, run by the
// session's goroutine, which polls egress and parks in the network poller
// when idle. Send queues the encoded command in the session's bounded
// outbox and offers it at once if the session is not busy polling (an offer
// wakes a parked session to send it); otherwise the session offers it at
// the end of its duty cycle. Either way Send does not wait.
//
// A direct session becomes its principal's current session: the engine
// sends the principal's reports there, not to a FIX gateway that logged the
// same principal on. Do not point both drivers at one principal at once.
type ClusterDriver struct {
	cfg      Config
	ingress  []string
	dial     func(ctx context.Context, credentials string) (clusterConn, error)
	sessions []*clusterSession
	sink     Sink
	massSeq  atomic.Int64
	stopping atomic.Bool
	stopOnce sync.Once
	loops    sync.WaitGroup
	counters ClusterCounters
}

// clusterConn is one cluster session as the driver uses it: a
// cluster/client.Client over its own transport driver, or a fake in tests.
// Offer, Poll and Close are called under the session's lock; Wait without it,
// from the session's goroutine only.
type clusterConn interface {
	Offer(payload []byte) (int64, error)
	Poll(h client.Handler, limit int) int
	// Wait parks until the session may have work (a datagram came, an
	// offer is ready to go out) or timeout passes.
	Wait(timeout time.Duration)
	Close()
}

// clusterSession is one load generator session's cluster session.
type clusterSession struct {
	d         *ClusterDriver
	idx       int
	principal string
	account   string
	conn      clusterConn
	h         clusterHandler
	mass      chan massResult // capacity 1: CancelAll's answer

	// mu owns conn: whoever holds it may offer and poll, and offers the
	// outbox before letting go (see kick).
	mu sync.Mutex
	// blocked: the last offer was refused for the moment (under mu).
	blocked bool

	// qmu guards the outbox: a ring of encoded commands, in Send order.
	qmu         sync.Mutex
	ring        [clusterOutboxCapacity]outCommand
	head, count int
}

// outCommand is one encoded command in a session's outbox; its buffer is
// reused.
type outCommand struct {
	clOrdID string
	payload []byte
}

// NewClusterDriver returns a driver for cfg's sessions (cfg as Run completes
// it: Target, CompIDs, Password, Instruments). It resolves the target (see
// ClusterIngress) but connects nothing until Start.
func NewClusterDriver(cfg Config) (*ClusterDriver, error) {
	ingress, err := ClusterIngress(cfg.Target)
	if err != nil {
		return nil, err
	}
	d := &ClusterDriver{cfg: cfg, ingress: ingress}
	d.dial = d.dialClient
	for i := 0; i < cfg.Sessions && i < len(cfg.CompIDs); i++ {
		cs := &clusterSession{d: d, idx: i, principal: cfg.CompIDs[i], account: cfg.CompIDs[i],
			mass: make(chan massResult, 1)}
		cs.h.cs = cs
		d.sessions = append(d.sessions, cs)
	}
	return d, nil
}

// Counters returns the driver's counters.
func (d *ClusterDriver) Counters() *ClusterCounters { return &d.counters }

// ClusterIngress resolves a --via cluster target into the members' client
// ingress endpoints, in member id order. The target is either those
// endpoints, HOST:PORT comma-separated, or the path of a cluster file (the
// one `venue run --dir D` writes as D/cluster.toml, or a `venue node`
// deployment's), whose members' ingress endpoints are used.
func ClusterIngress(target string) ([]string, error) {
	if eps, ok := endpointList(target); ok {
		return eps, nil
	}
	if strings.TrimSpace(target) == "" {
		return nil, fmt.Errorf("%w: --via cluster needs a target: a cluster file or the members' ingress endpoints", ErrConfig)
	}
	c, err := config.Load(target)
	if err != nil {
		return nil, fmt.Errorf("loadgen: --via cluster target %q is neither HOST:PORT,... nor a readable cluster file (`venue run --dir D` writes D/cluster.toml): %w", target, err)
	}
	eps := make([]string, len(c.Members))
	for i, m := range c.Members {
		eps[i] = m.Ingress
	}
	return eps, nil
}

// endpointList splits s into HOST:PORT endpoints, if that is what it is.
func endpointList(s string) ([]string, bool) {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		host, port, err := net.SplitHostPort(p)
		if err != nil || host == "" {
			return nil, false
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, false
		}
		parts[i] = p
	}
	return parts, true
}

// dialClient opens one cluster session with its own invoker-mode transport
// driver, so that the session's goroutine runs client and transport alike.
func (d *ClusterDriver) dialClient(ctx context.Context, credentials string) (clusterConn, error) {
	td, err := transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingInvoker})
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	c, err := client.Connect(ctx, client.Config{Driver: td, InvokeDriver: true, Members: d.ingress,
		Credentials: []byte(credentials), WindowMax: clusterWindowMax})
	if err != nil {
		td.Close()
		return nil, err
	}
	return &clientConn{td: td, c: c}, nil
}

// clientConn is a clusterConn over cluster/client.
type clientConn struct {
	td *transport.Driver
	c  *client.Client
}

func (c *clientConn) Offer(p []byte) (int64, error)        { return c.c.Offer(p) }
func (c *clientConn) Poll(h client.Handler, limit int) int { return c.c.Poll(h, limit) }
func (c *clientConn) Wait(timeout time.Duration)           { c.td.WaitReadable(timeout) }
func (c *clientConn) Close() {
	c.c.Close()
	c.td.Close()
}

// Start opens every session, as principal:password (the cluster's default
// authenticator ignores the password), and starts their goroutines.
func (d *ClusterDriver) Start(ctx context.Context, sink Sink) error {
	if len(d.sessions) == 0 {
		return fmt.Errorf("%w: no cluster sessions", ErrConfig)
	}
	d.sink = sink
	ctx, cancel := context.WithTimeout(ctx, clusterConnectTimeout)
	defer cancel()
	for _, cs := range d.sessions {
		conn, err := d.dial(ctx, cs.principal+":"+d.cfg.Password)
		if err != nil {
			return fmt.Errorf("cluster session %s to %v: %w (is the venue running there? `venue run --dir D` writes D/cluster.toml)",
				cs.principal, d.ingress, err)
		}
		cs.conn = conn
	}
	for _, cs := range d.sessions {
		d.loops.Add(1)
		go cs.loop()
	}
	return nil
}

// Stop ends the sessions' goroutines and closes the sessions through the
// log.
func (d *ClusterDriver) Stop() {
	d.stopOnce.Do(func() {
		d.stopping.Store(true)
		d.loops.Wait()
		for _, cs := range d.sessions {
			cs.mu.Lock()
			if cs.conn != nil {
				cs.conn.Close()
			}
			cs.mu.Unlock()
		}
	})
}

// Send encodes req as an engine command into session s's outbox and offers
// it now if the session is free (see ClusterDriver). A failure to offer it
// later goes to the sink's OnSendFailed.
func (d *ClusterDriver) Send(s int, req *Request) error {
	if s < 0 || s >= len(d.sessions) {
		return fmt.Errorf("%w: session %d", ErrConfig, s)
	}
	cs := d.sessions[s]
	err := cs.enqueue(req.ClOrdID, func(dst []byte) ([]byte, error) {
		return encodeRequest(dst, req, d.cfg.Instruments, cs.principal, cs.account)
	})
	if err != nil {
		return err
	}
	cs.kick()
	return nil
}

// CancelAll sends every session a mass cancel of its principal's orders and
// waits for the engine's reports.
func (d *ClusterDriver) CancelAll(ctx context.Context) (int64, error) {
	for _, cs := range d.sessions {
		select {
		case <-cs.mass: // a stale answer
		default:
		}
		id := "LGMC." + strconv.FormatInt(d.massSeq.Add(1), 36) + "." + strconv.FormatInt(time.Now().UnixMilli(), 36)
		err := cs.enqueue(id, func(dst []byte) ([]byte, error) { return encodeMassCancel(dst, cs.principal, id) })
		if err != nil {
			return 0, fmt.Errorf("mass cancel on %s: %w", cs.principal, err)
		}
		cs.kick()
	}
	var total int64
	for _, cs := range d.sessions {
		select {
		case r := <-cs.mass:
			if r.err != nil {
				return total, fmt.Errorf("mass cancel on %s: %w", cs.principal, r.err)
			}
			total += r.canceled
		case <-ctx.Done():
			return total, fmt.Errorf("mass cancel on %s: %w", cs.principal, ctx.Err())
		}
	}
	return total, nil
}

// enqueue encodes a command into the next slot of the outbox.
func (cs *clusterSession) enqueue(clOrdID string, encode func(dst []byte) ([]byte, error)) error {
	if cs.d.stopping.Load() {
		return ErrClusterStopped
	}
	cs.qmu.Lock()
	defer cs.qmu.Unlock()
	if cs.count == len(cs.ring) {
		return ErrClusterOutboxFull
	}
	slot := &cs.ring[(cs.head+cs.count)%len(cs.ring)]
	p, err := encode(slot.payload[:0])
	if err != nil {
		return err
	}
	slot.clOrdID, slot.payload = clOrdID, p
	cs.count++
	return nil
}

// queued is how many commands wait in the outbox.
func (cs *clusterSession) queued() int {
	cs.qmu.Lock()
	defer cs.qmu.Unlock()
	return cs.count
}

// kick offers the outbox if nobody holds the session. If somebody does, it
// offers the outbox before letting go, and the session's goroutine looks at
// the outbox again after every cycle, before it parks: a command queued
// while the session was busy is offered at the end of that cycle.
func (cs *clusterSession) kick() {
	if cs.mu.TryLock() {
		cs.flushLocked()
		cs.mu.Unlock()
	}
}

// flushLocked offers the outbox in order until it is empty or an offer is
// refused for the moment; it returns how many it offered.
func (cs *clusterSession) flushLocked() int {
	n := 0
	cs.blocked = false
	if cs.conn == nil { // not started, or failed to
		return 0
	}
	for {
		cs.qmu.Lock()
		if cs.count == 0 {
			cs.qmu.Unlock()
			return n
		}
		// Only mu's holder takes from the head; Send writes behind it.
		slot := &cs.ring[cs.head]
		cs.qmu.Unlock()
		_, err := cs.conn.Offer(slot.payload)
		switch {
		case err == nil:
			cs.d.counters.Offered.Add(1)
			n++
		case errors.Is(err, client.ErrBackPressured), errors.Is(err, client.ErrNotConnected),
			errors.Is(err, client.ErrWindowFull):
			cs.d.counters.BackPressured.Add(1)
			cs.blocked = true
			return n
		default: // closed, too large: it will never go
			cs.d.counters.SendFailed.Add(1)
			cs.d.sink.OnSendFailed(cs.idx, slot.clOrdID, err)
		}
		cs.qmu.Lock()
		cs.head = (cs.head + 1) % len(cs.ring)
		cs.count--
		cs.qmu.Unlock()
	}
}

// loop is the session's goroutine: offer, poll egress, park when idle.
func (cs *clusterSession) loop() {
	defer cs.d.loops.Done()
	for !cs.d.stopping.Load() {
		cs.mu.Lock()
		work := cs.flushLocked()
		work += cs.conn.Poll(&cs.h, clusterPollLimit)
		work += cs.flushLocked()
		blocked := cs.blocked
		cs.mu.Unlock()
		switch {
		case work > 0:
		case blocked:
			cs.conn.Wait(clusterBackoffWait)
		case cs.queued() > 0: // queued by a Send that found the session busy
		default:
			cs.conn.Wait(clusterParkMax)
		}
	}
}

// clusterHandler receives one session's egress (under the session's lock).
type clusterHandler struct{ cs *clusterSession }

// OnMessage passes an engine report on to the sink, or a mass cancel's
// outcome to CancelAll.
func (h *clusterHandler) OnMessage(_, _ int64, payload []byte) {
	d := h.cs.d
	r, mass, what := parseEngineReport(payload)
	switch what {
	case answerReport:
		d.sink.OnReport(h.cs.idx, &r)
	case answerMassCancel:
		select {
		case h.cs.mass <- mass:
		default:
			d.counters.Ignored.Add(1)
		}
	case answerUndecodable:
		d.counters.Undecodable.Add(1)
	default:
		d.counters.Ignored.Add(1)
	}
}

// OnNewLeader counts a leader change; the client follows it by itself.
func (h *clusterHandler) OnNewLeader(int32, int64) { h.cs.d.counters.NewLeaders.Add(1) }

// OnUnknownOutcome fails the request whose command the client handed back:
// the load generator never offers a command twice, so it is an error.
func (h *clusterHandler) OnUnknownOutcome(_ int64, payload []byte, reason string) {
	d := h.cs.d
	d.counters.UnknownOutcomes.Add(1)
	id, t := commandClOrdID(payload)
	err := fmt.Errorf("%w: %s", ErrUnknownOutcome, reason)
	if t == engine.TemplateMassCancel {
		select {
		case h.cs.mass <- massResult{err: err}:
		default:
		}
		return
	}
	d.sink.OnSendFailed(h.cs.idx, id, err)
}
