package engine

import (
	"math"

	"venue/orderbook"
)

// RepublishMarketData hands the market data sink the whole public state —
// every instrument's definition (with its trading state), then every price level
// of both sides of its book — as of logPosition and clusterTime. A member
// that starts from a snapshot calls it once after Restore: the sink only
// ever hears of changes, and without this it would publish a book that
// lacks every level the snapshot holds. Instruments go in id order and
// levels best first, so the calls are the same on every member.
func (e *Engine) RepublishMarketData(logPosition, clusterTime int64) {
	var levels []orderbook.Level
	for _, in := range e.state.instruments {
		e.md.OnInstrument(in.info, logPosition, clusterTime) // carries the trading state
		for _, s := range [...]orderbook.Side{orderbook.Buy, orderbook.Sell} {
			levels = in.book.AppendDepth(levels[:0], s, math.MaxInt)
			for _, l := range levels {
				e.md.OnLevel(in.info.ID, sideFromBook(l.Side), l.Price, l.Quantity, l.Count, logPosition, clusterTime)
			}
		}
	}
	e.md.OnApplied(logPosition, clusterTime)
}
