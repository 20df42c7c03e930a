package orderbook

import "sort"

// refBook is the naive reference: every resting order in one slice, and
// every question answered by scanning or sorting it. It is slow and meant
// to be obviously correct; the property and fuzz tests require the real
// Book to emit exactly the events it emits.
type refBook struct {
	cfg    Config
	l      Listener
	orders []*refOrder // resting orders, any side, any order
	seq    int64
	ref    int64
	hasRef bool
}

type refOrder struct {
	id       OrderID
	account  Account
	side     Side
	typ      OrderType
	tif      TimeInForce
	postOnly bool
	stp      STPMode
	price    int64
	qty      int64
	filled   int64
	seq      int64
	tag      uint32 // Order.Tag, kept through amends and replaces
}

func (o *refOrder) open() int64 { return o.qty - o.filled }

func newRefBook(cfg Config, l Listener) *refBook {
	return &refBook{cfg: cfg.withDefaults(), l: l}
}

func (r *refBook) SetReference(price int64) RejectReason {
	if price > PriceMax || price < -PriceMax {
		return RejectPriceOutOfRange
	}
	r.ref, r.hasRef = price, true
	return RejectNone
}

// better reports whether price a has priority over price b on side s.
func better(s Side, a, b int64) bool {
	if s == Buy {
		return a > b
	}
	return a < b
}

// side returns side s's resting orders in priority order: best price
// first, then earliest arrival.
func (r *refBook) side(s Side) []*refOrder {
	var out []*refOrder
	for _, o := range r.orders {
		if o.side == s {
			out = append(out, o)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].price != out[j].price {
			return better(s, out[i].price, out[j].price)
		}
		return out[i].seq < out[j].seq
	})
	return out
}

func (r *refBook) find(id OrderID) *refOrder {
	for _, o := range r.orders {
		if o.id == id {
			return o
		}
	}
	return nil
}

func (r *refBook) remove(o *refOrder) {
	for i, x := range r.orders {
		if x == o {
			r.orders = append(r.orders[:i], r.orders[i+1:]...)
			return
		}
	}
	panic("ref: removing an order that is not resting")
}

func (r *refBook) emitLevel(s Side, price int64) {
	var qty int64
	var n int32
	for _, o := range r.orders {
		if o.side == s && o.price == price {
			qty += o.open()
			n++
		}
	}
	r.l.OnLevel(Level{Side: s, Price: price, Quantity: qty, Count: n})
}

func (r *refBook) crosses(t *refOrder, price int64) bool {
	if t.typ == Market {
		return true
	}
	return price == t.price || better(t.side, t.price, price)
}

func (r *refBook) priceOK(price int64) RejectReason {
	if price > PriceMax || price < -PriceMax {
		return RejectPriceOutOfRange
	}
	if price%r.cfg.TickSize != 0 {
		return RejectTick
	}
	if r.cfg.BandTicks > 0 && r.hasRef && (price-r.ref > r.cfg.BandTicks || r.ref-price > r.cfg.BandTicks) {
		return RejectPriceOutsideBand
	}
	return RejectNone
}

func (r *refBook) qtyOK(q int64) RejectReason {
	if q <= 0 {
		return RejectQuantityNotPositive
	}
	if q > QuantityMax {
		return RejectQuantityTooLarge
	}
	if q%r.cfg.LotSize != 0 {
		return RejectLot
	}
	return RejectNone
}

func (r *refBook) wouldCross(s Side, price int64) bool {
	opp := r.side(s.opposite())
	return len(opp) > 0 && (opp[0].price == price || better(s, price, opp[0].price))
}

// fokFills walks the opposite side exactly as matching would.
func (r *refBook) fokFills(t *refOrder) bool {
	need := t.qty
	for _, m := range r.side(t.side.opposite()) {
		if !r.crosses(t, m.price) {
			break
		}
		if t.stp != STPOff && m.account == t.account {
			if t.stp == STPCancelResting {
				continue
			}
			return false
		}
		need -= m.open()
		if need <= 0 {
			return true
		}
	}
	return false
}

func (r *refBook) validate(o Order) RejectReason {
	if o.Side > Sell || o.Type > Market || o.TIF > FOK || o.STP > STPCancelBoth {
		return RejectInvalid
	}
	if o.PostOnly && (o.Type == Market || o.TIF == IOC || o.TIF == FOK) {
		return RejectInvalid
	}
	if rr := r.qtyOK(o.Quantity); rr != RejectNone {
		return rr
	}
	if o.Type == Limit {
		if rr := r.priceOK(o.Price); rr != RejectNone {
			return rr
		}
	}
	if r.find(o.ID) != nil {
		return RejectDuplicateID
	}
	if len(r.orders) >= r.cfg.OrdersMax {
		return RejectBookFull
	}
	if o.PostOnly && r.wouldCross(o.Side, o.Price) {
		return RejectPostOnlyWouldTrade
	}
	t := &refOrder{id: o.ID, account: o.Account, side: o.Side, typ: o.Type, stp: o.STP, price: o.Price, qty: o.Quantity}
	if o.TIF == FOK && !r.fokFills(t) {
		return RejectFOKCannotFill
	}
	return RejectNone
}

func (r *refBook) Submit(o Order) RejectReason {
	if rr := r.validate(o); rr != RejectNone {
		r.l.OnRejected(Rejected{ID: o.ID, Op: OpSubmit, Reason: rr})
		return rr
	}
	if o.Type == Market {
		o.Price = 0
	}
	r.l.OnAccepted(Accepted{ID: o.ID, Account: o.Account, Side: o.Side, Type: o.Type, TIF: o.TIF,
		PostOnly: o.PostOnly, Price: o.Price, Quantity: o.Quantity})
	r.run(&refOrder{id: o.ID, account: o.Account, side: o.Side, typ: o.Type, tif: o.TIF,
		postOnly: o.PostOnly, stp: o.STP, price: o.Price, qty: o.Quantity, tag: o.Tag})
	return RejectNone
}

// run matches an incoming order level by level and settles its remainder.
func (r *refBook) run(t *refOrder) {
	stopped := false
	for t.open() > 0 && !stopped {
		opp := r.side(t.side.opposite())
		if len(opp) == 0 || !r.crosses(t, opp[0].price) {
			break
		}
		stopped = r.matchPrice(t, opp[0].price)
	}
	switch {
	case t.open() == 0:
	case stopped:
		r.cancelOut(t, CancelSelfTrade)
	case t.typ == Market || t.tif == IOC || t.tif == FOK:
		r.cancelOut(t, CancelUnfilled)
	default:
		r.seq++
		t.seq = r.seq
		r.orders = append(r.orders, t)
		r.emitLevel(t.side, t.price)
	}
}

func (r *refBook) matchPrice(t *refOrder, price int64) (stopped bool) {
	touched := false
	for _, m := range r.side(t.side.opposite()) {
		if m.price != price || t.open() == 0 {
			continue
		}
		if t.stp != STPOff && m.account == t.account {
			if t.stp == STPCancelResting || t.stp == STPCancelBoth {
				r.cancelOut(m, CancelSelfTrade)
				r.remove(m)
				touched = true
			}
			if t.stp == STPCancelIncoming || t.stp == STPCancelBoth {
				stopped = true
				break
			}
			continue
		}
		q := min(t.open(), m.open())
		t.filled += q
		m.filled += q
		r.l.OnTrade(Trade{Maker: m.id, Taker: t.id, MakerAccount: m.account, TakerAccount: t.account,
			TakerSide: t.side, Price: m.price, Quantity: q, MakerRemaining: m.open(), TakerRemaining: t.open(), MakerTag: m.tag})
		if m.open() == 0 {
			r.remove(m)
		}
		touched = true
	}
	if touched {
		r.emitLevel(t.side.opposite(), price)
	}
	return stopped
}

func (r *refBook) cancelOut(o *refOrder, reason CancelReason) {
	r.l.OnCancelled(Cancelled{ID: o.id, Account: o.account, Side: o.side, Price: o.price, Remaining: o.open(), Reason: reason})
}

func (r *refBook) Cancel(id OrderID) RejectReason {
	o := r.find(id)
	if o == nil {
		r.l.OnRejected(Rejected{ID: id, Op: OpCancel, Reason: RejectUnknownOrder})
		return RejectUnknownOrder
	}
	r.cancelOut(o, CancelRequested)
	r.remove(o)
	r.emitLevel(o.side, o.price)
	return RejectNone
}

func (r *refBook) Amend(id OrderID, price, qty int64) RejectReason {
	o := r.find(id)
	rr := RejectNone
	switch {
	case o == nil:
		rr = RejectUnknownOrder
	case r.qtyOK(qty) != RejectNone:
		rr = r.qtyOK(qty)
	case price != o.price && r.priceOK(price) != RejectNone:
		rr = r.priceOK(price)
	case price != o.price && o.postOnly && r.wouldCross(o.side, price):
		rr = RejectPostOnlyWouldTrade
	}
	if rr != RejectNone {
		r.l.OnRejected(Rejected{ID: id, Op: OpAmend, Reason: rr})
		return rr
	}
	switch {
	case qty <= o.filled:
		r.cancelOut(o, CancelAmendedToFilled)
		r.remove(o)
		r.emitLevel(o.side, o.price)
	case price == o.price && qty <= o.qty:
		o.qty = qty
		r.replaced(o, true)
		r.emitLevel(o.side, o.price)
	default:
		r.remove(o)
		oldPrice := o.price
		o.price, o.qty = price, qty
		r.replaced(o, false)
		r.emitLevel(o.side, oldPrice)
		r.run(o)
	}
	return RejectNone
}

func (r *refBook) Replace(id OrderID, price, open int64) RejectReason {
	o := r.find(id)
	rr := RejectNone
	switch {
	case o == nil:
		rr = RejectUnknownOrder
	case r.qtyOK(open) != RejectNone:
		rr = r.qtyOK(open)
	case o.filled+open > QuantityMax:
		rr = RejectQuantityTooLarge
	case price != o.price && r.priceOK(price) != RejectNone:
		rr = r.priceOK(price)
	case price != o.price && o.postOnly && r.wouldCross(o.side, price):
		rr = RejectPostOnlyWouldTrade
	}
	if rr != RejectNone {
		r.l.OnRejected(Rejected{ID: id, Op: OpAmend, Reason: rr})
		return rr
	}
	r.remove(o)
	oldPrice := o.price
	o.price, o.qty = price, o.filled+open
	r.replaced(o, false)
	r.emitLevel(o.side, oldPrice)
	r.run(o)
	return RejectNone
}

func (r *refBook) replaced(o *refOrder, kept bool) {
	r.l.OnReplaced(Replaced{ID: o.id, Account: o.account, Side: o.side, Price: o.price, Quantity: o.qty,
		Remaining: o.open(), KeptPriority: kept})
}

// sweep removes the orders pick selects, level by level in book order.
func (r *refBook) sweep(pick func(*refOrder) bool, expire bool) int {
	n := 0
	for _, s := range []Side{Buy, Sell} {
		var prices []int64
		for _, o := range r.side(s) {
			if len(prices) == 0 || prices[len(prices)-1] != o.price {
				prices = append(prices, o.price)
			}
		}
		for _, p := range prices {
			removed := false
			for _, o := range r.side(s) {
				if o.price != p || !pick(o) {
					continue
				}
				if expire {
					r.l.OnExpired(Expired{ID: o.id, Account: o.account, Side: o.side, Price: o.price, Remaining: o.open()})
				} else {
					r.cancelOut(o, CancelMass)
				}
				r.remove(o)
				removed = true
				n++
			}
			if removed {
				r.emitLevel(s, p)
			}
		}
	}
	return n
}

func (r *refBook) CancelAccount(a Account) int {
	return r.sweep(func(o *refOrder) bool { return o.account == a }, false)
}

func (r *refBook) CancelAll() int { return r.sweep(func(*refOrder) bool { return true }, false) }

func (r *refBook) ExpireDay() int {
	return r.sweep(func(o *refOrder) bool { return o.tif == Day }, true)
}
