package orderbook

import (
	"errors"
	"fmt"

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
	// that a book that never grows past it never allocates.
	OrdersHint int
}

// Book limits and defaults.
const (
	// OrdersMaxDefault is Config.OrdersMax when it is left 0.
	OrdersMaxDefault = 1 << 24
	// ordersMaxLimit keeps slab indexes inside int32 and, with QuantityMax,
	// level totals inside int64.
	ordersMaxLimit = 1 << 30
	// btreeDegree is the google/btree degree of the level trees; nodes hold
	// up to 2*degree-1 keys of 16 bytes, a few cache lines.
	btreeDegree = 16
	// btreeFreeListNodes bounds the nodes each book keeps for reuse, so that
	// creating and removing levels does not allocate.
	btreeFreeListNodes = 256
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
}

// order is one slab entry: a live resting order, an incoming order being
// matched, or a free slot (then next links the free list).
type order struct {
	id       OrderID
	price    int64
	qty      int64 // total quantity
	filled   int64
	account  Account
	level    int32 // index into Book.levels while resting
	prev     int32
	next     int32
	side     Side
	tif      TimeInForce
	typ      OrderType
	postOnly bool
	stp      STPMode
	_        [11]byte // pad to 64 bytes: one cache line per order
}

func (o *order) open() int64 { return o.qty - o.filled }

// crosses reports whether the order may trade with a level at price.
func (o *order) crosses(price int64) bool {
	if o.typ == Market {
		return true
	}
	if o.side == Buy {
		return price <= o.price
	}
	return price >= o.price
}

// level is one price level: a FIFO of orders linked through order.prev/next.
// A free level links the free list through head.
type level struct {
	price int64
	total int64 // sum of the open quantity of its orders
	count int32
	head  int32
	tail  int32
	side  Side
}

// levelKey is what the btree stores. key orders levels best first: the
// price for asks and the negated price for bids, so ascending order is
// priority order.
type levelKey struct {
	key   int64
	level int32
}

func lessLevelKey(a, b levelKey) bool { return a.key < b.key }

// bookSide is one side's levels.
type bookSide struct {
	tree   *btree.BTreeG[levelKey]
	prices table // price -> level index
	// best is the first non-empty level (nilIndex if none) and bestPrice
	// its price, kept here so that checking whether an order crosses does
	// not touch the level.
	best      int32
	bestPrice int64
	active    int32 // non-empty levels
	empty     int32 // empty levels kept for reuse
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
	// Hot fields first: most commands touch only the first few cache
	// lines of the struct, which matters when many books share the cache.
	listener  Listener
	orders    []order
	levels    []level
	freeOrder int32
	freeLevel int32
	live      int
	idMax     OrderID // no live order has a larger id
	purgeDue  bool    // a side holds too many empty levels
	index     table   // order id -> slab index of resting orders
	sides     [2]bookSide

	cfg          Config
	reference    int64
	hasReference bool

	treeFree *btree.FreeListG[levelKey]

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

// reset empties the book, keeping its configuration.
func (b *Book) reset() {
	hint := b.cfg.OrdersHint
	b.orders = make([]order, 0, hint+1)
	b.freeOrder = nilIndex
	b.live = 0
	b.idMax = 0
	b.index = newTable(hint)
	// Room for the levels of hint orders plus the empty levels kept for
	// reuse, so that a book that stays near its hint does not grow them.
	levelsHint := hint/4 + 2*emptyLevelsSlack
	b.levels = make([]level, 0, levelsHint)
	b.freeLevel = nilIndex
	b.treeFree = btree.NewFreeListG[levelKey](btreeFreeListNodes)
	for s := range b.sides {
		b.sides[s] = bookSide{
			tree:   btree.NewWithFreeListG(btreeDegree, lessLevelKey, b.treeFree),
			prices: newTable(levelsHint / 2),
			best:   nilIndex,
		}
	}
	b.reference, b.hasReference = 0, false
}

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
	oi, ok := b.index.get(uint64(id))
	if !ok {
		return OrderInfo{}, false
	}
	o := &b.orders[oi]
	return OrderInfo{
		ID: o.id, Account: o.account, Side: o.side, TIF: o.tif, PostOnly: o.postOnly, STP: o.stp,
		Price: o.price, Quantity: o.qty, Filled: o.filled, Remaining: o.open(),
	}, true
}

// AppendDepth appends up to levelsMax levels of side s, best first, to dst.
// It allocates only if dst must grow.
func (b *Book) AppendDepth(dst []Level, s Side, levelsMax int) []Level {
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
	if b.depth.left <= 0 {
		return false
	}
	if b.levels[k.level].count > 0 {
		b.depth.left--
		b.depth.dst = append(b.depth.dst, b.levelInfo(k.level))
	}
	return true
}

// allocOrder returns a free slab slot. The slab only grows when every slot
// is in use, so a book at a steady size never allocates.
func (b *Book) allocOrder() int32 {
	if oi := b.freeOrder; oi != nilIndex {
		b.freeOrder = b.orders[oi].next
		return oi
	}
	b.orders = append(b.orders, order{})
	return int32(len(b.orders) - 1)
}

func (b *Book) freeOrderSlot(oi int32) {
	b.orders[oi] = order{next: b.freeOrder, level: nilIndex, prev: nilIndex}
	b.freeOrder = oi
}

func assert(ok bool, msg string) {
	if !ok {
		panic("orderbook: assertion failed: " + msg)
	}
}
