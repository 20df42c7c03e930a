package orderbook

import "unsafe"

// A caller that holds a queue of commands (a batch of committed log
// entries, a replay file) can tell a book about a command a few commands
// before applying it, so that the cache misses the command will take are
// under way while the commands before it run. With one book per instrument a
// book is mostly out of cache when its next command comes, and each command
// follows a chain of dependent loads (the order at its id's slot in the
// order table, then its level; or the best level, then its first maker), each a miss
// that the processor cannot start before the previous one is back. Prefetch
// walks the first two links of that chain, one per stage: the caller hints
// a command with PrefetchFar a few commands ahead and with PrefetchNear a
// command or two later; the second stage reads what the first prefetched
// (by then in cache) and prefetches what it points at.
//
// A third stage, one command ahead, reaching for the cancelled order's
// level and queue neighbours, a taker's second maker and the last order of
// the level an order joins, was measured on the 100-instrument flow and
// left out: the work of issuing it raised the median command by 30-40 ns
// and took the 99th percentile no lower.
//
// Prefetch only reads the book and changes nothing, so it does not touch
// determinism: a book given any hints, or none, or hints for commands that
// never come, produces the same events. Hints can be stale (the commands in
// between change the book); a stale hint only prefetches a line in vain.

// Prefetch stages, in the order a caller uses them for one command.
const (
	// PrefetchFar prefetches what the book's own fields locate: the order
	// table slot of the id with its links, the window level (or price
	// table slot), the best levels.
	PrefetchFar = 0
	// PrefetchNear reads those and prefetches what they point at: the
	// order's level, the opposite best level's first maker and, for a
	// taker of the whole best level, the window levels behind it.
	PrefetchNear = 1
	// PrefetchStages is the number of stages.
	PrefetchStages = 2
)

// Upcoming describes a command for Prefetch: Op and ID always; for
// OpSubmit also Side, Type, Price and Quantity; for OpAmend (an Amend or a
// Replace) also Side (the live order's), Price (the new price) and
// Quantity. A hint that does not
// match the command that comes is harmless.
type Upcoming struct {
	Op   Op
	Side Side
	Type OrderType
	// TIF is a new order's time in force: one that may not rest (IOC,
	// FOK) is not hinted for resting.
	TIF   TimeInForce
	ID    OrderID
	Price int64
	// Quantity is the order's quantity (OpSubmit) or new open quantity
	// (OpAmend): one that takes the whole opposite best level makes the
	// hint reach for the levels behind it too.
	Quantity int64
}

// Prefetch starts loading the memory that command u will read, one stage
// of the chain at a time (see PrefetchFar). It reads the book, never
// changes it, and returns without waiting for memory beyond what the
// earlier stage fetched; an unknown stage does nothing.
func (b *Book) Prefetch(u *Upcoming, stage int) {
	switch u.Op {
	case OpCancel:
		b.prefetchOrder(u.ID, stage)
	case OpAmend:
		b.prefetchOrder(u.ID, stage)
		b.prefetchOpposite(u, stage)
		b.prefetchRest(u.Side&1, u.Price, stage)
	case OpSubmit:
		b.prefetchOpposite(u, stage)
		if u.Type == Limit && u.TIF.rests() {
			b.prefetchRest(u.Side&1, u.Price, stage)
			if stage == PrefetchFar {
				b.prefetchNewOrder(u.ID)
			}
		}
	}
}

// prefetchOrder walks the chain a cancel or amend of id follows: the
// order's home slot in the order table with its links, then the order's
// level.
func (b *Book) prefetchOrder(id OrderID, stage int) {
	i := b.orderHome(id)
	switch stage {
	case PrefetchFar:
		prefetch2(unsafe.Pointer(&b.orders[i]), unsafe.Pointer(&b.links[i]))
	case PrefetchNear:
		for range prefetchProbesMax {
			o := &b.orders[i]
			if !o.used {
				return
			}
			if o.id == id {
				if o.level != nilIndex {
					prefetch(unsafe.Pointer(&b.levels[o.level]))
				}
				return
			}
			i = b.nextSlot(i)
		}
	}
}

// prefetchProbesMax bounds the slots PrefetchNear reads in a table; a
// longer probe run is left to the command itself.
const prefetchProbesMax = 8

// firstTagged returns the value (val1-1) of the first slot with tag in the
// probe run from home i, reading at most prefetchProbesMax slots; a tag
// match is a likely hit, good enough for a hint.
func (t *table) firstTagged(tag uint32, i uint64) (int32, bool) {
	for range prefetchProbesMax {
		s := t.slots[i]
		if s.val1 == 0 {
			return 0, false
		}
		if s.tag == tag {
			return s.val1 - 1, true
		}
		i = t.next(i)
	}
	return 0, false
}

// prefetchOpposite walks the chain matching u on the opposite side
// follows: its best level, then the level's first maker and, for an order
// that takes the whole level, the window levels behind it, which the
// next best level comes from.
func (b *Book) prefetchOpposite(u *Upcoming, stage int) {
	opp := &b.sides[(u.Side & 1).opposite()]
	li := opp.best
	if li == nilIndex {
		return
	}
	in := incoming{side: u.Side & 1, typ: u.Type, price: u.Price}
	if !in.crosses(opp.bestPrice) {
		return
	}
	switch stage {
	case PrefetchFar:
		prefetch(unsafe.Pointer(&b.levels[li]))
	case PrefetchNear:
		lv := &b.levels[li]
		if h := lv.head; h != nilIndex {
			prefetch2(unsafe.Pointer(&b.orders[h]), unsafe.Pointer(&b.links[h]))
		}
		if u.Quantity >= lv.total {
			b.prefetchBehind(lv.side, lv.price)
		}
	}
}

// prefetchBehind prefetches the window levels of the prices just behind
// price on side s, where findBest looks for the next best level when the
// level at price empties.
func (b *Book) prefetchBehind(s Side, price int64) {
	step := b.cfg.TickSize
	if s == Buy {
		step = -step
	}
	// Neighbouring prices' window levels share lines, so the first and
	// the last of the prices fetch them all (with a tick of 1: a wider
	// tick spreads them, and only those two load). At most PriceMax +
	// prefetchBehindPrices * PriceMax: no overflow.
	first := b.windowLevel(s, price+step)
	last := b.windowLevel(s, price+prefetchBehindPrices*step)
	prefetch2(unsafe.Pointer(&b.levels[first]), unsafe.Pointer(&b.levels[last]))
}

// prefetchBehindPrices is how many prices behind an emptied best level
// prefetchBehind reaches for: the next best is nearly always within a few
// ticks (see nextBestProbes). Four levels of 32 bytes span two lines at
// most.
const prefetchBehindPrices = 4

// prefetchRest walks the chain resting at price on side s follows: the
// level, found in the window (or the best level, if price is the best),
// or, where another price holds the window slot and the side has overflow
// levels, the price table slot and then the level.
func (b *Book) prefetchRest(s Side, price int64, stage int) {
	bs := &b.sides[s]
	if bs.best != nilIndex && bs.bestPrice == price {
		if stage == PrefetchFar {
			prefetch(unsafe.Pointer(&b.levels[bs.best]))
		}
		return
	}
	if price > PriceMax || price < -PriceMax {
		return
	}
	li := b.windowLevel(s, price)
	t := &bs.prices
	tag := groupTag(uint64(price))
	i := t.home(tag)
	switch stage {
	case PrefetchFar:
		if bs.overflow == 0 {
			prefetch(unsafe.Pointer(&b.levels[li]))
		} else {
			prefetch2(unsafe.Pointer(&b.levels[li]), unsafe.Pointer(&t.slots[i]))
		}
	case PrefetchNear:
		if bs.overflow == 0 || b.levels[li].price == price {
			return
		}
		if v, ok := t.firstTagged(tag, i); ok {
			prefetch(unsafe.Pointer(&b.levels[v]))
		}
	}
}

// prefetchNewOrder prefetches the order table slot, and its links, that
// a new order id takes if it rests.
func (b *Book) prefetchNewOrder(id OrderID) { b.prefetchResting(id) }
