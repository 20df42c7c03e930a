package engine

import (
	"slices"
	"unsafe"
)

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
	// finishSeq is the order's place in the sequence of finished orders
	// (1 for the first), 0 while it is live. Derived, not snapshotted.
	finishSeq  uint64
	instrument uint32
	account    int32
	principal  int32
	clHash     uint32 // hashClKey of (account, clOrdID); derived, not snapshotted
	side       Side
	ordType    OrdType
	tif        TimeInForce
	flags      uint8
	status     OrdStatus
	reason     Reason // why it was rejected, cancelled or expired
	clOrdID    [clOrdIDBytes]byte
	_          [orderPadBytes]byte
}

// orderPadBytes pads an order to orderBytes, two cache lines: the slab is
// a large allocation (page aligned), so every record then sits on exactly
// two lines, and a random access to one (a maker, a cancel) costs two
// misses at most. The ClOrdID an order was replaced from is not
// kept, for the same reason: the Replaced report (and the command's other
// reports on that order) carry it, from the context.
const (
	orderBytes    = 128
	orderPadBytes = 24
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

// supersededID is a superseded ring entry: a clRef and its key's hash
// (derived, not snapshotted), so that dropping the entry from the index
// needs no hashing, and no account's name.
type supersededID struct {
	key  clKey
	hash uint32
	id   uint64
}

func (r *supersededID) clRef() clRef { return clRef{key: r.key, id: r.id} }

// orderRef says where an order's record is: a slot of the record slab, or
// (in the ClOrdID index only) an entry of the superseded ring. The kind is
// in the low bits; 0 is no reference. A record never moves while it is
// held, so a reference to it stays valid until the order is forgotten.
type orderRef int32

const (
	refRecord     = 1
	refSuperseded = 3
	refKindBits   = 2
	refKindMask   = 1<<refKindBits - 1
)

func recordRef(i int32) orderRef      { return orderRef(i<<refKindBits | refRecord) }
func supersededRef(i int) orderRef    { return orderRef(int32(i)<<refKindBits | refSuperseded) }
func (r orderRef) kind() int32        { return int32(r) & refKindMask }
func (r orderRef) index() int32       { return int32(r) >> refKindBits }
func (r orderRef) isSuperseded() bool { return r.kind() == refSuperseded }

// Bounds of the id index's direct table, in entries.
const (
	// OrderSlotsMin is the direct table's initial size.
	OrderSlotsMin = 1 << 8
	// OrderSlotsMax caps the direct table (16 MiB of entries); past it,
	// ids whose entry is taken go to the spill index, which is only slower.
	OrderSlotsMax = 1 << 22
	// orderLoadDen: the direct table grows when the orders held would pass
	// 1/orderLoadDen of its entries, so that an order has usually been
	// finished and forgotten before the id that shares its entry arrives.
	orderLoadDen = 4
	// recordSlotsMin is the record slab's first allocation, in orders.
	recordSlotsMin = 1 << 8
)

// The table bounds in use: the constants, lowered by tests that exercise
// growth and spilling.
var (
	orderSlotsMin = OrderSlotsMin
	orderSlotsMax = OrderSlotsMax
)

// orderStore holds every order the engine knows, live or remembered, and
// indexes them by id and by (account, ClOrdID).
//
// Records live in a slab with a free list (a stack): an order keeps its
// slot from alloc until it is forgotten, and a new order takes the slot
// freed last. The slab holds only what is held, live and remembered orders,
// densely, so the records that commands touch at random (a cancel's
// target, a maker) sit in as few pages and lines as possible, and a new
// order writes into a slot that was in use a moment ago rather than into
// cold memory.
//
// The id index is a direct table of slab slots: order ids are assigned in
// sequence, so id's entry is at id&mask, 4 bytes, written in sequence. An
// entry still held when the id that maps to it arrives (a long-lived order,
// about 1% of them at the default load) moves to the spill index, a hash
// table by id. A lookup confirms the id in the record, which the caller
// reads next anyway.
//
// The most recent finished orders are remembered (the finished ring,
// oldest first); forgetting one drops its ClOrdID from the index, its id
// from the id index, and frees its slot. Superseded ClOrdIDs are
// remembered likewise. What is remembered and forgotten depends only on
// the log; where records sit never influences output.
type orderStore struct {
	records []order // the slab; see held for which records are in use
	free    []int32 // free slots of records, the last freed on top
	direct  []int32 // id&mask -> slab slot+1; 0 is none
	mask    uint64
	// spill indexes the held orders whose direct entry a newer id took.
	spill     idTable
	byClOrdID clIndex
	live      int

	finishes   uint64               // orders finished so far (the last finishSeq)
	finished   ring[finishedRecord] // oldest first
	superseded ring[supersededID]
}

// finishedRecord is a finished order's ring entry: enough to forget it
// without reading its record.
type finishedRecord struct {
	id   uint64
	hash uint32   // its clHash
	ref  orderRef // its record
}

// init empties the store, with room for about keysHint orders.
func (s *orderStore) init(keysHint int) {
	s.direct = make([]int32, tableSlots(keysHint))
	s.mask = uint64(len(s.direct) - 1)
	s.records = make([]order, 0, max(len(s.direct)/orderLoadDen, recordSlotsMin))
	s.free = make([]int32, 0, cap(s.records))
	s.spill.init(0)
	s.byClOrdID.init(keysHint)
	s.live = 0
	s.finishes = 0
	s.finished.init(rememberedOrdersMax)
	s.superseded.init(supersededClOrdIDsMax)
}

// tableSlots returns the direct table size for n orders.
func tableSlots(n int) int {
	slots := orderSlotsMin
	for slots < orderSlotsMax && n*orderLoadDen > slots {
		slots <<= 1
	}
	return slots
}

// held reports whether a record is a known order: live, or finished and
// still remembered (not a slot never used or one whose order was
// forgotten). A forgotten order's record stays as it was until its slot
// is taken again: marking it free would write a cold line for nothing.
func (s *orderStore) held(o *order) bool {
	return o.id != 0 && (o.finishSeq == 0 || s.finishes-o.finishSeq < uint64(s.finished.max))
}

// count returns how many orders the store holds.
func (s *orderStore) count() int { return s.live + s.finished.len() }

// alloc stores a new live order id, zeroed, and returns where it is.
func (s *orderStore) alloc(id uint64) orderRef {
	if (s.count()+1)*orderLoadDen > len(s.direct) && len(s.direct) < orderSlotsMax {
		s.grow()
	}
	j := s.takeSlot()
	s.records[j] = order{id: id}
	h := id & s.mask
	if e := s.direct[h]; e != 0 {
		// A held order has the entry: its id moves to the spill index.
		o := &s.records[e-1]
		assert(o.id != id, "alloc of an order id that exists")
		s.spill.put(o.id, recordRef(e-1))
	}
	s.direct[h] = j + 1
	s.live++
	return recordRef(j)
}

// takeSlot returns a free slot of the slab, the one freed last if any.
func (s *orderStore) takeSlot() int32 {
	if n := len(s.free); n > 0 {
		j := s.free[n-1]
		s.free = s.free[:n-1]
		return j
	}
	if len(s.records) == cap(s.records) {
		s.growRecords(0)
	}
	s.records = s.records[:len(s.records)+1]
	return int32(len(s.records) - 1)
}

// growRecords makes room for more records: doubling, or to n if more.
// The direct table calls it as it grows, with the most orders it holds
// before growing again, so that the slab grows with it (during the
// ramp-up) rather than on its own later.
func (s *orderStore) growRecords(n int) {
	n = max(n, 2*cap(s.records), recordSlotsMin)
	records := make([]order, len(s.records), n)
	copy(records, s.records)
	s.records = records
	s.free = append(make([]int32, 0, n), s.free...)
}

// at returns the record a reference names.
func (s *orderStore) at(r orderRef) *order {
	assert(r.kind() == refRecord, "orderStore.at of a superseded or empty reference")
	return &s.records[r.index()]
}

// get returns where order id is, live or remembered.
func (s *orderStore) get(id uint64) (orderRef, bool) {
	if e := s.direct[id&s.mask]; e != 0 && s.records[e-1].id == id {
		return recordRef(e - 1), true
	}
	if s.spill.count == 0 || id == 0 {
		return 0, false
	}
	return s.spill.get(id)
}

// liveOrder returns the record of live order id.
func (s *orderStore) liveOrder(id uint64) (orderRef, *order) {
	r, ok := s.get(id)
	assert(ok, "liveOrder: order is not known")
	o := s.at(r)
	assert(!o.done(), "liveOrder: order is done")
	return r, o
}

// makerOrder returns the record of live order id, which traded as a
// maker with tag (its orderbook.Order.Tag: the reference to its record
// that submit, or a restore, gave the book). The tag saves the id lookup,
// whose two dependent cache misses (index entry, then record) nothing can
// start early. The record it names is confirmed by its id and liveness;
// anything else (a tag of 0, out of range or naming another order) falls
// back to the lookup and reports ok false, so a wrong tag can cost time
// but never the state.
func (s *orderStore) makerOrder(tag uint32, id uint64) (r orderRef, o *order, ok bool) {
	if r = orderRef(tag); r.kind() == refRecord && uint32(r.index()) < uint32(len(s.records)) {
		if o = &s.records[r.index()]; o.id == id && !o.done() {
			return r, o, true
		}
	}
	r, o = s.liveOrder(id)
	return r, o, false
}

// appendLiveIDs appends the ids of the live orders that match, ascending:
// an order that depends only on the state, not on where orders sit (which
// differs after a restore).
func (s *orderStore) appendLiveIDs(dst []uint64, match func(*order) bool) []uint64 {
	start := len(dst)
	for i := range s.records {
		if o := &s.records[i]; o.id != 0 && o.finishSeq == 0 && (match == nil || match(o)) {
			dst = append(dst, o.id)
		}
	}
	slices.Sort(dst[start:])
	return dst
}

// eachHeld calls f with every order the store holds (live or remembered),
// in no particular order, stopping at the first error.
func (s *orderStore) eachHeld(f func(orderRef, *order) error) error {
	for i := range s.records {
		if o := &s.records[i]; s.held(o) {
			if err := f(recordRef(int32(i)), o); err != nil {
				return err
			}
		}
	}
	return nil
}

// byClOrdHashed finds the order a client order id names, given the key's
// hash. current reports whether that id is the order's own ClOrdID and
// the order is live (rather than a ClOrdID it was replaced from, or one
// of an order that is done).
func (s *orderStore) byClOrdHashed(k *clKey, h uint32) (r orderRef, current, ok bool) {
	r, ok = s.clGet(k, h)
	if !ok {
		return 0, false, false
	}
	return s.resolve(r)
}

// resolve returns the order a ClOrdID index entry names, and whether the
// key is that order's present ClOrdID and the order is live.
func (s *orderStore) resolve(ref orderRef) (r orderRef, current, ok bool) {
	if !ref.isSuperseded() {
		return ref, !s.at(ref).done(), true
	}
	// A forgotten order's superseded ids linger until their own ring
	// entry goes.
	r, ok = s.get(s.superseded.buf[ref.index()].id)
	return r, false, ok
}

// isCurrentID reports whether the key (account, *id), whose hash is h,
// names a live order by its present ClOrdID.
func (s *orderStore) isCurrentID(account int32, id *[clOrdIDBytes]byte, h uint32) bool {
	i, ok := s.clFindID(account, id, h)
	if !ok {
		return false
	}
	_, cur, ok := s.resolve(s.byClOrdID.slots[i].ref)
	return ok && cur
}

// finish records that the live order at r reached a final state: it is
// remembered as the newest finished order, and the oldest remembered one
// is forgotten if the ring is full. Nothing moves and no index changes.
func (s *orderStore) finish(r orderRef) {
	o := s.at(r)
	assert(o.done() && o.finishSeq == 0, "finish: order is live or already finished")
	if s.finished.full() {
		s.forget(s.finished.buf[s.finished.next()])
	}
	s.finishes++
	o.finishSeq = s.finishes
	s.finished.push(finishedRecord{id: o.id, hash: o.clHash, ref: r})
	s.live--
	if s.finished.full() {
		s.prefetchForget(&s.finished.buf[s.finished.next()])
	}
}

// prefetchForget starts fetching what forgetting f will touch (its
// ClOrdID index entry and its id index entry), a finish ahead: both sit at
// random places in tables too large to stay in cache, and the finish that
// forgets f may be commands away.
func (s *orderStore) prefetchForget(f *finishedRecord) {
	prefetch(unsafe.Pointer(&s.byClOrdID.slots[s.byClOrdID.home(f.hash)]))
	prefetch(unsafe.Pointer(&s.direct[f.id&s.mask]))
}

// forget drops the oldest remembered order f: the ClOrdID that names it,
// its id index entry, and its record, whose slot is free again (see held;
// the next alloc of the slot writes it whole).
func (s *orderStore) forget(f finishedRecord) {
	s.clDelRef(f.hash, f.ref)
	if h := f.id & s.mask; s.direct[h] == f.ref.index()+1 {
		s.direct[h] = 0
	} else {
		ok := s.spill.del(f.id)
		assert(ok, "forget: order missing from the id index")
	}
	s.free = append(s.free, f.ref.index())
	// The next alloc writes this record whole. It was last touched when
	// its order finished, long ago: a store into a line that is not in the
	// cache holds up every store after it until the line arrives, so the
	// new order would stall its command. Fetch both lines now.
	o := &s.records[f.ref.index()]
	prefetch(unsafe.Pointer(o))
	prefetch(unsafe.Add(unsafe.Pointer(o), orderBytes/2))
}

// supersede moves the ClOrdID k of live order r (its present one, whose
// hash is o.clHash) into the superseded ring (a replace is giving the
// order a new one): its index entry now points into the ring. The ring
// entry it overwrites, if full, is dropped from the index first (unless
// its key has since named something else).
func (s *orderStore) supersede(r orderRef, k clKey) {
	i := s.superseded.next()
	if s.superseded.full() {
		old := &s.superseded.buf[i]
		s.clDelRef(old.hash, supersededRef(i))
	}
	o := s.at(r)
	s.superseded.push(supersededID{key: k, hash: o.clHash, id: o.id})
	s.clRepointRef(o.clHash, r, supersededRef(i))
	if s.superseded.full() {
		// The next supersede drops this entry's key from the ClOrdID
		// index, at a random slot: start fetching it a replace ahead, as
		// prefetchForget does for finished orders.
		next := &s.superseded.buf[s.superseded.next()]
		prefetch(unsafe.Pointer(&s.byClOrdID.slots[s.byClOrdID.home(next.hash)]))
	}
}

// grow doubles the direct table and indexes every held order again: at
// its entry if free, else in the spill index. Records do not move, so the
// ClOrdID index is untouched.
func (s *orderStore) grow() {
	s.direct = make([]int32, 2*len(s.direct))
	s.mask = uint64(len(s.direct) - 1)
	s.spill.clear()
	for i := range s.records {
		o := &s.records[i]
		if !s.held(o) {
			continue
		}
		if h := o.id & s.mask; s.direct[h] == 0 {
			s.direct[h] = int32(i) + 1
		} else {
			s.spill.put(o.id, recordRef(int32(i)))
		}
	}
	// An engine whose table grows is trading: give the remembered rings
	// their whole bound and the spill index room for the orders a table of
	// this size spills (about 1% of the quarter it holds), now, with this
	// growth, rather than a few allocations at a time later.
	s.finished.reserve()
	s.superseded.reserve()
	s.spill.reserve(len(s.direct) / spillReserveDen)
	if n := len(s.direct) / orderLoadDen; n > cap(s.records) {
		s.growRecords(n)
	}
}

// spillReserveDen: a direct table of n entries reserves room for
// n/spillReserveDen spilled ids when it grows, a few times what it spills
// at orderLoadDen.
const spillReserveDen = 128

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

// reserve allocates the ring's whole bound, if it has not yet.
func (r *ring[T]) reserve() {
	if cap(r.buf) < r.max {
		r.buf = append(make([]T, 0, r.max), r.buf...)
	}
}

// push writes v at next(), overwriting the oldest element if full. The
// first push allocates the whole bound at once, so that filling the ring
// costs one allocation rather than one per doubling.
func (r *ring[T]) push(v T) {
	if len(r.buf) < r.max {
		r.reserve()
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
