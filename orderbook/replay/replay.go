package replay

import (
	"venue/orderbook"
	"venue/orderbook/orderflow"
)

// Counts are what a replay produced, over every record applied.
type Counts struct {
	Trades  uint64
	Volume  uint64
	Rejects uint64
}

// counter is the replay's listener: it counts and otherwise ignores events.
type counter struct {
	orderbook.NopListener
	c *Counts
}

// OnTrade counts a trade and its volume.
func (l counter) OnTrade(t orderbook.Trade) {
	l.c.Trades++
	l.c.Volume += uint64(t.Quantity)
}

// OnRejected counts a reject.
func (l counter) OnRejected(orderbook.Rejected) { l.c.Rejects++ }

// Replayer holds one book per instrument and applies records to them.
type Replayer struct {
	books  []*orderbook.Book
	counts *Counts
}

// New returns a replayer for the file's header: one empty book per
// instrument with room for ordersHint resting orders each. Every book
// reports to l if l is not nil, and is counted in any case.
func New(h orderflow.Header, l orderbook.Listener) *Replayer {
	r := &Replayer{counts: new(Counts)}
	var listener orderbook.Listener = counter{c: r.counts}
	if l != nil {
		listener = tee{counter{c: r.counts}, l}
	}
	hint := int(min(h.TargetLive+h.TargetLive/4, 1<<20))
	r.books = make([]*orderbook.Book, h.Instruments)
	for i := range r.books {
		r.books[i] = orderbook.New(orderbook.Config{OrdersHint: hint}, listener)
	}
	return r
}

// Counts returns what the replay produced so far.
func (r *Replayer) Counts() Counts { return *r.counts }

// Book returns instrument i's book.
func (r *Replayer) Book(i int) *orderbook.Book { return r.books[i] }

// Apply applies one validated record. A NEW is a limit GTC, limit IOC or
// market order for the record's user as the account, with self-trade
// prevention off. An AMEND carries the new open quantity, so the total
// quantity passed to the book is what the order has filled plus that.
func (r *Replayer) Apply(rec orderflow.Record) orderbook.RejectReason {
	_ = rec[orderflow.RecordLength-1] // one bounds check for the fields below
	b := r.books[rec.Instrument()]
	id := orderbook.OrderID(rec.ID())
	switch rec.Op() {
	case orderflow.OpNew:
		var o orderbook.Order
		decodeOrder(&o, rec, id)
		return b.SubmitOrder(&o)
	case orderflow.OpCancel:
		return b.Cancel(id)
	default:
		return amend(b, rec, id)
	}
}

// amend follows the README: an AMEND is a cancel/replace of the open
// remainder that always sends the order to the back of the queue at its
// new price with the new open quantity, which is Book.Replace: one call,
// as the engine's own amend is, so the new price's lookup overlaps finding
// the order.
func amend(b *orderbook.Book, rec orderflow.Record, id orderbook.OrderID) orderbook.RejectReason {
	return b.Replace(id, rec.Price(), int64(rec.Qty()))
}

// decodeOrder sets *o, which must be zero, to a NEW record's order, a
// field at a time: see Book.SubmitOrder for why the order is not built as a
// value and copied.
func decodeOrder(o *orderbook.Order, rec orderflow.Record, id orderbook.OrderID) {
	o.ID = id
	o.Account = orderbook.Account(rec.User())
	o.Side = orderbook.Side(rec.Side())
	o.Price = rec.Price()
	o.Quantity = int64(rec.Qty())
	switch rec.Type() {
	case orderflow.TypeIOC:
		o.TIF = orderbook.IOC
	case orderflow.TypeMarket:
		o.Type, o.TIF = orderbook.Market, orderbook.IOC
	}
}

// ApplyRange applies records [from, to) of f.
func (r *Replayer) ApplyRange(f *orderflow.File, from, to int) {
	for i := from; i < to; i++ {
		r.Apply(f.Record(i))
	}
}

// How many records ahead ApplyAhead hints each orderbook.Prefetch stage.
// On the 100-instrument flow, PrefetchFar 3 or 4 records ahead with
// PrefetchNear 2 ahead measured alike; PrefetchNear 1 ahead reads lines
// still on their way, and 5 and 3 gained nothing.
const (
	lookaheadFar  = 4
	lookaheadNear = 2
)

// ApplyAhead applies record i of f, first hinting the books (see
// orderbook.Prefetch) about the records up to lookaheadFar ahead of it
// that come before to: what a caller holding a queue of commands can do
// for each. A record for the same book as record i gets no hint: that book
// is in cache already, and the hint would be work for nothing. ApplyAhead
// over [from, to) produces exactly what ApplyRange does.
func (r *Replayer) ApplyAhead(f *orderflow.File, i, to int) orderbook.RejectReason {
	rec := f.Record(i)
	if len(r.books) == 1 {
		return r.Apply(rec) // every record is for the book in hand
	}
	inst := rec.Instrument()
	if j := i + lookaheadNear; j < to {
		r.hint(f.Record(j), inst, orderbook.PrefetchNear)
	}
	if j := i + lookaheadFar; j < to {
		r.hint(f.Record(j), inst, orderbook.PrefetchFar)
	}
	return r.Apply(rec)
}

// ApplyRangeAhead applies records [from, to) of f with ApplyAhead.
func (r *Replayer) ApplyRangeAhead(f *orderflow.File, from, to int) {
	if len(r.books) == 1 {
		r.ApplyRange(f, from, to) // no hints to give: see ApplyAhead
		return
	}
	for i := from; i < to; i++ {
		r.ApplyAhead(f, i, to)
	}
}

// hint tells the record's book about it for prefetch stage stage, unless
// the book is instrument current's.
func (r *Replayer) hint(rec orderflow.Record, current uint32, stage int) {
	_ = rec[orderflow.RecordLength-1]
	if rec.Instrument() == current {
		return
	}
	u := orderbook.Upcoming{
		ID: orderbook.OrderID(rec.ID()), Side: orderbook.Side(rec.Side()), Price: rec.Price(),
		Quantity: int64(rec.Qty()),
	}
	switch rec.Op() {
	case orderflow.OpNew:
		u.Op = orderbook.OpSubmit
		switch rec.Type() {
		case orderflow.TypeIOC:
			u.TIF = orderbook.IOC
		case orderflow.TypeMarket:
			u.Type, u.TIF = orderbook.Market, orderbook.IOC
		}
	case orderflow.OpCancel:
		u.Op = orderbook.OpCancel
	default:
		u.Op = orderbook.OpAmend
	}
	r.books[rec.Instrument()].Prefetch(&u, stage)
}

// tee sends every event to two listeners, the counter first.
type tee struct {
	a counter
	b orderbook.Listener
}

// OnAccepted forwards the event.
func (t tee) OnAccepted(e orderbook.Accepted) { t.b.OnAccepted(e) }

// OnRejected forwards the event.
func (t tee) OnRejected(e orderbook.Rejected) { t.a.OnRejected(e); t.b.OnRejected(e) }

// OnTrade forwards the event.
func (t tee) OnTrade(e orderbook.Trade) { t.a.OnTrade(e); t.b.OnTrade(e) }

// OnCancelled forwards the event.
func (t tee) OnCancelled(e orderbook.Cancelled) { t.b.OnCancelled(e) }

// OnReplaced forwards the event.
func (t tee) OnReplaced(e orderbook.Replaced) { t.b.OnReplaced(e) }

// OnExpired forwards the event.
func (t tee) OnExpired(e orderbook.Expired) { t.b.OnExpired(e) }

// OnLevel forwards the event.
func (t tee) OnLevel(e orderbook.Level) { t.b.OnLevel(e) }
