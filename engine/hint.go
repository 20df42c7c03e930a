package engine

import (
	"encoding/binary"
	"unsafe"

	"venue/orderbook"
)

// Hints. A caller that holds a queue of commands (a batch of committed log
// entries, a recorded log) can tell the engine about a command HintAhead
// commands before applying it, so that the cache misses the command will
// take are under way while the commands before it run. On the
// 100-instrument reference flow nearly every order-entry command follows a
// chain of dependent loads into tables too large to stay in cache: the
// ClOrdID index slot, then the order's record (a cancel or replace), then
// the book's id index slot, the book's order and its level. Each is a miss
// the processor cannot start before the previous one is back; the engine
// takes them one after another, and most of a command's time is spent
// waiting.
//
// Hint runs that chain as a pipeline, one link per call: each call starts
// the first stage of the command it is given and advances the commands
// hinted before it by one stage each, so that by the time a command is
// applied every link of its chain has been fetched by an earlier call,
// while the lines the link before it pointed at were already in cache.
//
// Hint only reads the engine's state and prefetches; it changes nothing
// the engine does or reports (the hint pipeline is not state: it is not
// snapshotted, digested or restored). A hint for a command that never
// comes, or that commands in between make stale, only fetches lines in
// vain, and a payload that does not decode is ignored.

// HintAhead is how many commands ahead of the one it applies next a
// caller should hint: call Hint with command i+HintAhead just before
// applying command i. It is the depth of the pipeline: a command's last
// stage runs one command before it is applied.
const HintAhead = hintStages

// Hint stages, in the order a command passes through them.
const (
	// hintLocate parses the command and prefetches the ClOrdID index slot
	// its key hashes to.
	hintLocate = iota
	// hintRecord reads that slot and prefetches the order record it
	// points at (a new order has none to fetch).
	hintRecord
	// hintBookFar reads the record for the order's id and side and gives
	// its book the first stage of the cancel or amend; a new order's book
	// gets its first stage here too. Two commands ahead, not four: the
	// book's best levels change with every command on it, and on s100 a
	// new order's book hinted at stages 2 and 3 ran 393-684 ms/op against
	// 497-758 hinted at 0 and 1 (11 interleaved rounds each).
	hintBookFar
	// hintBookNear gives the book the second stage.
	hintBookNear
	// hintStages is the number of stages.
	hintStages
)

// hintProbesMax bounds the ClOrdID index slots a hint reads looking for
// its key's hash; a longer probe run is left to the command itself.
const hintProbesMax = 8

// hintOp is the kind of command a hint is for.
type hintOp uint8

const (
	hintNone    hintOp = iota // nothing to fetch (not an order-entry command)
	hintNew                   // NewOrder
	hintCancel                // CancelOrder
	hintReplace               // ReplaceOrder
)

// hint is one command in the pipeline.
type hint struct {
	op      hintOp
	clHash  uint32   // the hash of the key the command looks up
	ref     orderRef // the record that key names (hintRecord), or 0
	orderID uint64   // a cancel or replace that names the order by id
	// newQty is a replace's new total quantity (the amend's open
	// quantity is this less what the order has filled).
	newQty int64
	book   *orderbook.Book
	up     orderbook.Upcoming
}

// hintPipe is the pipeline: the last hintStages commands hinted, the
// newest at next-1 (mod hintStages).
type hintPipe struct {
	h    [hintStages]hint
	next int
	// used says Hint has been called: the caller hints ahead, so a
	// command need not start its own fetches early (see prefetchKey).
	used bool
}

// Hint tells the engine about a command (payload, as OnSessionMessage
// would receive it) that it will apply HintAhead commands from now, and
// advances the commands hinted before it. It never changes what the engine
// does: see the Hints section above.
func (e *Engine) Hint(payload []byte) {
	p := &e.hints
	p.used = true
	// The oldest entry finished its last stage on the previous call; the
	// new command takes its place. Pending new orders (those hinted and
	// not yet applied, the oldest included: it is applied right after this
	// call) come before it, so its id is predicted past them.
	pendingNew := uint64(0)
	for i := range p.h {
		if p.h[i].op == hintNew {
			pendingNew++
		}
	}
	slot := p.next
	p.next++
	if p.next == hintStages {
		p.next = 0
	}
	e.hintLocate(&p.h[slot], payload, pendingNew)
	// Advance the others: age 1 (hinted on the previous call) to
	// hintRecord, and so on.
	for age := 1; age < hintStages; age++ {
		i := slot - age
		if i < 0 {
			i += hintStages
		}
		e.hintStage(&p.h[i], age)
	}
}

// hintStage runs stage of h.
func (e *Engine) hintStage(h *hint, stage int) {
	switch h.op {
	case hintNone:
		return
	case hintNew:
		switch stage {
		case hintBookFar:
			h.book.Prefetch(&h.up, orderbook.PrefetchFar)
		case hintBookNear:
			h.book.Prefetch(&h.up, orderbook.PrefetchNear)
		}
		return
	}
	switch stage {
	case hintRecord:
		h.ref = e.hintTarget(h)
		if o := e.hintRecordAt(h.ref); o != nil {
			prefetch(unsafe.Pointer(o))
			prefetch(unsafe.Add(unsafe.Pointer(o), orderBytes/2))
		}
	case hintBookFar:
		o := e.hintRecordAt(h.ref)
		if o == nil {
			h.op = hintNone
			return
		}
		h.up.ID = orderIDToBook(o.id)
		h.up.Side = sideToBook(o.side)
		if h.op == hintReplace {
			h.up.Quantity = h.newQty - o.cum
		}
		h.book.Prefetch(&h.up, orderbook.PrefetchFar)
	case hintBookNear:
		h.book.Prefetch(&h.up, orderbook.PrefetchNear)
	}
}

// hintRecordAt returns the record at r, or nil for no reference or one
// the slab no longer has (a restore in between replaced the store).
func (e *Engine) hintRecordAt(r orderRef) *order {
	if r == 0 || r.kind() != refRecord || r.index() < 0 || int(r.index()) >= len(e.orders.records) {
		return nil
	}
	return &e.orders.records[r.index()]
}

// hintTarget returns the record a cancel or replace names, as far as the
// index (prefetched by hintLocate) tells without comparing keys: the
// first entry with the key's hash. 0 if there is none to fetch.
func (e *Engine) hintTarget(h *hint) orderRef {
	s := &e.orders
	if h.orderID != 0 {
		if j := s.direct[h.orderID&s.mask]; j != 0 {
			return recordRef(j - 1)
		}
		return 0
	}
	t := &s.byClOrdID
	i := t.home(h.clHash)
	for range hintProbesMax {
		sl := t.slots[i]
		if sl.ref == 0 {
			return 0
		}
		if sl.hash == h.clHash {
			if sl.ref.isSuperseded() {
				return 0 // a stale ClOrdID: rare, left to the command
			}
			return sl.ref
		}
		i = (i + 1) & t.mask
	}
	return 0
}

// hintLocate parses payload into h and runs its first stage. Only the
// order-entry commands this version writes are hinted (the same header
// test as dispatchOrderEntry); anything else becomes hintNone.
func (e *Engine) hintLocate(h *hint, payload []byte, pendingNew uint64) {
	*h = hint{}
	if len(payload) < HeaderLength {
		return
	}
	switch binary.LittleEndian.Uint64(payload) {
	case newOrderHeader:
		if len(payload) >= NewOrderLength {
			m := NewOrder(payload[HeaderLength:NewOrderLength])
			e.hintNewOrder(h, m, pendingNew)
		}
	case cancelOrderHeader:
		if len(payload) >= CancelOrderLength {
			m := CancelOrder(payload[HeaderLength:CancelOrderLength])
			h.up.Op = orderbook.OpCancel
			e.hintOrigin(h, hintCancel, m.Instrument(), m.accountRef(), m.origClOrdIDRef(), m.OrderID())
		}
	case replaceOrderHeader:
		if len(payload) >= ReplaceOrderLength {
			m := ReplaceOrder(payload[HeaderLength:ReplaceOrderLength])
			h.up.Op = orderbook.OpAmend
			h.up.Price, h.newQty = m.Price(), m.Quantity()
			e.hintOrigin(h, hintReplace, m.Instrument(), m.accountRef(), m.origClOrdIDRef(), m.OrderID())
			if h.op != hintNone {
				// The new ClOrdID goes into the index too.
				prefetch(unsafe.Pointer(&e.orders.byClOrdID.slots[e.orders.byClOrdID.home(hashClID(m.accountRef(), m.clOrdIDRef()))]))
			}
		}
	}
}

// hintNewOrder starts a new order: its ClOrdID's index slot (probed for a
// duplicate, then written); the book's stages come later, with the id the
// order will likely get.
func (e *Engine) hintNewOrder(h *hint, m NewOrder, pendingNew uint64) {
	in := e.state.instrument(m.Instrument())
	if in == nil {
		return
	}
	h.clHash = hashClID(m.accountRef(), m.clOrdIDRef())
	prefetch(unsafe.Pointer(&e.orders.byClOrdID.slots[e.orders.byClOrdID.home(h.clHash)]))
	h.op, h.book = hintNew, in.book
	h.up = orderbook.Upcoming{
		Op: orderbook.OpSubmit, Side: sideToBook(m.Side()) & 1, Type: typeToBook(m.OrdType()),
		TIF: tifToBook(m.TimeInForce()), ID: orderIDToBook(e.nextOrderID + 1 + pendingNew),
		Price: m.Price(), Quantity: m.Quantity(),
	}
}

// hintOrigin starts a cancel or replace: the index slot of the order it
// names (by id, or by OrigClOrdID).
func (e *Engine) hintOrigin(h *hint, op hintOp, instrument uint32, acct *[accountNameBytes]byte, orig *[clOrdIDBytes]byte, orderID uint64) {
	in := e.state.instrument(instrument)
	if in == nil {
		return
	}
	if orderID != 0 {
		h.op, h.book, h.orderID = op, in.book, orderID
		prefetch(unsafe.Pointer(&e.orders.direct[orderID&e.orders.mask]))
		return
	}
	h.clHash = hashClID(acct, orig)
	h.op, h.book = op, in.book
	prefetch(unsafe.Pointer(&e.orders.byClOrdID.slots[e.orders.byClOrdID.home(h.clHash)]))
}

// prefetchKey starts fetching the ClOrdID index slot of the key whose
// hash is h when a command starts, before its sender and account are
// authorized, so that the miss overlaps those checks instead of following
// them; a caller that hints ahead has fetched it already, and then nothing
// is done.
func (e *Engine) prefetchKey(h uint32) {
	if !e.hints.used {
		prefetch(unsafe.Pointer(&e.orders.byClOrdID.slots[e.orders.byClOrdID.home(h)]))
	}
}
