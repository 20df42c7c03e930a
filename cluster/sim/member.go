package sim

import (
	"fmt"
	"hash/fnv"

	"venue/cluster/consensus"
	"venue/cluster/container"
)

// member is one simulated cluster member: a consensus core, its disk (a
// MemLogStore plus the durably stored hard state) and a trivial service
// whose state is a digest of every entry it applied.
type member struct {
	id     int
	sim    *Simulator
	node   *consensus.Node
	store  *consensus.MemLogStore
	hard   consensus.HardState // what survives a crash
	up     bool
	paused bool
	held   []*packet // delivered while paused, in arrival order
	// clockNs is this incarnation's clock offset from virtual time: members'
	// clocks disagree, and a restart may step the clock back.
	clockNs int64
	// counters of earlier incarnations (a crash loses the node)
	counters consensus.Counters
	syncAt   int64 // pending fsync completes at this time; -1: none
	counter  consensus.DecodeCounters
	encBuf   []byte

	// Service state (lost on crash, rebuilt by replaying the log).
	applied   Position
	digest    uint64 // of the raw committed entries
	container *container.Container
	timerTerm map[int64]consensus.TermID // timers proposed, by term
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
	m.node, m.up, m.paused, m.syncAt = n, true, false, -1
	m.applied, m.digest = 0, 0
	m.container = container.New(consensus.MemberID(m.id), newDigestService(m), m)
	m.timerTerm = map[int64]consensus.TermID{}
	if err := m.container.Start(nil, 0); err != nil {
		panic(err)
	}
	m.status = n.Status()
	m.sim.check.onRestart(m)
}

// crash stops the member and loses every unsynced write.
func (m *member) crash() {
	c := m.node.Counters()
	m.counters.LeaderTerms += c.LeaderTerms
	m.counters.Truncations += c.Truncations
	m.up, m.node, m.syncAt, m.held = false, nil, -1, nil
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

// drive carries out the node's Ready obligations in order: persist the hard
// state, schedule the log fsync, send messages, apply committed entries.
func (m *member) drive(nowNs int64) {
	for range 8 {
		if !m.active() || !m.node.HasReady() {
			return
		}
		rd := m.node.Ready()
		if rd.HardStateChanged {
			m.hard = rd.HardState // a synchronous, durable write
		}
		if rd.LogAppended && m.syncAt < 0 {
			m.syncAt = nowNs + m.sim.rng.Int63n(m.sim.opts.SyncDelayMaxNs+1)
		}
		for i := range rd.Messages {
			m.sendMessage(nowNs, &rd.Messages[i])
		}
		m.status = rd.Status
		m.container.SetRole(rd.Status.Role)
		m.apply(nowNs, &rd)
		m.sim.check.onReady(m, &rd)
		m.node.Advance(rd)
		m.proposeServiceWork(nowNs)
	}
}

func (m *member) sendMessage(nowNs int64, msg *consensus.Message) {
	data := consensus.AppendMessage(nil, msg) // a fresh buffer: the packet outlives Advance
	m.sim.net.send(nowNs, &packet{kind: kindConsensus, from: m.id, to: int(msg.To), data: data})
}

// apply is the service: it folds every committed entry into the digest and,
// on the leader only, acknowledges client messages (egress only from the
// leader).
func (m *member) apply(nowNs int64, rd *consensus.Ready) {
	if rd.CommittedTo == rd.CommittedFrom {
		return
	}
	if rd.CommittedFrom != m.applied {
		m.sim.fail(failSafety, "member %d: applies from %d, service at %d", m.id, rd.CommittedFrom, m.applied)
	}
	b := rd.Committed
	var e consensus.LogEntry
	for len(b) > 0 {
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
	if err := m.container.Apply(rd.CommittedFrom, rd.Committed); err != nil {
		m.sim.fail(failSafety, "member %d: container: %v", m.id, err)
	}
}

// deliver hands a packet to the member.
func (m *member) deliver(nowNs int64, p *packet) {
	switch p.kind {
	case kindConsensus:
		var msg consensus.Message
		msg.To = consensus.MemberID(m.id)
		if err := m.counter.Decode(p.data, &msg); err != nil {
			m.sim.fail(failSafety, "member %d: decode from %d: %v", m.id, p.from, err)
			return
		}
		if err := m.node.Step(nowNs+m.clockNs, &msg); err != nil {
			m.sim.fail(failCrash, "member %d: step %v: %v", m.id, &msg, err)
		}
	case kindIngress:
		m.onIngress(nowNs, p)
	}
	m.drive(nowNs)
}

func (m *member) onIngress(nowNs int64, p *packet) {
	var err error
	if p.ingress.correlation == 0 { // connect: open the session through the log
		_, err = m.node.Propose(nowNs+m.clockNs, &consensus.LogEntry{Type: consensus.EntrySessionOpen,
			SessionID: clientSession, Payload: []byte("client")})
	} else {
		_, err = m.node.ProposeMessage(nowNs+m.clockNs, clientSession, p.ingress.correlation, p.ingress.payload)
	}
	if err == consensus.ErrNotLeader {
		st := m.node.Status()
		m.sim.net.send(nowNs, &packet{kind: kindEgress, from: m.id, to: clientID,
			egress: egress{leader: int(st.Leader)}})
	}
}

func (m *member) tick(nowNs int64) {
	if m.syncAt >= 0 && nowNs >= m.syncAt {
		m.store.Sync()
		m.syncAt = -1
	}
	if err := m.node.Tick(nowNs + m.clockNs); err != nil {
		m.sim.fail(failCrash, "member %d: tick: %v", m.id, err)
	}
	m.proposeServiceWork(nowNs)
	m.drive(nowNs)
}
