package engine

import "math/bits"

// idTable maps an order id to where its record is: open addressing with
// linear probing and backward-shift deletion (no tombstones), grown by
// doubling past half full. At a steady number of keys it never allocates,
// which a Go map does not promise. Its layout never influences output: it
// is only probed, never iterated.
type idTable struct {
	slots []idSlot
	shift uint8
	mask  uint64
	count int
}

// idSlot holds a key and its reference; reference 0 marks an empty slot.
type idSlot struct {
	key uint64
	ref orderRef
}

const (
	idTableSlotsMin = 64
	fibonacciHash   = 0x9E3779B97F4A7C15
	idRunBits       = 4
)

func (t *idTable) init(keysHint int) {
	n := idTableSlotsMin
	for n>>1 < keysHint {
		n <<= 1
	}
	t.slots = make([]idSlot, n)
	t.shift = uint8(64 - bits.TrailingZeros(uint(n)))
	t.mask = uint64(n - 1)
	t.count = 0
}

// home is the first slot probed for key. Ids that differ only in their
// low idRunBits bits land in consecutive slots, so the newest orders (and
// the oldest, forgotten in id order) share cache lines; the high bits are
// Fibonacci-hashed so that the runs spread over the table.
func (t *idTable) home(key uint64) uint64 {
	return ((key>>idRunBits)*fibonacciHash>>t.shift + key) & t.mask
}

func (t *idTable) get(key uint64) (orderRef, bool) {
	for i := t.home(key); ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.ref == 0 {
			return 0, false
		}
		if s.key == key {
			return s.ref, true
		}
	}
}

// set changes the reference of a present key.
func (t *idTable) set(key uint64, ref orderRef) {
	for i := t.home(key); ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		assert(s.ref != 0, "idTable.set: key absent")
		if s.key == key {
			s.ref = ref
			return
		}
	}
}

// put stores key -> ref; the key must be absent.
func (t *idTable) put(key uint64, ref orderRef) {
	assert(ref != 0, "idTable: empty reference")
	if t.count+1 > len(t.slots)>>1 {
		t.grow()
	}
	t.insert(key, ref)
	t.count++
}

func (t *idTable) insert(key uint64, ref orderRef) {
	i := t.home(key)
	for t.slots[i].ref != 0 {
		assert(t.slots[i].key != key, "idTable: duplicate key")
		i = (i + 1) & t.mask
	}
	t.slots[i] = idSlot{key: key, ref: ref}
}

func (t *idTable) grow() { t.resize(len(t.slots) * 2) }

// clear removes every key, keeping the room.
func (t *idTable) clear() {
	clear(t.slots)
	t.count = 0
}

// reserve grows the table, if need be, so that keys entries fit without
// growing again.
func (t *idTable) reserve(keys int) {
	n := len(t.slots)
	for n>>1 < keys {
		n <<= 1
	}
	if n != len(t.slots) {
		t.resize(n)
	}
}

// resize rehashes into n slots (a power of two, at least twice the count).
func (t *idTable) resize(n int) {
	old := t.slots
	t.slots = make([]idSlot, n)
	t.shift = uint8(64 - bits.TrailingZeros(uint(n)))
	t.mask = uint64(n - 1)
	for _, s := range old {
		if s.ref != 0 {
			t.insert(s.key, s.ref)
		}
	}
}

// del removes key and reports whether it was present.
func (t *idTable) del(key uint64) bool {
	i := t.home(key)
	for {
		s := &t.slots[i]
		if s.ref == 0 {
			return false
		}
		if s.key == key {
			break
		}
		i = (i + 1) & t.mask
	}
	hole := i
	for j := (i + 1) & t.mask; t.slots[j].ref != 0; j = (j + 1) & t.mask {
		// An entry may move into the hole only if the hole is on its probe
		// path, between its home slot and j.
		if (j-t.home(t.slots[j].key))&t.mask >= (j-hole)&t.mask {
			t.slots[hole] = t.slots[j]
			hole = j
		}
	}
	t.slots[hole] = idSlot{}
	t.count--
	return true
}
