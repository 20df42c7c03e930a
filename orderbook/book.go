package orderbook

import (
	"errors"
	"fmt"
	"math/bits"

	"github.com/google/btree"
)

// Config holds an instrument's parameters and the book's limits.
type Config struct {
	// TickSize is the price increment; limit prices must be multiples of
	// it. 0 means 1.
	TickSize int64
	// LotSize is the quantity increment; quantities must be multiples of
	// it. 0 means 1.
	LotSize int64
	// BandTicks is the half-width of the price band around the reference
	// price (see SetReference), in the same units as prices. 0 means no band.
	BandTicks int64
	// OrdersMax bounds the number of resting orders; a new order beyond it
	// is rejected with RejectBookFull. 0 means OrdersMaxDefault.
	OrdersMax int
	// OrdersHint is how many resting orders to make room for up front, so
	// that a book that never grows past it never allocates (as long as
	// neither side holds more than about 480 price levels).
	OrdersHint int
}

// Book limits and defaults.
const (
	// OrdersMaxDefault is Config.OrdersMax when it is left 0.
	OrdersMaxDefault = 1 << 24
	// ordersMaxLimit keeps order table slots inside int32 and, with QuantityMax,
	// level totals inside int64.
	ordersMaxLimit = 1 << 30
	// nilIndex marks "no order" and "no level".
	nilIndex int32 = -1
)

// Order is a new order request for Submit.
type Order struct {
	// ID must not be the id of a live resting order.
	ID      OrderID
	Account Account
	Side    Side
	Type    OrderType
	// TIF applies to limit orders. A market order never rests: with FOK it
	// fills in full or is rejected, with any other TIF it is IOC.
	TIF TimeInForce
	// PostOnly rejects the order if it would cross the opposite best, even
	// when self-trade prevention would have prevented the trade. Only a
	// limit GTC or DAY order may be post-only.
	PostOnly bool
	// STP decides what happens when the order meets a resting order of the
	// same account; it stays with the order while it rests (for amends).
	STP STPMode
	// Price in ticks; ignored for market orders.
	Price int64
	// Quantity in lots.
	Quantity int64
	// Tag is the caller's own number for the order, opaque to the book. It
	// stays with the order while it rests, an amend or replace included,
	// and comes back as Trade.MakerTag when the order trades as a maker,
	// so that the caller finds its record of the maker without a lookup by
	// id. It is not part of the snapshot or the digest (it says where the
	// caller keeps the order, not what the order is): a restored order's
	// tag is 0 until SetTag gives it one.
	Tag uint32
}

// OrderInfo describes a live order.
type OrderInfo struct {
	ID        OrderID
	Account   Account
	Side      Side
	TIF       TimeInForce
	PostOnly  bool
	STP       STPMode
	Price     int64
	Quantity  int64
	Filled    int64
	Remaining int64
	Tag       uint32 // see Order.Tag
}

// order is one entry of the order table (see orders.go): a resting order
// or a free slot. It is 32 bytes, so that two share a cache line and many
// books' orders fit in cache together: a resting order's side and price are
// its level's. Its place in its level's queue is kept apart, in Book.links.
type order struct {
	id      OrderID
	account Account
	level   int32 // index into Book.levels
	// qtyLess1 is the total quantity minus one, filled what has traded so
	// far. Quantities run from 1 to QuantityMax = 1<<32 and a resting order
	// has filled less than its total, so both fit 32 bits. Use qty, open
	// and fill rather than these fields.
	qtyLess1 uint32
	filled   uint32
	terms    terms
	// used marks a slot of the order table that holds an order (see
	// orders.go), in a byte that padded the entry anyway.
	used bool
	// tag is Order.Tag, in the bytes that padded the entry to 32 anyway.
	tag uint32
}

// setFrom makes o the order table entry of incoming order in as it rests. It
// writes field by field on purpose: building the entry as a value and
// copying it in reads back, 16 bytes at a time, what was just written a
// field at a time, which store forwarding cannot serve and which stalls.
func (o *order) setFrom(in *incoming) {
	o.id = in.id
	o.account = in.account
	o.level = nilIndex
	o.qtyLess1 = uint32(in.qty - 1)
	o.filled = uint32(in.filled)
	o.terms.tif = in.terms.tif
	o.terms.stp = in.terms.stp
	o.terms.postOnly = in.terms.postOnly
	o.used = true
	o.tag = in.tag
}

func (o *order) qty() int64  { return int64(o.qtyLess1) + 1 }
func (o *order) open() int64 { return o.qty() - int64(o.filled) }

// setQty sets the total quantity, which must be above the filled quantity.
func (o *order) setQty(qty int64) { o.qtyLess1 = uint32(qty - 1) }

// fill records q more lots filled; q must be below the open quantity (a
// filled order leaves the book instead, and 1<<32 filled would not fit).
func (o *order) fill(q int64) { o.filled += uint32(q) }

// terms are the instructions of an order that matching does not read.
type terms struct {
	tif      TimeInForce
	stp      STPMode
	postOnly bool
}

// link is an order's place in its level's queue, or in the free list (next
// only). Links live apart from the orders, 8 bytes per slot, because
// taking an order out of a queue writes its neighbours' links: in a dense
// array those are far more often in cache than the neighbours themselves.
type link struct {
	prev int32
	next int32
}

// incoming is an order being matched: a new order, or a resting order that
// an amend took out of its queue to requeue. Only what rests gets a slot
// in the order table, so an IOC or market order never touches it; a
// requeued order keeps its slot (keptSlot), so that resting again costs no
// table update.
type incoming struct {
	id       OrderID
	account  Account
	side     Side
	typ      OrderType
	terms    terms
	keptSlot int32 // nilIndex for a new order
	// restLevel1 is the level at price on side plus one, if the caller
	// looked it up already, or 0: rest looks it up then.
	restLevel1 int32
	price      int64
	qty        int64
	filled     int64
	tag        uint32 // Order.Tag; a requeued order's own
}

func (in *incoming) open() int64 { return in.qty - in.filled }

// crosses reports whether the order may trade with a level at price.
func (in *incoming) crosses(price int64) bool {
	if in.typ == Market {
		return true
	}
	if in.side == Buy {
		return price <= in.price
	}
	return price >= in.price
}

// level is one price level: a FIFO of orders linked through Book.links.
// A free level links the free list through head.
type level struct {
	price int64
	total int64 // sum of the open quantity of its orders
	count int32
	head  int32
	tail  int32
	side  Side
}

// bookSide is one side's levels.
type bookSide struct {
	// best is the first non-empty level (nilIndex if none) and bestPrice
	// its price, kept here so that checking whether an order crosses does
	// not touch the level.
	bestPrice int64
	best      int32
	active    int32 // non-empty levels
	empty     int32 // empty levels kept for reuse
	// overflow counts the side's levels outside its window (see
	// windowSlotsMin).
	overflow int32
	// pending counts the levels created since the tree was last settled,
	// whose keys are in Book.pendingKeys; see pendingLevelsMax.
	pending int32
	prices  table // price -> level index of the overflow levels
	tree    *btree.BTreeG[levelKey]
}

// sideKey maps a price to its btree key on side s.
func sideKey(s Side, price int64) int64 {
	if s == Buy {
		return -price
	}
	return price
}

// Book is one instrument's limit order book. It is not safe for concurrent
// use; drive it from one goroutine.
type Book struct {
	// Hot fields first, those every command reads at the front: most
	// commands touch only the first few cache lines of the struct, which
	// matters when many books share the cache.
	listener     Listener
	purgeDue     bool // a side holds too many empty levels
	hasReference bool
	ordersShift  uint8 // 64 - log2(len(orders)): see orderHome
	windowBits   uint8 // log2 of each side's window slots
	freeLevel    int32
	indexed      int32 // orders in the order table: live ones and held ones
	live         int
	ordersMask   uint64
	idMax        OrderID // no live order has a larger id
	reference    int64
	cfg          Config
	orders       []order // the order table, by id: see orders.go
	links        []link  // per order table slot, beside orders
	levels       []level
	sides        [2]bookSide
	// mem holds the memory of orders, links and levels (see bigmem.go).
	mem *bookMem
	// cursor and kept hold order table slots across removals, which move
	// entries (see moveOrder): the next order of a queue being walked, and
	// the order an amend is requeueing; nilIndex when unused.
	cursor int32
	kept   int32

	treeFree *btree.FreeListG[levelKey]
	// pendingKeys holds each side's levels not yet in its tree. It is
	// allocated apart, so that the book's hot fields stay few lines.
	pendingKeys *[2][pendingLevelsMax]levelKey

	// filledMakers are makers filled and out of their queue whose index
	// entries and slots wait for retireFilled.
	filledMakers [filledMakersMax]int32
	filledCount  int32

	// Reused by the iterating operations so that they do not allocate.
	scratch    []int32
	collectFn  func(levelKey) bool
	fok        fokState
	fokVisitFn func(levelKey) bool
	nextBestFn [2]func(levelKey) bool
	depth      depthState
	depthFn    func(levelKey) bool
	digestBuf  []byte
}

// New returns an empty book that reports to l (nil ignores events). It
// panics if cfg.Validate fails: check configuration that comes from input
// before calling New.
func New(cfg Config, l Listener) *Book {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	cfg = cfg.withDefaults()
	if l == nil {
		l = NopListener{}
	}
	b := &Book{cfg: cfg, listener: l}
	b.reset()
	b.bindVisitors()
	return b
}

// bindVisitors makes the btree visitors once, as method values bound to
// b, so that iterating does not allocate a closure per call.
func (b *Book) bindVisitors() {
	b.collectFn = b.collectLevel
	b.fokVisitFn = b.fokVisit
	b.depthFn = b.depthVisit
	b.nextBestFn[Buy] = func(k levelKey) bool { return b.nextBest(Buy, k) }
	b.nextBestFn[Sell] = func(k levelKey) bool { return b.nextBest(Sell, k) }
}

// ErrConfig marks an invalid Config.
var ErrConfig = errors.New("orderbook: invalid config")

// Validate reports whether c, with zero fields taking their defaults, can
// configure a book.
func (c Config) Validate() error {
	switch {
	case c.TickSize < 0 || c.LotSize < 0 || c.BandTicks < 0:
		return fmt.Errorf("%w: negative tick %d, lot %d or band %d", ErrConfig, c.TickSize, c.LotSize, c.BandTicks)
	case c.TickSize > PriceMax || c.LotSize > QuantityMax || c.BandTicks > PriceMax:
		return fmt.Errorf("%w: tick %d, lot %d or band %d too large", ErrConfig, c.TickSize, c.LotSize, c.BandTicks)
	case c.OrdersMax < 0 || c.OrdersMax > ordersMaxLimit:
		return fmt.Errorf("%w: OrdersMax %d outside 0..%d", ErrConfig, c.OrdersMax, ordersMaxLimit)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.TickSize == 0 {
		c.TickSize = 1
	}
	if c.LotSize == 0 {
		c.LotSize = 1
	}
	if c.OrdersMax == 0 {
		c.OrdersMax = OrdersMaxDefault
	}
	if c.OrdersHint < 0 || c.OrdersHint > c.OrdersMax {
		c.OrdersHint = 0
	}
	return c
}

// reset empties the book, keeping its configuration, and makes room for
// Config.OrdersHint resting orders: a book that stays within its hint
// never allocates (see levelsPerSidePrimedMax for the one exception).
func (b *Book) reset() {
	hint := b.cfg.OrdersHint
	b.mem = newBookMem()
	b.initOrders(orderSlotsFor(hint))
	b.cursor, b.kept = nilIndex, nilIndex
	b.filledCount = 0
	b.live = 0
	b.idMax = 0
	levels := levelsFor(hint)
	window := windowSlotsFor(hint)
	b.windowBits = uint8(bits.TrailingZeros(uint(window)))
	// The windows first, then room for as many overflow levels as the
	// book makes room for levels: all of them might be.
	b.levels = b.makeLevels(2*window, 2*window+levels)
	for li := range b.levels {
		b.levels[li] = level{price: freePrice, head: nilIndex, tail: nilIndex}
	}
	b.freeLevel = nilIndex
	b.scratch = make([]int32, 0, levels)
	b.treeFree = btree.NewFreeListG[levelKey](btreeFreeListNodes)
	b.pendingKeys = new([2][pendingLevelsMax]levelKey)
	trees := newLevelTrees(b.treeFree, levels)
	for s := range b.sides {
		// Either side may hold all the levels, as far as its tree allows.
		prices := newTable(min(levels, levelsPerSidePrimedMax))
		b.sides[s] = bookSide{tree: trees[s], prices: prices, best: nilIndex}
	}
	b.reference, b.hasReference = 0, false
}

// levelsFor is how many levels, resting and empty, to make room for in a
// book of ordersHint orders. A level holds at least one order or is one of
// the empty levels kept for reuse, which are about as many as the others
// plus emptyLevelsSlack per side; books seen in practice hold several orders
// per level, so one level per order plus the slack leaves room to spare.
func levelsFor(ordersHint int) int { return ordersHint + 2*emptyLevelsSlack + 2 }

// Config returns the book's configuration with defaults filled in.
func (b *Book) Config() Config { return b.cfg }

// SetListener replaces the listener (nil ignores events).
func (b *Book) SetListener(l Listener) {
	if l == nil {
		l = NopListener{}
	}
	b.listener = l
}

// SetReference sets the reference price the band is centred on. A price
// outside ±PriceMax is refused with RejectPriceOutOfRange (so band
// arithmetic cannot overflow) and changes nothing.
func (b *Book) SetReference(price int64) RejectReason {
	if price > PriceMax || price < -PriceMax {
		return RejectPriceOutOfRange
	}
	b.reference, b.hasReference = price, true
	return RejectNone
}

// ClearReference removes the reference price; no band applies until the next
// SetReference.
func (b *Book) ClearReference() { b.reference, b.hasReference = 0, false }

// Reference returns the reference price and whether one is set.
func (b *Book) Reference() (int64, bool) { return b.reference, b.hasReference }

// Len returns the number of resting orders.
func (b *Book) Len() int { return b.live }

// Levels returns the number of price levels on side s.
func (b *Book) Levels(s Side) int { return int(b.sides[s&1].active) }

// Best returns the best level of side s.
func (b *Book) Best(s Side) (Level, bool) {
	li := b.sides[s&1].best
	if li == nilIndex {
		return Level{}, false
	}
	return b.levelInfo(li), true
}

func (b *Book) levelInfo(li int32) Level {
	lv := &b.levels[li]
	return Level{Side: lv.side, Price: lv.price, Quantity: lv.total, Count: lv.count}
}

// Order returns a live resting order.
func (b *Book) Order(id OrderID) (OrderInfo, bool) {
	oi, ok := b.lookupOrder(id)
	if !ok {
		return OrderInfo{}, false
	}
	o, lv, t := &b.orders[oi], &b.levels[b.orders[oi].level], &b.orders[oi].terms
	return OrderInfo{
		ID: o.id, Account: o.account, Side: lv.side, TIF: t.tif, PostOnly: t.postOnly, STP: t.stp,
		Price: lv.price, Quantity: o.qty(), Filled: int64(o.filled), Remaining: o.open(), Tag: o.tag,
	}, true
}

// SetTag sets the tag (see Order.Tag) of live resting order id and reports
// whether there is one. A caller that restored the book from a snapshot,
// which holds no tags, uses it to tag the resting orders again.
func (b *Book) SetTag(id OrderID, tag uint32) bool {
	oi, ok := b.lookupOrder(id)
	if !ok {
		return false
	}
	b.orders[oi].tag = tag
	return true
}

// AppendDepth appends up to levelsMax levels of side s, best first, to dst.
// It allocates only if dst must grow.
func (b *Book) AppendDepth(dst []Level, s Side, levelsMax int) []Level {
	b.settleTree(s & 1)
	b.depth = depthState{dst: dst, left: levelsMax}
	b.sides[s&1].tree.Ascend(b.depthFn)
	dst = b.depth.dst
	b.depth = depthState{}
	return dst
}

// depthState carries AppendDepth's walk without a closure per call.
type depthState struct {
	dst  []Level
	left int
}

func (b *Book) depthVisit(k levelKey) bool {
	if b.depth.left <= 0 || k.isSentinel() {
		return false
	}
	if b.levels[k.level].count > 0 {
		b.depth.left--
		b.depth.dst = append(b.depth.dst, b.levelInfo(k.level))
	}
	return true
}

func assert(ok bool, msg string) {
	if !ok {
		panic("orderbook: assertion failed: " + msg)
	}
}
