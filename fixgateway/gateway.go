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

	"venue/engine"
	"venue/transport"
)

// Bounds and timeouts.
const (
	// IngressQueueCapacity bounds the commands waiting for the agent
	// goroutine. A FIX message that finds it full is refused with a
	// BusinessMessageReject (j) "gateway queue full" (CounterQueueFull);
	// a logon or logoff waits for room instead.
	IngressQueueCapacity = 4096
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
	// sessionStatusesMax bounds one session's SessionStatus commands in the
	// agent (a logoff and the next logon); a further logon or logoff waits.
	sessionStatusesMax = 2
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
	// StoreFactory stores FIX sequence numbers and messages. When nil:
	// the store the settings name (Config.FIXStore: the journal,
	// quickfixgo's file store, or its memory store). Either way the gateway wraps it
	// so that the persisted inbound sequence number never passes an
	// unanswered message (see seqStore).
	StoreFactory quickfix.MessageStoreFactory
	// LogFactory logs FIX sessions; none when nil. The gateway wraps it
	// (see handoff).
	LogFactory quickfix.LogFactory
	// OfferTimeout, AnswerTimeout, StartTimeout and StopDrain override
	// the defaults when positive.
	OfferTimeout, AnswerTimeout, StartTimeout, StopDrain time.Duration
	// SessionInFlight lowers the unanswered FIX messages a session may
	// have below SessionInFlightMax when positive.
	SessionInFlight int
}

// fixSession is one configured FIX session.
type fixSession struct {
	cfg SessionConfig
	// Owned by the session's quickfixgo goroutine:
	resetSeq  bool // the logon being processed restarts sequence numbers
	rejectSeq int  // counts gateway rejects, for unique ExecIDs
	loggedOn  atomic.Bool

	store   atomic.Pointer[seqStore] // set when quickfixgo creates the session
	conn    atomic.Pointer[net.Conn] // the current connection, to drop a slow consumer
	wire    atomic.Pointer[wire]     // the current connection's byte count (wire.go)
	handoff handoff                  // the gateway's messages in quickfixgo's queue
	// statuses holds a token per SessionStatus in the agent.
	statuses chan struct{}
	// outbox carries the agent's batches to the session's sender; free
	// returns them.
	outbox chan *outBatch
	free   chan *outBatch
	// egressStage is Stages.Egress for this session's sender; fixOutStage
	// is Stages.FIXOut, recorded by its quickfixgo goroutine.
	egressStage, fixOutStage *stageHist

	// Owned by the agent goroutine:
	pipe pipe
}

// Gateway is a FIX 4.4 (and FIXT 1.1 / FIX 5.0 SP2) acceptor that turns its
// sessions' orders into engine commands on one cluster client and the
// engine's reports back into FIX.
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
	senders   sync.WaitGroup
	// fixInStage, ingressStage and clusterStage are Stages.FIXIn,
	// .Ingress and .Cluster.
	fixInStage, ingressStage, clusterStage *stageHist

	acceptor *quickfix.Acceptor
	stopOnce sync.Once
}

// New returns a gateway for cfg; Start runs it.
func New(cfg *Config, opts Options) (*Gateway, error) {
	if opts.Client == nil {
		return nil, fmt.Errorf("%w: no cluster client", ErrConfig)
	}
	if opts.SessionInFlight > SessionInFlightMax || opts.SessionInFlight < 0 {
		return nil, fmt.Errorf("%w: SessionInFlight %d not in 0..%d", ErrConfig, opts.SessionInFlight, SessionInFlightMax)
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
		// The agent records these.
		fixInStage:   newStageHist(),
		ingressStage: newStageHist(),
		clusterStage: newStageHist(),
		stopping:     make(chan struct{}),
		abandon:      make(chan struct{}),
		agentDone:    make(chan struct{}),
	}
	for _, sc := range cfg.Sessions {
		s := &fixSession{cfg: sc, statuses: make(chan struct{}, sessionStatusesMax), handoff: newHandoff(),
			outbox: make(chan *outBatch, OutboxBatchesMax), free: make(chan *outBatch, OutboxBatchesMax),
			egressStage: newStageHist(), fixOutStage: newStageHist()}
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
	if o.SessionInFlight == 0 {
		o.SessionInFlight = SessionInFlightMax
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
	for _, s := range g.sessions {
		g.senders.Add(1)
		go g.runSender(s)
	}
	g.agent.started.Store(true)
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
		store = storeFactoryFor(g.cfg, g.ctr)
	}
	logs := logFactory{inner: g.opts.LogFactory, g: g}
	a, err := quickfix.NewAcceptor(g, seqStoreFactory{inner: store, g: g}, g.cfg.Settings, logs)
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

// storeFactoryFor returns the FIX message store the configuration names
// (Config.FIXStore), counting in ctr.
func storeFactoryFor(cfg *Config, ctr *counters) quickfix.MessageStoreFactory {
	kind := cfg.FIXStore
	if kind == "" { // a Config built by hand
		kind, _ = fixStoreOf(cfg.Settings)
	}
	switch kind {
	case FIXStoreJournal:
		return journalFactory{settings: cfg.Settings, faults: ctr.journalFaults}
	case FIXStoreFile:
		return newFileStoreFactory(cfg.Settings)
	}
	return quickfix.NewMemoryStoreFactory()
}

func anySessionHas(s *quickfix.Settings, key string) bool {
	for _, ss := range s.SessionSettings() {
		if ss.HasSetting(key) {
			return true
		}
	}
	return false
}

// Stop stops taking FIX messages (they are refused as "application not
// available"), waits (bounded by StopDrain) for the answers to those
// already taken to reach the FIX store, logs the FIX sessions out, and
// closes the cluster client. Messages left unanswered are not counted as
// received in the FIX store, so a restarted gateway asks for them again.
// It is safe to call more than once.
func (g *Gateway) Stop() {
	g.stopOnce.Do(func() {
		g.ready.Store(false)
		close(g.stopping)
		drain := time.AfterFunc(g.opts.StopDrain, func() { close(g.abandon) })
		if g.agent.started.Load() {
			<-g.agentDone // the agent closes the outboxes when it ends
		} else {
			for _, s := range g.sessions {
				close(s.outbox)
			}
		}
		g.senders.Wait()
		if drain.Stop() {
			close(g.abandon)
		}
		if g.acceptor != nil {
			g.acceptor.Stop()
		}
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
// silently), and remembers each session's connection.
type compIDValidator struct{ g *Gateway }

// Validate implements quickfix.ConnectionValidator.
func (v compIDValidator) Validate(c net.Conn, id quickfix.SessionID) error {
	s, ok := v.g.sessions[id]
	if !ok {
		v.g.ctr.unknownCompIDs.Increment()
		return fmt.Errorf("fixgateway: no session %s->%s", id.TargetCompID, id.SenderCompID)
	}
	s.conn.Store(&c)
	s.wire.Store(newWire(c, v.g.ctr.wireWaitsCut))
	return nil
}

// OnCreate implements quickfix.Application.
func (g *Gateway) OnCreate(quickfix.SessionID) {}

// OnLogon tells the engine the principal is here (through the log, ahead
// of any of its orders: the agent holds them until the engine has
// acknowledged the logon).
func (g *Gateway) OnLogon(id quickfix.SessionID) {
	s := g.sessions[id]
	if s == nil {
		return
	}
	s.loggedOn.Store(true)
	s.handoff.reset() // quickfixgo dropped what was queued before the logon
	g.sessionStatus(s, engine.SessionStateLoggedOn, s.resetSeq)
	s.resetSeq = false
	g.ctr.logons.Increment() // after the SessionStatus is counted: see Stats

}

// OnLogout tells the engine the principal left, so that it cancels the
// session's resting DAY orders if cancel-on-disconnect is on.
func (g *Gateway) OnLogout(id quickfix.SessionID) {
	s := g.sessions[id]
	if s == nil || !s.loggedOn.Swap(false) {
		return
	}
	s.handoff.reset() // quickfixgo drops what is queued
	s.wire.Load().uncork()
	g.sessionStatus(s, engine.SessionStateLoggedOff, false)
}

// sessionStatus queues a SessionStatus. It waits for room (a session has
// at most sessionStatusesMax in the agent) rather than drop it.
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
	g.ctr.statuses.Increment()
	select {
	case s.statuses <- struct{}{}:
	case <-g.stopping:
		return
	}
	select {
	case g.ingress <- c:
	case <-g.stopping:
		<-s.statuses
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
// rejects it itself, queues its command for the agent and returns without
// waiting for the engine: the session pipelines. quickfixgo counts the
// message as received when this returns, but the session's seqStore
// persists that only once the answer is in the outbound store, so a
// command whose answer was not stored is asked for again after a crash,
// and the engine's SenderSeq dedupe makes that harmless.
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
	// A fresh buffer per command: the agent owns it from here.
	buf := make([]byte, 0, commandBufferBytes)
	req, rej := tr.translate(m, msgType, uint64(max(seq, 0)), resendFlag(m), buf)
	if rej != nil {
		return g.reject(s, m, kindOf(msgType), rej)
	}
	return g.submit(s, req, seq, m)
}

// resendFlag reports PossResend=Y (an application resend under a new
// sequence number) or PossDupFlag=Y (a session-level resend).
func resendFlag(m *quickfix.Message) bool {
	return flagSet(&m.Body.FieldMap, tagPossResend) || flagSet(&m.Header.FieldMap, tagPossResend) ||
		flagSet(&m.Header.FieldMap, tagPossDupFlag)
}

// flagSet reports whether a Boolean field is present and Y (asking first:
// quickfixgo builds an error for every field it does not find).
func flagSet(f *quickfix.FieldMap, t quickfix.Tag) bool {
	if !f.Has(t) {
		return false
	}
	v, err := f.GetBool(t)
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
	now := time.Now()
	out := gatewayRejectFIX(m, k, rej, gatewayExecID(s.rejectSeq, now), now)
	if err := quickfix.SendToTarget(out, s.cfg.ID); err != nil {
		g.ctr.sendFailures.Increment()
	}
	return nil
}

// submit queues req for the agent without waiting. A full queue — the
// session's SessionInFlightMax unanswered messages, or the agent's ingress
// — refuses the message at once with a BusinessMessageReject (j).
func (g *Gateway) submit(s *fixSession, req request, seq int, m *quickfix.Message) quickfix.MessageRejectError {
	select {
	case <-g.stopping:
		g.ctr.unavailable.Increment()
		return unavailable(req.clOrdID)
	default:
	}
	st := s.store.Load()
	if st == nil {
		g.ctr.unavailable.Increment()
		return unavailable(req.clOrdID) // cannot happen: quickfixgo creates the store first
	}
	slot, ok := st.begin(seq)
	if !ok {
		return g.queueFull(s, req.clOrdID, strconv.Itoa(g.opts.SessionInFlight)+" messages unanswered on this session")
	}
	c := &command{sess: s, req: req, phase: phaseQueued, slot: slot, hasSlot: true, receivedAt: m.ReceiveTime,
		submittedAt: time.Now()}
	if req.kind == requestCancel || req.kind == requestReplace {
		c.origClOrdID, _ = m.Body.GetString(tagOrigClOrdID)
	}
	select {
	case g.ingress <- c:
		return nil
	default:
		st.end(slot)
		return g.queueFull(s, req.clOrdID, "gateway ingress queue full")
	}
}

// queueFull counts and refuses a message a bounded queue had no room for.
func (g *Gateway) queueFull(s *fixSession, clOrdID, why string) quickfix.MessageRejectError {
	g.ctr.queueFull.Increment()
	return quickfix.NewBusinessMessageRejectErrorWithRefID("Application not available at this time: gateway queue full ("+why+"); resend later",
		bizRejApplicationUnavailable, clOrdID, nil)
}

func unavailable(clOrdID string) quickfix.MessageRejectError {
	return quickfix.NewBusinessMessageRejectErrorWithRefID("Application not available at this time", bizRejApplicationUnavailable, clOrdID, nil)
}
