package marketdata

import (
	"fmt"
	"sync/atomic"
	"time"

	"venue/engine"
	"venue/transport"
)

// PublisherConfig configures a Publisher. Zero values take the defaults.
type PublisherConfig struct {
	// Conn carries instrument updates, snapshots and heartbeats. Required.
	// The publisher owns it and closes it in OnClose.
	Conn Conn
	// TradeConn, when set, carries every trade, unconflated, on a channel of
	// its own (its own port); the publisher owns it too.
	TradeConn Conn
	// MTU is the largest datagram sent, in bytes (default MTUDefault).
	MTU int
	// Depth is the number of levels per side published (default
	// DepthDefault, at most LevelsPerSideMax).
	Depth int
	// InstrumentsMax bounds the instruments tracked (default InstrumentsMax).
	InstrumentsMax int
	// MaxUpdatesPerSec caps instrument updates sent per second; 0 sends as
	// fast as the channel allows. Snapshots and heartbeats are not counted.
	MaxUpdatesPerSec int
	// SnapshotInterval is the time between full snapshots (default
	// SnapshotIntervalDefault).
	SnapshotInterval time.Duration
	// HeartbeatInterval is the silence after which a heartbeat is sent
	// (default HeartbeatIntervalDefault).
	HeartbeatInterval time.Duration
	// Counters receives the publisher's counters; nil keeps them private.
	Counters *transport.CountersManager
	// Name labels the agent and its counters (default "md-publisher").
	Name string
}

func (c *PublisherConfig) withDefaults() (PublisherConfig, error) {
	d := *c
	if d.Conn == nil {
		return d, fmt.Errorf("marketdata: publisher config: Conn is required")
	}
	d.MTU = cmp0(d.MTU, MTUDefault)
	d.Depth = cmp0(d.Depth, DepthDefault)
	d.InstrumentsMax = cmp0(d.InstrumentsMax, InstrumentsMax)
	if d.MTU < mtuMin || d.MTU > mtuMax {
		return d, fmt.Errorf("marketdata: publisher config: MTU %d outside [%d, %d]", d.MTU, mtuMin, mtuMax)
	}
	if d.Depth < 1 || d.Depth > LevelsPerSideMax {
		return d, fmt.Errorf("marketdata: publisher config: depth %d outside [1, %d]", d.Depth, LevelsPerSideMax)
	}
	if d.InstrumentsMax < 1 || d.InstrumentsMax > InstrumentsMax {
		return d, fmt.Errorf("marketdata: publisher config: instruments %d outside [1, %d]", d.InstrumentsMax, InstrumentsMax)
	}
	if d.MaxUpdatesPerSec < 0 {
		return d, fmt.Errorf("marketdata: publisher config: negative max update rate %d", d.MaxUpdatesPerSec)
	}
	d.SnapshotInterval = cmp0(d.SnapshotInterval, SnapshotIntervalDefault)
	d.HeartbeatInterval = cmp0(d.HeartbeatInterval, HeartbeatIntervalDefault)
	if d.Name == "" {
		d.Name = "md-publisher"
	}
	return d, nil
}

func cmp0[T int | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// instrument is one instrument's state. The fields above the hand-off belong
// to the service goroutine; queued and tb are shared with the agent.
type instrument struct {
	idx        uint32
	id         uint32
	symbol     [SymbolLength]byte
	decimals   uint8
	state      engine.TradingState
	bids, asks side
	lastPrice  int64
	lastQty    int64
	volume     int64
	trades     int64
	touched    bool

	queued atomic.Bool // in the dirty ring, or being taken from it
	tb     tripleBuffer
}

// fill writes the instrument's publishable state into v.
func (in *instrument) fill(v *View, depth int, logPosition, clusterTime int64) {
	v.InstrumentID, v.Symbol, v.PriceDecimals, v.State = in.id, in.symbol, in.decimals, in.state
	v.LogPosition, v.ClusterTime = logPosition, clusterTime
	v.LastTradePrice, v.LastTradeQty, v.Volume, v.TradeCount = in.lastPrice, in.lastQty, in.volume, in.trades
	v.Bids = in.bids.top(v.Bids, depth)
	v.Asks = in.asks.top(v.Asks, depth)
	v.valid = true
}

// Publisher is the market-data publisher of one cluster member. It is two
// things with one owner each:
//
//   - an engine.MarketDataSink, called on the service goroutine only. Every
//     member's publisher absorbs every change, leader or not, so a new leader
//     carries on at once. Sink calls do bounded work on private state, then at
//     OnApplied hand each touched instrument's top of book to the agent
//     through a triple buffer; they never wait for the agent or the network.
//   - a transport.Agent (DoWork), run on its own goroutine or composed with
//     others, that sends while the member is leader (SetLeader).
type Publisher struct {
	cfg   PublisherConfig
	depth int

	// service goroutine
	index   map[uint32]uint32
	last    *instrument // one-entry lookup cache
	touched []*instrument
	changes int64

	// shared: the table is written by the service goroutine before count is
	// raised (or before an index is pushed on dirty), read by the agent after.
	table []*instrument
	count atomic.Uint32
	dirty *indexRing
	trade *tradeRing // nil without a trade channel
	role  atomic.Uint64
	wake  wakeup

	agentState
	c publisherCounters
}

type publisherCounters struct {
	packets, updates, snapshots, entries, heartbeats, sendErrors *transport.Counter
	changes, tradesSent, tradesDropped, changesDropped, sessions *transport.Counter
	backPressured                                                *transport.Counter
}

// assert panics when an invariant is broken; the checks stay on in
// production because a broken hand-off would publish wrong books silently.
func assert(ok bool, what string) {
	if !ok {
		panic("marketdata: invariant broken: " + what)
	}
}

// roleLeader is the leader bit of Publisher.role; the low 32 bits hold the
// session id.
const roleLeader = uint64(1) << 32

// NewPublisher returns a publisher that is not yet leader.
func NewPublisher(cfg PublisherConfig) (*Publisher, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	p := &Publisher{
		cfg:   c,
		depth: c.Depth,
		index: make(map[uint32]uint32),
		table: make([]*instrument, c.InstrumentsMax),
		dirty: newIndexRing(c.InstrumentsMax),
	}
	if c.TradeConn != nil {
		p.trade = newTradeRing(tradeQueueLength)
	}
	p.wake.init()
	p.initAgent()
	p.initCounters(countersOrPrivate(c.Counters))
	return p, nil
}

func (p *Publisher) initCounters(cm *transport.CountersManager) {
	r := p.cfg.Name
	p.c = publisherCounters{
		packets: allocate(cm, CounterPacketsSent, r), updates: allocate(cm, CounterUpdatesSent, r),
		snapshots: allocate(cm, CounterSnapshotsSent, r), entries: allocate(cm, CounterSnapshotEntriesSent, r),
		heartbeats: allocate(cm, CounterHeartbeatsSent, r), sendErrors: allocate(cm, CounterSendErrors, r),
		changes: allocate(cm, CounterChangesAbsorbed, r), tradesSent: allocate(cm, CounterTradesSent, r),
		tradesDropped: allocate(cm, CounterTradesDropped, r), changesDropped: allocate(cm, CounterChangesDropped, r),
		sessions: allocate(cm, CounterLeaderTerms, r), backPressured: allocate(cm, CounterBackPressured, r),
	}
}

// SetLeader is the role hook: the integrator calls it from the cluster's
// role changes, from any goroutine. While leader the agent sends as session
// sessionID, which must differ for every leadership term of every member (for
// example uint32(term)<<8 | memberID) so that subscribers see a failover as a
// new session. A change of session restarts the sequence at 1 and starts a
// full snapshot at once. When not leader the agent sends nothing but the sink
// keeps absorbing.
func (p *Publisher) SetLeader(leader bool, sessionID uint32) {
	v := uint64(sessionID)
	if leader {
		v |= roleLeader
	}
	p.role.Store(v)
	p.wake.notify()
}

// instrumentFor returns the instrument with id, creating it on first sight;
// nil (and the change counted as dropped) when the table is full.
func (p *Publisher) instrumentFor(id uint32) *instrument {
	if p.last != nil && p.last.id == id {
		return p.last
	}
	if i, ok := p.index[id]; ok {
		p.last = p.table[i]
		return p.last
	}
	n := p.count.Load()
	if int(n) >= len(p.table) {
		p.c.changesDropped.Increment()
		return nil
	}
	in := &instrument{idx: n, id: id, bids: side{bid: true}}
	in.tb.init(p.depth)
	p.table[n] = in
	p.index[id] = n
	p.count.Store(n + 1) // publishes table[n] to the agent's snapshot walk
	p.last = in
	return in
}

func (p *Publisher) touch(in *instrument) {
	p.changes++
	if !in.touched {
		in.touched = true
		p.touched = append(p.touched, in)
	}
}

// OnInstrument implements engine.MarketDataSink.
func (p *Publisher) OnInstrument(def engine.InstrumentInfo, logPosition, clusterTime int64) {
	in := p.instrumentFor(def.ID)
	if in == nil {
		return
	}
	in.symbol, in.decimals, in.state = def.Symbol, def.PriceDecimals, def.State
	p.touch(in)
}

// OnLevel implements engine.MarketDataSink.
func (p *Publisher) OnLevel(instrument uint32, s engine.Side, price, quantity int64, orders int32, logPosition, clusterTime int64) {
	in := p.instrumentFor(instrument)
	if in == nil {
		return
	}
	bookSide := &in.asks
	if s == engine.SideBuy {
		bookSide = &in.bids
	}
	if !bookSide.set(price, quantity, orders) {
		p.c.changesDropped.Increment()
	}
	p.touch(in)
}

// OnTrade implements engine.MarketDataSink.
func (p *Publisher) OnTrade(instrument uint32, tradeID uint64, price, quantity int64, aggressor engine.Side, logPosition, clusterTime int64) {
	in := p.instrumentFor(instrument)
	if in == nil {
		return
	}
	in.lastPrice, in.lastQty = price, quantity
	in.volume += quantity
	in.trades++
	p.touch(in)
	if p.trade != nil {
		t := TradeRecord{InstrumentID: instrument, Aggressor: aggressor, TradeID: tradeID, Price: price,
			Quantity: quantity, LogPosition: logPosition, ClusterTime: clusterTime}
		if !p.trade.push(&t) {
			p.c.tradesDropped.Increment()
		}
		p.notifyIfLeader()
	}
}

// OnTradingState implements engine.MarketDataSink.
func (p *Publisher) OnTradingState(instrument uint32, state engine.TradingState, logPosition, clusterTime int64) {
	in := p.instrumentFor(instrument)
	if in == nil {
		return
	}
	in.state = state
	p.touch(in)
}

// RestoreTradeSummary sets an instrument's cumulative trade summary, which
// OnTrade cannot rebuild after a member restarts from a snapshot: the
// integrator calls it (on the service goroutine, before the OnApplied that
// ends the restore) with the values saved in the snapshot; levels and states
// are restored through the ordinary sink calls.
func (p *Publisher) RestoreTradeSummary(instrument uint32, lastPrice, lastQty, volume, trades int64) {
	in := p.instrumentFor(instrument)
	if in == nil {
		return
	}
	in.lastPrice, in.lastQty, in.volume, in.trades = lastPrice, lastQty, volume, trades
	p.touch(in)
}

// TradeSummary returns an instrument's cumulative trade summary as the sink
// has it, for the integrator to save in a snapshot. Service goroutine only.
func (p *Publisher) TradeSummary(instrument uint32) (lastPrice, lastQty, volume, trades int64, ok bool) {
	i, found := p.index[instrument]
	if !found {
		return 0, 0, 0, 0, false
	}
	in := p.table[i]
	return in.lastPrice, in.lastQty, in.volume, in.trades, true
}

// OnApplied implements engine.MarketDataSink: the command at logPosition is
// complete, so every instrument it touched is consistent and is handed to the
// agent, replacing any state still pending for it.
func (p *Publisher) OnApplied(logPosition, clusterTime int64) {
	for _, in := range p.touched {
		in.fill(in.tb.backView(), p.depth, logPosition, clusterTime)
		in.tb.publish()
		in.touched = false
		if !in.queued.Load() {
			in.queued.Store(true)
			// Never full: each instrument is queued at most once and the
			// ring is as long as the instrument table.
			assert(p.dirty.push(in.idx), "dirty list overflow")
		}
	}
	p.touched = p.touched[:0]
	p.c.changes.Set(p.changes)
	p.notifyIfLeader()
}

// Pending returns how many instruments have an update waiting to be sent
// (each at most once). Safe from any goroutine.
func (p *Publisher) Pending() int {
	return int(p.dirty.tail.Load() - p.dirty.head.Load())
}

// PublisherStats is a snapshot of a publisher's counters.
type PublisherStats struct {
	PacketsSent, UpdatesSent, SnapshotsSent, SnapshotEntriesSent, HeartbeatsSent int64
	SendErrors, ChangesAbsorbed, TradesSent, TradesDropped, ChangesDropped       int64
	LeaderSessions, BackPressured                                                int64
}

// Stats returns the publisher's counters; safe from any goroutine.
// ChangesAbsorbed is brought up to date at each OnApplied.
func (p *Publisher) Stats() PublisherStats {
	c := &p.c
	return PublisherStats{
		PacketsSent: c.packets.Get(), UpdatesSent: c.updates.Get(), SnapshotsSent: c.snapshots.Get(),
		SnapshotEntriesSent: c.entries.Get(), HeartbeatsSent: c.heartbeats.Get(), SendErrors: c.sendErrors.Get(),
		ChangesAbsorbed: c.changes.Get(), TradesSent: c.tradesSent.Get(), TradesDropped: c.tradesDropped.Get(),
		ChangesDropped: c.changesDropped.Get(), LeaderSessions: c.sessions.Get(),
		BackPressured: c.backPressured.Get(),
	}
}
