package surveil

import (
	"time"

	"venue/engine"
)

// The abuse suite: one case of every type, each by its own account, at a
// fixed share of the day's events (marking the close runs in the closing
// phase). Each case is a short script on the fake clock; sizes are chosen
// against the background's (quotes 5..15 lots, taker orders 1..8).

// Instruments of the generated day.
const (
	instAlpha uint32 = 1
	instBeta  uint32 = 2
	instGamma uint32 = 3
)

type scheduled struct {
	at  int // run when the Recorder has handed on this many events
	run func()
}

func (g *generator) schedule() []scheduled {
	if !g.cfg.Inject {
		return nil
	}
	cases := []func(){
		func() { g.wash(TypeWash, "WASH1", "WASH1", "WASH1", "WASH1", instAlpha) },
		g.spoof,
		func() { g.wash(TypeWash, "P9A", "P9", "P9B", "P9", instBeta) },
		g.layer,
		g.momentum,
		func() { g.wash(TypeWash, "LINKA", "LINKA", "LINKB", "LINKB", instGamma) },
		g.otr,
		g.stuff,
	}
	out := make([]scheduled, len(cases))
	for i, c := range cases {
		out[i] = scheduled{at: g.cfg.Events * (i + 1) / (len(cases) + 1), run: c}
	}
	return out
}

func (g *generator) injected(t Type, acct string, inst uint32) {
	g.res.Injected = append(g.res.Injected, Injected{Type: t, Account: acct, Instrument: inst, Time: g.now})
}

// best returns a side's best price, or a price off the mid if it is empty.
func (g *generator) best(inst uint32, side engine.Side) int64 {
	if b := g.rec.Market().Book(inst); b != nil {
		if px, ok := b.Best(side); ok {
			return px
		}
	}
	if side == engine.SideBuy {
		return g.mid[inst-1] - 1
	}
	return g.mid[inst-1] + 1
}

// levelQty returns the quantity resting at one price.
func (g *generator) levelQty(inst uint32, side engine.Side, px int64) int64 {
	b := g.rec.Market().Book(inst)
	if b == nil {
		return 0
	}
	lv := b.Bids
	if side == engine.SideSell {
		lv = b.Asks
	}
	for _, l := range lv {
		if l.Price == px {
			return l.Quantity
		}
	}
	return 0
}

func (g *generator) wait(d time.Duration) { g.now += int64(d) }

// wash: seller rests, buyer takes it. Inside the spread if there is room;
// otherwise at the best ask, taking the whole level (the seller's order is
// last in it).
func (g *generator) wash(t Type, sellAcct, sellPrincipal, buyAcct, buyPrincipal string, inst uint32) {
	g.injected(t, buyAcct, inst)
	const qty = 7
	bid, ask := g.best(inst, engine.SideBuy), g.best(inst, engine.SideSell)
	px, take := ask, g.levelQty(inst, engine.SideSell, ask)+qty
	if ask-bid >= 2 {
		px, take = bid+1, qty
	}
	g.order(sellAcct, sellPrincipal, inst, engine.SideSell, px, qty, engine.TimeInForceDay)
	g.wait(150 * time.Millisecond)
	g.order(buyAcct, buyPrincipal, inst, engine.SideBuy, px, take, engine.TimeInForceIOC)
}

// spoof: a large bid a tick behind the touch, a small sell into the bid,
// the large bid cancelled.
func (g *generator) spoof() {
	const acct, inst = "SPOOF1", instBeta
	g.injected(TypeSpoofing, acct, inst)
	bid := g.best(inst, engine.SideBuy)
	big := g.order(acct, acct, inst, engine.SideBuy, bid-1, 100, engine.TimeInForceDay)
	g.wait(200 * time.Millisecond)
	g.order(acct, acct, inst, engine.SideSell, g.best(inst, engine.SideBuy), 5, engine.TimeInForceIOC)
	g.wait(300 * time.Millisecond)
	g.cancel(acct, acct, inst, engine.SideBuy, big)
}

// layer: four offers on consecutive levels above the touch, a buy at the
// touch, the offers cancelled.
func (g *generator) layer() {
	const acct, inst, layers = "LAYER1", instAlpha, 4
	g.injected(TypeLayering, acct, inst)
	ask := g.best(inst, engine.SideSell)
	ids := make([]uint64, layers)
	for k := range layers {
		ids[k] = g.order(acct, acct, inst, engine.SideSell, ask+1+int64(k), 20, engine.TimeInForceDay)
		g.wait(50 * time.Millisecond)
	}
	g.order(acct, acct, inst, engine.SideBuy, g.best(inst, engine.SideSell), 5, engine.TimeInForceIOC)
	g.wait(300 * time.Millisecond)
	for _, id := range ids {
		g.cancel(acct, acct, inst, engine.SideSell, id)
		g.wait(20 * time.Millisecond)
	}
}

// momentum: five buys through two or three levels each, the market makers
// following the price up in between, then a sell ten seconds later.
func (g *generator) momentum() {
	const acct, inst = "MOMO1", instBeta
	g.injected(TypeMomentum, acct, inst)
	for range 5 {
		g.order(acct, acct, inst, engine.SideBuy, g.best(inst, engine.SideSell)+2, 40, engine.TimeInForceIOC)
		g.mid[inst-1]++ // the market follows the ignition
		for stop := g.now + int64(700*time.Millisecond); g.now < stop; {
			g.background()
		}
	}
	g.wait(10 * time.Second)
	g.order(acct, acct, inst, engine.SideSell, g.best(inst, engine.SideBuy), 10, engine.TimeInForceIOC)
}

// markTheClose: twenty large buys through the offer in the last stretch
// before the close, the mid following, background flow in between.
func (g *generator) markTheClose(end int64) {
	const acct, inst, buys = "CLOSE1", instGamma, 20
	g.injected(TypeMarkingClose, acct, inst)
	gap := (end - g.now) / (buys + 1)
	for range buys {
		g.order(acct, acct, inst, engine.SideBuy, g.best(inst, engine.SideSell)+2, 60, engine.TimeInForceIOC)
		g.mid[inst-1]++
		for stop := g.now + gap; g.now < stop; {
			g.background()
		}
	}
}

// otr: 300 orders ten ticks behind the touch, each cancelled, and one
// small trade.
func (g *generator) otr() {
	const acct, inst = "OTR1", instAlpha
	g.injected(TypeOTR, acct, inst)
	g.order(acct, acct, inst, engine.SideBuy, g.best(inst, engine.SideSell), 1, engine.TimeInForceIOC)
	for range 300 {
		g.wait(50 * time.Millisecond)
		id := g.order(acct, acct, inst, engine.SideBuy, g.best(inst, engine.SideBuy)-10, 5, engine.TimeInForceDay)
		g.wait(50 * time.Millisecond)
		g.cancel(acct, acct, inst, engine.SideBuy, id)
	}
}

// stuff: ten small trades (so its order-to-trade ratio stays ordinary),
// then 300 order/cancel pairs in 0.3 s.
func (g *generator) stuff() {
	const acct, inst = "STUFF1", instBeta
	for range 10 {
		g.order(acct, acct, inst, engine.SideBuy, g.best(inst, engine.SideSell), 1, engine.TimeInForceIOC)
		g.wait(time.Second)
	}
	g.injected(TypeBurst, acct, inst)
	for range 300 {
		id := g.order(acct, acct, inst, engine.SideSell, g.best(inst, engine.SideSell)+10, 1, engine.TimeInForceDay)
		g.wait(500 * time.Microsecond)
		g.cancel(acct, acct, inst, engine.SideSell, id)
		g.wait(500 * time.Microsecond)
	}
}
