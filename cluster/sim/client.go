package sim

// clientSession is the simulated client's cluster session id.
const clientSession = 1

// client proposes session messages to the member it believes leads, never
// resending a correlation id: a proposal that is not acknowledged in time has
// an unknown outcome (it may or may not be in the log), as the real client
// library reports it.
type client struct {
	sim         *Simulator
	target      int
	nextCorr    int64
	outstanding map[int64]int64 // correlation id -> sent at
	order       []int64         // outstanding correlation ids in send order (acked ones skipped lazily)
	acked       map[int64]bool
	maxAcked    int64
	unknown     int
	lastSendNs  int64
	stopped     bool
	connectTo   int
	connectNs   int64
}

func newClient(s *Simulator) *client {
	return &client{sim: s, nextCorr: 1, outstanding: map[int64]int64{}, acked: map[int64]bool{}, connectTo: -1}
}

func (c *client) tick(nowNs int64) {
	for len(c.order) > 0 {
		corr := c.order[0]
		at, ok := c.outstanding[corr]
		if ok && nowNs-at < clientTimeoutNs {
			break
		}
		c.order = c.order[1:]
		if ok {
			delete(c.outstanding, corr)
			c.unknown++
			c.target = c.sim.rng.Intn(c.sim.opts.Members)
		}
	}
	if c.stopped || nowNs-c.lastSendNs < c.sim.opts.ClientEveryNs || len(c.outstanding) >= clientOutstandingMax {
		return
	}
	c.lastSendNs = nowNs
	if c.connectTo != c.target || nowNs-c.connectNs >= clientTimeoutNs {
		c.connectTo, c.connectNs = c.target, nowNs // (re)connect: open the session via this member
		c.sim.net.send(nowNs, &packet{kind: kindIngress, from: clientID, to: c.target})
	}
	for range c.sim.opts.ClientBurst {
		if len(c.outstanding) >= clientOutstandingMax {
			return
		}
		c.send(nowNs)
	}
}

func (c *client) send(nowNs int64) {
	corr := c.nextCorr
	c.nextCorr++
	payload := make([]byte, 8+c.sim.rng.Intn(120))
	for i := range payload {
		payload[i] = byte(corr >> (8 * (i % 8)))
	}
	c.outstanding[corr] = nowNs
	c.order = append(c.order, corr)
	c.sim.net.send(nowNs, &packet{kind: kindIngress, from: clientID, to: c.target,
		ingress: ingress{correlation: corr, payload: payload}})
}

func (c *client) onEgress(p *packet) {
	e := p.egress
	if e.correlation == 0 {
		if e.leader >= 0 {
			c.target = e.leader
		} else {
			c.target = c.sim.rng.Intn(c.sim.opts.Members)
		}
		return
	}
	if e.correlation >= c.nextCorr {
		c.sim.fail(failSafety, "client: ack for correlation %d never sent", e.correlation)
		return
	}
	delete(c.outstanding, e.correlation)
	c.acked[e.correlation] = true
	c.maxAcked = max(c.maxAcked, e.correlation)
	c.target = p.from
}

// ackedSince reports whether a proposal with correlation >= corr was acked.
func (c *client) ackedSince(corr int64) bool { return c.maxAcked >= corr }
