package marketdata

import (
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"venue/engine"
	"venue/transport"
)

// captureConn records every datagram sent.
type captureConn struct {
	mu      sync.Mutex
	packets [][]byte
}

func (c *captureConn) Send(p []byte) error {
	c.mu.Lock()
	c.packets = append(c.packets, append([]byte(nil), p...))
	c.mu.Unlock()
	return nil
}
func (c *captureConn) TryReceive([]byte) (int, error)             { return 0, nil }
func (c *captureConn) Receive([]byte, time.Duration) (int, error) { return 0, nil }
func (c *captureConn) Close() error                               { return nil }

// take returns and forgets the captured packets.
func (c *captureConn) take() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.packets
	c.packets = nil
	return p
}

// updatesIn returns the InstrumentUpdate messages of the given packet type.
func updatesIn(t *testing.T, packets [][]byte, pt PacketType) []Update {
	t.Helper()
	var out []Update
	for _, p := range packets {
		h, err := ParsePacket(p)
		if err != nil {
			t.Fatalf("publisher sent a malformed packet: %v", err)
		}
		if h.Type() != pt {
			continue
		}
		ForEachMessage(h, func(m Message) {
			if m.Type() == MessageInstrumentUpdate {
				out = append(out, Update(m))
			}
		})
	}
	return out
}

func define(p engine.MarketDataSink, id uint32, pos int64) {
	p.OnInstrument(engine.InstrumentInfo{ID: id, Symbol: symbolOf(id), State: engine.TradingStateOpen}, pos, pos)
	p.OnApplied(pos, pos)
}

// TestTenThousandChangesBecomeOneUpdate: at most one update per instrument is
// ever pending, so 10,000 commands changing one instrument between two sends
// produce one update, showing the last state.
func TestTenThousandChangesBecomeOneUpdate(t *testing.T) {
	cc := &captureConn{}
	p := mustPublisher(t, PublisherConfig{Conn: cc})
	p.SetLeader(true, 1)
	define(p, 7, 32)
	p.DoWork(0) // snapshot and first update
	cc.take()
	pos := int64(64)
	for i := range 10_000 {
		p.OnLevel(7, engine.SideBuy, 100+int64(i%5), int64(i+1), 1, pos, pos)
		p.OnApplied(pos, pos)
		pos += 32
		if got := p.Pending(); got != 1 {
			t.Fatalf("after %d changes %d updates pending, want 1", i+1, got)
		}
	}
	p.DoWork(1)
	ups := updatesIn(t, cc.take(), PacketUpdate)
	if len(ups) != 1 {
		t.Fatalf("sent %d updates, want 1", len(ups))
	}
	if u := ups[0]; u.LogPosition() != pos-32 || u.BidCount() != 5 || u.Bid(0).Price != 104 || u.Bid(0).Quantity != 10_000 {
		t.Fatalf("update pos=%d bids=%d best=%+v, want the last state", u.LogPosition(), u.BidCount(), u.Bid(0))
	}
	if p.Pending() != 0 {
		t.Fatalf("pending %d after send", p.Pending())
	}
	if st := p.Stats(); st.ChangesAbsorbed != 10_001 || st.UpdatesSent != 2 || st.LeaderSessions != 1 {
		t.Fatalf("stats %+v: want 10001 changes absorbed, 2 updates sent, 1 session", st)
	}
}

// TestFollowerAbsorbsAndNewLeaderCarriesOn: a follower's publisher sends
// nothing but keeps every change, so the moment it becomes leader it sends a
// snapshot and the pending updates of the new session.
func TestFollowerAbsorbsAndNewLeaderCarriesOn(t *testing.T) {
	cc := &captureConn{}
	p := mustPublisher(t, PublisherConfig{Conn: cc})
	for id := uint32(1); id <= 3; id++ {
		define(p, id, int64(id)*32)
	}
	p.OnLevel(2, engine.SideSell, 105, 9, 2, 128, 128)
	p.OnApplied(128, 128)
	for i := range 10 {
		if w := p.DoWork(int64(i) * int64(time.Second)); w != 0 {
			t.Fatalf("follower did work %d", w)
		}
	}
	if n := len(cc.take()); n != 0 {
		t.Fatalf("follower sent %d packets", n)
	}
	p.SetLeader(true, 42)
	p.DoWork(11 * int64(time.Second))
	pkts := cc.take()
	if h := PacketHeader(pkts[0]); h.Session() != 42 || h.Sequence() != 1 {
		t.Fatalf("first packet session %d sequence %d, want 42 and 1", h.Session(), h.Sequence())
	}
	if n := len(updatesIn(t, pkts, PacketSnapshot)); n != 3 {
		t.Fatalf("snapshot carried %d instruments, want 3", n)
	}
	if n := len(updatesIn(t, pkts, PacketUpdate)); n != 3 {
		t.Fatalf("%d pending updates sent on taking over, want 3", n)
	}
	p.SetLeader(false, 0)
	define(p, 4, 160)
	p.DoWork(12 * int64(time.Second))
	if n := len(cc.take()); n != 0 {
		t.Fatalf("deposed leader sent %d packets", n)
	}
}

// TestHeartbeatWhenIdle: a quiet leader sends heartbeats, numbered like data.
func TestHeartbeatWhenIdle(t *testing.T) {
	cc := &captureConn{}
	p := mustPublisher(t, PublisherConfig{Conn: cc, HeartbeatInterval: 10 * time.Millisecond, SnapshotInterval: time.Hour})
	p.SetLeader(true, 1)
	p.DoWork(0) // empty snapshot
	cc.take()
	p.DoWork(int64(5 * time.Millisecond))
	if n := len(cc.take()); n != 0 {
		t.Fatalf("heartbeat before the interval: %d packets", n)
	}
	p.DoWork(int64(11 * time.Millisecond))
	pkts := cc.take()
	if len(pkts) != 1 || PacketHeader(pkts[0]).Type() != PacketHeartbeat || PacketHeader(pkts[0]).Sequence() != 2 {
		t.Fatalf("want one heartbeat with sequence 2, got %d packets", len(pkts))
	}
}

// TestMaxRateLimitsUpdates: with MaxUpdatesPerSec the agent sends no faster
// than the rate, and the rest stay pending (conflating further).
func TestMaxRateLimitsUpdates(t *testing.T) {
	cc := &captureConn{}
	p := mustPublisher(t, PublisherConfig{Conn: cc, MaxUpdatesPerSec: 1000, SnapshotInterval: time.Hour})
	p.SetLeader(true, 1)
	p.DoWork(0)
	cc.take()
	for id := uint32(1); id <= 100; id++ {
		define(p, id, int64(id)*32)
	}
	p.DoWork(int64(10 * time.Millisecond))
	if n := len(updatesIn(t, cc.take(), PacketUpdate)); n != 10 {
		t.Fatalf("sent %d updates in 10 ms at 1000/s, want 10", n)
	}
	if p.Pending() != 90 {
		t.Fatalf("pending %d, want 90", p.Pending())
	}
}

// TestSnapshotSpreadOverDutyCycles: a large snapshot is sent a bounded slice
// per duty cycle, bracketed by SnapshotBegin and SnapshotEnd.
func TestSnapshotSpreadOverDutyCycles(t *testing.T) {
	cc := &captureConn{}
	p := mustPublisher(t, PublisherConfig{Conn: cc})
	const instruments = 1000
	for id := uint32(1); id <= instruments; id++ {
		define(p, id, int64(id)*32)
	}
	p.SetLeader(true, 1)
	total, cycles := 0, 0
	for total < instruments && cycles < 1000 {
		// Drain the dirty list first so only the snapshot is counted.
		p.DoWork(0)
		n := len(updatesIn(t, cc.take(), PacketSnapshot))
		if n > snapshotUpdatesPerDutyCycleMax {
			t.Fatalf("one duty cycle sent %d snapshot entries, bound is %d", n, snapshotUpdatesPerDutyCycleMax)
		}
		total += n
		cycles++
	}
	if total != instruments || p.snapActive {
		t.Fatalf("snapshot carried %d of %d instruments in %d cycles (active=%v)", total, instruments, cycles, p.snapActive)
	}
}

// blockingConn's Send blocks until released: a wedged socket.
type blockingConn struct {
	release chan struct{}
	sent    int
}

func (c *blockingConn) Send([]byte) error                          { <-c.release; c.sent++; return nil }
func (c *blockingConn) TryReceive([]byte) (int, error)             { return 0, nil }
func (c *blockingConn) Receive([]byte, time.Duration) (int, error) { return 0, nil }
func (c *blockingConn) Close() error                               { return nil }

// TestSinkNeverBlocksOnAWedgedAgent: the publisher agent is stuck in Send,
// yet the service goroutine's sink calls all complete (if they waited for
// the agent, synctest would report the deadlock) and the pending work stays
// bounded by one update per instrument.
func TestSinkNeverBlocksOnAWedgedAgent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bc := &blockingConn{release: make(chan struct{})}
		p := mustPublisher(t, PublisherConfig{Conn: bc, TradeConn: &blockingConn{release: bc.release}})
		p.SetLeader(true, 1)
		runner := transport.NewAgentRunner(p, transport.NewBackoffIdleStrategy(), time.Now().UnixNano)
		runner.Start()
		const instruments = 50
		pos := int64(32)
		changes := 200_000
		if raceEnabled {
			changes = 4 * tradeQueueLength // still overflows the trade queue
		}
		for i := range changes {
			id := uint32(1 + i%instruments)
			p.OnLevel(id, engine.SideSell, 200+int64(i%30), int64(1+i%7), 1, pos, pos)
			p.OnTrade(id, uint64(i), 200, 1, engine.SideBuy, pos, pos)
			p.OnApplied(pos, pos)
			pos += 32
		}
		if got := p.Pending(); got > instruments {
			t.Errorf("%d updates pending for %d instruments", got, instruments)
		}
		if p.c.tradesDropped.Get() == 0 {
			t.Errorf("a wedged trade channel should drop trades at the queue bound, none dropped")
		}
		close(bc.release)
		if err := runner.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestSlowSubscriberDoesNotSlowPublisher: one subscriber never reads; its
// queue overflows and it alone loses data. The publisher sends exactly what
// it sends with no slow subscriber, and the fast subscriber gets all of it.
func TestSlowSubscriberDoesNotSlowPublisher(t *testing.T) {
	sent := func(withSlow bool) (int64, *FakeConn, *Subscriber) {
		net := NewFakeNetwork(1, FakeFaults{})
		p := mustPublisher(t, PublisherConfig{Conn: net.Sender("md")})
		fast := net.Receiver("md", 1<<16)
		var slow *FakeConn
		if withSlow {
			slow = net.Receiver("md", 4)
		}
		sub := mustSubscriber(t, SubscriberConfig{})
		p.SetLeader(true, 1)
		gen := newGenerator(3, 100)
		commands := 20_000
		if raceEnabled {
			commands = 5_000
		}
		for i := range commands {
			fanout{p}.run(gen.next())
			if i%10 == 0 {
				p.DoWork(int64(i) * 1000)
			}
			if i%100 == 0 {
				pump(fast, sub)
			}
		}
		p.DoWork(int64(time.Hour))
		pump(fast, sub)
		if withSlow && slow.Dropped() == 0 {
			t.Fatalf("slow subscriber dropped nothing")
		}
		return p.c.packets.Get(), fast, sub
	}
	base, _, _ := sent(false)
	withSlow, fast, sub := sent(true)
	if base != withSlow {
		t.Fatalf("publisher sent %d packets with a slow subscriber, %d without", withSlow, base)
	}
	if st := sub.Stats(); st.PacketsReceived != withSlow || st.GapsDetected != 0 || fast.Dropped() != 0 {
		t.Fatalf("fast subscriber received %d of %d packets (%+v)", st.PacketsReceived, withSlow, st)
	}
}

// TestSinkAllocatesNothingInSteadyState: absorbing a change (and the
// command's OnApplied) allocates nothing once the instrument and its levels
// exist.
func TestSinkAllocatesNothingInSteadyState(t *testing.T) {
	p := mustPublisher(t, PublisherConfig{Conn: &captureConn{}, TradeConn: &captureConn{}})
	gen := newGenerator(9, 10)
	for range 2000 {
		fanout{p}.run(gen.next())
	}
	pos := int64(1 << 40)
	i := 0
	allocs := testing.AllocsPerRun(10_000, func() {
		id := uint32(1 + i%10)
		p.OnLevel(id, engine.SideBuy, 100+int64(i%20), int64(1+i%9), 1, pos, pos)
		p.OnTrade(id, uint64(i), 110, 1, engine.SideSell, pos, pos)
		p.OnApplied(pos, pos)
		p.dirty.pop() // play the agent's part so the ring never fills
		p.table[id-1].queued.Store(false)
		p.trade.advance()
		pos += 32
		i++
	})
	if allocs != 0 {
		t.Fatalf("%.2f allocations per change, want 0", allocs)
	}
}

// TestPublisherConfigRejectsBadBounds: every bound is checked.
func TestPublisherConfigRejectsBadBounds(t *testing.T) {
	for _, cfg := range []PublisherConfig{
		{},
		{Conn: &captureConn{}, MTU: mtuMin - 1},
		{Conn: &captureConn{}, Depth: LevelsPerSideMax + 1},
		{Conn: &captureConn{}, InstrumentsMax: InstrumentsMax + 1},
		{Conn: &captureConn{}, MaxUpdatesPerSec: -1},
	} {
		if _, err := NewPublisher(cfg); err == nil {
			t.Errorf("config %+v accepted", cfg)
		}
	}
}

// TestInstrumentTableBound: changes for instruments past InstrumentsMax are
// dropped and counted, never grown into.
func TestInstrumentTableBound(t *testing.T) {
	p := mustPublisher(t, PublisherConfig{Conn: &captureConn{}, InstrumentsMax: 4})
	for id := uint32(1); id <= 6; id++ {
		define(p, id, int64(id)*32)
	}
	if p.count.Load() != 4 || p.c.changesDropped.Get() != 2 {
		t.Fatalf("table %d, dropped %d; want 4 and 2", p.count.Load(), p.c.changesDropped.Get())
	}
}

// TestConstantRelationships checks how the bounds relate.
func TestConstantRelationships(t *testing.T) {
	if mtuMin > MTUDefault {
		t.Errorf("default MTU %d cannot hold a full-depth update (%d)", MTUDefault, mtuMin)
	}
	if LevelsPerSideMax > 255 || DepthDefault > LevelsPerSideMax {
		t.Errorf("depth bounds: default %d, max %d (a u8 on the wire)", DepthDefault, LevelsPerSideMax)
	}
	if tradeQueueLength&(tradeQueueLength-1) != 0 {
		t.Errorf("trade queue length %d is not a power of two", tradeQueueLength)
	}
	if snapshotUpdatesPerDutyCycleMax > updatesPerDutyCycleMax || HeartbeatIntervalDefault >= SnapshotIntervalDefault {
		t.Errorf("snapshot slices and heartbeats should be smaller than updates and snapshots")
	}
	if mtuMax > 1<<16-1 {
		t.Errorf("mtuMax %d does not fit the u16 packet length", mtuMax)
	}
}

// budgetConn accepts budget datagrams, then reports a full socket buffer
// until the test gives it more budget.
type budgetConn struct {
	captureConn
	budget int
}

func (c *budgetConn) Send(p []byte) error {
	if c.budget == 0 {
		return ErrWouldBlock
	}
	c.budget--
	return c.captureConn.Send(p)
}

// TestBackPressureConflatesInsteadOfDropping: when the socket buffer is
// full the agent stops taking updates; changes keep conflating in the
// hand-off, nothing is dropped, and the subscriber sees no gap.
func TestBackPressureConflatesInsteadOfDropping(t *testing.T) {
	bc := &budgetConn{}
	p := mustPublisher(t, PublisherConfig{Conn: bc, SnapshotInterval: 50 * time.Millisecond})
	ref := newRefSink(DepthDefault)
	sub := mustSubscriber(t, SubscriberConfig{OnUpdate: newChecker(t, ref).onUpdate})
	p.SetLeader(true, 1)
	gen := newGenerator(5, 50)
	now := int64(0)
	for i := range 20_000 {
		fanout{p, ref}.run(gen.next())
		if i%20 == 0 {
			bc.budget += 1 // a channel much slower than the feed
			p.DoWork(now)
			now += int64(time.Millisecond)
			for _, pkt := range bc.take() {
				sub.OnPacket(pkt)
			}
			if p.Pending() > 50 {
				t.Fatalf("%d pending for 50 instruments", p.Pending())
			}
		}
	}
	bc.budget = 1 << 30
	now += int64(time.Second)
	for range 100 {
		p.DoWork(now)
	}
	for _, pkt := range bc.take() {
		sub.OnPacket(pkt)
	}
	st, ps := sub.Stats(), p.Stats()
	if st.GapsDetected != 0 || ps.SendErrors != 0 || ps.BackPressured == 0 {
		t.Fatalf("subscriber %+v publisher %+v: want no gap, no drop, back pressure seen", st, ps)
	}
	for id, want := range ref.final {
		if got, ok := sub.Book(id); !ok || !got.View.Equal(&want) {
			t.Fatalf("instrument %d: got %s want %s", id, describe(&got.View), describe(&want))
		}
	}
}

// brokenConn fails every send with a hard error.
type brokenConn struct{ captureConn }

func (c *brokenConn) Send([]byte) error { return ErrClosed }

// TestFailedConnDropsAndCounts: a Conn that fails (not merely full) has its
// packets dropped and counted, and their sequence numbers stay used, so
// subscribers see the gap and heal from a snapshot.
func TestFailedConnDropsAndCounts(t *testing.T) {
	p := mustPublisher(t, PublisherConfig{Conn: &brokenConn{}})
	p.SetLeader(true, 1)
	define(p, 1, 32)
	p.DoWork(0)
	p.DoWork(int64(time.Second))
	if st := p.Stats(); st.SendErrors == 0 || uint64(st.SendErrors) != p.sequence || st.PacketsSent != 0 {
		t.Fatalf("stats %+v, sequence %d", st, p.sequence)
	}
}

// TestRestoreTradeSummary: a member restarted from a snapshot gets its
// cumulative trade summary back, and publishes the same state as a member
// that saw every trade.
func TestRestoreTradeSummary(t *testing.T) {
	full := mustPublisher(t, PublisherConfig{Conn: &captureConn{}})
	define(full, 1, 32)
	for i := range 10 {
		full.OnTrade(1, uint64(i), 100+int64(i), 2, engine.SideBuy, 64, 64)
	}
	full.OnLevel(1, engine.SideSell, 120, 5, 1, 64, 64)
	full.OnApplied(64, 64)
	lp, lq, vol, n, ok := full.TradeSummary(1)
	if !ok || vol != 20 || n != 10 || lp != 109 || lq != 2 {
		t.Fatalf("summary %d %d %d %d %v", lp, lq, vol, n, ok)
	}
	restored := mustPublisher(t, PublisherConfig{Conn: &captureConn{}})
	restored.OnInstrument(engine.InstrumentInfo{ID: 1, Symbol: symbolOf(1), State: engine.TradingStateOpen}, 64, 64)
	restored.OnLevel(1, engine.SideSell, 120, 5, 1, 64, 64)
	restored.RestoreTradeSummary(1, lp, lq, vol, n)
	restored.OnApplied(64, 64)
	a, _ := full.table[0].tb.acquire()
	b, _ := restored.table[0].tb.acquire()
	if !a.Equal(b) {
		t.Fatalf("restored %s\nwant %s", describe(b), describe(a))
	}
}

// TestTradeChannelBackPressure: a full trade socket keeps trades queued, in
// order, and sends them once it drains; none is lost.
func TestTradeChannelBackPressure(t *testing.T) {
	tc := &budgetConn{}
	p := mustPublisher(t, PublisherConfig{Conn: &captureConn{}, TradeConn: tc})
	var got []uint64
	sub := mustSubscriber(t, SubscriberConfig{OnTrade: func(tr TradeRecord) { got = append(got, tr.TradeID) }})
	p.SetLeader(true, 1)
	for i := range 1000 {
		p.OnTrade(1, uint64(i+1), 100, 1, engine.SideBuy, int64(i+1)*32, 0)
		p.OnApplied(int64(i+1)*32, 0)
		if i%10 == 0 {
			p.DoWork(int64(i))
		}
	}
	if p.Stats().BackPressured == 0 {
		t.Fatal("no back pressure seen on a zero-budget trade socket")
	}
	tc.budget = 1 << 20
	for range 10 {
		p.DoWork(int64(time.Second))
	}
	for _, pkt := range tc.take() {
		sub.OnPacket(pkt)
	}
	if len(got) != 1000 || sub.Stats().TradeGaps != 0 {
		t.Fatalf("%d of 1000 trades, %d gaps", len(got), sub.Stats().TradeGaps)
	}
	for i, id := range got {
		if id != uint64(i+1) {
			t.Fatalf("trade %d has id %d", i, id)
		}
	}
}

// batchCaptureConn is a captureConn that takes batches, like UDPConn.
type batchCaptureConn struct{ captureConn }

func (c *batchCaptureConn) SendBatch(pkts [][]byte) (int, error) {
	for _, p := range pkts {
		c.captureConn.Send(p)
	}
	return len(pkts), nil
}

func (c *batchCaptureConn) ReceiveBatch([][]byte, []int, time.Duration) (int, error) { return 0, nil }

// TestManyPacketsPerDutyCycleAreWhole: a duty cycle that fills more packets
// than one send batch holds (1000 instruments with deep books, a snapshot
// under way) sends every packet whole and numbered in order.
func TestManyPacketsPerDutyCycleAreWhole(t *testing.T) {
	for _, conn := range []Conn{&captureConn{}, &batchCaptureConn{}} {
		p := mustPublisher(t, PublisherConfig{Conn: conn, SnapshotInterval: time.Millisecond})
		feed := newBenchFeed(1000)
		feed.define(p)
		p.SetLeader(true, 1)
		var last uint64
		packets, cycles := 0, 200
		if raceEnabled {
			cycles = 20
		}
		for i := range cycles {
			for range 2000 {
				feed.command(p, 0)
			}
			p.DoWork(int64(i) * int64(time.Millisecond))
			var pkts [][]byte
			if bc, ok := conn.(*batchCaptureConn); ok {
				pkts = bc.take()
			} else {
				pkts = conn.(*captureConn).take()
			}
			for _, pk := range pkts {
				if _, err := ParsePacket(pk); err != nil {
					t.Fatalf("%T cycle %d: packet %d malformed: %v", conn, i, PacketHeader(pk).Sequence(), err)
				}
				if seq := PacketHeader(pk).Sequence(); seq != last+1 {
					t.Fatalf("%T cycle %d: sequence %d after %d", conn, i, seq, last)
				}
				last++
				packets++
			}
		}
		if packets < cycles*sendBatchMax {
			t.Fatalf("%T: only %d packets: the test must overflow a send batch per cycle", conn, packets)
		}
	}
}
