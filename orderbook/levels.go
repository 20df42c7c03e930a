package orderbook

// levelAt returns the level for price on side s, creating it if needed.
// Adding to an existing level costs one hash lookup; only a new level
// touches the btree.
func (b *Book) levelAt(s Side, price int64) int32 {
	bs := &b.sides[s]
	if li, ok := bs.prices.get(uint64(price)); ok {
		return li
	}
	return b.createLevel(s, price)
}

func (b *Book) createLevel(s Side, price int64) int32 {
	li := b.freeLevel
	if li != nilIndex {
		b.freeLevel = b.levels[li].head
	} else {
		b.levels = append(b.levels, level{})
		li = int32(len(b.levels) - 1)
	}
	b.levels[li] = level{price: price, side: s, head: nilIndex, tail: nilIndex}
	bs := &b.sides[s]
	key := sideKey(s, price)
	_, replaced := bs.tree.ReplaceOrInsert(levelKey{key: key, level: li})
	assert(!replaced, "createLevel: level already in tree")
	bs.prices.put(uint64(price), li)
	if bs.best == nilIndex || key < sideKey(s, b.levels[bs.best].price) {
		bs.best = li
	}
	return li
}

// removeLevel drops an empty level from its side.
func (b *Book) removeLevel(li int32) {
	lv := &b.levels[li]
	assert(lv.count == 0 && lv.total == 0, "removeLevel: level not empty")
	s := lv.side
	bs := &b.sides[s]
	if bs.best == li {
		// The best level is the tree's minimum: DeleteMin needs no
		// comparisons, and the next minimum becomes the cached best.
		k, ok := bs.tree.DeleteMin()
		assert(ok && k.level == li, "removeLevel: best is not the tree minimum")
		bs.best = nilIndex
		if next, ok := bs.tree.Min(); ok {
			bs.best = next.level
		}
	} else {
		_, ok := bs.tree.Delete(levelKey{key: sideKey(s, lv.price)})
		assert(ok, "removeLevel: level missing from tree")
	}
	ok := bs.prices.del(uint64(lv.price))
	assert(ok, "removeLevel: level missing from price table")
	*lv = level{head: b.freeLevel}
	b.freeLevel = li
}

// appendOrder puts a resting order at the back of level li's queue.
func (b *Book) appendOrder(li, oi int32) {
	lv := &b.levels[li]
	o := &b.orders[oi]
	o.level = li
	o.next = nilIndex
	o.prev = lv.tail
	if lv.tail == nilIndex {
		lv.head = oi
	} else {
		b.orders[lv.tail].next = oi
	}
	lv.tail = oi
	lv.total += o.open()
	lv.count++
}

// unlinkOrder takes a resting order out of its level's queue; its open
// quantity leaves the level total. The level may be left empty.
func (b *Book) unlinkOrder(oi int32) int32 {
	o := &b.orders[oi]
	li := o.level
	lv := &b.levels[li]
	if o.prev == nilIndex {
		lv.head = o.next
	} else {
		b.orders[o.prev].next = o.next
	}
	if o.next == nilIndex {
		lv.tail = o.prev
	} else {
		b.orders[o.next].prev = o.prev
	}
	lv.total -= o.open()
	lv.count--
	o.level, o.prev, o.next = nilIndex, nilIndex, nilIndex
	return li
}

// removeResting takes a resting order out of the book and frees its slot;
// it returns the order's level, which the caller must settle with
// levelChanged.
func (b *Book) removeResting(oi int32) int32 {
	li := b.unlinkOrder(oi)
	ok := b.index.del(uint64(b.orders[oi].id))
	assert(ok, "removeResting: order missing from index")
	b.live--
	b.freeOrderSlot(oi)
	return li
}

// levelChanged reports level li's new state and removes it when empty.
func (b *Book) levelChanged(li int32) {
	lv := &b.levels[li]
	b.listener.OnLevel(Level{Side: lv.side, Price: lv.price, Quantity: lv.total, Count: lv.count})
	if lv.count == 0 {
		b.removeLevel(li)
	}
}

// rest puts order oi on its side of the book at the back of its price.
func (b *Book) rest(oi int32) {
	o := &b.orders[oi]
	li := b.levelAt(o.side, o.price)
	b.appendOrder(li, oi)
	b.indexOrder(oi)
	b.levelChanged(li)
}

// indexOrder adds resting order oi to the id index.
func (b *Book) indexOrder(oi int32) {
	id := b.orders[oi].id
	b.index.put(uint64(id), oi)
	b.idMax = max(b.idMax, id)
	b.live++
}
