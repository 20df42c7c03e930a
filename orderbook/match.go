package orderbook

// match trades incoming order oi against the opposite side, best level
// first, until it is filled, the book no longer crosses its price, or
// self-trade prevention stops it (then it returns true). The order is not in
// any level while it matches.
func (b *Book) match(oi int32) (stopped bool) {
	opp := &b.sides[b.orders[oi].side.opposite()]
	for b.orders[oi].open() > 0 {
		li := opp.best
		if li == nilIndex || !b.orders[oi].crosses(opp.bestPrice) {
			return false
		}
		if b.matchLevel(oi, li) {
			return true
		}
	}
	return false
}

// matchLevel trades incoming order ti against level li's queue in time
// order, reports the level once afterwards and removes it if emptied. The
// slab does not grow while matching, so the pointers stay valid.
func (b *Book) matchLevel(ti, li int32) (stopped bool) {
	t := &b.orders[ti]
	lv := &b.levels[li]
	touched := false
	for mi := lv.head; mi != nilIndex && t.open() > 0; {
		m := &b.orders[mi]
		next := m.next
		if t.stp != STPOff && m.account == t.account {
			if t.stp != STPCancelIncoming {
				b.cancelResting(mi, CancelSelfTrade)
				touched = true
			}
			if t.stp != STPCancelResting {
				stopped = true
				break
			}
			mi = next
			continue
		}
		b.fill(t, m, mi, lv)
		touched = true
		mi = next
	}
	// A level left untouched (the first order met was the taker's own and
	// only the taker is cancelled) did not change, so it is not reported.
	if touched {
		b.levelChanged(li)
	}
	return stopped
}

// fill trades the largest possible quantity between taker t and maker m
// (slab index mi, on level lv), and frees the maker if it is filled.
func (b *Book) fill(t, m *order, mi int32, lv *level) {
	q := min(t.open(), m.open())
	m.filled += q
	t.filled += q
	lv.total -= q
	b.listener.OnTrade(Trade{
		Maker: m.id, Taker: t.id, MakerAccount: m.account, TakerAccount: t.account,
		TakerSide: t.side, Price: m.price, Quantity: q,
		MakerRemaining: m.open(), TakerRemaining: t.open(),
	})
	if m.open() == 0 {
		b.removeResting(mi)
	}
}

// cancelResting reports and removes a resting order, leaving its level for
// the caller to settle.
func (b *Book) cancelResting(oi int32, reason CancelReason) int32 {
	o := &b.orders[oi]
	b.listener.OnCancelled(Cancelled{
		ID: o.id, Account: o.account, Side: o.side, Price: o.price, Remaining: o.open(), Reason: reason,
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
	b.fok = fokState{taker: *o, need: o.Quantity}
	b.sides[o.Side.opposite()].tree.Ascend(b.fokVisitFn)
	ok := b.fok.need <= 0 && !b.fok.blocked
	b.fok = fokState{}
	return ok
}

func (b *Book) fokVisit(k levelKey) bool {
	o := &b.fok.taker
	lv := &b.levels[k.level]
	if o.Type == Limit && ((o.Side == Buy && lv.price > o.Price) || (o.Side == Sell && lv.price < o.Price)) {
		return false
	}
	if o.STP == STPOff {
		b.fok.need -= lv.total
		return b.fok.need > 0
	}
	for mi := lv.head; mi != nilIndex; mi = b.orders[mi].next {
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
