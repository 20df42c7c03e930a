package marketdata

import (
	"errors"
	"time"
)

// agentState belongs to the publisher's agent goroutine.
type agentState struct {
	leader  bool
	session uint32

	pw       *PacketWriter
	open     PacketType // type of the packet being filled; 0 when none
	sequence uint64     // last sequence number given on Conn
	bufs     [][]byte   // sendBatchMax packet buffers of MTU bytes
	out      [][]byte   // finished packets waiting for sendOut: out[i] is in bufs[i]; the open packet is in bufs[len(out)]
	outSent  int        // how many of out the Conn has taken

	tpw           *PacketWriter
	tradeSequence uint64

	dutyNs         int64 // the clock at the latest duty cycle
	lastSendNs     int64
	heartbeatNs    int64
	snapshotNs     int64
	nextSnapshotNs int64
	snapActive     bool
	snapID         uint32
	snapNext       uint32
	snapEnd        uint32

	updateCostNs int64 // 1e9 / MaxUpdatesPerSec; 0 means unlimited
	creditNs     int64
	creditAtNs   int64
}

func (p *Publisher) initAgent() {
	p.pw = NewPacketWriter(p.cfg.MTU)
	p.bufs = make([][]byte, sendBatchMax)
	for i := range p.bufs {
		p.bufs[i] = make([]byte, p.cfg.MTU)
	}
	p.out = make([][]byte, 0, sendBatchMax)
	if p.cfg.TradeConn != nil {
		p.tpw = NewPacketWriter(p.cfg.MTU)
	}
	p.heartbeatNs = int64(p.cfg.HeartbeatInterval)
	p.snapshotNs = int64(p.cfg.SnapshotInterval)
	if p.cfg.MaxUpdatesPerSec > 0 {
		p.updateCostNs = int64(time.Second) / int64(p.cfg.MaxUpdatesPerSec)
	}
}

// RoleName implements transport.Agent.
func (p *Publisher) RoleName() string { return p.cfg.Name }

// OnClose implements transport.Agent: it closes the publisher's Conns.
func (p *Publisher) OnClose() {
	p.cfg.Conn.Close()
	if p.cfg.TradeConn != nil {
		p.cfg.TradeConn.Close()
	}
}

// DoWork implements transport.Agent: one bounded duty cycle of sending
// conflated updates, snapshot entries, trades and, when idle, a heartbeat.
func (p *Publisher) DoWork(nowNs int64) int {
	p.dutyNs = nowNs
	if !p.checkRole(nowNs) {
		return p.discardTrades()
	}
	work := p.sendUpdates(nowNs)
	work += p.sendSnapshot(nowNs)
	if work == 0 && nowNs-p.lastSendNs >= p.heartbeatNs && p.room(nowNs) {
		p.heartbeat(nowNs)
		work++
	}
	p.flush(nowNs)
	p.sendOut(nowNs)
	return work + p.sendTrades(nowNs)
}

// checkRole applies a role change from SetLeader and reports whether to send.
func (p *Publisher) checkRole(nowNs int64) bool {
	r := p.role.Load()
	leader, session := r&roleLeader != 0, uint32(r)
	if leader == p.leader && session == p.session {
		return leader
	}
	p.leader, p.session = leader, session
	p.open, p.sequence, p.tradeSequence, p.out, p.outSent = 0, 0, 0, p.out[:0], 0
	p.snapActive = false
	if leader {
		// A new session: subscribers will treat everything as stale until a
		// snapshot from it completes, so start one now.
		p.nextSnapshotNs = nowNs
		p.creditAtNs, p.creditNs = nowNs, 0
		p.c.sessions.Increment()
	}
	return leader
}

// takeCredit reports whether the rate limit allows one more update now.
func (p *Publisher) takeCredit(nowNs int64) bool {
	if p.updateCostNs == 0 {
		return true
	}
	burstNs := p.updateCostNs * updatesPerDutyCycleMax
	p.creditNs = min(p.creditNs+nowNs-p.creditAtNs, burstNs)
	p.creditAtNs = nowNs
	if p.creditNs < p.updateCostNs {
		return false
	}
	p.creditNs -= p.updateCostNs
	return true
}

// sendUpdates sends the instruments on the dirty list, each at its newest
// state, up to updatesPerDutyCycleMax and the rate limit.
func (p *Publisher) sendUpdates(nowNs int64) int {
	sent := 0
	for sent < updatesPerDutyCycleMax && p.Pending() > 0 && p.room(nowNs) && p.takeCredit(nowNs) {
		idx, ok := p.dirty.pop()
		assert(ok, "dirty list empty while pending") // the agent is its only consumer
		in := p.table[idx]
		// Clear before acquiring: a publish after this point re-queues the
		// instrument, so no state is ever left pending unlisted.
		in.queued.Store(false)
		v, fresh := in.tb.acquire()
		if !fresh {
			p.creditNs += p.updateCostNs // a snapshot already carried it
			continue
		}
		p.appendView(PacketUpdate, v, nowNs)
		sent++
	}
	p.c.updates.Add(int64(sent))
	return sent
}

// sendSnapshot starts a snapshot when one is due and sends the next part of
// the one in progress: SnapshotBegin, every published instrument, SnapshotEnd.
func (p *Publisher) sendSnapshot(nowNs int64) int {
	work := 0
	if !p.snapActive {
		if nowNs < p.nextSnapshotNs || !p.room(nowNs) {
			return 0
		}
		p.snapActive, p.snapNext, p.snapEnd = true, 0, p.count.Load()
		p.snapID++
		p.nextSnapshotNs = nowNs + p.snapshotNs
		p.appendMarker(MessageSnapshotBegin, nowNs)
		work++
	}
	entries := 0
	for p.snapNext < p.snapEnd && entries < snapshotUpdatesPerDutyCycleMax && p.room(nowNs) {
		in := p.table[p.snapNext]
		p.snapNext++
		if v, _ := in.tb.acquire(); v.valid {
			p.appendView(PacketSnapshot, v, nowNs)
			entries++
		}
	}
	p.c.entries.Add(int64(entries))
	if p.snapNext == p.snapEnd && p.room(nowNs) {
		p.appendMarker(MessageSnapshotEnd, nowNs)
		p.snapActive = false
		p.c.snapshots.Increment()
		work++
	}
	return work + entries
}

// begin makes sure a packet of type t with room for n bytes is open.
func (p *Publisher) begin(t PacketType, n int, nowNs int64) {
	if p.open == t && p.pw.Remaining() >= n {
		return
	}
	p.flush(nowNs)
	assert(len(p.out) < sendBatchMax, "send batch full after flush")
	p.pw.Reset(p.bufs[len(p.out)])
	p.pw.Begin(t, p.session)
	p.open = t
}

func (p *Publisher) appendView(t PacketType, v *View, nowNs int64) {
	p.begin(t, UpdateLength(len(v.Bids), len(v.Asks)), nowNs)
	p.pw.AppendUpdate(v) // fits: begin made room, and mtuMin holds a full-depth update
}

func (p *Publisher) appendMarker(t MessageType, nowNs int64) {
	p.begin(PacketSnapshot, snapshotMarkerLength, nowNs)
	p.pw.AppendSnapshotMarker(t, p.snapID, p.snapEnd)
}

// flush finishes the open packet, if any, and queues it for sendOut.
// Sequence numbers are given here, in sending order.
func (p *Publisher) flush(nowNs int64) {
	if p.open == 0 {
		return
	}
	p.open = 0
	p.sequence++
	p.out = append(p.out, p.pw.Finish(p.sequence, nowNs))
}

// heartbeat queues an empty, numbered packet.
func (p *Publisher) heartbeat(nowNs int64) {
	p.begin(PacketHeartbeat, 0, nowNs)
	p.c.heartbeats.Increment()
}

// room reports whether one more message may be encoded: once the open
// packet is flushed there must be a free buffer for the next. When the batch
// is full it first tries to send it. False means the Conn is back-pressured:
// the agent stops taking updates, which keep conflating in the hand-off, so
// the channel is used as fast as it allows and nothing is lost to a full
// socket buffer.
func (p *Publisher) room(nowNs int64) bool {
	if len(p.out) <= sendBatchMax-2 {
		return true
	}
	// Queue the open packet first: its buffer is bufs[len(out)], and
	// sending would empty out and hand that buffer to the next packet.
	p.flush(nowNs)
	p.sendOut(nowNs)
	return len(p.out) <= sendBatchMax-2
}

// sendOut hands the queued packets to the Conn, in one batch when the Conn
// can take one. Packets a full socket buffer refused stay queued, in order,
// for the next try; a failed Conn drops them (counted), and subscribers heal
// the gap from a snapshot.
func (p *Publisher) sendOut(nowNs int64) {
	pending := p.out[p.outSent:]
	if len(pending) == 0 {
		return
	}
	sent, err := p.transmit(pending)
	p.c.packets.Add(int64(sent))
	if sent > 0 {
		p.lastSendNs = nowNs
	}
	switch {
	case sent == len(pending):
		p.out, p.outSent = p.out[:0], 0
	case errors.Is(err, ErrWouldBlock):
		p.outSent += sent
		p.c.backPressured.Increment()
	default:
		p.c.sendErrors.Add(int64(len(pending) - sent))
		p.out, p.outSent = p.out[:0], 0
	}
}

func (p *Publisher) transmit(pkts [][]byte) (int, error) {
	if bc, ok := p.cfg.Conn.(BatchConn); ok {
		return bc.SendBatch(pkts)
	}
	for i, pkt := range pkts {
		if err := p.cfg.Conn.Send(pkt); err != nil {
			return i, err
		}
	}
	return len(pkts), nil
}

// sendTrades sends queued trades on the trade channel, many per packet. A
// trade leaves the queue only once its packet is sent: a full socket buffer
// leaves it queued for the next duty cycle (the queue's bound then drops new
// trades, counted, rather than wait).
func (p *Publisher) sendTrades(nowNs int64) int {
	if p.trade == nil {
		return 0
	}
	sent := 0
	for sent < tradesPerDutyCycleMax {
		n := p.encodeTrades(tradesPerDutyCycleMax-sent, nowNs)
		if n == 0 {
			break
		}
		err := p.cfg.TradeConn.Send(p.tpw.Finish(p.tradeSequence+1, nowNs))
		if errors.Is(err, ErrWouldBlock) {
			p.c.backPressured.Increment()
			break
		}
		p.tradeSequence++
		if err != nil {
			p.c.sendErrors.Increment() // lost: subscribers see the trade gap
		}
		p.trade.advanceN(n)
		sent += n
	}
	p.c.tradesSent.Add(int64(sent))
	return sent
}

// encodeTrades fills one trade packet from the head of the queue, without
// removing anything, and returns how many trades it holds.
func (p *Publisher) encodeTrades(limit int, nowNs int64) int {
	p.tpw.Begin(PacketTrade, p.session)
	n := 0
	for n < limit {
		t := p.trade.at(n)
		if t == nil || !p.tpw.AppendTrade(t) {
			break
		}
		n++
	}
	return n
}

// discardTrades drops the trades a follower queued: the leader sent them.
func (p *Publisher) discardTrades() int {
	if p.trade == nil {
		return 0
	}
	for range tradeQueueLength {
		if p.trade.peek() == nil {
			break
		}
		p.trade.advance()
	}
	return 0
}
