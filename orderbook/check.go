package orderbook

import (
	"errors"
	"fmt"
)

// ErrInvariant marks a failed consistency check.
var ErrInvariant = errors.New("orderbook: invariant violated")

// Check walks the whole book and verifies its invariants: the book is not
// crossed; each side's btree with its pending levels, price table, level
// counters and cached best (the first non-empty level) agree; every level's total and count equal
// the sum over its queue, whose links are consistent; every queued order is
// in the order table at the slot a lookup of its id finds, and every order
// in the table is queued, with no slot held (see moveOrder). It is O(n)
// and meant for tests and debug checks.
func (b *Book) Check() error {
	queued := 0
	for s := range b.sides {
		n, err := b.checkSide(Side(s))
		if err != nil {
			return err
		}
		queued += n
	}
	if queued != b.live || int(b.indexed) != b.live {
		return fmt.Errorf("%w: %d queued orders, %d live, %d indexed", ErrInvariant, queued, b.live, b.indexed)
	}
	if err := b.checkOrderTable(); err != nil {
		return err
	}
	bid, okBid := b.Best(Buy)
	ask, okAsk := b.Best(Sell)
	if okBid && okAsk && bid.Price >= ask.Price {
		return fmt.Errorf("%w: crossed book, bid %d >= ask %d", ErrInvariant, bid.Price, ask.Price)
	}
	return nil
}

func (b *Book) checkSide(s Side) (int, error) {
	bs := &b.sides[s]
	queued, levels, active, overflow := 0, 0, int32(0), int32(0)
	best := nilIndex
	var err error
	bs.tree.Ascend(func(k levelKey) bool {
		if k.isSentinel() {
			return false
		}
		var n int
		n, err = b.checkLevel(s, k)
		levels++
		if !b.isWindowLevel(k.level) {
			overflow++
		}
		if n > 0 {
			active++
			if best == nilIndex {
				best = k.level
			}
		}
		queued += n
		return err == nil
	})
	if err != nil {
		return 0, err
	}
	// The walk stopped at the first sentinel; the count says no level came
	// after it, and the last key that the sentinels are all there.
	last, _ := bs.tree.Max()
	if bs.tree.Len() != levels+treeSentinels || last != (levelKey{key: sentinelKeyMin + treeSentinels - 1, level: nilIndex}) {
		return 0, fmt.Errorf("%w: %v tree has %d keys and ends with %+v, for %d levels and %d sentinels",
			ErrInvariant, s, bs.tree.Len(), last, levels, treeSentinels)
	}
	// Levels not yet in the tree: each is one of the side's levels, absent
	// from the tree, and may be the best.
	if bs.pending < 0 || bs.pending > pendingLevelsMax {
		return 0, fmt.Errorf("%w: %v has %d levels pending, more than %d", ErrInvariant, s, bs.pending, pendingLevelsMax)
	}
	for _, k := range b.pendingKeys[s][:bs.pending] {
		if k.isSentinel() || bs.tree.Has(k) {
			return 0, fmt.Errorf("%w: %v pending level %+v is a sentinel or already in the tree", ErrInvariant, s, k)
		}
		n, err := b.checkLevel(s, k)
		if err != nil {
			return 0, err
		}
		levels++
		if !b.isWindowLevel(k.level) {
			overflow++
		}
		if n > 0 {
			active++
			if best == nilIndex || k.key < sideKey(s, b.levels[best].price) {
				best = k.level
			}
		}
		queued += n
	}
	if levels != int(bs.active+bs.empty) {
		return 0, fmt.Errorf("%w: %v tree has %d levels, counters %d active %d empty",
			ErrInvariant, s, levels, bs.active, bs.empty)
	}
	if overflow != bs.overflow || overflow != bs.prices.count {
		return 0, fmt.Errorf("%w: %v has %d overflow levels (counter %d, price table %d)",
			ErrInvariant, s, overflow, bs.overflow, bs.prices.count)
	}
	if active != bs.active || best != bs.best || (best != nilIndex && b.levels[best].price != bs.bestPrice) {
		return 0, fmt.Errorf("%w: %v has %d non-empty levels (counter %d), best level %d (cached %d)",
			ErrInvariant, s, active, bs.active, best, bs.best)
	}
	return queued, nil
}

// checkLevel checks one level of the tree and returns its order count; an
// empty level kept for reuse has no orders and no quantity.
func (b *Book) checkLevel(s Side, k levelKey) (int, error) {
	lv := &b.levels[k.level]
	if lv.side != s || sideKey(s, lv.price) != k.key {
		return 0, fmt.Errorf("%w: level %d key %d does not match side %v price %d", ErrInvariant, k.level, k.key, lv.side, lv.price)
	}
	// The price table holds the overflow levels and only them.
	if li, ok := b.tableLevel(s, lv.price); ok != !b.isWindowLevel(k.level) || (ok && li != k.level) {
		return 0, fmt.Errorf("%w: %v price %d in price table %v, level %d", ErrInvariant, s, lv.price, ok, k.level)
	}
	if li, ok := b.lookupLevel(s, lv.price); !ok || li != k.level {
		return 0, fmt.Errorf("%w: %v price %d not found through its window", ErrInvariant, s, lv.price)
	}
	if b.isWindowLevel(k.level) != (k.level == b.windowLevel(s, lv.price)) {
		return 0, fmt.Errorf("%w: %v level %d at price %d is in another price's window slot", ErrInvariant, s, k.level, lv.price)
	}
	var total int64
	var count int32
	prev := nilIndex
	for oi := lv.head; oi != nilIndex; oi = b.links[oi].next {
		o := &b.orders[oi]
		if err := b.checkQueued(o, oi, k.level, prev); err != nil {
			return 0, err
		}
		total += o.open()
		count++
		prev = oi
	}
	if lv.tail != prev || count != lv.count || total != lv.total {
		return 0, fmt.Errorf("%w: %v level %d: count %d total %d, queue has %d orders and %d lots",
			ErrInvariant, s, lv.price, lv.count, lv.total, count, total)
	}
	return int(count), nil
}

func (b *Book) checkQueued(o *order, oi, li, prev int32) error {
	lv := &b.levels[li]
	if o.level != li || b.links[oi].prev != prev {
		return fmt.Errorf("%w: order %d links disagree with level %d", ErrInvariant, o.id, lv.price)
	}
	if o.open() <= 0 || !o.terms.tif.rests() {
		return fmt.Errorf("%w: order %d should not rest (qty %d filled %d tif %v)", ErrInvariant, o.id, o.qty(), o.filled, o.terms.tif)
	}
	if idx, ok := b.lookupOrder(o.id); !ok || idx != oi {
		return fmt.Errorf("%w: order %d not indexed at its slot", ErrInvariant, o.id)
	}
	return nil
}

// checkOrderTable verifies that the order table holds the live orders and
// nothing else: as many used slots as live orders, each queued, and no slot
// held between commands.
func (b *Book) checkOrderTable() error {
	used := 0
	for oi := range b.orders {
		o := &b.orders[oi]
		if !o.used {
			continue
		}
		used++
		if o.level == nilIndex {
			return fmt.Errorf("%w: order %d in the order table but not queued", ErrInvariant, o.id)
		}
	}
	if used != b.live || b.filledCount != 0 || b.cursor != nilIndex || b.kept != nilIndex {
		return fmt.Errorf("%w: %d orders in the order table, %d live, held slots: %d filled makers, cursor %d, kept %d",
			ErrInvariant, used, b.live, b.filledCount, b.cursor, b.kept)
	}
	return nil
}
