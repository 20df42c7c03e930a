package marketdata

import (
	"testing"
	"time"

	"venue/engine"
)

// script drives one publisher into a capture conn so a test decides which
// packets the subscriber sees.
type script struct {
	t   *testing.T
	cc  *captureConn
	pub *Publisher
	sub *Subscriber
	now int64
	pos int64
}

func newScript(t *testing.T) *script {
	cc := &captureConn{}
	s := &script{t: t, cc: cc, pos: 32,
		pub: mustPublisher(t, PublisherConfig{Conn: cc, SnapshotInterval: time.Second, HeartbeatInterval: 10 * time.Millisecond}),
		sub: mustSubscriber(t, SubscriberConfig{})}
	s.pub.SetLeader(true, 1)
	return s
}

func (s *script) level(id uint32, price, qty int64) {
	s.pos += 32
	s.pub.OnLevel(id, engine.SideBuy, price, qty, 1, s.pos, s.pos)
	s.pub.OnApplied(s.pos, s.pos)
}

// work runs one duty cycle dt after the last and returns the packets sent.
func (s *script) work(dt time.Duration) [][]byte {
	s.now += int64(dt)
	s.pub.DoWork(s.now)
	return s.cc.take()
}

func (s *script) deliver(pkts [][]byte) {
	for _, p := range pkts {
		s.sub.OnPacket(p)
	}
}

func (s *script) book(id uint32) Book {
	b, ok := s.sub.Book(id)
	if !ok {
		s.t.Fatalf("no book for %d", id)
	}
	return b
}

// TestLossIsDetectedAndHealedFromSnapshot: an update is lost; the next packet
// (a heartbeat) reveals the gap, the book is marked stale and the subscriber
// recovering; the next snapshot heals it.
func TestLossIsDetectedAndHealedFromSnapshot(t *testing.T) {
	s := newScript(t)
	define(s.pub, 1, s.pos)
	define(s.pub, 2, s.pos+1)
	s.deliver(s.work(0)) // update + snapshot
	if s.sub.Recovering() {
		t.Fatal("still recovering after a complete snapshot")
	}
	s.level(1, 100, 5)
	lost := s.work(time.Millisecond)
	if len(lost) != 1 {
		t.Fatalf("want one update packet, got %d", len(lost))
	}
	s.deliver(s.work(20 * time.Millisecond)) // heartbeat
	if st := s.sub.Stats(); st.GapsDetected != 1 || st.PacketsLost != 1 {
		t.Fatalf("gap not detected: %+v", st)
	}
	if b := s.book(1); !b.Stale || len(b.Bids) != 0 || !s.sub.Recovering() {
		t.Fatalf("after the gap: stale=%v bids=%v recovering=%v", b.Stale, b.Bids, s.sub.Recovering())
	}
	s.deliver(s.work(time.Second)) // the next snapshot
	b := s.book(1)
	if b.Stale || s.sub.Recovering() || len(b.Bids) != 1 || b.Bids[0].Quantity != 5 || b.LogPosition != s.pos {
		t.Fatalf("not healed: stale=%v recovering=%v %s", b.Stale, s.sub.Recovering(), describe(&b.View))
	}
	if s.book(2).Stale {
		t.Fatal("quiet instrument still stale after the snapshot")
	}
}

// finishSnapshot delivers duty cycles until the snapshot under way ends.
func (s *script) finishSnapshot() {
	for i := 0; s.pub.snapActive; i++ {
		if i > 1000 {
			s.t.Fatal("snapshot never ends")
		}
		s.deliver(s.work(0))
	}
}

// TestSnapshotBegunBeforeGapDoesNotRecover: a snapshot whose SnapshotBegin
// came before the loss cannot vouch for the lost data; the next whole one
// can.
func TestSnapshotBegunBeforeGapDoesNotRecover(t *testing.T) {
	s := newScript(t)
	for id := uint32(1); id <= 200; id++ {
		define(s.pub, id, s.pos+int64(id))
	}
	s.deliver(s.work(0)) // updates and the first snapshot slice
	s.finishSnapshot()
	if s.sub.Recovering() {
		t.Fatal("recovering after the first snapshot")
	}
	s.level(1, 100, 5)
	s.work(time.Millisecond)       // an update lost: recovering from here on
	s.deliver(s.work(time.Second)) // SnapshotBegin, after that gap, and a first slice
	if !s.sub.Recovering() || !s.sub.snapOpen {
		t.Fatal("the gap before the snapshot went unnoticed")
	}
	s.work(0)          // a slice lost: the open snapshot no longer counts
	s.finishSnapshot() // ... SnapshotEnd
	if !s.sub.Recovering() {
		t.Fatal("a snapshot that began before the gap ended recovery")
	}
	s.deliver(s.work(time.Second))
	s.finishSnapshot()
	if s.sub.Recovering() {
		t.Fatal("the next whole snapshot did not end recovery")
	}
}

// TestMalformedPacketsAreDroppedAndCounted: every kind of malformed datagram
// is dropped whole and counted, and changes nothing.
func TestMalformedPacketsAreDroppedAndCounted(t *testing.T) {
	s := newScript(t)
	define(s.pub, 1, s.pos)
	good := s.work(0)
	s.deliver(good)
	before := s.book(1)
	bad := malformedVariants(good[0])
	for _, p := range bad {
		s.sub.OnPacket(p)
	}
	if st := s.sub.Stats(); st.MalformedDropped != int64(len(bad)) {
		t.Fatalf("malformed dropped %d, want %d", st.MalformedDropped, len(bad))
	}
	if after := s.book(1); !after.View.Equal(&before.View) || s.sub.Stats().GapsDetected != 0 {
		t.Fatal("a malformed packet changed state")
	}
}

// malformedVariants returns broken copies of a valid update packet.
func malformedVariants(good []byte) [][]byte {
	mut := func(f func(p []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	return [][]byte{
		nil,
		good[:packetHeaderLength-1],
		good[:len(good)-1],
		mut(func(p []byte) []byte { p[packetMagicOffset] ^= 0xFF; return p }),
		mut(func(p []byte) []byte { p[packetVersionOffset] = PacketVersion + 1; return p }),
		mut(func(p []byte) []byte { p[packetTypeOffset] = 99; return p }),
		mut(func(p []byte) []byte { return append(p, 0, 0, 1) }), // a non-zero byte after the packet is not padding
		mut(func(p []byte) []byte { le.PutUint16(p[packetCountOffset:], 9); return p }),
		mut(func(p []byte) []byte { le.PutUint16(p[packetHeaderLength+messageLengthOffset:], 2); return p }),
		mut(func(p []byte) []byte { p[packetHeaderLength+messageTypeOffset] = uint8(MessageTrade); return p }),
		mut(func(p []byte) []byte { p[packetHeaderLength+updateBidCountOffset] = LevelsPerSideMax + 1; return p }),
		mut(func(p []byte) []byte { p[packetHeaderLength+updateStateOffset] = 77; return p }),
	}
}

// TestLateDuplicateAndRetiredSessionPackets: duplicates and late packets are
// dropped; after a failover, the deposed leader's packets are dropped and
// cannot move a book backwards.
func TestLateDuplicateAndRetiredSessionPackets(t *testing.T) {
	s := newScript(t)
	define(s.pub, 1, s.pos)
	p1 := s.work(0)
	s.deliver(p1)
	s.deliver(p1) // duplicate
	if st := s.sub.Stats(); st.LateOrDuplicate != int64(len(p1)) {
		t.Fatalf("late-or-duplicate %d, want %d", st.LateOrDuplicate, len(p1))
	}
	s.level(1, 100, 9)
	old := s.work(time.Millisecond) // session 1's update, delivered late

	// Failover: a new publisher (session 2) that has the same state.
	s2 := newScript(t)
	s2.pub.SetLeader(true, 2)
	define(s2.pub, 1, 64)
	s2.pub.OnLevel(1, engine.SideBuy, 100, 9, 1, s.pos, s.pos)
	s2.pub.OnApplied(s.pos, s.pos)
	s2.pos = s.pos
	s2.level(1, 101, 3)
	s.deliver(s2.work(0))
	s.deliver(old)
	st := s.sub.Stats()
	if st.SessionChanges != 1 || st.RetiredDropped != int64(len(old)) {
		t.Fatalf("session changes %d retired dropped %d: %+v", st.SessionChanges, st.RetiredDropped, st)
	}
	if b := s.book(1); b.LogPosition != s2.pos || len(b.Bids) != 2 {
		t.Fatalf("book moved back: %s", describe(&b.View))
	}
}

// TestOlderStateIsIgnored: a lagging new leader's older state never replaces
// a newer one; its later states do.
func TestOlderStateIsIgnored(t *testing.T) {
	s := newScript(t)
	define(s.pub, 1, 32)
	s.level(1, 100, 9) // position 64+32
	s.deliver(s.work(0))
	lag := newScript(t)
	lag.pub.SetLeader(true, 2)
	define(lag.pub, 1, 32) // behind: position 32
	lag.pos = 32
	s.deliver(lag.work(0))
	if b := s.book(1); b.LogPosition != s.pos || s.sub.Stats().OlderIgnored == 0 {
		t.Fatalf("older state applied: %s (%+v)", describe(&b.View), s.sub.Stats())
	}
	lag.pos = s.pos
	lag.level(1, 100, 9)
	lag.level(1, 99, 1)
	s.deliver(lag.work(time.Millisecond))
	if b := s.book(1); b.LogPosition != lag.pos || len(b.Bids) != 2 {
		t.Fatalf("newer state not applied: %s", describe(&b.View))
	}
}

// TestSubscriberInstrumentBound: books past InstrumentsMax are not created.
func TestSubscriberInstrumentBound(t *testing.T) {
	s := newScript(t)
	s.sub = mustSubscriber(t, SubscriberConfig{InstrumentsMax: 3})
	for id := uint32(1); id <= 5; id++ {
		define(s.pub, id, int64(id)*32)
	}
	s.deliver(s.work(0))
	n := 0
	s.sub.ForEachBook(func(*Book) { n++ })
	if n != 3 || s.sub.Stats().InstrumentsDropped == 0 {
		t.Fatalf("%d books, %d dropped", n, s.sub.Stats().InstrumentsDropped)
	}
}

// TestTradeChannelCarriesEveryTrade: the non-conflated channel delivers every
// trade in order, many per packet, and counts a gap in it.
func TestTradeChannelCarriesEveryTrade(t *testing.T) {
	cc, tc := &captureConn{}, &captureConn{}
	p := mustPublisher(t, PublisherConfig{Conn: cc, TradeConn: tc})
	var got []TradeRecord
	sub := mustSubscriber(t, SubscriberConfig{OnTrade: func(tr TradeRecord) { got = append(got, tr) }})
	p.SetLeader(true, 1)
	for i := range 100 {
		p.OnTrade(1, uint64(i+1), 100+int64(i), 1, engine.SideSell, int64(i+1)*32, 0)
		p.OnApplied(int64(i+1)*32, 0)
	}
	p.DoWork(0)
	pkts := tc.take()
	if len(pkts) < 2 || len(pkts) > 10 {
		t.Fatalf("100 trades in %d packets", len(pkts))
	}
	for i, pk := range pkts {
		if i != 1 {
			sub.OnPacket(pk)
		}
	}
	if sub.Stats().TradeGaps != 1 {
		t.Fatalf("trade gap not counted: %+v", sub.Stats())
	}
	for i := 1; i < len(got); i++ {
		if got[i].TradeID <= got[i-1].TradeID {
			t.Fatalf("trades out of order at %d", i)
		}
	}
	if got[0].TradeID != 1 || got[len(got)-1].TradeID != 100 || got[0].Aggressor != engine.SideSell {
		t.Fatalf("trades %+v ... %+v", got[0], got[len(got)-1])
	}
}

// TestRestartWithSameSessionIsFollowed: a publisher that restarts without a
// new session id (an integration mistake) starts again at sequence 1; after
// lateRunRestart packets the subscriber follows it instead of dropping
// everything as late until the sequence catches up.
func TestRestartWithSameSessionIsFollowed(t *testing.T) {
	s := newScript(t)
	define(s.pub, 1, s.pos)
	for range 1000 {
		s.level(1, 100, 5)
		s.deliver(s.work(time.Millisecond))
	}
	again := newScript(t) // same session id 1, sequence from 1
	define(again.pub, 1, s.pos)
	again.pos = s.pos
	var pkts [][]byte
	for range lateRunRestart + 1 {
		again.level(1, 101, 7)
		pkts = append(pkts, again.work(time.Millisecond)...)
	}
	s.deliver(pkts)
	if b := s.book(1); b.LogPosition != again.pos || len(b.Bids) != 1 || b.Bids[0] != (Level{Price: 101, Quantity: 7, Orders: 1}) {
		t.Fatalf("restarted publisher not followed: %s (%+v)", describe(&b.View), s.sub.Stats())
	}
}
