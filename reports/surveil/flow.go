package surveil

import "venue/engine"

// Background flow: market makers keep a ladder of mmLevels quotes a side
// around each instrument's mid, refreshing one quote per step; takers send
// small IOC orders across the spread; mids walk a tick at a time.

// pickInstrument draws an instrument index by the background weights.
func (g *generator) pickInstrument() int {
	r := g.rng.IntN(1000)
	for i, w := range dayWeightsPermille {
		if r < w {
			return i
		}
		r -= w
	}
	return len(dayWeightsPermille) - 1
}

func (g *generator) background() {
	g.advance()
	i := g.pickInstrument()
	if g.rng.IntN(1000) < midStepPermille {
		g.mid[i] += int64(g.rng.IntN(3) - 1)
	}
	if g.rng.IntN(1000) < takerPermille {
		g.taker(dayTakers[g.rng.IntN(len(dayTakers))], i)
		return
	}
	g.requote(g.rng.IntN(len(dayMarketMakers)), i, engine.Side(1+g.rng.IntN(2)), g.rng.IntN(mmLevels))
}

// taker crosses the spread with a small IOC order.
func (g *generator) taker(acct string, i int) {
	side := engine.Side(1 + g.rng.IntN(2))
	px := g.mid[i] + 1 + int64(g.rng.IntN(2))
	if side == engine.SideSell {
		px = g.mid[i] - 1 - int64(g.rng.IntN(2))
	}
	g.order(acct, acct, uint32(i+1), side, px, 1+int64(g.rng.IntN(takerQtyMax)), engine.TimeInForceIOC)
}

// requote refreshes one market maker quote: cancel (or replace) the old
// one, place the new one at the current mid.
func (g *generator) requote(mm, i int, side engine.Side, level int) {
	slot := ((mm*len(daySymbols)+i)*2+int(side)-1)*mmLevels + level
	acct := dayMarketMakers[mm]
	inst := uint32(i + 1)
	px := g.mid[i] - 1 - int64(level)
	if side == engine.SideSell {
		px = g.mid[i] + 1 + int64(level)
	}
	px = g.passive(inst, side, px)
	qty := int64(mmQtyMin + g.rng.IntN(mmQtySpread))
	old := g.slots[slot]
	if g.isAlive(old) {
		if g.rng.IntN(1000) < replacePermille {
			g.slots[slot] = g.replace(acct, inst, side, old, px, qty)
			return
		}
		g.cancel(acct, acct, inst, side, old)
		g.advance()
	}
	g.slots[slot] = g.order(acct, acct, inst, side, px, qty, engine.TimeInForceDay)
}

// closingPhase runs background flow for closingPhaseNs, with the
// marking-the-close case in it when injecting.
func (g *generator) closingPhase() {
	end := g.now + closingPhaseNs
	markFrom := end - closingPhaseNs*2/3
	marked := false
	for g.now < end && g.failed == nil {
		if g.cfg.Inject && !marked && g.now >= markFrom {
			marked = true
			g.markTheClose(end)
		}
		g.background()
	}
}

// passive keeps a quote from crossing the book: a market maker's ladder
// lags its mid, and a crossing quote would trade, possibly with the maker's
// own stale quote.
func (g *generator) passive(inst uint32, side engine.Side, px int64) int64 {
	if b := g.rec.Market().Book(inst); b != nil {
		if best, ok := b.Best(opposite(side)); ok {
			if side == engine.SideBuy {
				return min(px, best-1)
			}
			return max(px, best+1)
		}
	}
	return px
}
