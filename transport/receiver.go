package transport

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

// Receiver bounds.
const (
	// receiveBatchMax bounds the datagrams read per endpoint per cycle.
	receiveBatchMax = 32
	// MaxDatagramLengthDefault is the default receive buffer per datagram
	// in bytes: senders' MTUs must not exceed it unless the receiving
	// driver sets a larger MaxDatagramLength. A longer datagram arrives
	// truncated (MSG_TRUNC), is counted invalid and dropped.
	MaxDatagramLengthDefault = 8192
	// controlOutMax bounds the status messages and NAKs queued per cycle.
	controlOutMax = 64
	// gapScanLengthMax bounds how far one loss scan looks past a gap start in bytes.
	gapScanLengthMax = 64 * 1024
	// nakGapsMax bounds the gaps one loss scan NAKs.
	nakGapsMax = 8
)

// receiveEndpoint is one bound receive socket (a unicast address or a
// multicast group) and the images of the sessions arriving on it.
type receiveEndpoint struct {
	r         *Receiver
	spec      channelSpec
	conn      DatagramConn
	multicast bool

	subs atomic.Pointer[map[int32][]*Subscription] // copy-on-write, by stream id

	mu     sync.Mutex           // guards images writes and non-receiver reads
	images map[uint64]*netImage // written by the receiver goroutine only
	list   atomic.Pointer[[]*netImage]

	in      []Datagram
	out     []Datagram
	outBufs [][]byte
	nowNs   int64
	src     netip.AddrPort
	last    *netImage

	setupRequestNs map[uint64]int64
}

func imageKey(sessionID, streamID int32) uint64 {
	return uint64(uint32(sessionID))<<32 | uint64(uint32(streamID))
}

func newReceiveEndpoint(r *Receiver, spec channelSpec, conn DatagramConn) *receiveEndpoint {
	ep := &receiveEndpoint{r: r, spec: spec, conn: conn, multicast: spec.multicast(),
		images: map[uint64]*netImage{}, in: make([]Datagram, receiveBatchMax),
		out: make([]Datagram, 0, controlOutMax), outBufs: make([][]byte, controlOutMax),
		setupRequestNs: map[uint64]int64{}}
	for i := range ep.in {
		ep.in[i].Buf = make([]byte, r.d.cfg.MaxDatagramLength)
	}
	for i := range ep.outBufs {
		ep.outBufs[i] = make([]byte, StatusLength)
	}
	subs := map[int32][]*Subscription{}
	ep.subs.Store(&subs)
	var list []*netImage
	ep.list.Store(&list)
	return ep
}

// Receiver is the agent that reads datagrams, rebuilds images, detects loss
// (NAKs), sends status messages and times out silent sources.
type Receiver struct {
	d   *Driver
	eps atomic.Pointer[[]*receiveEndpoint]
}

// RoleName names the agent.
func (r *Receiver) RoleName() string { return "receiver" }

// OnClose does nothing: the driver closes sockets.
func (r *Receiver) OnClose() {}

// DoWork reads every endpoint and services every image.
func (r *Receiver) DoWork(nowNs int64) int {
	// Sharing the sender's waiter means running after the sender on the
	// same goroutine (invoker and shared threading): its refresh serves.
	if r.d.recvWaiter != r.d.sendWaiter {
		r.d.recvWaiter.refresh(nowNs)
	}
	work := 0
	for _, ep := range *r.eps.Load() {
		work += ep.poll(nowNs)
		for _, img := range *ep.list.Load() {
			work += img.service(nowNs)
		}
		ep.flush()
	}
	return work
}

func (ep *receiveEndpoint) poll(nowNs int64) int {
	sys := ep.r.d.sys
	n, err := ep.conn.ReadBatch(ep.in)
	if err != nil {
		sys.Errors.Increment()
		return 0
	}
	if n == 0 {
		return 0
	}
	ep.nowNs = nowNs
	bytes := 0
	for i := 0; i < n; i++ {
		d := &ep.in[i]
		if d.N > len(d.Buf) || d.N > MTULengthMax {
			sys.InvalidFrames.Increment()
			continue
		}
		bytes += d.N
		ep.src = d.Addr
		if _, invalid := ParseDatagram(d.Buf[:d.N], ep); invalid > 0 {
			sys.InvalidFrames.Add(int64(invalid))
		}
	}
	sys.DatagramsReceived.Add(int64(n))
	sys.BytesReceived.Add(int64(bytes))
	return n
}

// OnFrame dispatches one valid frame of the current datagram.
func (ep *receiveEndpoint) OnFrame(frame []byte, typ uint16) {
	switch typ {
	case TypeData, TypePad, TypeHeartbeat:
		h := FrameHeader(frame)
		img := ep.lookup(h.SessionID(), h.StreamID())
		if img == nil {
			ep.requestSetup(h.SessionID(), h.StreamID())
			return
		}
		if typ == TypeHeartbeat {
			img.onHeartbeat(h, ep.nowNs)
		} else {
			img.insert(frame, ep.nowNs)
		}
	case TypeSetup:
		ep.onSetup(ControlFrame(frame))
	default:
		ep.r.d.sys.InvalidFrames.Increment() // control frames do not belong here
	}
}

func (ep *receiveEndpoint) lookup(sessionID, streamID int32) *netImage {
	if l := ep.last; l != nil && l.log.sessionID == sessionID && l.log.streamID == streamID {
		return l
	}
	img := ep.images[imageKey(sessionID, streamID)]
	if img != nil {
		ep.last = img
	}
	return img
}

// requestSetup asks an unknown session's sender for a setup frame, at most
// once per setup interval, if anyone subscribes to its stream.
func (ep *receiveEndpoint) requestSetup(sessionID, streamID int32) {
	if len((*ep.subs.Load())[streamID]) == 0 {
		return
	}
	key := imageKey(sessionID, streamID)
	if last, ok := ep.setupRequestNs[key]; ok && ep.nowNs-last < int64(ep.r.d.cfg.SetupInterval) {
		return
	}
	if len(ep.setupRequestNs) > 1024 {
		clear(ep.setupRequestNs)
	}
	ep.setupRequestNs[key] = ep.nowNs
	if b := ep.nextOut(ep.src); b != nil {
		EncodeStatus(b, FlagSetupRequest, sessionID, streamID, 0, 0, 0, 0)
		ep.r.d.sys.StatusMessagesSent.Increment()
	}
}

// nextOut returns a buffer for a control datagram to dst, or nil when this
// cycle's control budget is spent.
func (ep *receiveEndpoint) nextOut(dst netip.AddrPort) []byte {
	if len(ep.out) == controlOutMax {
		return nil
	}
	b := ep.outBufs[len(ep.out)]
	ep.out = append(ep.out, Datagram{Buf: b, N: StatusLength, Addr: dst})
	return b
}

func (ep *receiveEndpoint) flush() {
	if len(ep.out) == 0 {
		return
	}
	sys := ep.r.d.sys
	for i := range ep.out {
		ep.out[i].N = int(FrameHeader(ep.out[i].Buf).FrameLength())
	}
	sent, err := ep.conn.WriteBatch(ep.out)
	if err != nil {
		sys.Errors.Increment()
	}
	sys.DatagramsSent.Add(int64(sent))
	ep.out = ep.out[:0]
}

func (ep *receiveEndpoint) onSetup(c ControlFrame) {
	d := ep.r.d
	d.sys.SetupsReceived.Increment()
	if old := ep.lookup(c.SessionID(), c.StreamID()); old != nil {
		if !old.replacedBy(c, ep.src) {
			return
		}
		old.timeout()
	}
	subs := (*ep.subs.Load())[c.StreamID()]
	if len(subs) == 0 {
		return
	}
	termLength, mtu := int(c.SetupTermLength()), int(c.SetupMTU())
	if CheckTermLength(termLength) != nil || CheckMTU(mtu) != nil {
		d.sys.InvalidFrames.Increment()
		return
	}
	if mtu > d.cfg.MaxDatagramLength {
		d.sys.Errors.Increment() // misconfigured: raise MaxDatagramLength here
		return
	}
	img, err := d.newNetImage(ep, c, ep.src, ep.nowNs)
	if err != nil {
		d.sys.Errors.Increment()
		return
	}
	// Under ep.mu, so that a subscription being added concurrently either
	// is in this snapshot or finds the image in the map, never both.
	ep.mu.Lock()
	ep.images[imageKey(c.SessionID(), c.StreamID())] = img
	list := append(append([]*netImage{}, *ep.list.Load()...), img)
	ep.list.Store(&list)
	for _, s := range (*ep.subs.Load())[c.StreamID()] {
		img.addSubscriber(s)
	}
	ep.mu.Unlock()
	img.smDue = true
}

func (ep *receiveEndpoint) removeImage(img *netImage) {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	delete(ep.images, imageKey(img.log.sessionID, img.log.streamID))
	old := *ep.list.Load()
	next := make([]*netImage, 0, len(old))
	for _, x := range old {
		if x != img {
			next = append(next, x)
		}
	}
	ep.list.Store(&next)
	if ep.last == img {
		ep.last = nil
	}
}
