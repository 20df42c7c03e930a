package orderbook

import "unsafe"

// Cancel removes a live order. It returns RejectUnknownOrder if no live
// order has the id.
func (b *Book) Cancel(id OrderID) RejectReason {
	if b.purgeDue {
		b.purgeEmptyLevels()
	}
	oi, ok := b.lookupOrder(id)
	if !ok {
		b.listener.OnRejected(Rejected{ID: id, Op: OpCancel, Reason: RejectUnknownOrder})
		return RejectUnknownOrder
	}
	b.levelChanged(b.cancelResting(oi, CancelRequested))
	return RejectNone
}

// Amend is cancel/replace: it sets a live order's price and total quantity
// (qty counts what has already been filled, as a FIX OrderQty does).
//
//   - qty at or below the filled quantity ends the order (Cancelled with
//     CancelAmendedToFilled);
//   - the same price and a quantity that does not go up keeps the order's
//     place in the queue;
//   - a new price or a larger quantity sends it to the back of the queue at
//     its new price, where it trades at once if it crosses, as a new order
//     would (its time in force, post-only flag and STP mode are kept).
//
// A rejected amend changes nothing, and the order stays as it was.
func (b *Book) Amend(id OrderID, price, qty int64) RejectReason {
	if b.purgeDue {
		b.purgeEmptyLevels()
	}
	oi, ok := b.lookupOrder(id)
	if !ok {
		return b.rejectAmend(id, RejectUnknownOrder)
	}
	o := &b.orders[oi]
	if r := b.validateAmend(oi, price, qty); r != RejectNone {
		return b.rejectAmend(id, r)
	}
	switch {
	case qty <= int64(o.filled):
		b.levelChanged(b.cancelResting(oi, CancelAmendedToFilled))
	case price == b.levels[o.level].price && qty <= o.qty():
		b.amendInPlace(oi, qty)
	default:
		b.amendRequeue(oi, price, qty)
	}
	return RejectNone
}

// Replace is cancel/replace by open quantity, as order-flow files and
// many market feeds state it: the order keeps its id, takes price and an
// open quantity of open (its total quantity becomes what it has filled plus
// open), and always goes to the back of the queue at price, at its old
// price too, where it trades at once if it crosses, as a new order would
// (its time in force, post-only flag and STP mode are kept).
//
// It validates as Amend does, open taking the place of the total quantity
// (positive, on the lot, at most QuantityMax, and the new total at most
// QuantityMax too), and reports as an Amend that moves the order: Replaced
// (KeptPriority false), Level for the old level, then the matching and
// resting events of Submit; a reject is Rejected with Op OpAmend. A
// rejected replace changes nothing.
func (b *Book) Replace(id OrderID, price, open int64) RejectReason {
	if b.purgeDue {
		b.purgeEmptyLevels()
	}
	// The order's side comes from its level, at the end of a chain of
	// loads; the new price's window level (on both sides: cheaper than
	// waiting for the side) loads meanwhile.
	b.prefetchPrice(price)
	oi, ok := b.lookupOrder(id)
	if !ok {
		return b.rejectAmend(id, RejectUnknownOrder)
	}
	if r := b.validateQuantity(open); r != RejectNone {
		return b.rejectAmend(id, r)
	}
	total := int64(b.orders[oi].filled) + open
	if total > QuantityMax {
		return b.rejectAmend(id, RejectQuantityTooLarge)
	}
	if r := b.validateMove(oi, price); r != RejectNone {
		return b.rejectAmend(id, r)
	}
	b.amendRequeue(oi, price, total)
	return RejectNone
}

// prefetchPrice starts loading both sides' window levels for price.
func (b *Book) prefetchPrice(price int64) {
	prefetch2(unsafe.Pointer(&b.levels[b.windowLevel(Buy, price)]), unsafe.Pointer(&b.levels[b.windowLevel(Sell, price)]))
}

func (b *Book) rejectAmend(id OrderID, r RejectReason) RejectReason {
	b.listener.OnRejected(Rejected{ID: id, Op: OpAmend, Reason: r})
	return r
}

func (b *Book) validateAmend(oi int32, price, qty int64) RejectReason {
	if r := b.validateQuantity(qty); r != RejectNone {
		return r
	}
	return b.validateMove(oi, price)
}

// validateMove checks the price live order oi is to move to.
func (b *Book) validateMove(oi int32, price int64) RejectReason {
	lv := &b.levels[b.orders[oi].level]
	if price == lv.price {
		return RejectNone
	}
	// Only a new price is checked against tick and band: a resting order
	// whose price left the band after SetReference may still shrink.
	if r := b.validatePrice(price); r != RejectNone {
		return r
	}
	if b.orders[oi].terms.postOnly && b.wouldCross(lv.side, price) {
		return RejectPostOnlyWouldTrade
	}
	return RejectNone
}

// amendInPlace lowers (or keeps) the quantity of order oi without moving
// it in its queue.
func (b *Book) amendInPlace(oi int32, qty int64) {
	o := &b.orders[oi]
	lv := &b.levels[o.level]
	lv.total -= o.qty() - qty
	o.setQty(qty)
	b.listener.OnReplaced(Replaced{
		ID: o.id, Account: o.account, Side: lv.side, Price: lv.price,
		Quantity: qty, Remaining: o.open(), KeptPriority: true,
	})
	b.levelChanged(o.level)
}

// amendRequeue takes order oi out of its queue and runs it, repriced, as
// an incoming order, so it matches if it crosses and rests at the back of
// its new level otherwise. It keeps its slot in the order table meanwhile
// (held in Book.kept, as matching may move it).
func (b *Book) amendRequeue(oi int32, price, qty int64) {
	o := &b.orders[oi]
	side := b.levels[o.level].side
	// The level at the new price, looked up first: its cache misses then
	// overlap those of taking the order out of its queue, instead of
	// following them. No level comes or goes on this side before the order
	// rests (matching touches the other side, purges wait for the next
	// command), so the lookup holds until then.
	restLevel, _ := b.lookupLevel(side, price) // nilIndex if there is none
	in := incoming{
		id: o.id, account: o.account, side: side, typ: Limit, terms: o.terms,
		keptSlot: oi, restLevel1: restLevel + 1, price: price, qty: qty, filled: int64(o.filled),
		tag: o.tag,
	}
	li := b.unlinkOrder(oi)
	b.live--
	b.kept = oi
	b.listener.OnReplaced(Replaced{
		ID: in.id, Account: in.account, Side: in.side, Price: price,
		Quantity: qty, Remaining: in.open(), KeptPriority: false,
	})
	b.levelChanged(li)
	b.execute(&in)
}

// sweepKind selects the orders a sweep removes.
type sweepKind uint8

const (
	sweepAll sweepKind = iota
	sweepAccount
	sweepDay
)

// CancelAccount cancels every resting order of account a and returns how
// many it cancelled.
func (b *Book) CancelAccount(a Account) int { return b.sweep(sweepAccount, a) }

// CancelAll cancels every resting order and returns how many it cancelled.
func (b *Book) CancelAll() int { return b.sweep(sweepAll, 0) }

// ExpireDay expires every resting DAY order and returns how many it
// expired.
func (b *Book) ExpireDay() int { return b.sweep(sweepDay, 0) }

// sweep removes the selected orders in book order: bids best first, then
// asks best first, each level in queue order. Levels are collected before
// any is removed, because the btree must not change while it is iterated.
func (b *Book) sweep(kind sweepKind, a Account) int {
	if b.purgeDue {
		b.purgeEmptyLevels()
	}
	removed := 0
	for s := range b.sides {
		b.settleTree(Side(s))
		b.scratch = b.scratch[:0]
		b.sides[s].tree.Ascend(b.collectFn)
		for _, li := range b.scratch {
			removed += b.sweepLevel(li, kind, a)
		}
	}
	b.scratch = b.scratch[:0]
	return removed
}

func (b *Book) collectLevel(k levelKey) bool {
	if k.isSentinel() {
		return false
	}
	b.scratch = append(b.scratch, k.level)
	return true
}

func (b *Book) sweepLevel(li int32, kind sweepKind, a Account) int {
	removed := 0
	for oi := b.levels[li].head; oi != nilIndex; {
		o := &b.orders[oi]
		// Removing an order may move the next one (see moveOrder).
		b.cursor = b.links[oi].next
		switch {
		case kind == sweepDay && o.terms.tif == Day:
			lv := &b.levels[li]
			b.listener.OnExpired(Expired{ID: o.id, Account: o.account, Side: lv.side, Price: lv.price, Remaining: o.open()})
			b.removeResting(oi)
			removed++
		case kind == sweepAll || (kind == sweepAccount && o.account == a):
			b.cancelResting(oi, CancelMass)
			removed++
		}
		oi, b.cursor = b.cursor, nilIndex
	}
	if removed > 0 {
		b.levelChanged(li)
	}
	return removed
}
