package marketdata

import (
	"bytes"

	"venue/engine"
)

// View is the published state of one instrument: what one InstrumentUpdate
// carries. The publisher builds Views on the service goroutine and hands them
// to its agent; the subscriber's Book embeds one.
type View struct {
	InstrumentID  uint32              `json:"instrument_id"`
	Symbol        [SymbolLength]byte  `json:"-"`
	PriceDecimals uint8               `json:"price_decimals"`
	State         engine.TradingState `json:"-"`
	// LogPosition and ClusterTime are those of the last command that changed
	// the instrument: the state shown is the engine's at that position.
	LogPosition    int64   `json:"log_position"`
	ClusterTime    int64   `json:"cluster_time"`
	LastTradePrice int64   `json:"last_trade_price"`
	LastTradeQty   int64   `json:"last_trade_quantity"`
	Volume         int64   `json:"volume"`
	TradeCount     int64   `json:"trade_count"`
	Bids           []Level `json:"bids"` // best (highest) first
	Asks           []Level `json:"asks"` // best (lowest) first

	valid bool // set once the instrument has been published
}

// SymbolString returns the symbol without its NUL padding.
func (v *View) SymbolString() string {
	if i := bytes.IndexByte(v.Symbol[:], 0); i >= 0 {
		return string(v.Symbol[:i])
	}
	return string(v.Symbol[:])
}

// copyFrom makes v equal to o, reusing v's level slices.
func (v *View) copyFrom(o *View) {
	bids, asks := v.Bids, v.Asks
	*v = *o
	v.Bids = append(bids[:0], o.Bids...)
	v.Asks = append(asks[:0], o.Asks...)
}

// setFromUpdate makes v equal to the decoded update u, reusing v's slices.
func (v *View) setFromUpdate(u Update) {
	v.InstrumentID = u.InstrumentID()
	copy(v.Symbol[:], u.Symbol())
	v.PriceDecimals = u.PriceDecimals()
	v.State = u.State()
	v.LogPosition = u.LogPosition()
	v.ClusterTime = u.ClusterTime()
	v.LastTradePrice = u.LastTradePrice()
	v.LastTradeQty = u.LastTradeQty()
	v.Volume = u.Volume()
	v.TradeCount = u.TradeCount()
	v.Bids = v.Bids[:0]
	for i := range u.BidCount() {
		v.Bids = append(v.Bids, u.Bid(i))
	}
	v.Asks = v.Asks[:0]
	for i := range u.AskCount() {
		v.Asks = append(v.Asks, u.Ask(i))
	}
	v.valid = true
}

// Equal reports whether two views show the same state.
func (v *View) Equal(o *View) bool {
	return v.InstrumentID == o.InstrumentID && v.Symbol == o.Symbol && v.PriceDecimals == o.PriceDecimals &&
		v.State == o.State && v.LogPosition == o.LogPosition && v.ClusterTime == o.ClusterTime &&
		v.LastTradePrice == o.LastTradePrice && v.LastTradeQty == o.LastTradeQty &&
		v.Volume == o.Volume && v.TradeCount == o.TradeCount &&
		levelsEqual(v.Bids, o.Bids) && levelsEqual(v.Asks, o.Asks)
}

func levelsEqual(a, b []Level) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// BestBid returns the best bid (the B of the BBO); false when there is none.
func (v *View) BestBid() (Level, bool) {
	if len(v.Bids) == 0 {
		return Level{}, false
	}
	return v.Bids[0], true
}

// BestAsk returns the best offer; false when there is none.
func (v *View) BestAsk() (Level, bool) {
	if len(v.Asks) == 0 {
		return Level{}, false
	}
	return v.Asks[0], true
}
