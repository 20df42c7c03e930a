package engine

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
	prev, next  int32 // the principal's live-order list; the free list
	side        Side
	ordType     OrdType
	tif         TimeInForce
	flags       uint8
	status      OrdStatus
	reason      Reason // why it was rejected, cancelled or expired
	clOrdID     [clOrdIDBytes]byte
	origClOrdID [clOrdIDBytes]byte // the ClOrdID it was replaced from
}

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

// orderStore holds live orders and the most recent finished ones in a slab
// with a free list, indexed by order id and by (account, ClOrdID). Finished
// orders and superseded ClOrdIDs are forgotten oldest first (FIFO rings), so
// memory is bounded and what is forgotten depends only on the log.
type orderStore struct {
	slab      []order
	free      int32
	byID      idTable
	byClOrdID clIndex
	live      int

	finished   ring[int32] // slab indexes of finished orders, oldest first
	superseded ring[clRef]
}

func (s *orderStore) init() {
	s.slab = s.slab[:0]
	s.free = nilIndex
	s.byID.init(0)
	s.byClOrdID.init(0)
	s.live = 0
	s.finished.init(RememberedOrdersMax)
	s.superseded.init(SupersededClOrdIDsMax)
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
	s.slab[oi] = order{id: id, prev: nilIndex, next: nilIndex}
	s.byID.put(id, oi)
	s.live++
	return oi
}

// get returns the slot of a live or remembered order.
func (s *orderStore) get(id uint64) (int32, bool) { return s.byID.get(id) }

// byClOrd finds the order a client order id names. current reports whether
// that id is the order's own live ClOrdID (rather than one it was replaced
// from, or one of an order that is done).
func (s *orderStore) byClOrd(k clKey) (oi int32, current, ok bool) {
	ref, ok := s.clGet(&k)
	if !ok {
		return 0, false, false
	}
	if ref > 0 {
		oi = int32(ref - 1)
		return oi, !s.slab[oi].done(), true
	}
	oi, ok = s.byID.get(s.superseded.buf[-ref-1].id)
	// A forgotten order's superseded ids linger until their own ring
	// entry goes.
	return oi, false, ok
}

// isCurrent reports whether k names a live order by its present ClOrdID.
func (s *orderStore) isCurrent(k clKey) bool {
	_, cur, ok := s.byClOrd(k)
	return ok && cur
}

// finish records that order oi reached a final state: it leaves the live
// count and joins the finished ring, pushing out the oldest remembered one.
func (s *orderStore) finish(oi int32) {
	s.live--
	if old, full := s.finished.push(oi); full {
		s.forget(old)
	}
}

// forget drops a finished order and the ClOrdID that names it.
func (s *orderStore) forget(oi int32) {
	o := &s.slab[oi]
	assert(o.done(), "forget: order is live")
	k := clKey{account: o.account, id: o.clOrdID}
	s.clDel(&k, slabRef(oi))
	ok := s.byID.del(o.id)
	assert(ok, "forget: order missing from id index")
	s.slab[oi] = order{next: s.free, prev: nilIndex}
	s.free = oi
}

// supersede moves the ClOrdID k of live order oi into the superseded
// ring (a replace is giving the order a new one): its index entry now
// points into the ring. The ring entry it overwrites, if full, is dropped
// from the index first (unless its key has since named something else).
func (s *orderStore) supersede(oi int32, k clKey) {
	i := s.superseded.next()
	if s.superseded.full() {
		old := s.superseded.buf[i]
		s.clDel(&old.key, ringRef(i))
	}
	s.superseded.push(clRef{key: k, id: s.slab[oi].id})
	s.clRepoint(&k, slabRef(oi), ringRef(i))
}

// ring is a bounded FIFO that hands back the oldest element when a push
// finds it full. It grows up to its bound, then wraps without allocating.
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

// push appends v; if the ring was full it returns the element v displaced.
func (r *ring[T]) push(v T) (old T, full bool) {
	if len(r.buf) < r.max {
		r.buf = append(r.buf, v)
		return old, false
	}
	old = r.buf[r.head]
	r.buf[r.head] = v
	r.head++
	if r.head == len(r.buf) {
		r.head = 0
	}
	return old, true
}

// next returns the index the next push writes.
func (r *ring[T]) next() int {
	if len(r.buf) < r.max {
		return len(r.buf)
	}
	return r.head
}

// full reports whether the next push displaces the oldest element.
func (r *ring[T]) full() bool { return len(r.buf) >= r.max }

// len returns the number of elements.
func (r *ring[T]) len() int { return len(r.buf) }

// at returns the i-th oldest element.
func (r *ring[T]) at(i int) T {
	j := r.head + i
	if j >= len(r.buf) {
		j -= len(r.buf)
	}
	return r.buf[j]
}
