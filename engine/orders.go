package engine

import "slices"

// order is what the engine remembers of one order: enough to report on it
// (cumulative quantity and notional for the average price, leaves, the
// client order id chain) and to route its reports. Live orders also rest in
// their instrument's book, which owns priority and matching.
type order struct {
	id          uint64
	price       int64 // limit price in ticks; 0 for market orders
	qty         int64 // total quantity, fills included (FIX OrderQty)
	cum         int64 // quantity filled
	cumNotional int64 // sum of fill price x quantity, for the average price
	instrument  uint32
	account     int32
	principal   int32
	next        int32 // the free list
	side        Side
	ordType     OrdType
	tif         TimeInForce
	flags       uint8
	status      OrdStatus
	reason      Reason // why it was rejected, cancelled or expired
	clHash      uint32 // hashClKey of (account, clOrdID); derived, not snapshotted
	clOrdID     [clOrdIDBytes]byte
	_           [orderPadBytes]byte
}

// orderPadBytes pads an order to orderBytes, two cache lines: the slab and
// the finished ring are large allocations (page aligned), so every record
// then sits on exactly two lines, and a random access to one (a maker, a
// cancel) costs two misses at most. The ClOrdID an order was replaced from
// is not kept, for the same reason: the Replaced report (and the command's
// other reports on that order) carry it, from the context.
const (
	orderBytes    = 128
	orderPadBytes = 28
)

// leaves is the open quantity of a live order, 0 once it is done.
func (o *order) leaves() int64 {
	if o.done() {
		return 0
	}
	return o.qty - o.cum
}

// done reports whether the order reached a final state.
func (o *order) done() bool {
	switch o.status {
	case OrdStatusFilled, OrdStatusCanceled, OrdStatusRejected, OrdStatusExpired:
		return true
	}
	return false
}

// clKey names a client order id within its account.
type clKey struct {
	account int32
	id      [clOrdIDBytes]byte
}

// clRef is a superseded client order id and the order it named.
type clRef struct {
	key clKey
	id  uint64
}

// orderRef says where an order's record is: a slot of the live slab, an
// entry of the finished ring, or (in the ClOrdID index only) an entry of
// the superseded ring. The kind is in the low bits; 0 is no reference.
type orderRef int32

const (
	refLive       = 1
	refFinished   = 2
	refSuperseded = 3
	refKindBits   = 2
	refKindMask   = 1<<refKindBits - 1
)

func liveRef(oi int32) orderRef       { return orderRef(oi<<refKindBits | refLive) }
func finishedRef(i int) orderRef      { return orderRef(int32(i)<<refKindBits | refFinished) }
func supersededRef(i int) orderRef    { return orderRef(int32(i)<<refKindBits | refSuperseded) }
func (r orderRef) kind() int32        { return int32(r) & refKindMask }
func (r orderRef) index() int32       { return int32(r) >> refKindBits }
func (r orderRef) isLive() bool       { return r.kind() == refLive }
func (r orderRef) slot() int32        { assert(r.isLive(), "orderRef: not a live order"); return r.index() }
func (r orderRef) isSuperseded() bool { return r.kind() == refSuperseded }

// orderStore holds live orders in a slab with a free list, and the most
// recent finished orders as copies in a ring, indexed by order id and by
// (account, ClOrdID). Finishing an order copies it into the ring and frees
// its slot at once, so the slab stays as small as the live set and its
// recently freed (still cached) slots are the next ones used; the ring is
// written in sequence. Finished orders and superseded ClOrdIDs are
// forgotten oldest first, so memory is bounded and what is forgotten
// depends only on the log.
type orderStore struct {
	slab      []order
	free      int32
	byID      idTable // order id -> live or finished ref
	byClOrdID clIndex
	live      int

	finished   ring[order] // oldest first
	superseded ring[clRef]
}

func (s *orderStore) init() {
	s.slab = s.slab[:0]
	s.free = nilIndex
	s.byID.init(0)
	s.byClOrdID.init(0)
	s.live = 0
	s.finished.init(rememberedOrdersMax)
	s.superseded.init(supersededClOrdIDsMax)
}

// alloc returns a zeroed slot for a new live order.
func (s *orderStore) alloc(id uint64) int32 {
	oi := s.free
	if oi != nilIndex {
		s.free = s.slab[oi].next
	} else {
		s.slab = append(s.slab, order{})
		oi = int32(len(s.slab) - 1)
	}
	s.slab[oi] = order{id: id, next: nilIndex}
	s.byID.put(id, liveRef(oi))
	s.live++
	return oi
}

// appendLiveIDs appends the ids of the live orders that match, ascending:
// an order that depends only on the state, not on where orders sit in the
// slab (which differs after a restore).
func (s *orderStore) appendLiveIDs(dst []uint64, match func(*order) bool) []uint64 {
	start := len(dst)
	for i := range s.slab {
		if o := &s.slab[i]; o.id != 0 && (match == nil || match(o)) {
			dst = append(dst, o.id)
		}
	}
	slices.Sort(dst[start:])
	return dst
}

// at returns the record a live or finished reference names.
func (s *orderStore) at(r orderRef) *order {
	switch r.kind() {
	case refLive:
		return &s.slab[r.index()]
	case refFinished:
		return &s.finished.buf[r.index()]
	}
	panic("engine: assertion failed: orderStore.at of a superseded or empty reference")
}

// get returns where order id is, live or remembered.
func (s *orderStore) get(id uint64) (orderRef, bool) { return s.byID.get(id) }

// liveSlot returns the slab slot of live order id.
func (s *orderStore) liveSlot(id uint64) int32 {
	r, ok := s.byID.get(id)
	assert(ok && r.isLive(), "liveSlot: order is not live")
	return r.index()
}

// byClOrd finds the order a client order id names. current reports whether
// that id is the order's own ClOrdID and the order is live (rather than a
// ClOrdID it was replaced from, or one of an order that is done).
func (s *orderStore) byClOrd(k clKey) (r orderRef, current, ok bool) {
	return s.byClOrdHashed(&k, hashClKey(&k))
}

// byClOrdHashed is byClOrd with the key's hash already computed.
func (s *orderStore) byClOrdHashed(k *clKey, h uint32) (r orderRef, current, ok bool) {
	r, ok = s.clGet(k, h)
	if !ok {
		return 0, false, false
	}
	if !r.isSuperseded() {
		return r, r.isLive(), true
	}
	// A forgotten order's superseded ids linger until their own ring
	// entry goes.
	r, ok = s.byID.get(s.superseded.buf[r.index()].id)
	return r, false, ok
}

// isCurrent reports whether k names a live order by its present ClOrdID.
func (s *orderStore) isCurrent(k clKey) bool {
	_, cur, ok := s.byClOrd(k)
	return ok && cur
}

// finish moves live order oi, which reached a final state, into the
// finished ring (forgetting the oldest remembered order if it is full) and
// frees its slot. The indexes follow it.
func (s *orderStore) finish(oi int32) {
	o := &s.slab[oi]
	assert(o.done(), "finish: order is live")
	i := s.finished.next()
	if s.finished.full() {
		s.forget(i)
	}
	s.finished.push(*o)
	k := clKey{account: o.account, id: o.clOrdID}
	s.byID.set(o.id, finishedRef(i))
	s.clRepoint(&k, o.clHash, liveRef(oi), finishedRef(i))
	s.slab[oi] = order{next: s.free}
	s.free = oi
	s.live--
}

// forget drops finished-ring entry i and the ClOrdID that names it.
func (s *orderStore) forget(i int) {
	o := &s.finished.buf[i]
	k := clKey{account: o.account, id: o.clOrdID}
	s.clDel(&k, o.clHash, finishedRef(i))
	ok := s.byID.del(o.id)
	assert(ok, "forget: order missing from id index")
}

// supersede moves the ClOrdID k of live order oi into the superseded
// ring (a replace is giving the order a new one): its index entry now
// points into the ring. The ring entry it overwrites, if full, is dropped
// from the index first (unless its key has since named something else).
func (s *orderStore) supersede(oi int32, k clKey) {
	i := s.superseded.next()
	if s.superseded.full() {
		old := s.superseded.buf[i]
		s.clDel(&old.key, hashClKey(&old.key), supersededRef(i))
	}
	o := &s.slab[oi]
	s.superseded.push(clRef{key: k, id: o.id})
	s.clRepoint(&k, o.clHash, liveRef(oi), supersededRef(i))
}

// ring is a bounded FIFO that overwrites its oldest element when full. It
// grows up to its bound, then wraps without allocating.
type ring[T any] struct {
	buf  []T
	head int // index of the oldest element once full
	max  int
}

func (r *ring[T]) init(max int) {
	r.buf = r.buf[:0]
	r.head = 0
	r.max = max
}

// next returns the index the next push writes.
func (r *ring[T]) next() int {
	if len(r.buf) < r.max {
		return len(r.buf)
	}
	return r.head
}

// full reports whether the next push overwrites the oldest element.
func (r *ring[T]) full() bool { return len(r.buf) >= r.max }

// push writes v at next(), overwriting the oldest element if full.
func (r *ring[T]) push(v T) {
	if len(r.buf) < r.max {
		r.buf = append(r.buf, v)
		return
	}
	r.buf[r.head] = v
	r.head++
	if r.head == len(r.buf) {
		r.head = 0
	}
}

// len returns the number of elements.
func (r *ring[T]) len() int { return len(r.buf) }

// phys returns the buffer index of the i-th oldest element.
func (r *ring[T]) phys(i int) int {
	j := r.head + i
	if j >= len(r.buf) {
		j -= len(r.buf)
	}
	return j
}
