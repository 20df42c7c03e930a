package peer

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"

	"venue/cluster/consensus"
	"venue/transport"
)

// Log multicast: the leader publishes new log once on a multicast group
// instead of once per follower, the way Aeron Cluster's log publication
// carries the live log while a lagging follower is served by a catch-up
// replay of its own. The consensus core still addresses an AppendLog to
// each follower; Send decides per message (router) whether the group
// carries it, the follower's unicast stream does, or both.
//
// Correctness never depends on the group: a follower that misses group
// data is left with a gap that consensus heals as it heals any loss (a
// CatchupPosition after a rejected AppendLog, or the leader's retransmit
// timeout), and every resend goes by unicast.

// Multicast bounds.
const (
	// TTLMax is the largest multicast TTL in hops.
	TTLMax = 255
	// interfaceNameLengthMax bounds an interface name in bytes (Linux's
	// IFNAMSIZ less the terminating NUL).
	interfaceNameLengthMax = 15
	// groupDestination is the destination id the MAC of a group message
	// binds: never a member id, so a group message cannot be replayed as a
	// unicast one or the other way round.
	groupDestination = consensus.MemberID(MembersMax)
	// ownDrainBytesMax bounds the bytes of its own group publication a
	// member skips per Poll (the group loops back to the leader's own
	// subscription on its host).
	ownDrainBytesMax = 1 << 20
	// strikesMax bounds the doubling of a follower's rejoin hold-off.
	strikesMax = 7
	// rejoinHoldoffChunks is how many AppendLog messages a follower gets by
	// unicast after the group failed it twice running before it may rejoin
	// the group; it doubles with each further failure (strikes), up to
	// rejoinHoldoffChunks<<(strikesMax-2) = 512.
	rejoinHoldoffChunks = 16
	// strikeDecayChunks: after this many AppendLog messages served by the
	// group without a failure, a follower's strikes drop by one.
	strikeDecayChunks = 1024
	// heldWireMessages sizes the held group log in largest messages
	// (heldLog: 4 x 64 KiB with consensus's default batch).
	heldWireMessages = 4
	// heldMessagesMax bounds the group messages held at once.
	heldMessagesMax = 64
)

// MulticastConfig turns on log replication over a multicast group.
type MulticastConfig struct {
	// Group is "ipv4:port" of an IPv4 multicast group; empty: off (each
	// follower gets the log by unicast).
	Group string
	// Interface names the interface to send and join on ("lo" for members
	// on loopback); empty: the system's default for the group.
	Interface string
	// TTL is the multicast TTL in hops, 0 to TTLMax; 0 means 1 (the
	// members' own network).
	TTL int
}

// Enabled reports whether a group is configured.
func (c MulticastConfig) Enabled() bool { return c.Group != "" }

// Validate checks the group, interface name and TTL.
func (c MulticastConfig) Validate() error {
	if !c.Enabled() {
		return nil
	}
	if _, err := ParseGroup(c.Group); err != nil {
		return err
	}
	if len(c.Interface) > interfaceNameLengthMax {
		return fmt.Errorf("multicast interface %q: names are at most %d bytes", c.Interface, interfaceNameLengthMax)
	}
	for _, r := range c.Interface {
		if r <= ' ' || r == '|' || r == '=' || r == 0x7f {
			return fmt.Errorf("multicast interface %q: not an interface name", c.Interface)
		}
	}
	if c.TTL < 0 || c.TTL > TTLMax {
		return fmt.Errorf("multicast ttl %d: want 0 to %d", c.TTL, TTLMax)
	}
	return nil
}

// ParseGroup parses a multicast group endpoint: an IPv4 multicast address
// and a non-zero port.
func ParseGroup(s string) (netip.AddrPort, error) {
	ep, err := netip.ParseAddrPort(s)
	if err != nil {
		return ep, fmt.Errorf("multicast group %q: want ipv4:port: %w", s, err)
	}
	a := ep.Addr().Unmap()
	switch {
	case !a.Is4() || !a.IsMulticast():
		return ep, fmt.Errorf("multicast group %q: want an IPv4 multicast address (224.0.0.0/4, e.g. 239.255.20.1)", s)
	case ep.Port() == 0:
		return ep, fmt.Errorf("multicast group %q: want a non-zero port", s)
	}
	return netip.AddrPortFrom(a, ep.Port()), nil
}

// channels returns the group's publication channel (bound to host, so that
// receivers' source check sees it) and subscription channel. loop keeps
// the group looping back to this host, which only members sharing it need.
func (c MulticastConfig) channels(host netip.Addr, termLength int, loop bool) (pub, sub string) {
	g, _ := ParseGroup(c.Group)
	opts := ""
	if c.Interface != "" {
		opts += "|interface=" + c.Interface
	}
	ttl := max(c.TTL, 1)
	// fc=max: the fastest follower paces the group, because a quorum needs
	// only it; a slower one falls behind and gets the log by unicast.
	pub = fmt.Sprintf("udp?endpoint=%s|control=%s|term-length=%d|fc=max|ttl=%d%s",
		g, netip.AddrPortFrom(host, 0), termLength, ttl, opts)
	if !loop {
		pub += "|loopback=false" // the leader need not read its own log back
	}
	sub = fmt.Sprintf("udp?endpoint=%s%s", g, opts)
	return pub, sub
}

// route is what Send does with one AppendLog.
type route uint8

const (
	// routeUnicast: the follower's own stream carries it.
	routeUnicast route = iota
	// routeGroup: the group carries it, to this follower too.
	routeGroup
	// routeGroupAndUnicast: new log for the group, but this follower is
	// not in step with the group and gets it by unicast as well.
	routeGroupAndUnicast
	// routeSkip: the group already carried it to this follower.
	routeSkip
)

// String names the route for tests and traces.
func (r route) String() string {
	switch r {
	case routeUnicast:
		return "unicast"
	case routeGroup:
		return "group"
	case routeGroupAndUnicast:
		return "group+unicast"
	case routeSkip:
		return "skip"
	}
	return fmt.Sprintf("route(%d)", uint8(r))
}

// follower is the router's view of one follower in the current term.
type follower struct {
	// expected is the end of the last AppendLog sent to it (-1: none yet):
	// an AppendLog before it means the leader went back.
	expected consensus.Position
	// grouped: everything it was sent since it (re)joined came from the
	// group, so group data reaches it in log order.
	grouped bool
	// strikes counts recent group failures (the leader went back while it
	// was grouped); holdoff is the unicast messages left before it may
	// rejoin; served counts group-served messages towards forgiving one
	// strike.
	strikes uint8
	holdoff int
	served  int
}

// router decides, per AppendLog, between the group and a follower's
// unicast stream. It is a pure state machine (no I/O, no clock): Send
// asks route, carries out the answer, and reports it with sent.
//
// The group carries [start, next), contiguous, in the current term: log
// the leader had never sent before in this term goes to the group. A
// follower in step with the group (grouped) is skipped for log the group
// already carried to it. One that is not gets its own copy by unicast, and
// joins the group at new log it is due next (whichever follower the log
// was first shipped for) once its acknowledged position shows that little
// it was sent by unicast is still in flight: group log that overtakes that
// is held by the receiver (heldLog) until it fits. A follower the leader goes back for while grouped
// (it missed something) leaves the group for a hold-off that doubles with
// repeated failures.
type router struct {
	// lagMax bounds, in bytes, the log from a follower's acknowledged
	// position to the end of the group log it rejoins with: its receiver
	// must be able to hold the group log while its unicast arrives.
	lagMax      consensus.Position
	term        consensus.TermID
	start, next consensus.Position // next < 0: the group carried nothing this term
	fol         [MembersMax]follower
}

func newRouter(lagMax consensus.Position) *router {
	r := &router{lagMax: lagMax}
	r.reset(-1)
	return r
}

// reset starts a new term: nothing sent yet, every follower in step
// (nothing is in flight to anyone in this term). Strikes carry over.
func (r *router) reset(term consensus.TermID) {
	r.term, r.start, r.next = term, -1, -1
	for i := range r.fol {
		f := &r.fol[i]
		f.expected, f.grouped, f.served = -1, f.holdoff == 0, 0
	}
}

// acks are the followers' acknowledged (AppendPosition) positions in the
// router's term, -1 where unknown.
type acks [MembersMax]consensus.Position

// route decides how an AppendLog of log [pos, end) in term reaches
// follower f.
func (r *router) route(f consensus.MemberID, term consensus.TermID, pos, end consensus.Position, ack *acks) route {
	if term != r.term {
		r.reset(term)
	}
	fs := &r.fol[f]
	// The leader going back is a resend: something sent never arrived. It
	// may also move on past what it sent this follower, when the follower
	// acknowledged log the group carried to it for others.
	cont := fs.expected < 0 || pos >= fs.expected
	if !cont && fs.grouped {
		r.strike(fs) // the group failed this follower
	}
	fresh := r.next < 0 || end > r.next
	switch {
	case fresh && fs.grouped:
		return routeGroup
	case fresh && cont && r.canJoin(fs, ack[f], end):
		return routeGroup
	case fresh:
		return routeGroupAndUnicast
	case fs.grouped && cont && pos >= r.start:
		return routeSkip
	}
	return routeUnicast
}

// canJoin reports whether a follower off the group may take group log up
// to end: it is not held off, and the unicast log it has not acknowledged
// plus the group log up to end fit in what its receiver holds (heldLog)
// while its own stream catches up.
func (r *router) canJoin(fs *follower, acked, end consensus.Position) bool {
	return fs.holdoff == 0 && acked >= 0 && end-acked <= r.lagMax
}

// strike takes a follower off the group. A single go-back is common
// without any loss (a term starts with duplicate catch-up requests; a slow
// acknowledgement trips the retransmit timeout), so the first strike only
// makes it rejoin the usual way; repeated ones hold it off, doubling.
func (r *router) strike(fs *follower) {
	fs.grouped = false
	fs.strikes = min(fs.strikes+1, strikesMax)
	fs.holdoff = 0
	if fs.strikes > 1 {
		fs.holdoff = rejoinHoldoffChunks << (fs.strikes - 2)
	}
	fs.served = 0
}

// sent records how an AppendLog routed rt went: groupOK says whether the
// group took it, unicast whether Send also offered it to f's stream.
func (r *router) sent(f consensus.MemberID, pos, end consensus.Position, rt route, groupOK, unicast bool, ack *acks) {
	fs := &r.fol[f]
	fs.expected = end
	if groupOK && (r.next < 0 || end > r.next) {
		r.joinOthers(f, pos, end, ack)
	}
	if groupOK {
		if r.next < 0 || pos > r.next {
			r.start = pos // the group's stream restarts: it cannot vouch for [next, pos)
		}
		r.next = max(r.next, end)
	}
	switch {
	case unicast:
		fs.grouped = false
		fs.holdoff = max(fs.holdoff-1, 0)
	case rt == routeGroup || rt == routeSkip:
		fs.grouped = true
		if fs.served++; fs.served >= strikeDecayChunks {
			fs.served = 0
			fs.strikes = max(fs.strikes, 1) - 1
		}
	}
}

// joinOthers puts followers other than f that are off the group on it
// when the group has just carried new log [pos, end) that each is due
// next: the consensus core ships to followers in turn, so one that is in
// step but off the group would never be first with new log, and would
// never rejoin at its own.
func (r *router) joinOthers(f consensus.MemberID, pos, end consensus.Position, ack *acks) {
	for g := range r.fol {
		gs := &r.fol[g]
		if consensus.MemberID(g) != f && !gs.grouped && gs.expected == pos && r.canJoin(gs, ack[g], end) {
			gs.grouped, gs.served = true, 0
		}
	}
}

// groupSender is the leader side of the group: the publication, the
// router, and the followers' acknowledged positions the router needs.
type groupSender struct {
	pub    *transport.Publication
	router *router
	msg    consensus.Message
	vec    [2][]byte
	// ackSnap is acks as of one Send.
	ackSnap acks
	// acks are the followers' latest AppendPosition per term, written by
	// Poll and read by Send (which may run on another goroutine).
	acksMu sync.Mutex
	acks   [MembersMax]struct {
		term consensus.TermID
		pos  consensus.Position
	}
}

// onAck notes a follower's AppendPosition (from Poll).
func (g *groupSender) onAck(from consensus.MemberID, term consensus.TermID, pos consensus.Position) {
	g.acksMu.Lock()
	a := &g.acks[from]
	if term > a.term || (term == a.term && pos > a.pos) {
		a.term, a.pos = term, pos
	}
	g.acksMu.Unlock()
}

// acked fills out with the followers' acknowledged positions in term.
func (g *groupSender) acked(term consensus.TermID, out *acks) {
	g.acksMu.Lock()
	defer g.acksMu.Unlock()
	for i, a := range g.acks {
		out[i] = -1
		if a.term == term {
			out[i] = a.pos
		}
	}
}

// isAppendLog reports whether msg's header names an AppendLog, without
// decoding it.
func isAppendLog(msg []byte) bool {
	const templateIDOffset = 2 // consensus's header: block length, template id, ...
	return len(msg) >= consensus.HeaderLength &&
		binary.LittleEndian.Uint16(msg[templateIDOffset:]) == uint16(consensus.MsgAppendLog)
}

// sendLog sends an AppendLog to follower to by the group, its unicast
// stream, or both, and reports whether it reached one of them (or the
// group already carried it).
func (t *Transport) sendLog(to consensus.MemberID, msg []byte) bool {
	g := t.group
	if consensus.DecodeMessage(msg, &g.msg) != nil || len(g.msg.Data) == 0 || g.msg.From != t.self {
		g.msg.Data = nil
		return t.unicast(to, msg) // probes and oddities: not log for the group
	}
	term, pos := g.msg.Term, g.msg.Position
	end := pos + consensus.Position(len(g.msg.Data))
	g.msg.Data = nil // do not retain the caller's buffer
	g.acked(term, &g.ackSnap)
	rt := g.router.route(to, term, pos, end, &g.ackSnap)
	groupOK, unicast, ok := false, false, false
	switch rt {
	case routeSkip:
		t.counters.multicastSkipped.Add(1)
		ok = true
	case routeGroup, routeGroupAndUnicast:
		groupOK = t.offerGroup(msg)
		unicast = rt == routeGroupAndUnicast || !groupOK
		ok = groupOK
	default:
		unicast = true
	}
	if unicast {
		t.counters.multicastUnicast.Add(1)
		ok = t.unicast(to, msg) || ok
	}
	g.router.sent(to, pos, end, rt, groupOK, unicast, &g.ackSnap)
	return ok
}

// offerGroup offers msg to the group, with a MAC bound to the group.
func (t *Transport) offerGroup(msg []byte) bool {
	g := t.group
	var r transport.OfferResult
	for attempt := 0; ; attempt++ {
		if t.send.mac != nil {
			g.vec[0], g.vec[1] = msg, t.send.mac.tag(msg, t.self, groupDestination)
			_, r = g.pub.OfferVectored(g.vec[:])
			g.vec[0] = nil
		} else {
			_, r = g.pub.Offer(msg)
		}
		if r != transport.AdminAction || attempt >= adminActionRetryMax {
			break
		}
	}
	if r == transport.OfferOK {
		t.counters.multicastSent.Add(1)
		return true
	}
	t.counters.multicastSendFailed.Add(1)
	return false
}

// openGroup adds the group publication and subscription.
func (t *Transport) openGroup(cfg Config, host netip.Addr) error {
	pubCh, subCh := cfg.Multicast.channels(host, t.termLen, t.othersOnThisMachine(localAddrs()))
	sub, err := cfg.Driver.AddSubscription(subCh, t.streamID, transport.SubscriptionOptions{
		OnAvailableImage: t.grecv.onAvailable, OnUnavailableImage: t.grecv.onUnavailable})
	if err != nil {
		return fmt.Errorf("peer: member %d: join log multicast group %s: %w", t.self, cfg.Multicast.Group, err)
	}
	t.grecv.sub = sub
	pub, err := cfg.Driver.AddPublication(pubCh, t.streamID)
	if err != nil {
		return fmt.Errorf("peer: member %d: log multicast publication to %s: %w", t.self, cfg.Multicast.Group, err)
	}
	t.group.pub = pub
	t.grecv.ownSession, t.grecv.hasOwn = pub.SessionID(), true
	return nil
}

// localAddrs returns this machine's interface addresses, or nil when they
// cannot be listed.
func localAddrs() []netip.Addr {
	as, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Addr
	for _, a := range as {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out
}

// othersOnThisMachine reports whether another member's host is an address
// of this machine (local, or any loopback address), so that the group must
// loop back to it. Unknown local addresses (nil) count as yes: looping
// back only costs the leader reading its own stream.
func (t *Transport) othersOnThisMachine(local []netip.Addr) bool {
	if local == nil {
		return true
	}
	for id := range t.members {
		m := &t.members[id]
		if !m.known || consensus.MemberID(id) == t.self {
			continue
		}
		if m.host.IsLoopback() || slices.Contains(local, m.host) {
			return true
		}
	}
	return false
}

// GroupConnected reports whether the log multicast publication has a
// receiver (false when multicast is off).
func (t *Transport) GroupConnected() bool {
	return t.group != nil && t.group.pub != nil && t.group.pub.IsConnected()
}

// heldLog keeps group log that arrived ahead of this member's own stream
// (a follower rejoining the group: its last unicast log is still on the
// way) until the stream reaches it, so that rejoining does not cost a
// catch-up. It is bounded by bytes and messages; what does not fit is
// dropped (MulticastAhead) and consensus heals the gap.
type heldLog struct {
	arena []byte // message bodies, appended until the log is empty again
	msgs  []heldMsg
	head  int // msgs[head:] are held
}

type heldMsg struct {
	from     consensus.MemberID
	term     consensus.TermID
	pos, end consensus.Position
	off, n   int // body in arena
}

func newHeldLog(wireMax int) heldLog {
	return heldLog{arena: make([]byte, 0, heldWireMessages*wireMax), msgs: make([]heldMsg, 0, heldMessagesMax)}
}

func (h *heldLog) empty() bool { return h.head == len(h.msgs) }

// hold keeps a copy of body (group log [pos, end) of term from from) if it
// fits, and returns how many held messages it dropped (-1: body itself).
// Log that does not continue what is held replaces it: the held log can
// no longer be completed from the group, and the newest log is what a
// follower rejoining the group needs.
func (h *heldLog) hold(from consensus.MemberID, term consensus.TermID, pos, end consensus.Position, body []byte) int {
	dropped := 0
	if !h.empty() {
		if last := h.msgs[len(h.msgs)-1]; term != last.term || pos > last.end {
			dropped = len(h.msgs) - h.head
			h.head = len(h.msgs)
		}
	}
	if h.empty() {
		h.arena, h.msgs, h.head = h.arena[:0], h.msgs[:0], 0
	}
	if len(h.msgs) == cap(h.msgs) || len(h.arena)+len(body) > cap(h.arena) {
		return -1
	}
	h.msgs = append(h.msgs, heldMsg{from: from, term: term, pos: pos, end: end, off: len(h.arena), n: len(body)})
	h.arena = append(h.arena, body...)
	return dropped
}

// release hands held log that this member's stream has reached (rx) to
// handler, at most limit messages, and returns how many it handed. Held
// log of an older term is dropped.
func (t *Transport) release(handler func(consensus.MemberID, []byte), limit int) int {
	h, handed := &t.held, 0
	for !h.empty() && handed < limit {
		m := h.msgs[h.head]
		if t.rx.known && m.term < t.rx.term {
			t.counters.multicastAhead.Add(1) // a new term began: never needed
			h.head++
			continue
		}
		if t.rx.ahead(m.term, m.pos) {
			break
		}
		h.head++
		t.rx.note(m.term, m.end)
		t.counters.received.Add(1)
		t.counters.multicastReceived.Add(1)
		handed++
		handler(m.from, h.arena[m.off:m.off+m.n])
	}
	return handed
}

// rxLog tracks, on the receiving side, how far the AppendLogs handed to
// the node reach in the newest term: group log beyond that would only be
// rejected (a follower behind the group, or one the group overtook), and
// is held (heldLog) or dropped here instead, so that the leader is not
// asked to catch up a follower whose own stream is already on its way.
type rxLog struct {
	known bool
	term  consensus.TermID
	end   consensus.Position
}

// ahead reports whether group log at pos in term is beyond what this
// member was handed.
func (x *rxLog) ahead(term consensus.TermID, pos consensus.Position) bool {
	return x.known && term == x.term && pos > x.end
}

// note records an AppendLog handed to the node.
func (x *rxLog) note(term consensus.TermID, end consensus.Position) {
	switch {
	case !x.known || term > x.term:
		x.known, x.term, x.end = true, term, end
	case term == x.term:
		x.end = max(x.end, end)
	}
}
