package transport

import (
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Sender bounds.
const (
	// sendBatchMax bounds the datagrams one sendmmsg carries.
	sendBatchMax = 64
	// controlBatchMax bounds the control datagrams read per publication per cycle.
	controlBatchMax = 16
	// controlBufferLength is the receive buffer for one control datagram in bytes.
	controlBufferLength = 512
	// retransmitSlotsMax bounds concurrent retransmits remembered for de-duplication.
	retransmitSlotsMax = 16
	// eosHeartbeatsMin is how many end-of-stream heartbeats a closing
	// publication sends at least, even when its receivers already report
	// the end position, so that they learn the stream ended.
	eosHeartbeatsMin = 3
	// controlPollIntervalNs spaces the reads of a publication's control
	// socket: status messages and NAKs tolerate tens of microseconds, and
	// an empty read costs a syscall on every duty cycle of the data path.
	controlPollIntervalNs = int64(20 * time.Microsecond)
)

// netPublication is the sender side of a network publication.
type netPublication struct {
	pub  *Publication
	log  *LogBuffer
	conn DatagramConn
	spec channelSpec
	cfg  *DriverConfig
	sys  *SystemCounters

	dests atomic.Pointer[[]netip.AddrPort]
	flow  flowControl
	// destsGen counts destination removals; the sender prunes flow
	// control when it differs from seenDestsGen.
	destsGen     atomic.Int64
	seenDestsGen int64

	senderPos      int64 // owned by the sender goroutine
	senderPosition atomic.Int64
	senderPosCtr   *Counter
	senderLimitCtr *Counter
	connected      atomic.Bool
	done           atomic.Bool
	setupRequested atomic.Bool

	lastSMNs   int64
	lastSendNs int64
	// lastControlPollNs starts far in the past so the first cycle reads.
	lastControlPollNs int64
	// idle says this cycle's doSend sent no data (Sender.DoWork's second
	// pass heartbeats it if due).
	idle        bool
	lastSetupNs int64
	everSM      bool
	eosSent     int
	closedAtNs  int64
	closeSeen   bool

	// joins are destinations added, or receivers that asked for a setup,
	// since the last setup was sent (guarded by mu): the next setup holds
	// min flow control for them (flowControl.onJoin).
	joins []netip.AddrPort

	retransmits [retransmitSlotsMax]retransmitSlot
	out         []Datagram
	ctl         []Datagram
	hb          [HeaderLength]byte
	setup       [SetupLength]byte
	mu          sync.Mutex // guards dests updates
}

type retransmitSlot struct {
	pos      int64
	expireNs int64
}

func newNetPublication(pub *Publication, conn DatagramConn, spec channelSpec, cfg *DriverConfig, sys *SystemCounters) *netPublication {
	np := &netPublication{pub: pub, log: pub.log, conn: conn, spec: spec, cfg: cfg, sys: sys,
		out: make([]Datagram, 0, sendBatchMax), ctl: make([]Datagram, controlBatchMax)}
	for i := range np.ctl {
		np.ctl[i].Buf = make([]byte, controlBufferLength)
	}
	var dests []netip.AddrPort
	if !spec.manualMDC {
		dests = []netip.AddrPort{spec.endpoint}
	}
	np.dests.Store(&dests)
	switch {
	case spec.flow == "max" || (spec.flow == "" && spec.multicast()):
		np.flow = newMultiFlowControl(true, int64(cfg.ReceiverTimeout))
	case spec.flow == "min" || spec.manualMDC:
		np.flow = newMultiFlowControl(false, int64(cfg.ReceiverTimeout))
	default:
		np.flow = &unicastFlowControl{}
	}
	np.lastSetupNs = -int64(cfg.SetupInterval)
	np.lastControlPollNs = -controlPollIntervalNs
	return np
}

func (np *netPublication) addDestination(a netip.AddrPort) {
	np.mu.Lock()
	defer np.mu.Unlock()
	old := *np.dests.Load()
	next := append(append([]netip.AddrPort{}, old...), a)
	np.dests.Store(&next)
	np.joins = append(np.joins, a)
	np.setupRequested.Store(true)
}

func (np *netPublication) isDestination(a netip.AddrPort) bool {
	for _, d := range *np.dests.Load() {
		if d == a {
			return true
		}
	}
	return false
}

// pruneFlow drops flow-control receivers whose destination was removed
// (sender goroutine), so that the rest run on at once rather than after
// the receiver timeout.
func (np *netPublication) pruneFlow() {
	if gen := np.destsGen.Load(); gen != np.seenDestsGen {
		np.seenDestsGen = gen
		if mf, ok := np.flow.(*multiFlowControl); ok {
			mf.retain(np.isDestination)
		}
	}
}

func (np *netPublication) removeDestination(a netip.AddrPort) bool {
	np.mu.Lock()
	defer np.mu.Unlock()
	old := *np.dests.Load()
	next := make([]netip.AddrPort, 0, len(old))
	for _, d := range old {
		if d != a {
			next = append(next, d)
		}
	}
	np.dests.Store(&next)
	np.destsGen.Add(1)
	return len(next) < len(old)
}

// Sender is the agent that sends network publications' data, setup frames,
// heartbeats and retransmits, and reads their status messages and NAKs.
type Sender struct {
	d    *Driver
	pubs atomic.Pointer[[]*netPublication]
}

// RoleName names the agent.
func (s *Sender) RoleName() string { return "sender" }

// OnClose does nothing: the driver closes sockets.
func (s *Sender) OnClose() {}

// DoWork runs one duty cycle for every network publication: control
// reads and data first, for all of them, then the heartbeats and end-of-
// stream checks of those that sent none, so that a heartbeat due on one
// publication never holds back another's data (on the target a send costs
// 5-30 µs, and the heartbeat's receiver wakes to compete for a core).
func (s *Sender) DoWork(nowNs int64) int {
	s.d.sendWaiter.refresh(nowNs)
	work := 0
	pubs := *s.pubs.Load()
	for _, np := range pubs {
		if np.done.Load() {
			continue
		}
		np.idle = false
		work += np.pollControl(nowNs)
		sent := np.doSend(nowNs)
		np.idle = sent == 0
		work += sent
	}
	for _, np := range pubs {
		if np.idle && !np.done.Load() {
			work += np.doIdle(nowNs)
		}
	}
	return work
}

func (np *netPublication) pollControl(nowNs int64) int {
	if nowNs-np.lastControlPollNs < controlPollIntervalNs && nowNs >= np.lastControlPollNs {
		return 0
	}
	np.lastControlPollNs = nowNs
	n, err := np.conn.ReadBatch(np.ctl)
	if err != nil {
		np.sys.Errors.Increment()
		return 0
	}
	for i := 0; i < n; i++ {
		d := &np.ctl[i]
		np.sys.DatagramsReceived.Increment()
		if d.N > len(d.Buf) {
			np.sys.InvalidFrames.Increment()
			continue
		}
		np.sys.BytesReceived.Add(int64(d.N))
		np.onControl(d.Buf[:d.N], d.Addr, nowNs)
	}
	return n
}

// onControl handles the status messages and NAKs in one datagram.
func (np *netPublication) onControl(b []byte, src netip.AddrPort, nowNs int64) {
	for off := 0; off < len(b); {
		rest := b[off:]
		if len(rest) < 8 {
			np.sys.InvalidFrames.Increment()
			return
		}
		h := FrameHeader(rest)
		c := ControlFrame(rest)
		length := int(h.FrameLength())
		switch {
		case h.Version() != CurrentVersion:
			np.sys.InvalidFrames.Increment()
			return
		case h.Type() == TypeStatus && length >= StatusLength && len(rest) >= StatusLength:
			if np.matches(c) {
				np.onStatus(c, h.Flags(), src, nowNs)
			}
		case h.Type() == TypeNAK && length >= NAKLength && len(rest) >= NAKLength:
			if np.matches(c) {
				np.sys.NaksReceived.Increment()
				np.retransmit(c.NAKTermID(), c.NAKTermOffset(), c.NAKLength(), nowNs)
			}
		default:
			np.sys.InvalidFrames.Increment()
			return
		}
		off += Align(length, FrameAlignment)
	}
}

func (np *netPublication) matches(c ControlFrame) bool {
	if c.SessionID() != np.log.sessionID || c.StreamID() != np.log.streamID {
		np.sys.InvalidFrames.Increment() // foreign
		return false
	}
	return true
}

func (np *netPublication) onStatus(c ControlFrame, flags uint8, src netip.AddrPort, nowNs int64) {
	np.sys.StatusMessagesReceived.Increment()
	if np.spec.manualMDC && !np.isDestination(src) {
		return // a removed destination's receiver must not hold flow back
	}
	if flags&FlagSetupRequest != 0 {
		// A receiver saw data from this session but has no image yet.
		np.mu.Lock()
		if len(np.joins) < flowReceiversMax {
			np.joins = append(np.joins, src)
		}
		np.mu.Unlock()
		np.setupRequested.Store(true)
		np.lastSetupNs = -int64(np.cfg.SetupInterval)
		return
	}
	pos := np.log.positionOf(c.StatusTermID(), c.StatusTermOffset())
	window := int64(c.StatusWindow())
	if window < 0 || window > int64(np.log.termLength)/2 || pos < 0 {
		np.sys.InvalidFrames.Increment()
		return
	}
	if pos < np.senderPos-int64(np.log.termLength) {
		// The receiver needs data older than retransmits reach (it joined,
		// or came back after its receiver timeout, while the others ran
		// on): it cannot catch up, and counting it would stall the stream
		// for good.
		return
	}
	np.flow.onStatus(c.StatusReceiverID(), src, pos, window, nowNs)
	np.lastSMNs = nowNs
	np.everSM = true
	np.connected.Store(true)
}

// doSend sends new data up to the flow-control limit, or a setup frame or a
// heartbeat when there is none, and checks the connection's liveness.
func (np *netPublication) doSend(nowNs int64) int {
	if np.connected.Load() && nowNs-np.lastSMNs > int64(np.cfg.PublicationConnectionTimeout) {
		np.connected.Store(false)
	}
	if np.connected.Load() && np.flow.receivers() == 0 {
		np.connected.Store(false)
	}
	if np.spec.manualMDC {
		np.pruneFlow()
	}
	work := 0
	if !np.everSM || np.setupRequested.Load() {
		work += np.maybeSendSetup(nowNs)
	}
	limit := np.flow.limit(nowNs)
	np.senderLimitCtr.Set(limit)
	return work + np.sendData(limit, nowNs)
}

// doIdle heartbeats a publication that sent no data this cycle, when due,
// and retires it once closed and done (checkDone).
func (np *netPublication) doIdle(nowNs int64) int {
	work := 0
	if nowNs-np.lastSendNs >= int64(np.cfg.HeartbeatInterval) {
		np.sendHeartbeat(nowNs)
		work++
	}
	np.checkDone(nowNs)
	return work
}

func (np *netPublication) maybeSendSetup(nowNs int64) int {
	if nowNs-np.lastSetupNs < int64(np.cfg.SetupInterval) {
		return 0
	}
	np.lastSetupNs = nowNs
	np.setupRequested.Store(false)
	lb := np.log
	n := EncodeSetup(np.setup[:], lb.sessionID, lb.streamID, lb.initialTermID, lb.termIDOf(np.senderPos),
		lb.termOffset(np.senderPos), lb.termLength, lb.mtu, int32(np.spec.ttl))
	np.sys.SetupsSent.Increment()
	np.sendToAll(np.setup[:n])
	np.holdForJoins(nowNs)
	return 1
}

// holdForJoins tells flow control that the receivers joining with the
// setup just sent start at the sender position.
func (np *netPublication) holdForJoins(nowNs int64) {
	np.mu.Lock()
	defer np.mu.Unlock()
	lead := int64(np.log.termLength) / joinLeadDivisor
	for _, a := range np.joins {
		np.flow.onJoin(a, np.senderPos, np.senderPos+lead, nowNs)
	}
	np.joins = np.joins[:0]
}

func (np *netPublication) sendToAll(b []byte) {
	np.out = np.out[:0]
	for _, d := range *np.dests.Load() {
		np.out = append(np.out, Datagram{Buf: b, N: len(b), Addr: d})
	}
	np.flush()
}

func (np *netPublication) flush() {
	if len(np.out) == 0 {
		return
	}
	sent, err := np.conn.WriteBatch(np.out)
	if err != nil {
		np.sys.Errors.Increment()
	}
	if sent < len(np.out) {
		np.sys.ShortSends.Increment()
	}
	bytes := 0
	for i := 0; i < sent; i++ {
		bytes += np.out[i].N
	}
	np.sys.DatagramsSent.Add(int64(sent))
	np.sys.BytesSent.Add(int64(bytes))
	np.out = np.out[:0]
}

// nextDatagram packs whole frames starting at pos into one datagram of at
// most MTU bytes that ends no later than limit, and returns the bytes to send
// and how far the position advances (more than the bytes when the datagram
// ends with padding, whose body is not sent).
func (np *netPublication) nextDatagram(pos, limit int64) (wire []byte, advance int64) {
	lb := np.log
	term := lb.terms[lb.partitionIndex(pos)]
	start := lb.termOffset(pos)
	off := start
	bytes := int32(0)
	for off < lb.termLength {
		length := frameLengthVolatile(term, off)
		if length <= 0 {
			break
		}
		aligned := int32(Align(int(length), FrameAlignment))
		if frameType(term, off) == TypePad {
			if bytes+HeaderLength > lb.mtu || pos+int64(off-start)+HeaderLength > limit {
				break
			}
			bytes += HeaderLength
			off += aligned
			break // padding always ends the term
		}
		if bytes+aligned > lb.mtu || pos+int64(off-start+aligned) > limit {
			break
		}
		bytes += aligned
		off += aligned
	}
	return term[start : start+bytes], int64(off - start)
}

func (np *netPublication) sendData(limit int64, nowNs int64) int {
	pos := np.senderPos
	dests := *np.dests.Load()
	if len(dests) == 0 {
		return 0
	}
	np.out = np.out[:0]
	frames := 0
	for len(np.out)+len(dests) <= sendBatchMax && pos < limit {
		wire, adv := np.nextDatagram(pos, limit)
		if adv == 0 {
			break
		}
		for _, d := range dests {
			np.out = append(np.out, Datagram{Buf: wire, N: len(wire), Addr: d})
		}
		pos += adv
		frames++
	}
	if frames == 0 {
		return 0
	}
	np.flush()
	np.senderPos = pos
	np.senderPosition.Store(pos)
	np.senderPosCtr.Set(pos)
	np.lastSendNs = nowNs
	return frames
}

func (np *netPublication) sendHeartbeat(nowNs int64) {
	lb := np.log
	flags := uint8(0)
	if np.pub.closed.Load() && np.senderPos >= lb.eosPosition.Load() {
		flags = FlagEOS
		np.eosSent++
	}
	n := EncodeHeartbeat(np.hb[:], flags, lb.sessionID, lb.streamID, lb.termIDOf(np.senderPos), lb.termOffset(np.senderPos))
	np.sys.HeartbeatsSent.Increment()
	np.sendToAll(np.hb[:n])
	np.lastSendNs = nowNs
}

// checkDone retires a closed publication once its end of stream was sent
// and every connected receiver reported consuming up to it, or after the
// linger time (DriverConfig.PublicationLinger) however far they got. Until
// then it keeps heartbeating the end of stream and answering NAKs, so that
// a receiver still repairing a lost tail gets it.
func (np *netPublication) checkDone(nowNs int64) {
	if !np.pub.closed.Load() {
		return
	}
	if !np.closeSeen {
		np.closeSeen, np.closedAtNs = true, nowNs
	}
	drained := np.eosSent >= eosHeartbeatsMin &&
		(!np.connected.Load() || np.flow.reached(np.log.eosPosition.Load()))
	if drained || nowNs-np.closedAtNs > int64(np.cfg.PublicationLinger) {
		np.done.Store(true)
	}
}

// retransmit resends the frames in [termOffset, termOffset+length) of termID
// from the term buffer, unless that range was just retransmitted or is no
// longer (or not yet) available.
//
// Everything from one term behind the sender position is available: the
// publication cleans only up to a term behind the sender (refreshLimit), and
// the publisher writes at most a window (half a term) ahead of it, never
// into that range. A receiver may be missing anything from its consumption
// position on, and the sender may be up to half a term (its window) plus a
// term-end pad ahead of that, so a half-term acceptance window would refuse
// a receiver's only way forward.
func (np *netPublication) retransmit(termID, termOffset, length int32, nowNs int64) {
	lb := np.log
	pos := lb.positionOf(termID, termOffset)
	if length <= 0 || termOffset < 0 || termOffset&(FrameAlignment-1) != 0 || termOffset >= lb.termLength ||
		pos >= np.senderPos || pos < np.senderPos-int64(lb.termLength) {
		np.sys.InvalidFrames.Increment()
		return
	}
	free := -1
	for i := range np.retransmits {
		s := &np.retransmits[i]
		if s.expireNs > nowNs && s.pos == pos {
			return // a retransmit of this range is in flight
		}
		if s.expireNs <= nowNs && free < 0 {
			free = i
		}
	}
	if free >= 0 {
		np.retransmits[free] = retransmitSlot{pos: pos, expireNs: nowNs + int64(np.cfg.RetransmitLinger)}
	}
	end := min(pos+int64(length), np.senderPos, pos+int64(lb.termLength-termOffset))
	dests := *np.dests.Load()
	np.out = np.out[:0]
	for pos < end {
		wire, adv := np.nextDatagram(pos, np.senderPos)
		if adv == 0 {
			break
		}
		for _, d := range dests {
			if len(np.out) == sendBatchMax {
				np.flush()
			}
			np.out = append(np.out, Datagram{Buf: wire, N: len(wire), Addr: d})
		}
		np.sys.Retransmits.Increment()
		np.sys.RetransmittedBytes.Add(int64(len(wire)))
		pos += adv
	}
	np.flush()
}
