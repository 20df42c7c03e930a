package orderbook

import "unsafe"

// match trades incoming order in against the opposite side, best level
// first, until it is filled, the book no longer crosses its price, or
// self-trade prevention stops it (then it returns true).
func (b *Book) match(in *incoming) (stopped bool) {
	opp := &b.sides[in.side.opposite()]
	for in.open() > 0 {
		li := opp.best
		if li == nilIndex || !in.crosses(opp.bestPrice) {
			return false
		}
		if b.matchLevel(in, li) {
			return true
		}
	}
	return false
}

// matchLevel trades incoming order in against level li's queue in time
// order, reports the level once afterwards and retires it if emptied. The
// order table does not grow while matching, so the pointers stay valid.
func (b *Book) matchLevel(in *incoming, li int32) (stopped bool) {
	lv := &b.levels[li]
	if in.open() >= lv.total {
		// The level will empty (unless self-trade prevention stops the
		// taker first), and findBest then probes the prices behind it:
		// their lines load while the makers are filled.
		b.prefetchBehind(lv.side, lv.price)
	}
	touched := false
	for mi := lv.head; mi != nilIndex && in.open() > 0; {
		m := &b.orders[mi]
		next := b.links[mi].next
		if next != nilIndex {
			// The next maker's lines load while this one's trade is
			// reported.
			prefetch2(unsafe.Pointer(&b.orders[next]), unsafe.Pointer(&b.links[next]))
		}
		if in.terms.stp != STPOff && m.account == in.account {
			if in.terms.stp != STPCancelIncoming {
				// Removing the maker may move the next one (see moveOrder).
				b.cursor = next
				b.cancelResting(mi, CancelSelfTrade)
				next, b.cursor = b.cursor, nilIndex
				touched = true
			}
			if in.terms.stp != STPCancelResting {
				stopped = true
				break
			}
			mi = next
			continue
		}
		b.cursor = next
		b.fill(in, m, mi, lv)
		next, b.cursor = b.cursor, nilIndex
		touched = true
		mi = next
	}
	b.retireFilled()
	// A level left untouched (the first order met was the taker's own and
	// only the taker is cancelled) did not change, so it is not reported.
	if touched {
		b.levelChanged(li)
	}
	return stopped
}

// fill trades the largest possible quantity between incoming order in and
// maker m (order table slot mi, on level lv). A filled maker leaves its queue at
// once and the order table with the next retireFilled.
func (b *Book) fill(in *incoming, m *order, mi int32, lv *level) {
	q := min(in.open(), m.open())
	in.filled += q
	makerLeft := m.open() - q
	b.listener.OnTrade(Trade{
		Maker: m.id, Taker: in.id, MakerAccount: m.account, TakerAccount: in.account,
		TakerSide: in.side, Price: lv.price, Quantity: q,
		MakerRemaining: makerLeft, TakerRemaining: in.open(), MakerTag: m.tag,
	})
	if makerLeft == 0 {
		b.unlinkOrder(mi) // takes its open quantity, q, off the level
		b.live--
		// Into the batch before a full batch is retired: retiring moves
		// entries, this maker's too, and moveOrder keeps the batch's slots
		// up to date, not mi.
		b.filledMakers[b.filledCount] = mi
		b.filledCount++
		if b.filledCount == filledMakersMax {
			b.retireFilled()
		}
		return
	}
	m.fill(q)
	lv.total -= q
}

// Makers that a match fills leave their queue at once, but the order table
// only when matchLevel is done with the level, a batch at a time
// (retireFilled), so that the walk down the queue does not wait on the
// entries that freeing a slot shifts back. Nothing looks orders up or
// takes a slot in between, and the entries stay valid: the slots keep their
// orders' ids until retired (moveOrder keeps filledMakers up to date).
// filledMakersMax bounds the batch (and the Book's array).
const filledMakersMax = 16

// retireFilled frees the slots of the makers filled since the last call.
// It takes them from the back, so that those still to free are the ones
// moveOrder keeps up to date.
func (b *Book) retireFilled() {
	for b.filledCount > 0 {
		b.filledCount--
		b.freeOrderSlot(b.filledMakers[b.filledCount])
	}
}

// cancelResting reports and removes resting order oi, leaving its level
// for the caller to settle.
func (b *Book) cancelResting(oi int32, reason CancelReason) int32 {
	o := &b.orders[oi]
	lv := &b.levels[o.level]
	b.listener.OnCancelled(Cancelled{
		ID: o.id, Account: o.account, Side: lv.side, Price: lv.price, Remaining: o.open(), Reason: reason,
	})
	return b.removeResting(oi)
}

// fokState carries canFill's walk over the levels without a closure
// allocation per call.
type fokState struct {
	taker   Order // a copy: a pointer stored here would make Submit's argument escape
	need    int64
	blocked bool
}

// canFill reports whether FOK order o could fill in full now, taking
// self-trade prevention into account exactly as match would.
func (b *Book) canFill(o *Order) bool {
	b.settleTree(o.Side.opposite())
	b.fok = fokState{taker: *o, need: o.Quantity}
	b.sides[o.Side.opposite()].tree.Ascend(b.fokVisitFn)
	ok := b.fok.need <= 0 && !b.fok.blocked
	b.fok = fokState{}
	return ok
}

func (b *Book) fokVisit(k levelKey) bool {
	if k.isSentinel() {
		return false
	}
	o := &b.fok.taker
	lv := &b.levels[k.level]
	if o.Type == Limit && ((o.Side == Buy && lv.price > o.Price) || (o.Side == Sell && lv.price < o.Price)) {
		return false
	}
	if o.STP == STPOff {
		b.fok.need -= lv.total
		return b.fok.need > 0
	}
	for mi := lv.head; mi != nilIndex; mi = b.links[mi].next {
		m := &b.orders[mi]
		if m.account == o.Account {
			if o.STP == STPCancelResting {
				continue
			}
			b.fok.blocked = true
			return false
		}
		b.fok.need -= m.open()
		if b.fok.need <= 0 {
			return false
		}
	}
	return true
}
