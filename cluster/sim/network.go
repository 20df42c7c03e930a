package sim

import "container/heap"

// packetKind says which stream a packet belongs to.
type packetKind uint8

const (
	// kindConsensus: an encoded consensus.Message between members.
	kindConsensus packetKind = iota
	// kindIngress: a client's proposal to a member.
	kindIngress
	// kindEgress: a member's answer to the client (ack or redirect).
	kindEgress
)

// clientID is the network address of the simulated client.
const clientID = -2

// packet is one datagram in flight.
type packet struct {
	deliverAtNs int64
	seq         uint64 // tie-break: equal times deliver in send order
	kind        packetKind
	from, to    int
	data        []byte
	ingress     ingress
	egress      egress
}

type ingress struct {
	correlation int64
	payload     []byte
}

type egress struct {
	correlation int64 // acknowledged proposal, or 0 for a redirect
	leader      int   // redirect hint, -1 if unknown
}

type packetQueue []*packet

func (q packetQueue) Len() int { return len(q) }
func (q packetQueue) Less(i, j int) bool {
	if q[i].deliverAtNs != q[j].deliverAtNs {
		return q[i].deliverAtNs < q[j].deliverAtNs
	}
	return q[i].seq < q[j].seq
}
func (q packetQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *packetQueue) Push(x any)   { *q = append(*q, x.(*packet)) }
func (q *packetQueue) Pop() any {
	old := *q
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return p
}

// network is a lossy, duplicating, reordering, partitionable datagram
// network between members (ids 0..n-1) and the client.
type network struct {
	rng                       *Rand
	opts                      *Options
	queue                     packetQueue
	seq                       uint64
	blocked                   map[[2]int]bool // from, to: packets dropped
	faulty                    bool            // loss and duplication apply
	sent, dropped, duplicated uint64
}

func newNetwork(rng *Rand, opts *Options) *network {
	return &network{rng: rng, opts: opts, blocked: map[[2]int]bool{}, faulty: true}
}

// send queues p from p.from to p.to at nowNs, subject to the faults.
func (n *network) send(nowNs int64, p *packet) {
	n.sent++
	if n.blocked[[2]int{p.from, p.to}] || n.faulty && n.rng.Chance(n.opts.Loss) {
		n.dropped++
		return
	}
	copies := 1
	if n.faulty && n.rng.Chance(n.opts.Duplicate) && p.kind == kindConsensus {
		// Only consensus traffic is duplicated: client ingress rides a
		// reliable session stream whose positions suppress duplicates.
		copies = 2
		n.duplicated++
	}
	for range copies {
		c := *p
		c.deliverAtNs = nowNs + n.rng.Between(n.opts.DelayMinNs, n.opts.DelayMaxNs)
		n.seq++
		c.seq = n.seq
		heap.Push(&n.queue, &c)
	}
}

// due pops the next packet to deliver at or before nowNs, or nil.
func (n *network) due(nowNs int64) *packet {
	if len(n.queue) == 0 || n.queue[0].deliverAtNs > nowNs {
		return nil
	}
	return heap.Pop(&n.queue).(*packet)
}

// partition blocks traffic between a and b, one way (a to b) or both.
func (n *network) partition(a, b int, oneWay bool) {
	n.blocked[[2]int{a, b}] = true
	if !oneWay {
		n.blocked[[2]int{b, a}] = true
	}
}

// isolate blocks all traffic to and from member a.
func (n *network) isolate(a, members int) {
	for b := -2; b < members; b++ {
		if b != a && b != -1 {
			n.partition(a, b, false)
		}
	}
}

func (n *network) heal() { clear(n.blocked) }

// requeue delivers p again at nowNs, after anything already due then.
func (n *network) requeue(nowNs int64, p *packet) {
	p.deliverAtNs = nowNs
	n.seq++
	p.seq = n.seq
	heap.Push(&n.queue, p)
}
