package engine

// MarketDataSink receives the public consequences of the log as the engine
// applies it: price-level changes, trades, trading-state changes and
// instrument definitions. marketdata/ implements it; tests use a recording
// sink.
//
// The engine calls the sink on the service goroutine, in log order, once per
// change, so an implementation must return quickly and never block: it
// records the change and leaves publishing to its own agent. Every call
// carries the log position and cluster time of the command that caused it;
// OnApplied marks the end of one command, the point at which the state the
// sink has seen is consistent with the engine's at that log position.
//
// The engine's sink calls are identical on every member and in replay; only
// the leader's publisher sends what it receives.
type MarketDataSink interface {
	// OnInstrument defines or redefines an instrument.
	OnInstrument(def InstrumentInfo, logPosition, clusterTime int64)
	// OnLevel reports the new aggregate of one price level: its total
	// quantity and number of orders. A quantity of 0 removes the level.
	OnLevel(instrument uint32, side Side, price, quantity int64, orders int32, logPosition, clusterTime int64)
	// OnTrade reports one trade at the resting order's price; aggressor is
	// the side of the incoming order.
	OnTrade(instrument uint32, tradeID uint64, price, quantity int64, aggressor Side, logPosition, clusterTime int64)
	// OnTradingState reports an instrument's trading-state change.
	OnTradingState(instrument uint32, state TradingState, logPosition, clusterTime int64)
	// OnApplied marks the end of the command at logPosition: every change it
	// caused has been reported.
	OnApplied(logPosition, clusterTime int64)
}

// InstrumentInfo is an instrument's static definition as market data sees it.
type InstrumentInfo struct {
	ID             uint32
	Symbol         [16]byte // ASCII, NUL-padded
	PriceDecimals  uint8    // prices are integers in units of 10^-PriceDecimals
	TickSize       int64    // in price units
	LotSize        int64    // in quantity units
	ReferencePrice int64
	BandBps        uint32 // price band around the reference price, in basis points
	State          TradingState
}

// SymbolString returns the symbol without its NUL padding.
func (i *InstrumentInfo) SymbolString() string { return string(chars(i.Symbol[:])) }

// NopMarketDataSink discards everything; the engine uses it when no sink is
// configured.
type NopMarketDataSink struct{}

// OnInstrument does nothing.
func (NopMarketDataSink) OnInstrument(InstrumentInfo, int64, int64) {}

// OnLevel does nothing.
func (NopMarketDataSink) OnLevel(uint32, Side, int64, int64, int32, int64, int64) {}

// OnTrade does nothing.
func (NopMarketDataSink) OnTrade(uint32, uint64, int64, int64, Side, int64, int64) {}

// OnTradingState does nothing.
func (NopMarketDataSink) OnTradingState(uint32, TradingState, int64, int64) {}

// OnApplied does nothing.
func (NopMarketDataSink) OnApplied(int64, int64) {}
