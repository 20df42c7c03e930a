// Package member assembles one cluster member from its parts: the
// consensus module (cluster/module) driving a consensus node over the
// member-to-member transport, the durable log store, the client session
// layer on the member's ingress endpoint, and the service container running
// the ClusteredService — all on one goroutine with one duty cycle, parked in
// the network poller when idle (2 cores: a member must not spin).
//
// Several members can run in one process (the embedded default), each with
// its own transport driver, or one per process (venue node).
package member

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"venue/cluster"
	"venue/cluster/consensus"
	"venue/cluster/container"
	"venue/cluster/module"
	"venue/cluster/protocol"
	"venue/transport"
)

// commandQueueMax bounds requests from other goroutines (terminate, status
// probes) waiting for the member's duty cycle.
const commandQueueMax = 16

// HardStateStore persists the member's term and vote.
type HardStateStore interface {
	LoadHardState() (consensus.HardState, error)
	SaveHardState(consensus.HardState) error
}

// Config configures a member. Everything it names is created and owned by
// the caller, except what Start creates (ingress, response channels, node,
// container) and the goroutine.
type Config struct {
	// Consensus is the node's configuration (ID, Members, timeouts).
	Consensus consensus.Config
	// Driver is the member's transport. If InvokeDriver is set the driver
	// was made with ThreadingInvoker and the member runs its duty cycle
	// (one goroutine for the whole member); otherwise it runs its own.
	Driver       *transport.Driver
	InvokeDriver bool
	// Peers carries consensus messages to and from the other members.
	Peers module.Transport
	// Store is the member's log; Hard its term and vote.
	Store consensus.LogStore
	Hard  HardStateStore
	// OnLogAppended is called after the node appends (the store's fsync
	// trigger); nil if the store needs none.
	OnLogAppended func()
	// IngressEndpoint is where clients connect ("host:port").
	IngressEndpoint string
	// Sessions configures client sessions.
	Sessions module.SessionConfig
	// Service is the replicated application.
	Service cluster.ClusteredService
	// Clock is the nanosecond clock (nil: transport.MonotonicNanos).
	Clock transport.NanoClock
	// Idle is the idle strategy (nil: block in the driver's poller).
	Idle transport.IdleStrategy
	// Counters is the process's counters file, where the member publishes
	// its counters and reads the cluster tool's requests (nil: none).
	Counters *transport.CountersManager
	// Snapshots keeps snapshots (nil: none; restarts replay the whole log).
	Snapshots SnapshotStore
	// SnapshotKeep is how many snapshots retention keeps (0: 3).
	SnapshotKeep int
	// SnapshotIntervalNs: the leader asks for a snapshot this often (0:
	// only when asked).
	SnapshotIntervalNs int64
}

// Member is a running cluster member.
type Member struct {
	cfg       Config
	agent     *module.Agent
	sessions  *module.Sessions
	container *container.Container
	responses *responses
	ingress   *transport.Subscription
	runner    *transport.AgentRunner
	status    atomic.Pointer[consensus.Status]
	commands  chan func(nowNs int64)
	// control publishes the member's counters and carries out what the
	// cluster tool asks through the counters file (see control.go); nil
	// without a counters file.
	control   controlPlane
	closeOnce sync.Once
	closeErr  error
	nowNs     int64 // of the current duty cycle

	snapshots            SnapshotStore
	snapshotJobs         chan snapshotJob
	snapshotDone         chan struct{}
	lastSnapshotNs       int64
	snapshotsTaken       atomic.Int64
	snapshotsSkipped     atomic.Int64
	snapshotErrors       atomic.Int64
	lastSnapshotPosition atomic.Int64

	// Snapshot installation (install.go): what the service starts from,
	// the snapshot this member serves to peers, and the transfers.
	pending  pendingStart
	served   servedSnapshot
	transfer *transfer
}

// durability adapts the caller's stores to module.Durability.
type durability struct {
	hard     HardStateStore
	appended func()
}

func (d durability) SaveHardState(hs consensus.HardState) error { return d.hard.SaveHardState(hs) }
func (d durability) LogAppended() {
	if d.appended != nil {
		d.appended()
	}
}

// Start builds the member and starts its duty cycle. The service's state is
// rebuilt from the newest snapshot (if any) and the committed log after it;
// the service starts when the member first applies or leads, or from a
// snapshot installed from a peer before that (install.go).
func Start(cfg Config) (*Member, error) {
	if cfg.Clock == nil {
		cfg.Clock = transport.MonotonicNanos
	}
	if cfg.Idle == nil {
		cfg.Idle = transport.NewBlockingIdleStrategy(cfg.Driver)
	}
	id := cfg.Consensus.ID
	if cfg.SnapshotKeep == 0 {
		cfg.SnapshotKeep = defaultSnapshotKeep
	}
	hs, err := cfg.Hard.LoadHardState()
	if err != nil {
		return nil, fmt.Errorf("member %d: load term and vote: %w", id, err)
	}
	m := &Member{cfg: cfg, commands: make(chan func(int64), commandQueueMax), snapshots: cfg.Snapshots}
	sub, err := cfg.Driver.AddSubscription("udp?endpoint="+cfg.IngressEndpoint, protocol.IngressStreamID,
		transport.SubscriptionOptions{})
	if err != nil {
		return nil, fmt.Errorf("member %d: ingress on %s: %w", id, cfg.IngressEndpoint, err)
	}
	m.ingress = sub
	sessionCfg := cfg.Sessions
	if err := sessionCfgDefaults(&sessionCfg); err != nil {
		sub.Close()
		return nil, fmt.Errorf("member %d: %w", id, err)
	}
	m.responses = newResponses(cfg.Driver, sessionCfg.SessionsMax+responsesSpare)
	m.sessions, err = module.NewSessions(id, sessionCfg, newIngress(sub), m.responses)
	if err != nil {
		sub.Close()
		return nil, fmt.Errorf("member %d: %w", id, err)
	}
	m.container = container.New(id, cfg.Service, m.sessions)
	m.container.OnSnapshot(m.takeSnapshot)
	applied, err := m.recover()
	if err != nil {
		sub.Close()
		return nil, fmt.Errorf("member %d: recovery: %w", id, err)
	}
	node, err := consensus.NewNode(cfg.Consensus, cfg.Store, hs, applied, cfg.Clock())
	if err != nil {
		sub.Close()
		return nil, fmt.Errorf("member %d: %w", id, err)
	}
	m.agent = module.New(node, m.container, cfg.Peers, durability{cfg.Hard, cfg.OnLogAppended}, nil)
	m.agent.AttachSessions(m.sessions)
	m.agent.DeferStart(m.startService)
	if cfg.InvokeDriver {
		sender := cfg.Driver.Sender()
		m.agent.SetSendFlush(func() { sender.DoWork(m.nowNs) })
	}
	if m.snapshots != nil {
		m.transfer = newTransfer(m)
		m.agent.AttachSnapshotTransfer(m.transfer)
		if m.served.blob != nil {
			node.SnapshotAvailable(m.served.position)
		}
	}
	st := node.Status()
	m.status.Store(&st)
	if cfg.Counters != nil {
		if m.control, err = newControlPlane(m, cfg.Counters); err != nil {
			sub.Close()
			return nil, fmt.Errorf("member %d: counters: %w", id, err)
		}
	}
	if m.snapshots != nil {
		m.snapshotJobs, m.snapshotDone = make(chan snapshotJob, snapshotQueueMax), make(chan struct{})
		go m.writeSnapshots()
	}
	m.runner = transport.NewAgentRunner(dutyCycle{m}, cfg.Idle, cfg.Clock)
	m.runner.Start()
	return m, nil
}

// responsesSpare: response channels beyond one per session, for answers to
// clients without a session here (redirects, refusals, connects in flight).
const responsesSpare = 256

func sessionCfgDefaults(c *module.SessionConfig) error {
	if c.SessionsMax == 0 {
		c.SessionsMax = 256
	}
	if c.SessionsMax < 0 || c.SessionsMax > module.SessionsMaxLimit {
		return fmt.Errorf("sessions max %d not in [1,%d]", c.SessionsMax, module.SessionsMaxLimit)
	}
	return nil
}

// dutyCycle is the member's one agent: driver (if invoked), consensus
// module with sessions, response channels, and requests from outside.
type dutyCycle struct{ m *Member }

func (d dutyCycle) DoWork(nowNs int64) int {
	m := d.m
	m.nowNs = nowNs
	work := 0
	if m.cfg.InvokeDriver {
		work += m.cfg.Driver.DoWork(nowNs)
	}
	select {
	case f := <-m.commands:
		f(nowNs) // the cycle's time: the node's clock must not go back
		work++
	default:
	}
	work += m.agent.DoWork(nowNs)
	work += m.responses.DoWork(nowNs)
	if m.control != nil {
		work += m.control.DoWork(nowNs)
	}
	if iv := m.cfg.SnapshotIntervalNs; iv > 0 && m.snapshots != nil && nowNs-m.lastSnapshotNs > iv &&
		m.agent.Status().Role == consensus.RoleLeader {
		m.lastSnapshotNs = nowNs // the action comes back through the log and sets it again
		_, _ = m.agent.Propose(nowNs, &consensus.LogEntry{Type: consensus.EntryClusterAction, Action: consensus.ActionSnapshot})
	}
	if st := m.agent.Status(); st != *m.status.Load() {
		m.status.Store(&st)
	}
	return work // after a fatal error the runner keeps cycling idle; Err reports it
}

func (d dutyCycle) OnClose() {
	if d.m.control != nil {
		d.m.control.OnClose()
	}
	d.m.responses.close()
	d.m.ingress.Close()
}

func (d dutyCycle) RoleName() string { return fmt.Sprintf("member-%d", d.m.cfg.Consensus.ID) }

// ID returns the member id.
func (m *Member) ID() consensus.MemberID { return m.cfg.Consensus.ID }

// Status returns the member's consensus status as of its last duty cycle.
// Safe from any goroutine.
func (m *Member) Status() consensus.Status { return *m.status.Load() }

// Err returns the fatal error that stopped the member's consensus module.
func (m *Member) Err() error {
	var err error
	if !m.do(func(int64) { err = m.agent.Err() }) {
		if perr := m.Close(); perr != nil {
			return perr // the duty cycle died of a panic
		}
		return ErrClosed
	}
	return err
}

// ErrClosed: the member has stopped (closed, aborted, or shut down).
var ErrClosed = errors.New("member: closed")

// do runs f on the member's goroutine, with the duty cycle's time, and
// waits for it. It reports false if the member is closed.
func (m *Member) do(f func(nowNs int64)) bool {
	done := make(chan struct{})
	select {
	case m.commands <- func(nowNs int64) { f(nowNs); close(done) }:
	case <-m.runner.Done():
		return false
	}
	select {
	case <-done:
		return true
	case <-m.runner.Done():
		return false
	}
}

// Inspect runs f on the member's goroutine with the consensus agent (for
// counters, tests and the cluster tool) and waits for it.
func (m *Member) Inspect(f func(a *module.Agent)) bool { return m.do(func(int64) { f(m.agent) }) }

// Terminate asks the leader to shut the cluster down in order (the
// termination position is appended to the log; every member stops once it
// has applied it). Only the leader accepts it.
func (m *Member) Terminate() (consensus.Position, error) {
	var p consensus.Position
	var err error
	if !m.do(func(nowNs int64) { p, err = m.agent.Node().Terminate(nowNs) }) {
		return 0, ErrClosed
	}
	return p, err
}

// Shutdown snapshots the cluster and then stops it in order (leader only):
// both actions enter the log together, so every member snapshots at the
// same position and stops just after it.
func (m *Member) Shutdown() (consensus.Position, error) {
	var p consensus.Position
	var err error
	if !m.do(func(nowNs int64) {
		if _, err = m.agent.Propose(nowNs, &consensus.LogEntry{Type: consensus.EntryClusterAction,
			Action: consensus.ActionSnapshot}); err == nil {
			p, err = m.agent.Node().Terminate(nowNs)
		}
	}) {
		return 0, ErrClosed
	}
	if errors.Is(err, consensus.ErrNotLeader) {
		return 0, ErrNotLeader
	}
	return p, err
}

// Close stops the member's duty cycle and releases what Start created. The
// caller closes the driver, peers and stores afterwards.
func (m *Member) Close() error {
	m.closeOnce.Do(func() {
		m.closeErr = m.runner.Close()
		if m.snapshotJobs != nil { // let a snapshot being written finish
			close(m.snapshotJobs)
			<-m.snapshotDone
		}
	})
	return m.closeErr
}

// ErrNotLeader: the request must go to the leader.
var ErrNotLeader = errors.New("member: not the leader")

// Snapshot asks the cluster to take a snapshot (leader only): a snapshot
// action is appended to the log and every member snapshots at its position.
func (m *Member) Snapshot() (consensus.Position, error) {
	return m.proposeAction(consensus.ActionSnapshot)
}

// Suspend stops the cluster taking client messages (leader only; through
// the log, so every member agrees from which position).
func (m *Member) Suspend() (consensus.Position, error) {
	return m.proposeAction(consensus.ActionSuspend)
}

// Resume undoes Suspend (leader only).
func (m *Member) Resume() (consensus.Position, error) { return m.proposeAction(consensus.ActionResume) }

func (m *Member) proposeAction(a consensus.ClusterAction) (consensus.Position, error) {
	var p consensus.Position
	var err error
	if !m.do(func(nowNs int64) {
		p, err = m.agent.Propose(nowNs, &consensus.LogEntry{Type: consensus.EntryClusterAction, Action: a})
	}) {
		return 0, ErrClosed
	}
	if errors.Is(err, consensus.ErrNotLeader) {
		return 0, ErrNotLeader
	}
	return p, err
}
