package marketdata

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"venue/engine"
)

// call is one recorded sink call, so that a command stream can be replayed
// into several sinks, some of them late (a lagging follower).
type call struct {
	kind        int // callInstrument, callLevel, callTrade, callState, callApplied
	def         engine.InstrumentInfo
	instrument  uint32
	side        engine.Side
	price, qty  int64
	orders      int32
	tradeID     uint64
	state       engine.TradingState
	pos, clTime int64
}

const (
	callInstrument = iota
	callLevel
	callTrade
	callState
	callApplied
)

func (c *call) apply(s engine.MarketDataSink) {
	switch c.kind {
	case callInstrument:
		s.OnInstrument(c.def, c.pos, c.clTime)
	case callLevel:
		s.OnLevel(c.instrument, c.side, c.price, c.qty, c.orders, c.pos, c.clTime)
	case callTrade:
		s.OnTrade(c.instrument, c.tradeID, c.price, c.qty, c.side, c.pos, c.clTime)
	case callState:
		s.OnTradingState(c.instrument, c.state, c.pos, c.clTime)
	case callApplied:
		s.OnApplied(c.pos, c.clTime)
	}
}

// generator produces an engine-like stream of commands: each command touches
// one instrument (sometimes two) with a few level changes, sometimes a trade
// or a trading-state change, then OnApplied. Positions and times only grow.
type generator struct {
	rng         *rand.Rand
	instruments int
	pos, clTime int64
	tradeID     uint64
	defined     int
}

func newGenerator(seed uint64, instruments int) *generator {
	return &generator{rng: rand.New(rand.NewPCG(seed, 7)), instruments: instruments, pos: 64, clTime: 1_000_000}
}

func symbolOf(id uint32) [SymbolLength]byte {
	var s [SymbolLength]byte
	copy(s[:], fmt.Sprintf("SYM%03d", id))
	return s
}

// next returns the calls of one command.
func (g *generator) next() []call {
	g.pos += 32 + int64(g.rng.IntN(8))*32
	g.clTime += int64(1 + g.rng.IntN(1000))
	c := call{pos: g.pos, clTime: g.clTime}
	var out []call
	if g.defined < g.instruments {
		id := uint32(g.defined + 1)
		g.defined++
		d := c
		d.kind = callInstrument
		d.def = engine.InstrumentInfo{ID: id, Symbol: symbolOf(id), PriceDecimals: 2, TickSize: 1, LotSize: 1,
			ReferencePrice: 120, State: engine.TradingStateOpen}
		out = append(out, d)
	} else {
		out = g.changes(c, out)
		if g.rng.IntN(10) == 0 {
			out = g.changes(c, out)
		}
	}
	c.kind = callApplied
	return append(out, c)
}

func (g *generator) changes(c call, out []call) []call {
	c.instrument = uint32(1 + g.rng.IntN(g.instruments))
	for range 1 + g.rng.IntN(4) {
		l := c
		l.kind = callLevel
		l.side = engine.SideBuy
		l.price = int64(100 + g.rng.IntN(20))
		if g.rng.IntN(2) == 0 {
			l.side, l.price = engine.SideSell, l.price+21
		}
		if g.rng.IntN(3) > 0 {
			l.qty, l.orders = int64(1+g.rng.IntN(500)), int32(1+g.rng.IntN(9))
		}
		out = append(out, l)
	}
	switch g.rng.IntN(8) {
	case 0, 1:
		t := c
		t.kind, t.side = callTrade, engine.SideBuy
		g.tradeID++
		t.tradeID, t.price, t.qty = g.tradeID, int64(110+g.rng.IntN(20)), int64(1+g.rng.IntN(50))
		out = append(out, t)
	case 2:
		s := c
		s.kind, s.state = callState, engine.TradingState(1+g.rng.IntN(4))
		out = append(out, s)
	}
	return out
}

// refSink is the naive reference: the full change stream applied to plain
// maps, with the expected View of every instrument recorded at every log
// position that changed it.
type refSink struct {
	depth   int
	books   map[uint32]*refBook
	touched map[uint32]bool
	history map[uint32]map[int64]View
	final   map[uint32]View
}

type refBook struct {
	def                               engine.InstrumentInfo
	bids, asks                        map[int64]Level
	lastPrice, lastQty, volume, count int64
}

func newRefSink(depth int) *refSink {
	return &refSink{depth: depth, books: map[uint32]*refBook{}, touched: map[uint32]bool{},
		history: map[uint32]map[int64]View{}, final: map[uint32]View{}}
}

func (r *refSink) book(id uint32) *refBook {
	b := r.books[id]
	if b == nil {
		b = &refBook{def: engine.InstrumentInfo{ID: id}, bids: map[int64]Level{}, asks: map[int64]Level{}}
		r.books[id] = b
	}
	r.touched[id] = true
	return b
}

func (r *refSink) OnInstrument(def engine.InstrumentInfo, _, _ int64) { r.book(def.ID).def = def }

func (r *refSink) OnLevel(id uint32, s engine.Side, price, qty int64, orders int32, _, _ int64) {
	b := r.book(id)
	m := b.asks
	if s == engine.SideBuy {
		m = b.bids
	}
	if qty == 0 {
		delete(m, price)
	} else {
		m[price] = Level{Price: price, Quantity: qty, Orders: orders}
	}
}

func (r *refSink) OnTrade(id uint32, _ uint64, price, qty int64, _ engine.Side, _, _ int64) {
	b := r.book(id)
	b.lastPrice, b.lastQty = price, qty
	b.volume += qty
	b.count++
}

func (r *refSink) OnTradingState(id uint32, st engine.TradingState, _, _ int64) {
	r.book(id).def.State = st
}

func (r *refSink) OnApplied(pos, clTime int64) {
	for id := range r.touched {
		v := r.view(r.books[id], pos, clTime)
		if r.history[id] == nil {
			r.history[id] = map[int64]View{}
		}
		r.history[id][pos] = v
		r.final[id] = v
	}
	clear(r.touched)
}

func (r *refSink) view(b *refBook, pos, clTime int64) View {
	return View{InstrumentID: b.def.ID, Symbol: b.def.Symbol, PriceDecimals: b.def.PriceDecimals, State: b.def.State,
		LogPosition: pos, ClusterTime: clTime, LastTradePrice: b.lastPrice, LastTradeQty: b.lastQty,
		Volume: b.volume, TradeCount: b.count,
		Bids: topOf(b.bids, r.depth, true), Asks: topOf(b.asks, r.depth, false), valid: true}
}

func topOf(m map[int64]Level, depth int, bid bool) []Level {
	out := make([]Level, 0, len(m))
	for _, l := range m {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool {
		if bid {
			return out[i].Price > out[j].Price
		}
		return out[i].Price < out[j].Price
	})
	if len(out) > depth {
		out = out[:depth]
	}
	return out
}

// fanout replays calls into several sinks.
type fanout []engine.MarketDataSink

func (f fanout) run(calls []call) {
	for i := range calls {
		for _, s := range f {
			calls[i].apply(s)
		}
	}
}

func mustPublisher(t testing.TB, cfg PublisherConfig) *Publisher {
	t.Helper()
	p, err := NewPublisher(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustSubscriber(t testing.TB, cfg SubscriberConfig) *Subscriber {
	t.Helper()
	s, err := NewSubscriber(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var pumpBuf [mtuMax]byte // tests pump from one goroutine at a time

// pump moves every waiting datagram from conn into sub.
func pump(conn Conn, sub *Subscriber) int {
	buf := pumpBuf[:]
	n := 0
	for {
		k, err := conn.TryReceive(buf)
		if k == 0 || err != nil {
			return n
		}
		sub.OnPacket(buf[:k])
		n++
	}
}

func describe(v *View) string {
	return fmt.Sprintf("id=%d pos=%d t=%d st=%v last=%d/%d vol=%d n=%d bids=%v asks=%v",
		v.InstrumentID, v.LogPosition, v.ClusterTime, v.State, v.LastTradePrice, v.LastTradeQty,
		v.Volume, v.TradeCount, v.Bids, v.Asks)
}
