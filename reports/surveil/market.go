package surveil

import (
	"slices"
	"sort"

	"venue/engine"
)

// Market bounds.
const (
	// instrumentsMax caps the instruments the market tracks; the engine's
	// own limit is lower.
	instrumentsMax = 1 << 16
	// levelsPerSideMax caps the price levels kept per book side; past it the
	// level farthest from the touch is forgotten (its later changes are
	// ignored), so the touch and the depth near it stay exact.
	levelsPerSideMax = 4096
	// tapeLen is the trades kept per instrument for charts: a ring of the
	// most recent ones.
	tapeLen = 4096
)

// Level is one aggregated price level.
type Level struct {
	Price    int64 `json:"price"`
	Quantity int64 `json:"quantity"`
	Orders   int32 `json:"orders"`
}

// Print is one trade on the tape.
type Print struct {
	Time      int64 `json:"time_ns"`
	Price     int64 `json:"price"`
	Quantity  int64 `json:"quantity"`
	Aggressor Side  `json:"aggressor"`
}

// Book is one instrument's state as market data shows it.
type Book struct {
	Info  engine.InstrumentInfo
	State engine.TradingState
	Bids  []Level // best (highest) first
	Asks  []Level // best (lowest) first
	tape  [tapeLen]Print
	tapeN int // prints ever recorded
}

// Market is every instrument's book and recent tape, kept from the
// engine's market-data calls.
type Market struct {
	books map[uint32]*Book
	now   int64 // cluster time of the last applied command
	pos   int64
	// Dropped counts level changes and instruments ignored at a bound.
	Dropped uint64
}

// NewMarket returns an empty market.
func NewMarket() *Market { return &Market{books: map[uint32]*Book{}} }

// Book returns an instrument's book, or nil.
func (m *Market) Book(instrument uint32) *Book { return m.books[instrument] }

// Instruments returns the known instrument ids in order.
func (m *Market) Instruments() []uint32 {
	ids := make([]uint32, 0, len(m.books))
	for id := range m.books {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (m *Market) book(id uint32) *Book {
	b := m.books[id]
	if b == nil && len(m.books) < instrumentsMax {
		b = &Book{Info: engine.InstrumentInfo{ID: id}}
		m.books[id] = b
	}
	if b == nil {
		m.Dropped++
	}
	return b
}

func (m *Market) onInstrument(def engine.InstrumentInfo) {
	if b := m.book(def.ID); b != nil {
		b.Info, b.State = def, def.State
	}
}

func (m *Market) onState(id uint32, st engine.TradingState) {
	if b := m.book(id); b != nil {
		b.State = st
	}
}

func (m *Market) onTrade(id uint32, px, qty int64, aggr engine.Side, now int64) {
	if b := m.book(id); b != nil {
		b.tape[b.tapeN%tapeLen] = Print{Time: now, Price: px, Quantity: qty, Aggressor: Side(aggr)}
		b.tapeN++
	}
}

func (m *Market) onLevel(id uint32, side engine.Side, px, qty int64, n int32) {
	b := m.book(id)
	if b == nil {
		return
	}
	if side == engine.SideBuy {
		b.Bids = setLevel(b.Bids, px, qty, n, func(a, b int64) bool { return a > b }, &m.Dropped)
	} else {
		b.Asks = setLevel(b.Asks, px, qty, n, func(a, b int64) bool { return a < b }, &m.Dropped)
	}
}

// setLevel updates one level of a side ordered best-first by better.
func setLevel(levels []Level, px, qty int64, n int32, better func(a, b int64) bool, dropped *uint64) []Level {
	i := sort.Search(len(levels), func(i int) bool { return !better(levels[i].Price, px) })
	found := i < len(levels) && levels[i].Price == px
	switch {
	case qty == 0 && found:
		return slices.Delete(levels, i, i+1)
	case qty == 0:
		return levels
	case found:
		levels[i].Quantity, levels[i].Orders = qty, n
		return levels
	case len(levels) >= levelsPerSideMax:
		*dropped++
		if i >= len(levels) {
			return levels
		}
		levels = levels[:len(levels)-1]
	}
	return slices.Insert(levels, i, Level{Price: px, Quantity: qty, Orders: n})
}

// Best returns the best price on a side and whether there is one.
func (b *Book) Best(side engine.Side) (int64, bool) {
	lv := b.Bids
	if side == engine.SideSell {
		lv = b.Asks
	}
	if len(lv) == 0 {
		return 0, false
	}
	return lv[0].Price, true
}

// Tick returns the instrument's tick size (1 if unknown).
func (b *Book) Tick() int64 {
	if b.Info.TickSize > 0 {
		return b.Info.TickSize
	}
	return 1
}

// Snapshot copies the top depth levels of each side.
func (b *Book) Snapshot(depth int) (bids, asks []Level) {
	return slices.Clone(b.Bids[:min(depth, len(b.Bids))]), slices.Clone(b.Asks[:min(depth, len(b.Asks))])
}

// Tape returns the prints in [from, to] still in the ring, oldest first,
// at most limit of them (evenly thinned).
func (b *Book) Tape(from, to int64, limit int) []Print {
	first := max(0, b.tapeN-tapeLen)
	var out []Print
	for i := first; i < b.tapeN; i++ {
		p := b.tape[i%tapeLen]
		if p.Time >= from && p.Time <= to {
			out = append(out, p)
		}
	}
	if len(out) <= limit || limit <= 0 {
		return out
	}
	thin := make([]Print, 0, limit)
	for i := range limit {
		thin = append(thin, out[i*len(out)/limit])
	}
	return thin
}
