package orderbook

// Levels are created on first use and, when they empty, stay in the btree
// (and their window slot or the price table) as empty levels for a while: prices near the top of the
// book empty and refill all the time, and reusing the level then costs a
// hash lookup instead of a btree delete and insert. Empty levels hold no
// orders, so they never show in matching, events, depth or snapshots; the
// cached best is always a non-empty level. When a side holds more than
// emptyLevelsSlack empty levels beyond its non-empty ones, the next command
// purges them all (amortised O(1) per level).
const emptyLevelsSlack = 64

// nextBestProbes is how many ticks behind an emptied best level findBest
// looks up (in the window, see windowSlotsMin) before it walks the btree.
const nextBestProbes = 8

// A new level goes into its window slot (or the price table) at once, but into the btree
// only later, with the other levels created since (settleTree): before
// anything walks the tree in price order (finding a best level beyond
// nextBestProbes, a purge, a sweep, FOK, depth, a snapshot), or when the
// side holds pendingLevelsMax of them. With one book per instrument a book
// is usually out of cache when its next command comes, and an insert then
// waits on a chain of misses down the tree: a few hundred nanoseconds on the
// 100-instrument flow, where it made most of the slowest 1% of commands.
// Batched, the later inserts find the path in cache, and the batch mostly
// rides on a walk that was going to be slow anyway; a purge drops the
// pending levels that emptied without inserting them at all. The keys wait
// in an array per side, so creating a level writes one line of it and no
// tree node. The bound keeps a batch to a few microseconds.
const pendingLevelsMax = 64

// Each side keeps a window of levels addressed by price: level index
// side*windowSlots + price mod windowSlots (Book.windowLevel). A new level
// takes its price's window slot when that is free, and any other level index
// only when a level at a price windowSlots ticks away holds the slot (an
// overflow level). Prices cluster around a mid that wanders a few hundred
// ticks, so nearly every level sits in its slot, and finding the level of a
// price is one load of the level itself, where the price table costs a load
// of its slot first and then the level's; the prices near the top of the
// book, which most commands touch, also share the window's lines, two
// levels a line, with no slot lines beside them. Only the overflow levels
// are in the price table, which a lookup reads only when the window slot
// holds another price and the side has overflow levels: a level in its
// window slot never touches the table, so creating or dropping one costs no
// table probe (on the 100-instrument flow, where the tables are out of
// cache, a miss on the chain of 1.6% of commands, two fifths of the
// slowest 1%). A window slot that holds no level
// has price freePrice, which no price and no findBest probe can equal.
const (
	// windowSlotsMin and windowSlotsMax bound a side's window, in levels of
	// 32 bytes: from 2 KiB to 32 KiB a side.
	windowSlotsMin = 64
	windowSlotsMax = 1024
	// freePrice marks a window slot without a level: below -PriceMax and
	// any price findBest probes.
	freePrice int64 = -1 << 63
)

// windowSlotsFor is the size of each side's window in a book of
// ordersHint orders: a power of two near half the levels the book makes
// room for, within windowSlotsMin..windowSlotsMax.
func windowSlotsFor(ordersHint int) int {
	n := windowSlotsMin
	for n < levelsFor(ordersHint)/2 && n < windowSlotsMax {
		n <<= 1
	}
	return n
}

// makeLevels makes the book's levels, n of capacity, and frees those they
// replace, if any.
func (b *Book) makeLevels(n, capacity int) []level {
	levels, old := bigArray[level](b.mem, bigLevels, capacity)
	freeBlock(old)
	return levels[:n]
}

// appendLevel adds a level at the end of the levels, doubling them (in a
// new block, see bigmem.go) when they are full, and returns its index.
func (b *Book) appendLevel() int32 {
	n := len(b.levels)
	if n == cap(b.levels) {
		levels, old := bigArray[level](b.mem, bigLevels, 2*n)
		copy(levels, b.levels)
		b.levels = levels[:n]
		freeBlock(old)
	}
	b.levels = b.levels[:n+1]
	b.levels[n] = level{}
	return int32(n)
}

// windowLevel returns the index of price's window slot on side s.
func (b *Book) windowLevel(s Side, price int64) int32 {
	return int32(uint64(s)<<b.windowBits | uint64(price)&(1<<b.windowBits-1))
}

// isWindowLevel reports whether level li is a window slot (not an
// overflow level).
func (b *Book) isWindowLevel(li int32) bool { return li < 2<<b.windowBits }

// levelAt returns the level for price on side s, creating it (empty) if
// needed. Orders arrive most often at the best price, whose level is
// cached, so that case skips the lookup.
func (b *Book) levelAt(s Side, price int64) int32 {
	bs := &b.sides[s]
	if bs.best != nilIndex && bs.bestPrice == price {
		return bs.best
	}
	if li, ok := b.lookupLevel(s, price); ok {
		return li
	}
	return b.createLevel(s, price)
}

// lookupLevel returns the level of price on side s, if there is one: the
// window slot of price, or, if another price holds it and the side has
// overflow levels, the price table's.
func (b *Book) lookupLevel(s Side, price int64) (int32, bool) {
	li := b.windowLevel(s, price)
	if b.levels[li].price == price {
		return li, true
	}
	if b.sides[s].overflow == 0 {
		return nilIndex, false
	}
	return b.tableLevel(s, price)
}

// tableLevel returns the level of price on side s from the price table,
// if there is one. The table holds only a tag of each price; a tag that
// matches is confirmed against the level, which the caller reads next
// anyway.
func (b *Book) tableLevel(s Side, price int64) (int32, bool) {
	t := &b.sides[s].prices
	tag := groupTag(uint64(price))
	i := t.home(tag)
	for {
		sl := t.slots[i]
		if sl.val1 == 0 {
			return nilIndex, false
		}
		if sl.tag == tag && b.levels[sl.val1-1].price == price {
			return sl.val1 - 1, true
		}
		i = t.next(i)
	}
}

// createLevel makes an empty level for price on side s, which has none,
// in price's window slot if that is free and as an overflow level if not.
func (b *Book) createLevel(s Side, price int64) int32 {
	bs := &b.sides[s]
	li := b.windowLevel(s, price)
	if b.levels[li].price != freePrice {
		li = b.freeLevel
		if li != nilIndex {
			b.freeLevel = b.levels[li].head
		} else {
			li = b.appendLevel()
		}
		bs.overflow++
	}
	b.levels[li] = level{price: price, side: s, head: nilIndex, tail: nilIndex}
	if !b.isWindowLevel(li) {
		bs.prices.put(groupTag(uint64(price)), li)
	}
	if bs.pending == pendingLevelsMax {
		b.settleTree(s)
	}
	b.pendingKeys[s][bs.pending] = levelKey{key: sideKey(s, price), level: li}
	bs.pending++
	bs.empty++
	return li
}

// settleTree inserts side s's pending levels (see pendingLevelsMax) into
// its btree. Everything that walks the tree calls it first, and never
// while a walk is under way.
func (b *Book) settleTree(s Side) {
	bs := &b.sides[s]
	for _, k := range b.pendingKeys[s][:bs.pending] {
		_, replaced := bs.tree.ReplaceOrInsert(k)
		assert(!replaced, "settleTree: level already in tree")
	}
	bs.pending = 0
}

// activate is called when level li gets its first order.
func (b *Book) activate(li int32) {
	lv := &b.levels[li]
	bs := &b.sides[lv.side]
	bs.empty--
	bs.active++
	if bs.best == nilIndex || sideKey(lv.side, lv.price) < sideKey(lv.side, bs.bestPrice) {
		bs.best, bs.bestPrice = li, lv.price
	}
}

// deactivate is called when level li loses its last order. If it was the
// best, the next non-empty level becomes the best.
func (b *Book) deactivate(li int32) {
	lv := &b.levels[li]
	bs := &b.sides[lv.side]
	bs.empty++
	bs.active--
	if bs.empty > bs.active+emptyLevelsSlack {
		b.purgeDue = true
	}
	if bs.best != li {
		return
	}
	bs.best = nilIndex
	if bs.active > 0 {
		b.findBest(lv.side, lv.price)
	}
}

// findBest makes the first non-empty level of side s behind price, the
// old best, the best. The next level is nearly always a tick or two away
// (and kept even while empty), so a few lookups, mostly one load each in
// the window, find it for a fraction of a btree walk; the walk is the
// fallback.
func (b *Book) findBest(s Side, price int64) {
	step := b.cfg.TickSize
	if s == Buy {
		step = -step
	}
	for range nextBestProbes {
		price += step // at most PriceMax + nextBestProbes*PriceMax: no overflow
		if li, ok := b.lookupLevel(s, price); ok && b.levels[li].count > 0 {
			b.sides[s].best, b.sides[s].bestPrice = li, price
			return
		}
	}
	b.settleTree(s)
	b.sides[s].tree.AscendGreaterOrEqual(levelKey{key: sideKey(s, price)}, b.nextBestFn[s])
}

// nextBest is the btree visitor that finds side s's first non-empty level.
func (b *Book) nextBest(s Side, k levelKey) bool {
	if k.isSentinel() {
		return false
	}
	if b.levels[k.level].count == 0 {
		return true
	}
	b.sides[s].best, b.sides[s].bestPrice = k.level, b.levels[k.level].price
	return false
}

// purgeEmptyLevels removes every empty level of a side that holds too many.
// Commands call it first thing when purgeDue is set, so it never runs while
// a list of levels is being walked.
func (b *Book) purgeEmptyLevels() {
	b.purgeDue = false
	for s := range b.sides {
		bs := &b.sides[s]
		if bs.empty <= bs.active+emptyLevelsSlack {
			continue
		}
		b.dropEmptyPending(Side(s))
		b.settleTree(Side(s))
		b.scratch = b.scratch[:0]
		bs.tree.Ascend(b.collectFn)
		for _, li := range b.scratch {
			if b.levels[li].count == 0 {
				b.removeLevel(li)
			}
		}
		b.scratch = b.scratch[:0]
	}
}

// dropEmptyPending drops the empty levels among side s's pending levels,
// which never have to enter the tree then, and keeps the others in order.
func (b *Book) dropEmptyPending(s Side) {
	bs := &b.sides[s]
	keys := b.pendingKeys[s][:bs.pending]
	kept := 0
	for _, k := range keys {
		if b.levels[k.level].count == 0 {
			b.dropLevel(k.level)
			continue
		}
		keys[kept] = k
		kept++
	}
	bs.pending = int32(kept)
}

// removeLevel drops an empty level from its side's tree and then from the
// side.
func (b *Book) removeLevel(li int32) {
	lv := &b.levels[li]
	_, ok := b.sides[lv.side].tree.Delete(levelKey{key: sideKey(lv.side, lv.price)})
	assert(ok, "removeLevel: level missing from tree")
	b.dropLevel(li)
}

// dropLevel frees empty level li, which is in neither its side's tree nor
// its pending levels any more (and in its price table if an overflow
// level).
func (b *Book) dropLevel(li int32) {
	lv := &b.levels[li]
	assert(lv.count == 0 && lv.total == 0, "dropLevel: level not empty")
	bs := &b.sides[lv.side]
	assert(bs.best != li, "dropLevel: dropping the best level")
	bs.empty--
	if b.isWindowLevel(li) {
		*lv = level{price: freePrice, head: nilIndex, tail: nilIndex}
		return
	}
	b.unindexLevel(li)
	bs.overflow--
	*lv = level{head: b.freeLevel}
	b.freeLevel = li
}

// unindexLevel removes overflow level li from its side's price table.
func (b *Book) unindexLevel(li int32) {
	lv := &b.levels[li]
	t := &b.sides[lv.side].prices
	i := t.home(groupTag(uint64(lv.price)))
	for t.slots[i].val1 != li+1 {
		assert(t.slots[i].val1 != 0, "unindexLevel: level missing from price table")
		i = t.next(i)
	}
	t.delAt(i)
}

// appendOrder puts a resting order at the back of level li's queue.
func (b *Book) appendOrder(li, oi int32) {
	lv := &b.levels[li]
	o := &b.orders[oi]
	o.level = li
	b.links[oi] = link{prev: lv.tail, next: nilIndex}
	if lv.tail == nilIndex {
		lv.head = oi
	} else {
		b.links[lv.tail].next = oi
	}
	lv.tail = oi
	lv.total += o.open()
	lv.count++
	if lv.count == 1 {
		b.activate(li)
	}
}

// unlinkOrder takes a resting order out of its level's queue; its open
// quantity leaves the level total. The level may be left empty.
func (b *Book) unlinkOrder(oi int32) int32 {
	o := &b.orders[oi]
	l := b.links[oi]
	li := o.level
	lv := &b.levels[li]
	if l.prev == nilIndex {
		lv.head = l.next
	} else {
		b.links[l.prev].next = l.next
	}
	if l.next == nilIndex {
		lv.tail = l.prev
	} else {
		b.links[l.next].prev = l.prev
	}
	lv.total -= o.open()
	lv.count--
	o.level = nilIndex
	b.links[oi] = link{prev: nilIndex, next: nilIndex}
	return li
}

// removeResting takes a resting order out of the book and frees its slot
// (which may move other orders: see moveOrder); it returns the order's
// level, which the caller must settle with levelChanged.
func (b *Book) removeResting(oi int32) int32 {
	li := b.unlinkOrder(oi)
	b.live--
	b.freeOrderSlot(oi)
	return li
}

// levelChanged reports level li's new state and retires it when empty.
func (b *Book) levelChanged(li int32) {
	lv := &b.levels[li]
	b.listener.OnLevel(Level{Side: lv.side, Price: lv.price, Quantity: lv.total, Count: lv.count})
	if lv.count == 0 {
		b.deactivate(li)
	}
}

// rest puts incoming order in on its side of the book at the back of its
// price.
func (b *Book) rest(in *incoming) {
	li := in.restLevel1 - 1
	if li == nilIndex {
		li = b.levelAt(in.side, in.price)
	}
	oi := in.keptSlot
	if oi == nilIndex {
		oi = b.allocOrder(in)
		b.indexOrder(oi)
	} else {
		b.orders[oi].setFrom(in) // its slot, kept
		b.live++
	}
	b.appendOrder(li, oi)
	b.levelChanged(li)
}

// indexOrder counts new resting order oi, which allocOrder put in the
// order table, as live.
func (b *Book) indexOrder(oi int32) {
	b.idMax = max(b.idMax, b.orders[oi].id)
	b.live++
}
