package fixgateway

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Stage histogram bounds: what one stage of one FIX message can take, in
// nanoseconds, at two significant figures (a histogram is then about 30 KB:
// one per session and two for the agent).
const (
	stageLowestNs  = 1_000
	stageHighestNs = int64(60 * time.Second)
	stageSigFigs   = 2
)

// StageLatency is one stage's latency quantiles, in nanoseconds, over the
// FIX messages that went through it (Count).
type StageLatency struct {
	Count         int64
	P50, P99, Max int64
}

// Stages says where the gateway's answered FIX messages spent their time,
// stage by stage, so that a slow round trip can be put down to the
// gateway, the cluster or what is outside both (the FIX connection, the
// client, the writes of reports to the socket). A message answered by a status query after its outcome was
// unknown is not a round trip and does not count; one offered again after
// that counts, its ingress then including the time to resolve it.
//
// The offer and the answer are timed at the start of the agent's duty
// cycle that saw them (the clock the agent reads anyway), so the boundary
// between Ingress and Cluster, and between Cluster and Egress, is known
// to within one duty cycle: microseconds, unless the host starves the
// agent.
type Stages struct {
	// FIXIn runs from quickfixgo reading the FIX message off the socket
	// (quickfix.Message.ReceiveTime: the read that brought its last bytes
	// in) to FromApp queuing its command for the agent: quickfixgo's
	// parsing and checks, and the session goroutine's backlog. That
	// goroutine also hands every outbound message to the connection's
	// writer and waits for it to be written (wire.go), so a burst of
	// reports holds the next orders back here.
	FIXIn StageLatency
	// Ingress runs from the FIX message's command being queued for the
	// agent (FromApp) to the cluster client taking it: the hop to the
	// agent, its queue, and back pressure from the cluster.
	Ingress StageLatency
	// Cluster runs from the cluster client taking the command to the
	// agent polling the engine's answer: the link to the leader,
	// replication and commit (fsync), the engine, and egress back.
	Cluster StageLatency
	// Egress runs from the agent polling the answer to the session's
	// sender handing its report to quickfixgo (quickfix.SendToTarget):
	// the hop to the sender, its queue, FIX spelling, and waiting for room
	// in quickfixgo's queue (handoff).
	Egress StageLatency
	// FIXOut runs from the sender handing a report to quickfixgo
	// (SendToTarget) to the session goroutine handing it to the
	// connection's writer: quickfixgo building it and storing it in the
	// FIX store (with the file store, fsyncs), and its wait in quickfixgo's
	// queue behind the reports before it, which that goroutine hands over
	// one at a time, waiting for each to be written (wire.go). The write
	// to the socket and the client's read come after (and, for a report
	// in a batch of several, the rest of the batch: see cork.go). Reports are matched
	// to hand-offs in order, as the queue tokens are (handoff): a gateway
	// reject sent from FromApp in between shifts the match by one message
	// until the queue next empties or the session logs on again.
	FIXOut StageLatency
}

// sendTimes is when quickfixgo took each of a session's reports still in
// its queue, oldest first: the session's sender pushes, its quickfixgo
// goroutine pops. At most SessionQueuedMax, as the queue tokens bound
// them; beyond that (a mismatch) the oldest is dropped.
type sendTimes struct {
	mu   sync.Mutex
	ring [SessionQueuedMax]time.Time
	head int // index of the oldest
	n    int
}

func (t *sendTimes) push(at time.Time) {
	t.mu.Lock()
	if t.n == len(t.ring) {
		t.head = (t.head + 1) % len(t.ring)
		t.n--
	}
	t.ring[(t.head+t.n)%len(t.ring)] = at
	t.n++
	t.mu.Unlock()
}

// unpush drops the newest (its message was not queued after all).
func (t *sendTimes) unpush() {
	t.mu.Lock()
	if t.n > 0 {
		t.n--
	}
	t.mu.Unlock()
}

func (t *sendTimes) pop() (time.Time, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n == 0 {
		return time.Time{}, false
	}
	at := t.ring[t.head]
	t.head = (t.head + 1) % len(t.ring)
	t.n--
	return at, true
}

func (t *sendTimes) reset() {
	t.mu.Lock()
	t.head, t.n = 0, 0
	t.mu.Unlock()
}

// stageHist is one stage's histogram, recorded by one goroutine and read
// by Stages from any.
type stageHist struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

func newStageHist() *stageHist {
	return &stageHist{h: hdrhistogram.New(stageLowestNs, stageHighestNs, stageSigFigs)}
}

// record adds one message's time in the stage (clamped to the bounds: a
// clock step must not make it fail).
func (s *stageHist) record(d time.Duration) {
	v := min(max(int64(d), stageLowestNs), stageHighestNs)
	s.mu.Lock()
	_ = s.h.RecordValue(v)
	s.mu.Unlock()
}

// mergeInto adds s's counts to h.
func (s *stageHist) mergeInto(h *hdrhistogram.Histogram) {
	s.mu.Lock()
	h.Merge(s.h)
	s.mu.Unlock()
}

func stageLatency(h *hdrhistogram.Histogram) StageLatency {
	if h.TotalCount() == 0 {
		return StageLatency{}
	}
	return StageLatency{Count: h.TotalCount(), P50: h.ValueAtQuantile(50), P99: h.ValueAtQuantile(99), Max: h.Max()}
}

// Stages returns where answered FIX messages spent their time so far.
func (g *Gateway) Stages() Stages {
	one := func(parts ...*stageHist) StageLatency {
		h := hdrhistogram.New(stageLowestNs, stageHighestNs, stageSigFigs)
		for _, p := range parts {
			p.mergeInto(h)
		}
		return stageLatency(h)
	}
	egress := make([]*stageHist, 0, len(g.sessions))
	out := make([]*stageHist, 0, len(g.sessions))
	for _, s := range g.sessions {
		egress = append(egress, s.egressStage)
		out = append(out, s.fixOutStage)
	}
	return Stages{FIXIn: one(g.fixInStage), Ingress: one(g.ingressStage), Cluster: one(g.clusterStage),
		Egress: one(egress...), FIXOut: one(out...)}
}
