package module

import (
	"errors"
	"fmt"

	"venue/cluster/consensus"
	"venue/cluster/container"
)

// pollLimit bounds the consensus messages handled per DoWork.
const pollLimit = 64

// readyRoundsMax bounds the Ready/Advance rounds per DoWork; each round may
// produce more work (a proposal, a commit), the next DoWork picks it up.
const readyRoundsMax = 4

// Transport moves encoded consensus messages between members.
type Transport interface {
	// Send offers msg to member to without blocking; false means it was
	// not sent (back pressure, not connected). The protocol recovers from
	// any loss, so the agent does not retry. msg is valid only during the
	// call.
	Send(to consensus.MemberID, msg []byte) bool
	// Poll hands up to limit received messages to handler with the sender
	// as the transport authenticated it, and returns how many it handed.
	// msg is valid only during the handler call.
	Poll(handler func(from consensus.MemberID, msg []byte), limit int) int
}

// Durability makes a member's consensus state durable.
type Durability interface {
	// SaveHardState stores term and vote durably before it returns.
	SaveHardState(consensus.HardState) error
	// LogAppended says the LogStore has new bytes; the implementation makes
	// them durable by its fsync policy, now or later, and reports it through
	// LogStore.DurablePosition.
	LogAppended()
}

// Observer sees every Ready before the agent advances the node (the
// simulator's checkers; counters). It must not retain rd's slices.
type Observer interface {
	OnReady(rd *consensus.Ready)
}

// SnapshotTransfer moves snapshots between members for the agent: it takes
// the node's snapshot offers (Ready.SnapshotOffer), handles the snapshot
// transfer messages the node does not (chunk requests and chunks), and
// does bounded periodic work (serving queued chunks, retransmitting
// requests). It runs on the agent's goroutine and may call the node's
// SnapshotInstalled from OnSnapshotMessage.
type SnapshotTransfer interface {
	OnSnapshotOffer(nowNs int64, o consensus.SnapshotOffer)
	OnSnapshotMessage(nowNs int64, m *consensus.Message)
	DoWork(nowNs int64) int
}

// ErrSource: a message whose claimed sender is not the transport's source.
var ErrSource = errors.New("module: message sender does not match its source")

// Agent drives one member's consensus node and service container.
type Agent struct {
	node      *consensus.Node
	container *container.Container
	transport Transport
	durable   Durability
	observer  Observer
	sessions  *Sessions
	status    consensus.Status
	// proposed holds the due timers this leader proposed in its current
	// term, with the deadline each had: a timer is proposed once per term
	// per deadline (a rescheduled timer is proposed again).
	proposed map[int64]int64
	// startEnd is the log end when the agent started: a shutdown action
	// below it was a previous run's, replayed, not a request to stop now.
	startEnd   consensus.Position
	shutdownAt consensus.Position // a shutdown action applied, to hand the node
	transfer   SnapshotTransfer
	// start, if set, starts the service: it runs once, before the first
	// Ready that applies entries or makes this member leader (DeferStart).
	start func(nowNs int64) error
	// flushSends, if set, puts the messages just offered to the transport
	// on the wire (SetSendFlush).
	flushSends func()
	nowNs      int64
	enc        []byte
	err        error
	// Drops counts received messages dropped (decode errors in Decode,
	// the rest here).
	Decode                            consensus.DecodeCounters
	WrongSource, Rejected, SendFailed uint64
}

// New returns an agent for node and c (started by the caller).
func New(node *consensus.Node, c *container.Container, t Transport, d Durability, o Observer) *Agent {
	return &Agent{node: node, container: c, transport: t, durable: d, observer: o,
		status: node.Status(), proposed: map[int64]int64{}, startEnd: node.Status().LogEnd}
}

// Err returns the fatal error that stopped the agent, if any.
func (a *Agent) Err() error { return a.err }

// Status returns the node's status as of the last Ready.
func (a *Agent) Status() consensus.Status { return a.status }

// Node returns the consensus node (for status and counters).
func (a *Agent) Node() *consensus.Node { return a.node }

// DoWork runs one duty cycle at nowNs and returns the work done (0: idle).
func (a *Agent) DoWork(nowNs int64) int {
	if a.err != nil {
		return 0
	}
	a.nowNs = nowNs
	work := a.transport.Poll(a.onMessage, pollLimit)
	if err := a.node.Tick(nowNs); err != nil && !errors.Is(err, consensus.ErrClosed) {
		a.fail(err)
	}
	work += a.processReady()
	if a.transfer != nil {
		work += a.transfer.DoWork(nowNs)
	}
	work += a.proposeServiceWork()
	if a.sessions != nil {
		work += a.sessions.poll(nowNs)
	}
	work += a.processReady()
	if a.sessions != nil {
		a.sessions.flushAcks()
	}
	return work
}

// AttachSessions makes the agent serve clients through s: it polls s's
// ingress each duty cycle and s follows the committed log. s must be the
// container's Egress.
func (a *Agent) AttachSessions(s *Sessions) {
	a.sessions = s
	s.node, s.log, s.status = a.node, a.container, a.status
	a.container.Observe(s.onCommitted)
}

// SetSendFlush has the agent call flush right after it offers a Ready's
// messages to its Transport, before it applies the Ready's committed
// entries: a member that drives its own transport driver (invoker mode)
// sends them there and then, instead of on its next duty cycle, so that a
// follower's acknowledgement and a leader's AppendLog do not wait for the
// service to apply a batch.
func (a *Agent) SetSendFlush(flush func()) { a.flushSends = flush }

// AttachSnapshotTransfer makes t move snapshots for this member.
func (a *Agent) AttachSnapshotTransfer(t SnapshotTransfer) { a.transfer = t }

// DeferStart has the agent call start (once) just before it first applies
// committed entries or applies a Ready in which this member leads, instead
// of the caller starting the service up front: until then a snapshot
// installed from a peer can still replace what the service would load.
func (a *Agent) DeferStart(start func(nowNs int64) error) { a.start = start }

// Started reports whether the deferred start has run (true if none).
func (a *Agent) Started() bool { return a.start == nil }

// Send encodes m and offers it to member m.To; false if the transport did
// not take it (counted in SendFailed).
func (a *Agent) Send(m *consensus.Message) bool {
	a.enc = consensus.AppendMessage(a.enc[:0], m)
	if !a.transport.Send(m.To, a.enc) {
		a.SendFailed++
		return false
	}
	return true
}

// Sessions returns the attached session layer (nil if none).
func (a *Agent) Sessions() *Sessions { return a.sessions }

func (a *Agent) onMessage(from consensus.MemberID, b []byte) {
	var m consensus.Message
	if a.Decode.Decode(b, &m) != nil {
		return
	}
	if m.From != from {
		a.WrongSource++
		return
	}
	if m.Type.IsSnapshotTransfer() {
		if a.transfer == nil {
			a.Rejected++
			return
		}
		a.transfer.OnSnapshotMessage(a.nowNs, &m)
		return
	}
	if err := a.node.Step(a.nowNs, &m); err != nil && !errors.Is(err, consensus.ErrClosed) {
		a.Rejected++
		if errors.Is(err, consensus.ErrStore) {
			a.fail(err)
		}
	}
}

// Propose appends a client's entry if this member leads (ingress).
func (a *Agent) Propose(nowNs int64, e *consensus.LogEntry) (consensus.Position, error) {
	a.nowNs = nowNs
	return a.node.Propose(nowNs, e)
}

// Fail stops the agent with err (a fatal error found by a part the agent
// drives, such as its SnapshotTransfer); Err reports it.
func (a *Agent) Fail(err error) { a.fail(err) }

func (a *Agent) fail(err error) {
	if a.err == nil {
		a.err = fmt.Errorf("module: %w", err)
	}
}

// processReady carries out the node's obligations, in the order Ready
// documents, until it has none (or readyRoundsMax).
func (a *Agent) processReady() int {
	work := 0
	for range readyRoundsMax {
		if a.err != nil || !a.node.HasReady() {
			break
		}
		// A follower's store is told of its appends before the Ready is
		// taken, so that a store that writes when told (logstore
		// DeferWrites) has made them durable and the Ready acknowledges
		// them; a leader's is told after its messages are sent, so that its
		// AppendLogs leave before its own write (the commit counts only
		// what it wrote). The Node reports only durable positions, so the
		// order is a matter of speed, not safety.
		told := false
		if a.status.Role != consensus.RoleLeader && a.node.Appended() {
			a.durable.LogAppended()
			told = true
		}
		rd := a.node.Ready()
		if rd.HardStateChanged {
			if err := a.durable.SaveHardState(rd.HardState); err != nil {
				a.fail(err) // never send a vote or term that is not durable
				return work
			}
		}
		leads := rd.Status.Role == consensus.RoleLeader
		if rd.LogAppended && !told && !leads {
			a.durable.LogAppended()
		}
		a.send(rd.Messages)
		if len(rd.Messages) > 0 && a.flushSends != nil {
			a.flushSends()
		}
		if rd.LogAppended && !told && leads {
			a.durable.LogAppended()
		}
		a.apply(&rd)
		if a.observer != nil {
			a.observer.OnReady(&rd)
		}
		a.node.Advance(rd)
		if rd.SnapshotOffer.Position > 0 && a.transfer != nil {
			a.transfer.OnSnapshotOffer(a.nowNs, rd.SnapshotOffer)
		}
		// rd.Status was taken before its entries were applied; the applied
		// position moved since, and nothing else may change to bring a new
		// Ready (a quiet cluster): keep Status current.
		a.status.Applied = a.node.Status().Applied
		if a.shutdownAt > 0 {
			a.node.ShutdownApplied(a.nowNs, a.shutdownAt)
			a.shutdownAt = 0
		}
		work += 1 + len(rd.Messages)
	}
	return work
}

func (a *Agent) send(msgs []consensus.Message) {
	for i := range msgs {
		a.Send(&msgs[i])
	}
}

func (a *Agent) apply(rd *consensus.Ready) {
	if a.start != nil && (rd.CommittedTo > rd.CommittedFrom || rd.Status.Role == consensus.RoleLeader) {
		start := a.start
		a.start = nil
		if err := start(a.nowNs); err != nil {
			a.fail(err)
			return
		}
	}
	if rd.Status.Term != a.status.Term {
		clear(a.proposed) // a new term proposes due timers afresh
	}
	a.status = rd.Status
	if a.sessions != nil {
		a.sessions.nowNs = a.nowNs
		a.sessions.setStatus(rd.Status)
	}
	a.container.SetRole(rd.Status.Role)
	if rd.CommittedTo > rd.CommittedFrom {
		if err := a.container.Apply(rd.CommittedFrom, rd.Committed); err != nil {
			a.fail(err)
		}
		if p := a.container.ShutdownAt(); p > a.startEnd && p > rd.CommittedFrom {
			a.shutdownAt = p // handed to the node after Advance
		}
	}
}

// proposeServiceWork appends what the leader's container asked for: the
// service's outbox and expired timers (each once per term; the container
// ignores a second expiry). Timers are due by this member's clock, which is
// at most the cluster time it would stamp. A follower's container asks the
// same; its copies are dropped, the leader's count.
func (a *Agent) proposeServiceWork() int {
	out := a.container.Outbox()
	if a.status.Role != consensus.RoleLeader {
		return 0
	}
	for i := range out {
		_, _ = a.node.Propose(a.nowNs, &out[i]) // back pressure drops a service message
	}
	work := len(out)
	due := a.container.DueTimers(a.nowNs)
	for _, t := range due {
		if d, ok := a.proposed[t.CorrelationID]; ok && d == t.DeadlineNs {
			continue
		}
		a.proposed[t.CorrelationID] = t.DeadlineNs
		_, _ = a.node.Propose(a.nowNs, &consensus.LogEntry{Type: consensus.EntryTimer, CorrelationID: t.CorrelationID})
		work++
	}
	if len(a.proposed) > 2*len(due)+proposedSlack {
		// Timers applied since are no longer due: forget them, so that the
		// map stays the size of what is due.
		for corr := range a.proposed {
			if _, still := a.container.TimerDeadline(corr); !still {
				delete(a.proposed, corr)
			}
		}
	}
	return work
}

// proposedSlack: the proposed-timer map is pruned when it holds this many
// more entries than twice the due timers.
const proposedSlack = 1024

// RoleName names the agent for idle strategies, counters and traces.
func (a *Agent) RoleName() string { return "consensus-module" }

// OnClose releases nothing: the agent owns no resources; its transport,
// durability and store are closed by whoever made them.
func (a *Agent) OnClose() {}
