package marketdata

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"venue/transport"
)

// Book is a subscriber's current state of one instrument.
type Book struct {
	View
	// Stale is set when a gap or a publisher change may have hidden a newer
	// state; the next message for the instrument or the next complete
	// snapshot clears it.
	Stale bool `json:"stale"`
	// Session is the publisher session that delivered the state.
	Session uint32 `json:"-"`
	// SendTimeNs is the publisher's clock when the packet that delivered the
	// state was sent.
	SendTimeNs int64 `json:"-"`
}

// Clone returns a deep copy of b.
func (b *Book) Clone() Book {
	c := *b
	c.Bids = append([]Level(nil), b.Bids...)
	c.Asks = append([]Level(nil), b.Asks...)
	return c
}

// SubscriberConfig configures a Subscriber. Zero values take the defaults.
type SubscriberConfig struct {
	// InstrumentsMax bounds the books kept (default InstrumentsMax); updates
	// for further instruments are dropped and counted.
	InstrumentsMax int
	// OnUpdate, if set, is called on the goroutine feeding packets whenever
	// an instrument's state moves forward. b is valid only during the call
	// (Clone it to keep it) and the callback must not call the Subscriber.
	OnUpdate func(b *Book)
	// OnTrade, if set, is called for every trade from the trade channel.
	OnTrade func(t TradeRecord)
	// Counters receives the subscriber's counters; nil keeps them private.
	Counters *transport.CountersManager
	// Name labels the counters (default "md-subscriber").
	Name string
}

// Subscriber rebuilds books from market-data packets: it applies snapshots
// and updates, detects gaps by channel sequence number and recovers from
// the next snapshot, and never moves an instrument backwards in log position,
// so across a leader failover (a new publisher session whose sequence
// restarts) books stay monotonic. Packets are fed by OnPacket, by Run, or by
// a ReceiverAgent; the accessors are safe from any goroutine.
//
// Recovery states: joining and after a gap or a session change the
// subscriber is recovering (every book it holds is Stale) until a snapshot
// that began after the event ends; updates are applied meanwhile, since each
// carries an instrument's whole state.
type Subscriber struct {
	mu    sync.Mutex
	cfg   SubscriberConfig
	books map[uint32]*Book
	order []*Book // first-seen order, for ForEachBook

	book  channelState // updates, snapshots, heartbeats
	trade channelState // the trade channel

	recovering   bool
	recoverAfter uint64 // a snapshot must begin in a packet after this sequence
	snapOpen     bool
	snapID       uint32

	c subscriberCounters
}

// channelState tracks one channel's publisher session and sequence.
type channelState struct {
	have     bool
	session  uint32
	expected uint64 // next sequence number
	retired  [retiredSessionsMax]uint32
	nRetired int
	lateRun  int // consecutive late packets
}

func (c *channelState) isRetired(session uint32) bool {
	for i := range min(c.nRetired, len(c.retired)) {
		if c.retired[i] == session {
			return true
		}
	}
	return false
}

func (c *channelState) retire() {
	c.retired[c.nRetired%len(c.retired)] = c.session
	c.nRetired++
}

type subscriberCounters struct {
	packets, applied, malformed, gaps, lost, recoveries, older, late *transport.Counter
	sessions, retired, trades, tradeGaps, instrumentsDropped         *transport.Counter
}

// NewSubscriber returns a subscriber with no books.
func NewSubscriber(cfg SubscriberConfig) (*Subscriber, error) {
	cfg.InstrumentsMax = cmp0(cfg.InstrumentsMax, InstrumentsMax)
	if cfg.InstrumentsMax < 1 || cfg.InstrumentsMax > InstrumentsMax {
		return nil, fmt.Errorf("marketdata: subscriber config: instruments %d outside [1, %d]", cfg.InstrumentsMax, InstrumentsMax)
	}
	if cfg.Name == "" {
		cfg.Name = "md-subscriber"
	}
	s := &Subscriber{cfg: cfg, books: map[uint32]*Book{}, recovering: true}
	cm, r := countersOrPrivate(cfg.Counters), cfg.Name
	s.c = subscriberCounters{
		packets: allocate(cm, CounterPacketsReceived, r), applied: allocate(cm, CounterUpdatesApplied, r),
		malformed: allocate(cm, CounterMalformedDropped, r), gaps: allocate(cm, CounterGapsDetected, r),
		lost: allocate(cm, CounterPacketsLost, r), recoveries: allocate(cm, CounterRecoveries, r),
		older: allocate(cm, CounterOlderIgnored, r), late: allocate(cm, CounterLateOrDuplicate, r),
		sessions: allocate(cm, CounterSessionChanges, r), retired: allocate(cm, CounterRetiredSessionDropped, r),
		trades: allocate(cm, CounterTradesReceived, r), tradeGaps: allocate(cm, CounterTradeGaps, r),
		instrumentsDropped: allocate(cm, CounterInstrumentsDropped, r),
	}
	return s, nil
}

// OnPacket applies one datagram. A malformed one is dropped whole and counted.
func (s *Subscriber) OnPacket(p []byte) {
	h, err := ParsePacket(p)
	if err != nil {
		s.c.malformed.Increment()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c.packets.Increment()
	if h.Type() == PacketTrade {
		s.onTradePacket(h)
		return
	}
	if !s.accept(h) {
		return
	}
	off := packetHeaderLength
	for range h.Count() {
		m := trustedMessageAt(h, off)
		off += len(m)
		s.onMessage(h, m)
	}
}

func trustedMessageAt(h PacketHeader, off int) Message {
	return Message(h[off : off+int(le.Uint16(h[off+messageLengthOffset:]))])
}

// accept runs the book channel's sequence check and reports whether to apply
// the packet: late and duplicate packets are dropped (a reordered packet was
// already treated as a loss and is healed by the snapshot).
func (s *Subscriber) accept(h PacketHeader) bool {
	ch := &s.book
	session, seq := h.Session(), h.Sequence()
	switch {
	case ch.have && session != ch.session && ch.isRetired(session):
		s.c.retired.Increment()
		return false
	case !ch.have || session != ch.session:
		if ch.have {
			ch.retire()
			s.c.sessions.Increment()
		}
		ch.have, ch.session, ch.expected = true, session, seq+1
		s.startRecovery(seq)
	case seq == ch.expected:
		ch.expected++
	case seq > ch.expected:
		s.c.gaps.Increment()
		s.c.lost.Add(int64(seq - ch.expected))
		ch.expected = seq + 1
		s.startRecovery(seq)
	case ch.lateRun >= lateRunRestart:
		// The same session started over: a publisher restarted without a
		// new session id. Follow it rather than drop it as late until its
		// sequence passes the old one. (Sequence 1 alone proves nothing: it
		// may be a duplicate of the first packet.)
		s.c.sessions.Increment()
		ch.expected, ch.lateRun = seq+1, 0
		s.startRecovery(seq)
	default:
		ch.lateRun++
		s.c.late.Increment()
		return false
	}
	ch.lateRun = 0
	return true
}

// startRecovery marks every book stale: the packets before seq may have
// carried newer states than the ones held.
func (s *Subscriber) startRecovery(seq uint64) {
	// max: a foreign packet numbered 0 must not wrap recoverAfter to the top.
	s.recovering, s.recoverAfter, s.snapOpen = true, max(seq, 1)-1, false
	for _, b := range s.order {
		b.Stale = true
	}
}

func (s *Subscriber) onMessage(h PacketHeader, m Message) {
	switch m.Type() {
	case MessageInstrumentUpdate:
		s.applyUpdate(h, Update(m))
	case MessageSnapshotBegin:
		if s.recovering && h.Sequence() > s.recoverAfter {
			s.snapOpen, s.snapID = true, SnapshotMarker(m).SnapshotID()
		}
	case MessageSnapshotEnd:
		if s.snapOpen && SnapshotMarker(m).SnapshotID() == s.snapID {
			s.recovering, s.snapOpen = false, false
			for _, b := range s.order {
				b.Stale = false
			}
			s.c.recoveries.Increment()
		}
	}
}

// applyUpdate installs u unless the book already shows a later log
// position. Any accepted message was sent after every packet lost so far,
// so it carries the instrument's newest state (or one no newer than held):
// either way the book is no longer stale.
func (s *Subscriber) applyUpdate(h PacketHeader, u Update) {
	id := u.InstrumentID()
	b := s.books[id]
	if b == nil {
		if len(s.books) >= s.cfg.InstrumentsMax {
			s.c.instrumentsDropped.Increment()
			return
		}
		b = &Book{}
		s.books[id] = b
		s.order = append(s.order, b)
	}
	b.Stale = false
	switch pos := u.LogPosition(); {
	case b.valid && pos < b.LogPosition:
		s.c.older.Increment()
		return
	case b.valid && pos == b.LogPosition:
		return // the same state again (a snapshot entry of a quiet instrument)
	}
	b.setFromUpdate(u)
	b.Session, b.SendTimeNs = h.Session(), h.SendTimeNs()
	s.c.applied.Increment()
	if s.cfg.OnUpdate != nil {
		s.cfg.OnUpdate(b)
	}
}

func (s *Subscriber) onTradePacket(h PacketHeader) {
	ch := &s.trade
	session, seq := h.Session(), h.Sequence()
	switch {
	case !ch.have || session != ch.session:
		ch.have, ch.session = true, session
	case seq > ch.expected:
		s.c.tradeGaps.Increment()
	case seq < ch.expected:
		s.c.late.Increment()
		return
	}
	ch.expected = seq + 1
	off := packetHeaderLength
	for range h.Count() {
		m := trustedMessageAt(h, off)
		off += len(m)
		s.c.trades.Increment()
		if s.cfg.OnTrade != nil {
			s.cfg.OnTrade(Trade(m).Record())
		}
	}
}

// Book returns a copy of the instrument's current book.
func (s *Subscriber) Book(instrumentID uint32) (Book, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.books[instrumentID]
	if b == nil || !b.valid {
		return Book{}, false
	}
	return b.Clone(), true
}

// ForEachBook calls fn for every book, in first-seen order, under the
// subscriber's lock: fn must not retain b or call the Subscriber.
func (s *Subscriber) ForEachBook(fn func(b *Book)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.order {
		if b.valid {
			fn(b)
		}
	}
}

// Recovering reports whether the subscriber waits for a snapshot to
// complete (after joining, a gap or a publisher change).
func (s *Subscriber) Recovering() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovering
}

// SubscriberStats is a snapshot of a subscriber's counters.
type SubscriberStats struct {
	PacketsReceived, UpdatesApplied, MalformedDropped, GapsDetected, PacketsLost int64
	Recoveries, OlderIgnored, LateOrDuplicate, SessionChanges, RetiredDropped    int64
	TradesReceived, TradeGaps, InstrumentsDropped                                int64
}

// Stats returns the subscriber's counters.
func (s *Subscriber) Stats() SubscriberStats {
	c := &s.c
	return SubscriberStats{
		PacketsReceived: c.packets.Get(), UpdatesApplied: c.applied.Get(), MalformedDropped: c.malformed.Get(),
		GapsDetected: c.gaps.Get(), PacketsLost: c.lost.Get(), Recoveries: c.recoveries.Get(),
		OlderIgnored: c.older.Get(), LateOrDuplicate: c.late.Get(), SessionChanges: c.sessions.Get(),
		RetiredDropped: c.retired.Get(), TradesReceived: c.trades.Get(), TradeGaps: c.tradeGaps.Get(),
		InstrumentsDropped: c.instrumentsDropped.Get(),
	}
}

// receivePollInterval bounds how long Run waits in the network poller before
// checking stop.
const receivePollInterval = 100 * time.Millisecond

// Run feeds the subscriber from conn until stop is closed or conn is closed.
// It blocks in the network poller while the channel is quiet.
func (s *Subscriber) Run(conn Conn, stop <-chan struct{}) error {
	if bc, ok := conn.(BatchConn); ok {
		return s.runBatch(bc, stop)
	}
	buf := make([]byte, mtuMax)
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		n, err := conn.Receive(buf, receivePollInterval)
		for i := 0; n > 0 && err == nil && i < receiveBatchMax; i++ {
			s.OnPacket(buf[:n])
			n, err = conn.TryReceive(buf)
		}
		if errors.Is(err, ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("marketdata: subscriber: %w", err)
		}
	}
}

// receiveBufferLength is the size of each receive buffer: the largest
// datagram the codec describes, so that none is ever truncated.
const receiveBufferLength = mtuMax

func (s *Subscriber) runBatch(conn BatchConn, stop <-chan struct{}) error {
	bufs := make([][]byte, receiveBatchMax)
	for i := range bufs {
		bufs[i] = make([]byte, receiveBufferLength)
	}
	sizes := make([]int, receiveBatchMax)
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		n, err := conn.ReceiveBatch(bufs, sizes, receivePollInterval)
		for i := range n {
			s.OnPacket(bufs[i][:sizes[i]])
		}
		if errors.Is(err, ErrClosed) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("marketdata: subscriber: %w", err)
		}
	}
}

// ReceiverAgent is a transport.Agent that feeds a Subscriber from Conns
// without blocking, for composing with other agents or driving by hand.
type ReceiverAgent struct {
	sub   *Subscriber
	conns []Conn
	buf   []byte
	name  string
}

// NewReceiverAgent returns an agent that reads conns into sub.
func NewReceiverAgent(sub *Subscriber, conns ...Conn) *ReceiverAgent {
	return &ReceiverAgent{sub: sub, conns: conns, buf: make([]byte, mtuMax), name: "md-receiver"}
}

// DoWork reads up to receiveBatchMax datagrams from each conn.
func (a *ReceiverAgent) DoWork(int64) int {
	work := 0
	for _, c := range a.conns {
		for range receiveBatchMax {
			n, err := c.TryReceive(a.buf)
			if n == 0 || err != nil {
				break
			}
			a.sub.OnPacket(a.buf[:n])
			work++
		}
	}
	return work
}

// OnClose closes the conns.
func (a *ReceiverAgent) OnClose() {
	for _, c := range a.conns {
		c.Close()
	}
}

// RoleName implements transport.Agent.
func (a *ReceiverAgent) RoleName() string { return a.name }
