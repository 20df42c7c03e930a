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
	// finishSeq is the order's place in the sequence of finished orders
	// (1 for the first), 0 while it is live; it tells a remembered order
	// from a forgotten one. Derived, not snapshotted.
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

// orderPadBytes pads an order to orderBytes, two cache lines: the table and
// the spill slab are large allocations (page aligned), so every record then
// sits on exactly two lines, and a random access to one (a maker, a cancel)
// costs two misses at most. The ClOrdID an order was replaced from is not
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

// orderRef says where an order's record is: a slot of the direct table,
// a slot of the spill slab, or (in the ClOrdID index only) an entry of the
// superseded ring. The kind is in the low bits; 0 is no reference.
type orderRef int32

const (
	refHome       = 1
	refSpill      = 2
	refSuperseded = 3
	refKindBits   = 2
	refKindMask   = 1<<refKindBits - 1
)

func homeRef(i uint64) orderRef       { return orderRef(int32(i)<<refKindBits | refHome) }
func spillRef(i int32) orderRef       { return orderRef(i<<refKindBits | refSpill) }
func supersededRef(i int) orderRef    { return orderRef(int32(i)<<refKindBits | refSuperseded) }
func (r orderRef) kind() int32        { return int32(r) & refKindMask }
func (r orderRef) index() int32       { return int32(r) >> refKindBits }
func (r orderRef) isSuperseded() bool { return r.kind() == refSuperseded }

// Bounds of the direct table, in orders (records of orderBytes).
const (
	// OrderSlotsMin is the table's initial size.
	OrderSlotsMin = 1 << 8
	// OrderSlotsMax caps the table (512 MiB of records); past it, orders
	// whose slot is taken go to the spill slab, which is only slower.
	OrderSlotsMax = 1 << 22
	// orderLoadDen: the table grows when the orders it holds would pass
	// 1/orderLoadDen of its slots, so that an order has usually been
	// finished and forgotten before the id that shares its slot arrives.
	orderLoadDen = 4
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
// Order ids are assigned in sequence, so the record of order id lives in
// the direct table at slot id&mask: a lookup by id is one access, new
// orders are written in sequence, and nothing is moved or re-indexed when
// an order finishes. A slot still held when the id that maps to it
// arrives (a long-lived order, about 1% of them at the default load) has
// its order moved to the spill slab, indexed by id.
//
// The most recent finished orders are remembered (their ids in the
// finished ring, oldest first); forgetting one drops its ClOrdID from the
// index and, if it spilled, its spill slot. A forgotten order's table slot
// is not touched: its finishSeq says it is forgotten, and the next id that
// maps there overwrites it. Superseded ClOrdIDs are remembered likewise.
// What is remembered and forgotten depends only on the log; where records
// sit never influences output.
type orderStore struct {
	slots     []order // the direct table; len is a power of two
	mask      uint64
	spill     spillStore
	byClOrdID clIndex
	live      int

	finishes   uint64               // orders finished so far (the last finishSeq)
	finished   ring[finishedRecord] // oldest first
	superseded ring[clRef]
}

// finishedRecord is a finished order's ring entry: enough to forget it
// without reading its record.
type finishedRecord struct {
	id   uint64
	hash uint32 // its clHash
}

// init empties the store, with room for about keysHint orders.
func (s *orderStore) init(keysHint int) {
	s.slots = make([]order, tableSlots(keysHint))
	s.mask = uint64(len(s.slots) - 1)
	s.spill.init()
	s.byClOrdID.init(keysHint)
	s.live = 0
	s.finishes = 0
	s.finished.init(rememberedOrdersMax)
	s.superseded.init(supersededClOrdIDsMax)
}

// tableSlots returns the table size for n orders.
func tableSlots(n int) int {
	slots := orderSlotsMin
	for slots < orderSlotsMax && n*orderLoadDen > slots {
		slots <<= 1
	}
	return slots
}

// held reports whether a table record is a known order: live, or finished
// and still remembered (not an empty slot or a forgotten order).
func (s *orderStore) held(o *order) bool {
	return o.id != 0 && (o.finishSeq == 0 || s.finishes-o.finishSeq < uint64(s.finished.max))
}

// count returns how many orders the store holds.
func (s *orderStore) count() int { return s.live + s.finished.len() }

// alloc stores a new live order id, zeroed, and returns where it is.
func (s *orderStore) alloc(id uint64) orderRef {
	if (s.count()+1)*orderLoadDen > len(s.slots) && len(s.slots) < orderSlotsMax {
		s.grow()
	}
	i := id & s.mask
	if o := &s.slots[i]; s.held(o) {
		if o.id == id {
			panic("engine: assertion failed: alloc of an order id that exists")
		}
		s.displace(i)
	}
	s.slots[i] = order{id: id}
	s.live++
	return homeRef(i)
}

// displace moves the order in table slot i to the spill slab.
func (s *orderStore) displace(i uint64) {
	o := &s.slots[i]
	j := s.spill.put(o)
	s.clRepointRef(o.clHash, homeRef(i), spillRef(j))
}

// at returns the record a table or spill reference names.
func (s *orderStore) at(r orderRef) *order {
	switch r.kind() {
	case refHome:
		return &s.slots[r.index()]
	case refSpill:
		return &s.spill.slab[r.index()]
	}
	panic("engine: assertion failed: orderStore.at of a superseded or empty reference")
}

// get returns where order id is, live or remembered.
func (s *orderStore) get(id uint64) (orderRef, bool) {
	i := id & s.mask
	if o := &s.slots[i]; o.id == id && s.held(o) {
		return homeRef(i), true
	}
	if j, ok := s.spill.lookup(id); ok {
		return spillRef(j), true
	}
	return 0, false
}

// liveOrder returns the record of live order id.
func (s *orderStore) liveOrder(id uint64) (orderRef, *order) {
	r, ok := s.get(id)
	assert(ok, "liveOrder: order is not known")
	o := s.at(r)
	assert(!o.done(), "liveOrder: order is done")
	return r, o
}

// appendLiveIDs appends the ids of the live orders that match, ascending:
// an order that depends only on the state, not on where orders sit (which
// differs after a restore).
func (s *orderStore) appendLiveIDs(dst []uint64, match func(*order) bool) []uint64 {
	start := len(dst)
	for _, slab := range [2][]order{s.slots, s.spill.slab} {
		for i := range slab {
			if o := &slab[i]; o.id != 0 && o.finishSeq == 0 && (match == nil || match(o)) {
				dst = append(dst, o.id)
			}
		}
	}
	slices.Sort(dst[start:])
	return dst
}

// eachHeld calls f with every order the store holds (live or remembered),
// in no particular order, stopping at the first error.
func (s *orderStore) eachHeld(f func(orderRef, *order) error) error {
	for i := range s.slots {
		if o := &s.slots[i]; s.held(o) {
			if err := f(homeRef(uint64(i)), o); err != nil {
				return err
			}
		}
	}
	for j := range s.spill.slab {
		if o := &s.spill.slab[j]; o.id != 0 {
			if err := f(spillRef(int32(j)), o); err != nil {
				return err
			}
		}
	}
	return nil
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

// isCurrent reports whether k names a live order by its present ClOrdID.
func (s *orderStore) isCurrent(k clKey) bool {
	_, cur, ok := s.byClOrd(k)
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
	s.finished.push(finishedRecord{id: o.id, hash: o.clHash})
	s.live--
}

// forget drops the oldest remembered order f: the ClOrdID that names it,
// and its spill slot if it spilled. Its table slot, if any, is left as is
// (finishSeq marks it forgotten once the ring moves on).
func (s *orderStore) forget(f finishedRecord) {
	if j, ok := s.spill.lookup(f.id); ok {
		s.clDelRef(f.hash, spillRef(j))
		s.spill.del(f.id, j)
		return
	}
	s.clDelRef(f.hash, homeRef(f.id&s.mask))
}

// supersede moves the ClOrdID k of live order r into the superseded
// ring (a replace is giving the order a new one): its index entry now
// points into the ring. The ring entry it overwrites, if full, is dropped
// from the index first (unless its key has since named something else).
func (s *orderStore) supersede(r orderRef, k clKey) {
	i := s.superseded.next()
	if s.superseded.full() {
		old := &s.superseded.buf[i]
		s.clDelRef(hashClKey(&old.key), supersededRef(i))
	}
	o := s.at(r)
	s.superseded.push(clRef{key: k, id: o.id})
	s.clRepointRef(o.clHash, r, supersededRef(i))
}

// grow doubles the table: every held order moves to its slot in the new
// table (spilled ones too, where the slot is free), and the ClOrdID index
// follows.
func (s *orderStore) grow() {
	old := s.slots
	s.slots = make([]order, 2*len(old))
	s.mask = uint64(len(s.slots) - 1)
	for i := range old {
		if o := &old[i]; s.held(o) {
			s.slots[o.id&s.mask] = *o // distinct in the old table, so in the new
		}
	}
	var moved []int32 // spill slots whose order went home
	for j := range s.spill.slab {
		o := &s.spill.slab[j]
		if o.id != 0 && !s.held(&s.slots[o.id&s.mask]) {
			s.slots[o.id&s.mask] = *o
			moved = append(moved, int32(j))
		}
	}
	t := &s.byClOrdID
	for i := range t.slots {
		sl := &t.slots[i]
		switch sl.ref.kind() {
		case refHome:
			sl.ref = homeRef(old[sl.ref.index()].id & s.mask)
		case refSpill:
			if id := s.spill.slab[sl.ref.index()].id; s.slots[id&s.mask].id == id {
				sl.ref = homeRef(id & s.mask)
			}
		}
	}
	for _, j := range moved {
		s.spill.del(s.spill.slab[j].id, j)
	}
	// An engine whose table grows is trading: give the remembered rings
	// their whole bound and the spill slab room for the orders a table of
	// this size spills (about 1% of the quarter it holds), now, with this
	// growth, rather than a few allocations at a time later.
	s.finished.reserve()
	s.superseded.reserve()
	s.spill.reserve(len(s.slots) / spillReserveDen)
}

// spillStore holds the orders displaced from the direct table: a slab with
// a free list, indexed by id.
type spillStore struct {
	slab []order
	free []int32
	byID idTable // order id -> slab index
}

func (p *spillStore) init() {
	p.slab = p.slab[:0]
	p.free = p.free[:0]
	p.byID.init(0)
}

// put copies o into a free slot and returns its index.
func (p *spillStore) put(o *order) int32 {
	var j int32
	if n := len(p.free); n > 0 {
		j = p.free[n-1]
		p.free = p.free[:n-1]
	} else {
		if len(p.slab) == cap(p.slab) {
			p.grow()
		}
		p.slab = append(p.slab, order{})
		j = int32(len(p.slab) - 1)
	}
	p.slab[j] = *o
	p.byID.put(o.id, orderRef(j+1))
	return j
}

// spillReserveDen: a table of n slots reserves n/spillReserveDen spill
// slots when it grows, a few times what it spills at orderLoadDen.
const spillReserveDen = 128

// spillSlotsMin is the spill slab's first allocation, in orders: the
// table spills about 1% of orders, so a busy engine spills often; growing
// from one slot at a time would allocate on the hot path again and again.
const spillSlotsMin = 1 << 10

// grow doubles the slab (to spillSlotsMin at first).
func (p *spillStore) grow() { p.reserve(max(spillSlotsMin, 2*cap(p.slab))) }

// reserve makes room for n orders in the slab, the free list and the id
// index, if there is less.
func (p *spillStore) reserve(n int) {
	if n <= cap(p.slab) {
		return
	}
	p.slab = append(make([]order, 0, n), p.slab...)
	p.free = append(make([]int32, 0, n), p.free...)
	if len(p.byID.slots)>>1 < n {
		p.byID.reserve(n)
	}
}

// del frees slot j, which holds order id.
func (p *spillStore) del(id uint64, j int32) {
	ok := p.byID.del(id)
	assert(ok, "spill: order missing from the id index")
	p.slab[j] = order{}
	p.free = append(p.free, j)
}

// lookup returns the slot of order id. The id index stores slot+1, since
// a reference of 0 means none.
func (p *spillStore) lookup(id uint64) (int32, bool) {
	if p.byID.count == 0 {
		return 0, false
	}
	r, ok := p.byID.get(id)
	return int32(r) - 1, ok
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
