package orderbook

import "math/bits"

// The slab of orders is itself the order-id index: an open-addressing hash
// table of 32-byte order entries keyed by id (linear probing, Fibonacci
// hashing, backward-shift deletion), with each entry's queue links at the
// same index of Book.links. An order's slot is where its id hashes (or the
// first free slot after it), so finding an order by id is one load of the
// order itself, with its links loading beside it, where a separate index
// cost a load of the index slot first and then, depending on it, the
// order's: on the 100-instrument flow the books' data does not fit in the
// second-level cache, and each of those loads is a miss. A cancel then
// waits on two dependent misses (the order with its links, then its level
// and queue neighbours) instead of three.
//
// Backward-shift deletion moves entries: an order that moves takes its
// links along and its queue neighbours (or its level's head and tail) are
// pointed at its new slot (moveOrder). Code that holds a slot across a
// removal keeps it where moveOrder updates it: Book.cursor (the next order
// of a queue being walked), Book.kept (an order taken out of its queue to
// be requeued) and Book.filledMakers.
const (
	// ordersSlotsMin is the smallest order table, in entries.
	ordersSlotsMin = 16
	// The table grows when it would be more than ordersLoadNum/ordersLoadDen
	// full: linear probing stays short up to about 3/4.
	ordersLoadNum = 3
	ordersLoadDen = 4
)

// orderSlotsFor is the size of the order table for keys orders: a power
// of two no smaller than ordersSlotsMin that holds them within the load
// limit.
func orderSlotsFor(keys int) int {
	n := ordersSlotsMin
	for !orderSlotsFit(keys, n) {
		n <<= 1
	}
	return n
}

func orderSlotsFit(keys, slots int) bool { return keys*ordersLoadDen <= slots*ordersLoadNum }

// initOrders makes an empty order table of slots entries. It returns the
// blocks of the table it replaces, which the caller frees when it no longer
// reads them.
func (b *Book) initOrders(slots int) (oldOrders, oldLinks bigBlock) {
	b.orders, oldOrders = bigArray[order](b.mem, bigOrders, slots)
	b.links, oldLinks = bigArray[link](b.mem, bigLinks, slots)
	for i := range b.links {
		b.links[i] = link{prev: nilIndex, next: nilIndex}
	}
	b.ordersShift = uint8(64 - bits.TrailingZeros(uint(slots)))
	b.ordersMask = uint64(slots - 1)
	b.indexed = 0
	return oldOrders, oldLinks
}

// orderHome is the first slot to probe for id: the top bits of its
// Fibonacci hash, which spreads consecutive ids evenly.
func (b *Book) orderHome(id OrderID) uint64 {
	return (uint64(id) * fibonacciHash) >> (b.ordersShift & 63)
}

func (b *Book) nextSlot(i uint64) uint64 { return (i + 1) & b.ordersMask }

// lookupOrder returns the slot of live order id.
func (b *Book) lookupOrder(id OrderID) (oi int32, ok bool) {
	i := b.orderHome(id)
	for {
		o := &b.orders[i]
		if !o.used {
			return nilIndex, false
		}
		if o.id == id {
			return int32(i), true
		}
		i = b.nextSlot(i)
	}
}

// allocOrder takes the slot for incoming order in, whose id the table
// does not hold, and fills it in. The table grows (and allocates) only
// when it would pass its load limit.
func (b *Book) allocOrder(in *incoming) int32 {
	if !orderSlotsFit(int(b.indexed)+1, len(b.orders)) {
		b.growOrders()
	}
	i := b.orderHome(in.id)
	for b.orders[i].used {
		i = b.nextSlot(i)
	}
	b.orders[i].setFrom(in)
	b.indexed++
	return int32(i)
}

// freeOrderSlot empties slot oi, whose order is out of its queue. Later
// entries of its probe run shift back into the hole (moveOrder), so that
// lookups never need tombstones.
func (b *Book) freeOrderSlot(oi int32) {
	hole, j := uint64(oi), uint64(oi)
	for {
		j = b.nextSlot(j)
		o := &b.orders[j]
		if !o.used {
			break
		}
		// The entry may move into the hole only if the hole lies on its
		// probe path, that is between its home slot and j.
		if (j-b.orderHome(o.id))&b.ordersMask >= (j-hole)&b.ordersMask {
			b.moveOrder(int32(j), int32(hole))
			hole = j
		}
	}
	b.orders[hole] = order{}
	b.links[hole] = link{prev: nilIndex, next: nilIndex}
	b.indexed--
}

// moveOrder moves the entry at slot from, with its links, to the empty
// slot to, and points whatever refers to it at to: its queue neighbours or
// its level's head and tail if it is queued, and the book's registers of
// held slots.
func (b *Book) moveOrder(from, to int32) {
	o := &b.orders[to]
	*o = b.orders[from]
	l := b.links[from]
	b.links[to] = l
	if o.level != nilIndex {
		if l.prev == nilIndex {
			b.levels[o.level].head = to
		} else {
			b.links[l.prev].next = to
		}
		if l.next == nilIndex {
			b.levels[o.level].tail = to
		} else {
			b.links[l.next].prev = to
		}
	}
	if b.cursor == from {
		b.cursor = to
	}
	if b.kept == from {
		b.kept = to
	}
	for k := range b.filledMakers[:b.filledCount] {
		if b.filledMakers[k] == from {
			b.filledMakers[k] = to
		}
	}
}

// growOrders doubles the order table. Every entry moves, so the queues
// are relinked through a map from old slot to new. It runs only when an
// order is about to rest, when no slot is held elsewhere.
func (b *Book) growOrders() {
	assert(b.filledCount == 0 && b.cursor == nilIndex && b.kept == nilIndex, "growOrders: slots held")
	oldOrders, oldLinks := b.orders, b.links
	oldOrdersMem, oldLinksMem := b.initOrders(2 * len(oldOrders))
	defer freeBlock(oldOrdersMem)
	defer freeBlock(oldLinksMem)
	moved := make([]int32, len(oldOrders))
	for oi := range oldOrders {
		moved[oi] = nilIndex
		if !oldOrders[oi].used {
			continue
		}
		i := b.orderHome(oldOrders[oi].id)
		for b.orders[i].used {
			i = b.nextSlot(i)
		}
		b.orders[i] = oldOrders[oi]
		moved[oi] = int32(i)
		b.indexed++
	}
	remap := func(oi int32) int32 {
		if oi == nilIndex {
			return nilIndex
		}
		return moved[oi]
	}
	for oi, l := range oldLinks {
		if to := moved[oi]; to != nilIndex {
			b.links[to] = link{prev: remap(l.prev), next: remap(l.next)}
		}
	}
	for li := range b.levels {
		lv := &b.levels[li]
		if lv.count > 0 {
			lv.head, lv.tail = remap(lv.head), remap(lv.tail)
		}
	}
}
