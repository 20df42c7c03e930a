package sim

import (
	"fmt"
	"hash/fnv"

	"venue/cluster/consensus"
	"venue/cluster/container"
	"venue/cluster/module"
)

// member is one simulated cluster member: the production consensus module
// agent (module.Agent) driving a consensus node and a service container,
// over fake I/O that this type implements — transport (module.Transport),
// durability (module.Durability, with MemLogStore as the disk) — plus an
// observer that feeds the checkers.
type member struct {
	id     int
	sim    *Simulator
	agent  *module.Agent
	node   *consensus.Node
	store  *consensus.MemLogStore
	hard   consensus.HardState // what survives a crash
	up     bool
	paused bool
	inbox  []*packet // received consensus packets, polled by the agent
	held   []*packet // delivered while paused, in arrival order
	// clockNs is this incarnation's clock offset from virtual time: members'
	// clocks disagree, and a restart may step the clock back.
	clockNs int64
	// counters of earlier incarnations (a crash loses the node)
	counters consensus.Counters
	syncAt   int64 // pending fsync completes at this time; -1: none

	// Service state (lost on crash, rebuilt by replaying the log).
	applied   Position
	digest    uint64 // of the raw committed entries
	container *container.Container
	service   *digestService
	status    consensus.Status
}

// Position is the simulator's name for a log position.
type Position = consensus.Position

func (m *member) start(nowNs int64) {
	cfg := consensus.DefaultConfig(consensus.MemberID(m.id), m.sim.opts.Members,
		NewRand(m.sim.opts.Seed*1000003+uint64(m.id)*7919+uint64(nowNs)))
	m.clockNs = m.sim.rng.Int63n(m.sim.opts.ClockSkewMaxNs + 1)
	n, err := consensus.NewNode(cfg, m.store, m.hard, 0, nowNs+m.clockNs)
	if err != nil {
		panic(fmt.Sprintf("member %d: %v", m.id, err))
	}
	m.node, m.up, m.paused, m.syncAt, m.inbox = n, true, false, -1, nil
	m.applied, m.digest = 0, 0
	m.service = newDigestService(m)
	m.container = container.New(consensus.MemberID(m.id), m.service, egressTo{m})
	if err := m.container.Start(nil, 0); err != nil {
		panic(err)
	}
	m.agent = module.New(n, m.container, m, m, m)
	m.status = n.Status()
	m.sim.check.onRestart(m)
}

// crash stops the member and loses every unsynced write.
func (m *member) crash() {
	c := m.node.Counters()
	m.counters.LeaderTerms += c.LeaderTerms
	m.counters.Truncations += c.Truncations
	m.counters.SplitBallots += c.SplitBallots
	m.up, m.node, m.agent, m.syncAt, m.held, m.inbox = false, nil, nil, -1, nil, nil
	keep := 0
	if n := m.store.UnsyncedAppends(); n > 0 && m.sim.rng.Intn(2) == 0 {
		keep = m.sim.rng.Intn(n + 1) // the OS wrote some pages back before the crash
	}
	m.store.CrashKeeping(keep)
}

// setPaused stops or resumes the member's process. Packets that arrive
// while it is stopped wait in its socket buffer and are delivered, in order,
// when it resumes.
func (m *member) setPaused(p bool) {
	m.paused = p
	if p {
		return
	}
	for _, pk := range m.held {
		m.sim.net.requeue(m.sim.nowNs, pk)
	}
	m.held = nil
}

func (m *member) active() bool { return m.up && !m.paused }

// doWork runs the agent's duty cycle on this member's clock and checks it
// met no error and dropped no message (the simulated network never corrupts).
func (m *member) doWork(nowNs int64) {
	m.agent.DoWork(nowNs + m.clockNs)
	a := m.agent
	switch {
	case a.Err() != nil:
		m.sim.fail(failCrash, "member %d: %v", m.id, a.Err())
	case a.Decode.Total() != 0 || a.WrongSource != 0 || a.Rejected != 0:
		m.sim.fail(failSafety, "member %d: dropped messages: decode %+v source %d rejected %d",
			m.id, a.Decode, a.WrongSource, a.Rejected)
	}
}

// deliver hands a packet to the member.
func (m *member) deliver(nowNs int64, p *packet) {
	switch p.kind {
	case kindConsensus:
		m.inbox = append(m.inbox, p)
	case kindIngress:
		m.onIngress(nowNs, p)
	}
	m.doWork(nowNs)
}

func (m *member) onIngress(nowNs int64, p *packet) {
	e := consensus.LogEntry{Type: consensus.EntrySessionMessage, SessionID: clientSession,
		CorrelationID: p.ingress.correlation, Payload: p.ingress.payload}
	if p.ingress.correlation == 0 { // connect: open the session through the log
		e = consensus.LogEntry{Type: consensus.EntrySessionOpen, SessionID: clientSession, Payload: consensus.AppendSessionOpen(nil, &consensus.SessionOpen{Principal: []byte("client")})}
	}
	if _, err := m.agent.Propose(nowNs+m.clockNs, &e); err == consensus.ErrNotLeader {
		m.sim.net.send(nowNs, &packet{kind: kindEgress, from: m.id, to: clientID,
			egress: egress{leader: int(m.node.Status().Leader)}})
	}
}

func (m *member) tick(nowNs int64) {
	if m.syncAt >= 0 && nowNs >= m.syncAt {
		m.store.Sync()
		m.syncAt = -1
	}
	m.doWork(nowNs)
}

// Send implements module.Transport: the packet is a copy (msg is reused).
func (m *member) Send(to consensus.MemberID, msg []byte) bool {
	m.sim.net.send(m.sim.nowNs, &packet{kind: kindConsensus, from: m.id, to: int(to),
		data: append([]byte(nil), msg...)})
	return true
}

// Poll implements module.Transport.
func (m *member) Poll(handler func(from consensus.MemberID, msg []byte), limit int) int {
	n := min(limit, len(m.inbox))
	batch := m.inbox[:n]
	m.inbox = m.inbox[n:]
	for _, p := range batch {
		handler(consensus.MemberID(p.from), p.data)
	}
	return n
}

// SaveHardState implements module.Durability: a synchronous durable write.
func (m *member) SaveHardState(hs consensus.HardState) error {
	m.hard = hs
	return nil
}

// LogAppended implements module.Durability: an fsync completes after a
// random delay; a crash before then loses the unsynced appends.
func (m *member) LogAppended() {
	if m.syncAt < 0 {
		m.syncAt = m.sim.nowNs + m.sim.rng.Int63n(m.sim.opts.SyncDelayMaxNs+1)
	}
}

// OnReady implements module.Observer: the raw log digest and the checkers.
func (m *member) OnReady(rd *consensus.Ready) {
	m.status = rd.Status
	m.applyRaw(rd)
	m.sim.check.onReady(m, rd)
}

// applyRaw folds every committed entry into a digest of the raw log, checked
// by position across members (the service digest is checked separately).
func (m *member) applyRaw(rd *consensus.Ready) {
	if rd.CommittedTo == rd.CommittedFrom {
		return
	}
	if rd.CommittedFrom != m.applied {
		m.sim.fail(failSafety, "member %d: applies from %d, service at %d", m.id, rd.CommittedFrom, m.applied)
	}
	var e consensus.LogEntry
	for b := rd.Committed; len(b) > 0; {
		l, err := consensus.DecodeEntry(b, &e)
		if err != nil {
			m.sim.fail(failSafety, "member %d: committed entry at %d: %v", m.id, m.applied, err)
			return
		}
		h := fnv.New64a()
		var buf [8]byte
		for i := range 8 {
			buf[i] = byte(m.digest >> (8 * i))
		}
		h.Write(buf[:])
		h.Write(b[:l])
		m.digest = h.Sum64()
		m.applied += Position(l)
		m.sim.check.onApply(m, m.applied, m.digest, &e)
		b = b[l:]
	}
}
