// Package clusterlink connects the FIX gateway to a real venue cluster: it
// implements fixgateway.ClusterClient with the cluster's Go client library
// (cluster/client), which follows leader changes by itself and hands back
// every message whose outcome it cannot vouch for.
//
// It also implements fixgateway.EgressNotifier, so that the gateway's agent
// parks until egress arrives instead of polling on a timer: the link runs
// its transport driver's duty cycle on a goroutine of its own (the driver
// in invoker mode, parked in the network poller when idle, as the driver's
// own goroutine would be) and signals the agent whenever a cycle received
// datagrams, after they are in the response subscription's image.
package clusterlink

import (
	"context"
	"errors"
	"fmt"
	"time"

	"venue/cluster/client"
	"venue/cluster/config"
	"venue/fixgateway"
	"venue/transport"
)

// Link is a fixgateway.ClusterClient over one cluster session. Its methods
// are called from the gateway's agent goroutine (Close from any).
type Link struct {
	members []string
	window  int
	driver  *transport.Driver
	runner  *transport.AgentRunner // runs driverAgent
	egress  chan struct{}          // capacity 1: EgressReady
	c       *client.Client
	h       handler
}

var (
	_ fixgateway.ClusterClient  = (*Link)(nil)
	_ fixgateway.EgressNotifier = (*Link)(nil)
)

// driverWaitMax bounds one park of the driver's goroutine, so that the
// driver's timers (heartbeats, status messages, NAK retries) run on time;
// the transport's own blocking idle strategy uses the same bound.
const driverWaitMax = time.Millisecond

// closeFlush is how long Close lets the driver run after the session's
// close request, as the client library does for a driver it invokes.
const closeFlush = 20 * time.Millisecond

// Config configures a Link.
type Config struct {
	// Members are the members' client ingress endpoints ("host:port"), in
	// member id order.
	Members []string
	// MTU is the client transport's datagram size in bytes (0: the
	// transport's default); config.Cluster.TransportMTU is the members'.
	MTU int
	// WindowMax bounds the gateway's messages offered and not yet
	// acknowledged (committed); beyond it Offer says back pressured. Keep
	// it at most the cluster's session_ingress_limit: the leader refuses
	// a session's messages beyond that limit, and each refused one comes
	// back as an unknown outcome that the gateway must resolve through the
	// log, while back pressure just slows reading FIX. 0: the limit of the
	// cluster file's defaults (config.DefaultSettings).
	WindowMax int
}

// New returns a link to the cluster whose members' ingress endpoints
// ("host:port") are members, in member id order, with the transport's
// default MTU (see NewWithConfig).
func New(members []string) (*Link, error) {
	return NewWithConfig(Config{Members: members})
}

// NewWithConfig returns a link configured by cfg. It owns a transport
// driver with its own goroutine (parked in the poller when idle).
func NewWithConfig(cfg Config) (*Link, error) {
	if len(cfg.Members) == 0 {
		return nil, errors.New("clusterlink: no cluster members")
	}
	if cfg.WindowMax < 0 || cfg.WindowMax > client.WindowMaxLimit {
		return nil, fmt.Errorf("clusterlink: window %d not in [0,%d]", cfg.WindowMax, client.WindowMaxLimit)
	}
	d, err := transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingInvoker, MTU: cfg.MTU})
	if err != nil {
		return nil, fmt.Errorf("clusterlink: transport: %w", err)
	}
	if cfg.WindowMax == 0 {
		cfg.WindowMax = config.DefaultSettings().SessionIngressLimit
	}
	l := &Link{members: cfg.Members, window: cfg.WindowMax, driver: d, egress: make(chan struct{}, 1)}
	idle := transport.NewBlockingIdleStrategy(d)
	idle.Timeout = driverWaitMax
	l.runner = transport.NewAgentRunner(&driverAgent{d: d, received: d.SystemCounters().DatagramsReceived,
		egress: l.egress}, idle, nil)
	l.runner.Start()
	return l, nil
}

// EgressReady implements fixgateway.EgressNotifier: it receives after the
// driver took in datagrams (egress, leader events, acknowledgements), so a
// Poll after it has them to deliver. A signal may find nothing new (a
// heartbeat, or what an earlier Poll already took): the agent just polls.
func (l *Link) EgressReady() <-chan struct{} { return l.egress }

// driverAgent is the driver's duty cycle on the link's goroutine, which
// tells the gateway's agent when the receiver took in datagrams.
type driverAgent struct {
	d        *transport.Driver
	received *transport.Counter // the driver's DatagramsReceived
	egress   chan<- struct{}
}

// DoWork implements transport.Agent: the driver's conductor, sender and
// receiver, as transport's shared threading runs them, and a signal (never
// blocking: one pending signal is enough) when datagrams came in. The
// receiver has written them into the images before the counter moves.
func (a *driverAgent) DoWork(nowNs int64) int {
	before := a.received.Get()
	n := a.d.DoWork(nowNs)
	if a.received.Get() != before {
		select {
		case a.egress <- struct{}{}:
		default:
		}
	}
	return n
}

// OnClose implements transport.Agent.
func (a *driverAgent) OnClose() {}

// RoleName implements transport.Agent.
func (a *driverAgent) RoleName() string { return "clusterlink-driver" }

// Connect implements fixgateway.ClusterClient: the gateway's principal is
// its cluster credential (the cluster's authenticator maps it to a
// principal; the default one takes it as is).
func (l *Link) Connect(ctx context.Context, creds fixgateway.Credentials) error {
	cred := creds.Principal
	if creds.Secret != "" {
		cred += ":" + creds.Secret
	}
	c, err := client.Connect(ctx, client.Config{Driver: l.driver, Members: l.members, Credentials: []byte(cred),
		WindowMax: l.window})
	if err != nil {
		return fmt.Errorf("clusterlink: %w", err)
	}
	l.c = c
	return nil
}

// Offer implements fixgateway.ClusterClient. The position it returns is the
// message's correlation id in its cluster session (increasing, > 0), which
// OnUnknownOutcome hands back.
func (l *Link) Offer(msg []byte) fixgateway.OfferResult {
	if l.c == nil {
		return fixgateway.OfferNotConnected
	}
	corr, err := l.c.Offer(msg)
	switch {
	case err == nil:
		return fixgateway.OfferResult(corr)
	case errors.Is(err, client.ErrBackPressured), errors.Is(err, client.ErrWindowFull):
		return fixgateway.OfferBackPressured
	case errors.Is(err, client.ErrNotConnected):
		return fixgateway.OfferNotConnected
	}
	return fixgateway.OfferClosed
}

// Poll implements fixgateway.ClusterClient.
func (l *Link) Poll(h fixgateway.ClusterHandler, limit int) int {
	if l.c == nil {
		return 0
	}
	l.h.h = h
	n := l.c.Poll(&l.h, limit)
	l.h.h = nil
	return n
}

// Close implements fixgateway.ClusterClient.
// The driver's goroutine keeps running for closeFlush after the client
// offered its close request, so that the request leaves and the cluster
// closes the session through the log now rather than timing it out.
func (l *Link) Close() error {
	if l.c != nil {
		l.c.Close()
		time.Sleep(closeFlush)
	}
	rerr := l.runner.Close()
	if err := l.driver.Close(); err != nil {
		return fmt.Errorf("clusterlink: close: %w", err)
	}
	if rerr != nil {
		return fmt.Errorf("clusterlink: close: %w", rerr)
	}
	return nil
}

// handler adapts client.Handler to fixgateway.ClusterHandler.
type handler struct{ h fixgateway.ClusterHandler }

func (a *handler) OnMessage(_, _ int64, payload []byte) { a.h.OnMessage(payload) }
func (a *handler) OnNewLeader(leader int32, term int64) { a.h.OnNewLeader(leader, term) }
func (a *handler) OnUnknownOutcome(corr int64, payload []byte, _ string) {
	a.h.OnUnknownOutcome(corr, payload)
}
