package fixgateway

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/store/file"

	"venue/engine"
	"venue/transport"
)

// Bounds and timeouts.
const (
	// IngressQueueCapacity bounds the commands waiting for the agent. When
	// it is full, FIX session goroutines block in FromApp: quickfixgo stops
	// reading their sockets, and TCP pushes back on the clients.
	IngressQueueCapacity = 1024
	// DefaultOfferTimeout is how long a command may wait for the cluster
	// to take it (back pressure, no leader) before the client gets a
	// BusinessMessageReject "application not available".
	DefaultOfferTimeout = 5 * time.Second
	// DefaultAnswerTimeout is how long the gateway waits for the engine's
	// answer to an offered command before resolving it through the log as
	// if its outcome were unknown.
	DefaultAnswerTimeout = 10 * time.Second
	// DefaultStartTimeout bounds connecting and loading instruments.
	DefaultStartTimeout = 10 * time.Second
	// DefaultStopDrain bounds how long Stop waits for outstanding answers.
	DefaultStopDrain = 2 * time.Second
	// commandBufferBytes is room for the largest command the gateway sends.
	commandBufferBytes = 256
)

// Errors.
var (
	// ErrNotReady is returned by Start when the cluster cannot be reached
	// or gives no instruments in time.
	ErrNotReady = errors.New("fixgateway: cluster not ready")
	// ErrStopped is returned by Start on a stopped gateway.
	ErrStopped = errors.New("fixgateway: gateway stopped")
)

// Options are a gateway's collaborators. Client is required; the rest
// default.
type Options struct {
	// Client is the cluster client all FIX sessions are multiplexed on.
	Client ClusterClient
	// Counters receives the gateway's counters; nil keeps them private.
	Counters *transport.CountersManager
	// Name labels the counters; "gateway" when empty.
	Name string
	// StoreFactory stores FIX sequence numbers and messages; quickfixgo's
	// file store (FileStorePath in the settings) when nil.
	StoreFactory quickfix.MessageStoreFactory
	// LogFactory logs FIX sessions; none when nil.
	LogFactory quickfix.LogFactory
	// OfferTimeout, AnswerTimeout, StartTimeout and StopDrain override
	// the defaults when positive.
	OfferTimeout, AnswerTimeout, StartTimeout, StopDrain time.Duration
}

// fixSession is one configured FIX session.
type fixSession struct {
	cfg SessionConfig
	// Owned by the session's quickfixgo goroutine:
	resetSeq  bool // the logon being processed restarts sequence numbers
	rejectSeq int  // counts gateway rejects, for unique ExecIDs
	loggedOn  atomic.Bool
	// Owned by the agent goroutine:
	pending      *command // the order command in flight, if any
	statusClOrd  string   // ClOrdID of an outstanding resolving status query
	statusActive bool
}

// Gateway is a FIX 4.4 acceptor that turns its sessions' orders into engine
// commands on one cluster client and the engine's reports back into FIX.
type Gateway struct {
	cfg   *Config
	opts  Options
	ctr   *counters
	cl    ClusterClient
	creds Credentials

	sessions    map[quickfix.SessionID]*fixSession
	byPrincipal map[string]*fixSession
	instruments atomic.Pointer[instrumentTable]
	ready       atomic.Bool

	ingress   chan *command
	stopping  chan struct{} // closed by Stop: no new commands
	abandon   chan struct{} // closed when waiting for answers ends
	agentDone chan struct{}
	agent     agent

	acceptor *quickfix.Acceptor
	stopOnce sync.Once
}

// New returns a gateway for cfg; Start runs it.
func New(cfg *Config, opts Options) (*Gateway, error) {
	if opts.Client == nil {
		return nil, fmt.Errorf("%w: no cluster client", ErrConfig)
	}
	defaults(&opts)
	ctr, err := newCounters(opts.Counters, opts.Name)
	if err != nil {
		return nil, err
	}
	g := &Gateway{
		cfg: cfg, opts: opts, ctr: ctr, cl: opts.Client,
		creds:       Credentials{Principal: cfg.GatewayPrincipal, Secret: cfg.GatewayPassword},
		sessions:    map[quickfix.SessionID]*fixSession{},
		byPrincipal: map[string]*fixSession{},
		ingress:     make(chan *command, IngressQueueCapacity),
		stopping:    make(chan struct{}),
		abandon:     make(chan struct{}),
		agentDone:   make(chan struct{}),
	}
	for _, sc := range cfg.Sessions {
		s := &fixSession{cfg: sc}
		g.sessions[sc.ID] = s
		g.byPrincipal[sc.Principal] = s
	}
	g.instruments.Store(newInstrumentTable(nil))
	g.agent.init(g)
	return g, nil
}

func defaults(o *Options) {
	if o.Name == "" {
		o.Name = "gateway"
	}
	if o.OfferTimeout <= 0 {
		o.OfferTimeout = DefaultOfferTimeout
	}
	if o.AnswerTimeout <= 0 {
		o.AnswerTimeout = DefaultAnswerTimeout
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = DefaultStartTimeout
	}
	if o.StopDrain <= 0 {
		o.StopDrain = DefaultStopDrain
	}
	if o.LogFactory == nil {
		o.LogFactory = quickfix.NewNullLogFactory()
	}
}

// Start connects to the cluster, learns the instruments, and starts
// accepting FIX connections.
func (g *Gateway) Start(ctx context.Context) error {
	select {
	case <-g.stopping:
		return ErrStopped
	default:
	}
	ctx, cancel := context.WithTimeout(ctx, g.opts.StartTimeout)
	defer cancel()
	if err := g.cl.Connect(ctx, g.creds); err != nil {
		return fmt.Errorf("fixgateway: connect to cluster: %w", err)
	}
	go g.agent.run()
	select {
	case <-g.agent.loaded:
	case <-ctx.Done():
		g.Stop()
		return fmt.Errorf("%w: no instrument list: %v", ErrNotReady, ctx.Err())
	}
	if err := g.startAcceptor(); err != nil {
		g.Stop()
		return err
	}
	g.ready.Store(true)
	return nil
}

func (g *Gateway) startAcceptor() error {
	store := g.opts.StoreFactory
	if store == nil {
		store = file.NewStoreFactory(g.cfg.Settings)
	}
	a, err := quickfix.NewAcceptor(g, store, g.cfg.Settings, g.opts.LogFactory)
	if err != nil {
		return fmt.Errorf("fixgateway: acceptor: %w", err)
	}
	a.SetConnectionValidator(compIDValidator{g})
	if err := a.Start(); err != nil {
		a.Stop()
		return fmt.Errorf("fixgateway: start acceptor: %w", err)
	}
	g.acceptor = a
	return nil
}

// Stop logs the FIX sessions out, waits (bounded) for outstanding answers,
// and closes the cluster client. It is safe to call more than once.
func (g *Gateway) Stop() {
	g.stopOnce.Do(func() {
		g.ready.Store(false)
		close(g.stopping)
		drain := time.AfterFunc(g.opts.StopDrain, func() { close(g.abandon) })
		if g.acceptor != nil {
			g.acceptor.Stop() // returns once every FromApp has returned
		}
		if drain.Stop() {
			close(g.abandon)
		}
		<-g.agentDone
		g.cl.Close()
	})
}

// Instruments returns the symbols the gateway knows, for diagnostics.
func (g *Gateway) Instruments() []string {
	t := g.instruments.Load()
	out := make([]string, 0, len(t.bySymbol))
	for s := range t.bySymbol {
		out = append(out, s)
	}
	return out
}

// compIDValidator counts and refuses connections for sessions the gateway
// does not have, before quickfixgo looks them up (it would drop them
// silently).
type compIDValidator struct{ g *Gateway }

// Validate implements quickfix.ConnectionValidator.
func (v compIDValidator) Validate(_ net.Conn, id quickfix.SessionID) error {
	if _, ok := v.g.sessions[id]; !ok {
		v.g.ctr.unknownCompIDs.Increment()
		return fmt.Errorf("fixgateway: no session %s->%s", id.TargetCompID, id.SenderCompID)
	}
	return nil
}

// OnCreate implements quickfix.Application.
func (g *Gateway) OnCreate(quickfix.SessionID) {}

// OnLogon tells the engine the principal is here (through the log, ahead
// of any of its orders).
func (g *Gateway) OnLogon(id quickfix.SessionID) {
	s := g.sessions[id]
	if s == nil {
		return
	}
	s.loggedOn.Store(true)
	g.ctr.logons.Increment()
	g.sessionStatus(s, engine.SessionStateLoggedOn, s.resetSeq)
	s.resetSeq = false
}

// OnLogout tells the engine the principal left, so that it cancels the
// session's resting DAY orders if cancel-on-disconnect is on.
func (g *Gateway) OnLogout(id quickfix.SessionID) {
	s := g.sessions[id]
	if s == nil || !s.loggedOn.Swap(false) {
		return
	}
	g.sessionStatus(s, engine.SessionStateLoggedOff, false)
}

func (g *Gateway) sessionStatus(s *fixSession, state engine.SessionState, reset bool) {
	buf, m := engine.AppendSessionStatus(make([]byte, 0, engine.SessionStatusLength))
	m.SetState(state)
	if s.cfg.CancelOnDisconnect {
		m.SetCancelOnDisconnect(1)
	}
	if reset {
		m.SetResetSeq(1)
	}
	m.SetPrincipal(s.cfg.Principal)
	c := &command{sess: s, internal: true, req: request{kind: requestSessionStatus, msg: buf}}
	select {
	case g.ingress <- c:
	case <-g.stopping:
	}
}

// ToAdmin implements quickfix.Application.
func (g *Gateway) ToAdmin(*quickfix.Message, quickfix.SessionID) {}

// ToApp implements quickfix.Application.
func (g *Gateway) ToApp(*quickfix.Message, quickfix.SessionID) error { return nil }

// FromAdmin authenticates logons: the password (554) must match the
// session's, and the gateway must be ready.
func (g *Gateway) FromAdmin(m *quickfix.Message, id quickfix.SessionID) quickfix.MessageRejectError {
	if !m.IsMsgTypeOf(msgTypeLogon) {
		return nil
	}
	s := g.sessions[id]
	if s == nil || !g.ready.Load() {
		g.ctr.logonsRejected.Increment()
		return quickfix.RejectLogon{Text: "venue not available"}
	}
	pw, err := m.Body.GetBytes(tagPassword)
	sum := sha256.Sum256(pw)
	if err != nil || subtle.ConstantTimeCompare(sum[:], s.cfg.PasswordSHA256[:]) != 1 {
		g.ctr.logonsRejected.Increment()
		return quickfix.RejectLogon{Text: "invalid password"}
	}
	// A logon at sequence number 1 restarts the client's numbering, so
	// the engine's SenderSeq high-water mark must restart too.
	seq, _ := m.Header.GetInt(tagMsgSeqNum)
	s.resetSeq = seq == 1
	return nil
}

// FromApp translates one application message and, unless the gateway
// rejects it itself, waits for the engine's answer before returning:
// quickfixgo stores the inbound sequence number only when this returns, so
// a command whose answer the gateway never saw is asked for again after a
// crash, and the engine's SenderSeq dedupe makes that harmless.
func (g *Gateway) FromApp(m *quickfix.Message, id quickfix.SessionID) quickfix.MessageRejectError {
	s := g.sessions[id]
	if s == nil {
		return quickfix.NewBusinessMessageRejectError("unknown session", bizRejNotAuthorized, nil)
	}
	g.ctr.messagesIn.Increment()
	msgType, ferr := m.MsgType()
	if ferr != nil {
		return ferr
	}
	seq, _ := m.Header.GetInt(tagMsgSeqNum)
	tr := translator{session: &s.cfg, instruments: g.instruments.Load()}
	// A fresh buffer per command: the agent may still hold the previous
	// one if Stop abandoned it.
	buf := make([]byte, 0, commandBufferBytes)
	req, rej := tr.translate(m, msgType, uint64(max(seq, 0)), resendFlag(m), buf)
	if rej != nil {
		return g.reject(s, m, kindOf(msgType), rej)
	}
	return g.submit(s, req, m)
}

// resendFlag reports PossResend=Y (an application resend under a new
// sequence number) or PossDupFlag=Y (a session-level resend).
func resendFlag(m *quickfix.Message) bool {
	if v, err := m.Body.GetBool(tagPossResend); err == nil && v {
		return true
	}
	if v, err := m.Header.GetBool(tagPossResend); err == nil && v {
		return true
	}
	v, err := m.Header.GetBool(tagPossDupFlag)
	return err == nil && v
}

func kindOf(msgType string) requestKind {
	switch msgType {
	case msgTypeNewOrderSingle:
		return requestNewOrder
	case msgTypeOrderCancel:
		return requestCancel
	case msgTypeOrderCancelReplace:
		return requestReplace
	case msgTypeOrderMassCancel:
		return requestMassCancel
	case msgTypeOrderStatusRequest:
		return requestStatus
	}
	return 0
}

// reject answers m with the gateway's own reject.
func (g *Gateway) reject(s *fixSession, m *quickfix.Message, k requestKind, rej *gwReject) quickfix.MessageRejectError {
	g.ctr.gatewayRejects.Increment()
	switch rej.how {
	case rejectSession:
		tag := rej.tag
		return quickfix.NewMessageRejectError(rej.text, rej.reason, &tag)
	case rejectBusiness:
		id, _ := m.Body.GetString(tagClOrdID)
		return quickfix.NewBusinessMessageRejectErrorWithRefID(rej.text, rej.reason, id, nil)
	}
	s.rejectSeq++
	execID := "GW-" + strconv.Itoa(s.rejectSeq) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	out := gatewayRejectFIX(m, k, rej, execID, time.Now())
	if err := quickfix.SendToTarget(out, s.cfg.ID); err != nil {
		g.ctr.sendFailures.Increment()
	}
	return nil
}

// submit hands req to the agent and waits for its outcome.
func (g *Gateway) submit(s *fixSession, req request, m *quickfix.Message) quickfix.MessageRejectError {
	c := &command{sess: s, req: req, phase: phaseQueued, queuedAt: time.Now(), done: make(chan outcome, 1)}
	if req.kind == requestCancel || req.kind == requestReplace {
		c.origClOrdID, _ = m.Body.GetString(tagOrigClOrdID)
	}
	select {
	case g.ingress <- c:
	case <-g.stopping:
		return unavailable(req.clOrdID)
	}
	var o outcome
	select {
	case o = <-c.done:
	case <-g.abandon:
		o = outcomeStopped
	}
	if o == outcomeUnavailable {
		return unavailable(req.clOrdID)
	}
	return nil
}

func unavailable(clOrdID string) quickfix.MessageRejectError {
	return quickfix.NewBusinessMessageRejectErrorWithRefID("Application not available at this time", bizRejApplicationUnavailable, clOrdID, nil)
}
