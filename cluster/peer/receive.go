package peer

import (
	"net/netip"

	"venue/cluster/consensus"
	"venue/transport"
)

// imageState is the receive state of one image (one sender's session).
type imageState struct {
	img *transport.Image
	// host is the image's source address; member says whether some member
	// other than Self is configured on it. Images from other hosts are
	// never reassembled: all their messages are WrongSource.
	host   netip.Addr
	member bool
	// proven is set once the image delivered a message that passed every
	// check: such an image keeps its slot; unproven ones may be evicted.
	proven bool
	// untracked marks the scratch state of an image without a slot: its
	// unfragmented messages are checked and delivered, its fragmented ones
	// dropped (Unassembled).
	untracked bool
	// stamp orders slot assignments: the oldest unproven slot is evicted.
	stamp uint64
	// buf reassembles a fragmented message, at most wireMax bytes; active
	// is true between its Begin and End fragments.
	buf    []byte
	active bool
}

// receiver is Poll's state for one subscription: the member's consensus
// endpoint, or (group) the log multicast group.
type receiver struct {
	t     *Transport
	sub   *transport.Subscription
	group bool
	mac   *macer
	// ownSession is this member's own group publication (hasOwn), whose
	// stream loops back to it and is skipped unread.
	ownSession int32
	hasOwn     bool
	images     []*imageState // the tracked images, at most imagesMax
	free       []*imageState // states of gone images, reused
	stamps     uint64
	// scratch is the state of an image without a slot, rebuilt per use.
	scratch    imageState
	rr         int // the image Poll starts with, for fairness
	cur        *imageState
	handler    func(consensus.MemberID, []byte)
	handed     int
	limit      int
	msg        consensus.Message
	decode     consensus.DecodeCounters
	onFragment transport.FragmentHandler // bound once: polling does not allocate
}

func (r *receiver) init(t *Transport, group bool) {
	r.t, r.group = t, group
	r.images = make([]*imageState, 0, imagesMax)
	r.onFragment = r.fragment
}

// sourceHost returns the host an image's stream comes from.
func sourceHost(img *transport.Image) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(img.SourceIdentity())
	if err != nil {
		return netip.Addr{}, false // not a network image
	}
	return ap.Addr().Unmap(), true
}

// onAvailable gives a new image from a member's host a reassembly slot
// (runs inside Poll). When all imagesMax slots are taken it evicts the
// oldest image that has not yet delivered a valid message, so that
// forged streams from a member's host cannot crowd out the member's own.
func (r *receiver) onAvailable(img *transport.Image) {
	if host, ok := sourceHost(img); ok {
		r.track(img, host)
	}
}

func (r *receiver) track(img *transport.Image, host netip.Addr) {
	if !r.isMemberHost(host) {
		return // a stranger: every message is WrongSource, no slot needed
	}
	st := r.slot()
	if st == nil {
		return // untracked: unfragmented messages only
	}
	r.stamps++
	*st = imageState{img: img, host: host, member: true, stamp: r.stamps, buf: st.buf[:0]}
}

// slot returns a state for a new image, or nil when every slot holds a
// proven image.
func (r *receiver) slot() *imageState {
	if len(r.images) < imagesMax {
		st := &imageState{}
		if n := len(r.free); n > 0 {
			st, r.free = r.free[n-1], r.free[:n-1]
		}
		r.images = append(r.images, st)
		return st
	}
	var victim *imageState
	for _, st := range r.images {
		if !st.proven && (victim == nil || st.stamp < victim.stamp) {
			victim = st
		}
	}
	if victim != nil {
		r.t.counters.imagesEvicted.Add(1)
	}
	return victim
}

// onUnavailable stops tracking a gone image (runs inside Poll).
func (r *receiver) onUnavailable(img *transport.Image) {
	for i, st := range r.images {
		if st.img != img {
			continue
		}
		r.images = append(r.images[:i], r.images[i+1:]...)
		st.img, st.active = nil, false
		if len(r.free) < imagesMax {
			r.free = append(r.free, st)
		}
		return
	}
}

func (r *receiver) isMemberHost(host netip.Addr) bool {
	for id := range r.t.members {
		m := &r.t.members[id]
		if m.known && consensus.MemberID(id) != r.t.self && m.host == host {
			return true
		}
	}
	return false
}

func (r *receiver) stateOf(img *transport.Image) *imageState {
	for _, st := range r.images {
		if st.img == img {
			return st
		}
	}
	host, ok := sourceHost(img)
	r.scratch = imageState{host: host, member: ok && r.isMemberHost(host), untracked: true}
	return &r.scratch
}

// Poll hands up to limit received messages to handler, each with the member
// that sent it, and returns how many it handed. Messages that fail a check
// are dropped and counted. msg is valid only during the handler call.
func (t *Transport) Poll(handler func(from consensus.MemberID, msg []byte), limit int) int {
	if t.closed || limit <= 0 {
		return 0
	}
	if t.group == nil {
		return t.recv.poll(handler, limit)
	}
	n := t.release(handler, limit) // held group log the last Poll had no room for
	// Alternate which subscription goes first, so that neither starves.
	t.groupFirst = !t.groupFirst
	first, second := &t.recv, &t.grecv
	if t.groupFirst {
		first, second = second, first
	}
	if n < limit {
		n += first.poll(handler, limit-n)
	}
	if n < limit {
		n += second.poll(handler, limit-n)
	}
	return n
}

// skipBlock consumes a block unread.
func skipBlock([]byte, transport.Position, int32, int32) {}

func (r *receiver) poll(handler func(consensus.MemberID, []byte), limit int) int {
	images := r.sub.Images()
	n := len(images)
	if n == 0 {
		return 0
	}
	if r.hasOwn {
		// This member's own group stream: nothing in it is for us (the
		// session id is ours; a forged stream reusing it is dropped too).
		for _, img := range images {
			if img.SessionID() == r.ownSession {
				img.BlockPoll(skipBlock, ownDrainBytesMax)
			}
		}
	}
	r.handler, r.handed, r.limit = handler, 0, limit
	if r.rr++; r.rr >= n {
		r.rr = 0
	}
	// Each fragment completes at most one message, so a fragment limit of
	// limit-handed never hands more than limit.
	for fragments := 0; fragments < pollFragmentsMax && r.handed < limit; {
		progress := 0
		for i := 0; i < n && r.handed < limit && fragments < pollFragmentsMax; i++ {
			img := images[(r.rr+i)%n]
			if r.hasOwn && img.SessionID() == r.ownSession {
				continue
			}
			r.cur = r.stateOf(img)
			got := img.Poll(r.onFragment, min(limit-r.handed, pollFragmentsMax-fragments))
			fragments += got
			progress += got
		}
		if progress == 0 {
			break
		}
	}
	r.handler, r.cur = nil, nil
	return r.handed
}

func (r *receiver) fragment(payload []byte, h *transport.Header) {
	if msg, ok := r.assemble(r.cur, payload, h.Flags()); ok {
		r.deliver(r.cur, msg)
	}
}

// assemble adds one fragment to st and returns a complete message, if any.
// Unfragmented messages pass through without a copy. A message that would
// exceed wireMax is dropped (Malformed) along with its remaining fragments.
func (r *receiver) assemble(st *imageState, payload []byte, flags uint8) ([]byte, bool) {
	if flags&transport.FlagsUnfragmented == transport.FlagsUnfragmented {
		st.active = false
		return payload, true
	}
	if !st.member || st.untracked {
		if flags&transport.FlagBegin == 0 {
			return nil, false
		}
		if st.member { // one count per message, no copy
			r.t.counters.unassembled.Add(1)
		} else {
			r.t.counters.wrongSource.Add(1)
		}
		return nil, false
	}
	switch {
	case flags&transport.FlagBegin != 0:
		st.active = len(payload) <= r.t.wireMax
		if !st.active {
			r.t.counters.malformed.Add(1)
			return nil, false
		}
		st.buf = append(st.buf[:0], payload...)
		return nil, false
	case !st.active:
		return nil, false // joined mid-message, or the rest of a dropped one
	case len(st.buf)+len(payload) > r.t.wireMax:
		st.active = false
		r.t.counters.malformed.Add(1)
		return nil, false
	}
	st.buf = append(st.buf, payload...)
	if flags&transport.FlagEnd == 0 {
		return nil, false
	}
	st.active = false
	return st.buf, true
}

// deliver checks one complete message from st's image and hands it on:
// decode, then the claimed sender against the source host, then the MAC.
func (r *receiver) deliver(st *imageState, wire []byte) {
	t := r.t
	if !st.member {
		t.counters.wrongSource.Add(1)
		return
	}
	body := wire
	if r.mac != nil {
		if len(wire) < MACLength {
			t.counters.malformed.Add(1)
			return
		}
		body = wire[:len(wire)-MACLength]
	}
	if len(body) > t.msgMax || r.decode.Decode(body, &r.msg) != nil {
		t.counters.malformed.Add(1)
		return
	}
	from := r.msg.From
	dataLen := consensus.Position(len(r.msg.Data))
	r.msg.Data = nil // do not keep the receive buffer reachable
	if from < 0 || from >= MembersMax || from == t.self || !t.members[from].known || t.members[from].host != st.host {
		t.counters.wrongSource.Add(1)
		return
	}
	to := t.self
	if r.group {
		to = groupDestination
	}
	if r.mac != nil && !r.mac.verify(body, wire[len(body):], from, to) {
		t.counters.badMAC.Add(1)
		return
	}
	st.proven = true
	if !r.accept(from, dataLen, body) {
		return
	}
	t.counters.received.Add(1)
	r.handed++
	r.handler(from, body)
	if t.group != nil && !t.held.empty() && r.handed < r.limit {
		r.handed += t.release(r.handler, r.limit-r.handed) // this may have reached held log
	}
}

// accept applies the log multicast rules to an authenticated message
// (r.msg, body): the group carries only AppendLog, and group log beyond
// what this member was handed is held or dropped (rxLog, heldLog). It notes the log handed on
// and, for the leader's router, the followers' acknowledged positions.
func (r *receiver) accept(from consensus.MemberID, dataLen consensus.Position, body []byte) bool {
	t, m := r.t, &r.msg
	if t.group == nil {
		return true
	}
	switch {
	case m.Type == consensus.MsgAppendLog:
		if r.group && t.rx.ahead(m.Term, m.Position) {
			switch dropped := t.held.hold(from, m.Term, m.Position, m.Position+dataLen, body); {
			case dropped < 0:
				t.counters.multicastAhead.Add(1)
			default:
				t.counters.multicastHeld.Add(1)
				t.counters.multicastAhead.Add(uint64(dropped))
			}
			return false
		}
		t.rx.note(m.Term, m.Position+dataLen)
	case r.group:
		t.counters.multicastDropped.Add(1) // the group carries the log only
		return false
	case m.Type == consensus.MsgAppendPosition:
		t.group.onAck(from, m.Term, m.Position)
	}
	if r.group {
		t.counters.multicastReceived.Add(1)
	}
	return true
}
