package peer

import (
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"net/netip"

	"venue/cluster/consensus"
	"venue/transport"
)

// Bounds and defaults.
const (
	// StreamIDDefault is the consensus stream id (Aeron Cluster's consensus
	// channel uses stream 108; venue keeps the number).
	StreamIDDefault int32 = 108
	// MembersMax bounds the static membership; it equals consensus's bound
	// (a test checks consensus.Config.Validate agrees).
	MembersMax = 9
	// MACLength is the bytes of HMAC-SHA256 appended to each message when a
	// secret is set (truncated, as in RFC 2104 section 5).
	MACLength = 16
	// secretLengthMin is the shortest accepted shared secret in bytes.
	secretLengthMin = 16
	// imagesMax bounds the images (sender sessions) with a reassembly slot:
	// two per member covers a restarted member whose old image has not yet
	// timed out. Images beyond it take the slot of an unproven image, or
	// deliver unfragmented messages only.
	imagesMax = 2 * MembersMax
	// adminActionRetryMax: an Offer that rotated the term returns
	// AdminAction and is retried at once this many times. That is not a
	// retry of back pressure: the fresh term has room.
	adminActionRetryMax = 2
	// pollFragmentsMax bounds the fragments one Poll consumes, so that a
	// stream of large or dropped messages cannot hold the agent (about
	// 1.4 MB at the default MTU).
	pollFragmentsMax = 1024
)

// Member is one cluster member's consensus address.
type Member struct {
	// ID is the member id, in [0, MembersMax).
	ID consensus.MemberID
	// ConsensusEndpoint is "ipv4:port": where the member's consensus
	// subscription listens, and the host its consensus traffic comes from.
	ConsensusEndpoint string
}

// Config configures a Transport.
type Config struct {
	// Driver moves the streams; several Transports may share one.
	Driver *transport.Driver
	// Self is this member's id; it must be one of Members.
	Self consensus.MemberID
	// Members lists every member, Self included.
	Members []Member
	// StreamID is the consensus stream id; 0 means StreamIDDefault.
	StreamID int32
	// Secret, when set (at least 16 bytes), makes every message carry an
	// HMAC-SHA256 under it. All members must share it.
	Secret []byte
	// AppendDataMax is the largest AppendLog data in bytes any member sends
	// (consensus Config.AppendBatchBytes); 0 means
	// consensus.AppendDataLengthMax. It sizes the term length.
	AppendDataMax int
	// TermLength overrides the derived term length in bytes (a power of
	// two whose MaxMessageLength holds the largest message); 0 derives it.
	TermLength int
	// Multicast, when its Group is set, replicates the log over that
	// multicast group as well as unicast (see doc.go); every member must
	// have the same setting.
	Multicast MulticastConfig
}

// Errors returned by New.
var (
	// ErrConfig wraps every configuration error.
	ErrConfig = errors.New("peer: config")
)

// memberSlot is what the transport knows about one member id.
type memberSlot struct {
	known bool
	host  netip.Addr
	pub   *transport.Publication // nil for Self and unknown ids
}

// Transport carries encoded consensus messages between members. It
// implements module.Transport.
type Transport struct {
	self     consensus.MemberID
	streamID int32
	members  [MembersMax]memberSlot
	pubs     []*transport.Publication // the non-nil members[i].pub, for Close
	sub      *transport.Subscription
	msgMax   int // largest message Send accepts, MAC excluded
	wireMax  int // largest message on the wire, MAC included
	termLen  int
	closed   bool
	counters counters
	send     sender
	recv     receiver
	// group is the log multicast sender and grecv its receiver; nil and
	// unused when multicast is off. rx follows the log handed to the node
	// (both receivers run inside Poll).
	group      *groupSender
	grecv      receiver
	rx         rxLog
	held       heldLog
	groupFirst bool // Poll alternates which receiver goes first
}

// sender is Send's state: its own MAC so that Send and Poll may run on
// different goroutines.
type sender struct {
	mac *macer
	vec [2][]byte // message, MAC: one OfferVectored without a copy
}

// New validates cfg, subscribes to Self's consensus endpoint and adds a
// publication to every other member. Close releases them.
func New(cfg Config) (*Transport, error) {
	t, err := newTransport(cfg)
	if err != nil {
		return nil, err
	}
	if err := t.open(cfg); err != nil {
		t.Close()
		return nil, err
	}
	return t, nil
}

// newTransport validates cfg and builds the transport without touching the
// driver (tests and fuzzing feed its receive path directly).
func newTransport(cfg Config) (*Transport, error) {
	if cfg.StreamID == 0 {
		cfg.StreamID = StreamIDDefault
	}
	t := &Transport{self: cfg.Self, streamID: cfg.StreamID}
	if err := t.setMembers(cfg); err != nil {
		return nil, err
	}
	if err := t.setSizes(cfg); err != nil {
		return nil, err
	}
	if len(cfg.Secret) > 0 {
		if len(cfg.Secret) < secretLengthMin {
			return nil, fmt.Errorf("%w: secret is %d bytes, need at least %d", ErrConfig, len(cfg.Secret), secretLengthMin)
		}
		t.send.mac = newMACer(cfg.Secret)
		t.recv.mac = newMACer(cfg.Secret)
		t.grecv.mac = newMACer(cfg.Secret)
	}
	if err := cfg.Multicast.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	t.recv.init(t, false)
	if cfg.Multicast.Enabled() {
		t.held = newHeldLog(t.wireMax)
		// A follower may rejoin with up to half the held bytes in flight.
		t.group = &groupSender{router: newRouter(consensus.Position(cap(t.held.arena) / 2))}
		t.grecv.init(t, true)
	}
	return t, nil
}

func (t *Transport) setMembers(cfg Config) error {
	if len(cfg.Members) == 0 || len(cfg.Members) > MembersMax {
		return fmt.Errorf("%w: %d members, need 1 to %d", ErrConfig, len(cfg.Members), MembersMax)
	}
	endpoints := make(map[netip.AddrPort]consensus.MemberID, len(cfg.Members))
	for _, m := range cfg.Members {
		if m.ID < 0 || m.ID >= MembersMax {
			return fmt.Errorf("%w: member id %d not in [0,%d)", ErrConfig, m.ID, MembersMax)
		}
		if t.members[m.ID].known {
			return fmt.Errorf("%w: member id %d listed twice", ErrConfig, m.ID)
		}
		ep, err := ParseEndpoint(m.ConsensusEndpoint)
		if err != nil {
			return fmt.Errorf("%w: member %d: %w", ErrConfig, m.ID, err)
		}
		if other, dup := endpoints[ep]; dup {
			return fmt.Errorf("%w: members %d and %d share consensus endpoint %s", ErrConfig, other, m.ID, ep)
		}
		endpoints[ep] = m.ID
		t.members[m.ID] = memberSlot{known: true, host: ep.Addr()}
	}
	if cfg.Self < 0 || cfg.Self >= MembersMax || !t.members[cfg.Self].known {
		return fmt.Errorf("%w: self %d is not a listed member", ErrConfig, cfg.Self)
	}
	return nil
}

// ParseEndpoint parses a consensus endpoint: an IPv4 address (the
// transport is IPv4 and does not resolve names) that is not unspecified
// or multicast, and a non-zero port.
func ParseEndpoint(s string) (netip.AddrPort, error) {
	ep, err := netip.ParseAddrPort(s)
	if err != nil {
		return ep, fmt.Errorf("endpoint %q: want ipv4:port: %w", s, err)
	}
	a := ep.Addr().Unmap()
	switch {
	case !a.Is4():
		return ep, fmt.Errorf("endpoint %q: want an IPv4 address", s)
	case a.IsUnspecified() || a.IsMulticast():
		return ep, fmt.Errorf("endpoint %q: want a unicast address other members can reach", s)
	case ep.Port() == 0:
		return ep, fmt.Errorf("endpoint %q: want a non-zero port", s)
	}
	return netip.AddrPortFrom(a, ep.Port()), nil
}

// WireLengthMax returns the largest consensus message in bytes for AppendLog
// data of appendDataMax bytes, with the MAC trailer if mac.
func WireLengthMax(appendDataMax int, mac bool) int {
	m := consensus.Message{Type: consensus.MsgAppendLog}
	n := consensus.EncodedLength(&m) + appendDataMax
	if mac {
		n += MACLength
	}
	return n
}

// TermLengthFor returns the smallest valid term length whose
// MaxMessageLength holds a wireMax-byte message, or an error when none does.
func TermLengthFor(wireMax int) (int, error) {
	for tl := transport.TermLengthMin; tl <= transport.TermLengthMax; tl *= 2 {
		if transport.MaxMessageLength(tl) >= wireMax {
			return tl, nil
		}
	}
	return 0, fmt.Errorf("%w: no term length carries a %d-byte message", ErrConfig, wireMax)
}

func (t *Transport) setSizes(cfg Config) error {
	data := cfg.AppendDataMax
	if data == 0 {
		data = consensus.AppendDataLengthMax
	}
	if data < 0 || data > consensus.AppendDataLengthMax {
		return fmt.Errorf("%w: append data max %d not in [0,%d]", ErrConfig, data, consensus.AppendDataLengthMax)
	}
	mac := len(cfg.Secret) > 0
	t.wireMax = WireLengthMax(data, mac)
	t.msgMax = WireLengthMax(data, false)
	if cfg.TermLength == 0 {
		tl, err := TermLengthFor(t.wireMax)
		t.termLen = tl
		return err
	}
	if err := transport.CheckTermLength(cfg.TermLength); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if got := transport.MaxMessageLength(cfg.TermLength); got < t.wireMax {
		return fmt.Errorf("%w: term length %d carries messages up to %d bytes, an AppendLog of %d data bytes needs %d: raise the term length or leave it 0",
			ErrConfig, cfg.TermLength, got, data, t.wireMax)
	}
	t.termLen = cfg.TermLength
	return nil
}

// open adds the subscription and the publications.
func (t *Transport) open(cfg Config) error {
	if cfg.Driver == nil {
		return fmt.Errorf("%w: no driver", ErrConfig)
	}
	self := cfg.Self
	var selfEP netip.AddrPort
	for _, m := range cfg.Members {
		if m.ID == self {
			selfEP, _ = ParseEndpoint(m.ConsensusEndpoint)
		}
	}
	sub, err := cfg.Driver.AddSubscription("udp?endpoint="+selfEP.String(), t.streamID, transport.SubscriptionOptions{
		OnAvailableImage: t.recv.onAvailable, OnUnavailableImage: t.recv.onUnavailable})
	if err != nil {
		return fmt.Errorf("peer: member %d: subscribe to %s: %w", self, selfEP, err)
	}
	t.sub = sub
	t.recv.sub = sub
	for _, m := range cfg.Members {
		if m.ID == self {
			continue
		}
		ep, _ := ParseEndpoint(m.ConsensusEndpoint)
		// control binds the sending socket to our own host, so that the
		// receiver's source check sees the configured address.
		ch := fmt.Sprintf("udp?endpoint=%s|control=%s|term-length=%d", ep,
			netip.AddrPortFrom(selfEP.Addr(), 0), t.termLen)
		pub, err := cfg.Driver.AddPublication(ch, t.streamID)
		if err != nil {
			return fmt.Errorf("peer: member %d: publication to member %d at %s: %w", self, m.ID, ep, err)
		}
		t.members[m.ID].pub = pub
		t.pubs = append(t.pubs, pub)
	}
	if t.group != nil {
		return t.openGroup(cfg, selfEP.Addr())
	}
	return nil
}

// Close closes the publications and the subscription. Call it from the
// goroutine that sends and polls (or after it stopped). Later Sends return
// false and Polls return 0.
func (t *Transport) Close() {
	if t.closed {
		return
	}
	t.closed = true
	for _, p := range t.pubs {
		p.Close()
	}
	if t.sub != nil {
		t.sub.Close()
	}
	if t.group != nil && t.group.pub != nil {
		t.group.pub.Close()
	}
	if t.grecv.sub != nil {
		t.grecv.sub.Close()
	}
}

// Self returns this member's id.
func (t *Transport) Self() consensus.MemberID { return t.self }

// TermLength returns the term length of the publications in bytes.
func (t *Transport) TermLength() int { return t.termLen }

// MessageLengthMax returns the largest message Send accepts in bytes (the
// MAC trailer, if any, is added on top).
func (t *Transport) MessageLengthMax() int { return t.msgMax }

// Connected reports whether the publication to member to has a receiver.
func (t *Transport) Connected(to consensus.MemberID) bool {
	if to < 0 || to >= MembersMax || t.members[to].pub == nil {
		return false
	}
	return t.members[to].pub.IsConnected()
}

// Send offers msg (an encoded consensus message from Self) to member to. It
// never blocks and never retries back pressure: false means not sent,
// counted by reason. msg is not retained. With multicast on, an AppendLog
// may go to the group instead, or not at all when the group already
// carried it to member to (true, counted MulticastSkipped).
func (t *Transport) Send(to consensus.MemberID, msg []byte) bool {
	if t.closed || to < 0 || to >= MembersMax || t.members[to].pub == nil || len(msg) > t.msgMax {
		t.counters.sendRejected.Add(1)
		return false
	}
	if t.group != nil && isAppendLog(msg) {
		return t.sendLog(to, msg)
	}
	return t.unicast(to, msg)
}

// unicast offers msg on member to's own stream (Send's checks done).
func (t *Transport) unicast(to consensus.MemberID, msg []byte) bool {
	pub := t.members[to].pub
	s := &t.send
	if s.mac != nil {
		s.vec[0], s.vec[1] = msg, s.mac.tag(msg, t.self, to)
	}
	for attempt := 0; ; attempt++ {
		var r transport.OfferResult
		if s.mac != nil {
			_, r = pub.OfferVectored(s.vec[:])
		} else {
			_, r = pub.Offer(msg)
		}
		switch {
		case r == transport.OfferOK:
			t.counters.sent.Add(1)
			s.vec[0] = nil // do not retain the caller's buffer
			return true
		case r == transport.AdminAction && attempt < adminActionRetryMax:
			continue
		case r == transport.BackPressured:
			t.counters.sendBackPressured.Add(1)
		case r == transport.NotConnected:
			t.counters.sendNotConnected.Add(1)
		default: // Closed, MaxPositionExceeded, MessageTooLong, AdminAction again
			t.counters.sendRejected.Add(1)
		}
		s.vec[0] = nil
		return false
	}
}

// macer computes the message trailer: HMAC-SHA256 over the message, the
// sender id and the destination id (little-endian int32 each), truncated.
// One hash.Hash reset per message, so tagging does not allocate.
type macer struct {
	h   hash.Hash
	ids [8]byte
	sum [sha256.Size]byte
}

func newMACer(secret []byte) *macer {
	return &macer{h: hmac.New(sha256.New, secret)}
}

// tag returns the MACLength-byte tag; it aliases the macer's buffer.
func (m *macer) tag(msg []byte, from, to consensus.MemberID) []byte {
	m.h.Reset()
	m.h.Write(msg)
	putID(m.ids[0:4], from)
	putID(m.ids[4:8], to)
	m.h.Write(m.ids[:])
	return m.h.Sum(m.sum[:0])[:MACLength]
}

// verify reports whether tag is msg's tag, in constant time.
func (m *macer) verify(msg, tag []byte, from, to consensus.MemberID) bool {
	return hmac.Equal(m.tag(msg, from, to), tag)
}

func putID(b []byte, id consensus.MemberID) {
	u := uint32(id)
	b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
}
