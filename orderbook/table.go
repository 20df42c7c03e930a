package orderbook

import "math/bits"

// table maps a uint64 key to an int32 index: open addressing with linear
// probing, Fibonacci hashing and backward-shift deletion (no tombstones, so a
// long run of inserts and deletes never degrades it). It grows by doubling
// when the load would pass one half; at a steady number of keys it never
// allocates.
type table struct {
	slots []tableSlot
	mask  uint64
	count int32
	shift uint8 // 64 - log2(len(slots))
}

// tableSlot holds a key and its index plus one; zero marks an empty slot, so
// any key, including 0, can be stored.
type tableSlot struct {
	key  uint64
	val1 int32
}

const (
	tableSlotsMin = 16
	fibonacciHash = 0x9E3779B97F4A7C15
	// The table grows when it would be more than tableLoadNum/tableLoadDen
	// full: linear probing stays short up to about 3/4, and a smaller
	// table keeps more of many books' tables in cache.
	tableLoadNum = 3
	tableLoadDen = 4
)

func newTable(keysHint int) table {
	var t table
	t.init(keysHint)
	return t
}

func tableFits(keys, slots int) bool { return keys*tableLoadDen <= slots*tableLoadNum }

func (t *table) init(keysHint int) {
	n := tableSlotsMin
	for !tableFits(keysHint, n) {
		n <<= 1
	}
	t.slots = make([]tableSlot, n)
	t.shift = uint8(64 - bits.TrailingZeros(uint(n)))
	t.mask = uint64(n - 1)
	t.count = 0
}

// home is the first slot probed for key: Fibonacci hashing spreads
// sequential ids and neighbouring prices evenly.
func (t *table) home(key uint64) uint64 { return (key * fibonacciHash) >> t.shift }

// get returns the index stored for key.
func (t *table) get(key uint64) (int32, bool) {
	i := t.home(key)
	for {
		s := &t.slots[i]
		if s.val1 == 0 {
			return 0, false
		}
		if s.key == key {
			return s.val1 - 1, true
		}
		i = (i + 1) & t.mask
	}
}

// put stores key -> val. The key must not be present.
func (t *table) put(key uint64, val int32) {
	if !tableFits(int(t.count)+1, len(t.slots)) {
		t.grow()
	}
	t.insert(key, val)
	t.count++
}

func (t *table) insert(key uint64, val int32) {
	i := t.home(key)
	for t.slots[i].val1 != 0 {
		assert(t.slots[i].key != key, "table: duplicate key")
		i = (i + 1) & t.mask
	}
	t.slots[i] = tableSlot{key: key, val1: val + 1}
}

func (t *table) grow() {
	old := t.slots
	n := len(old) * 2
	t.slots = make([]tableSlot, n)
	t.shift--
	t.mask = uint64(n - 1)
	for _, s := range old {
		if s.val1 != 0 {
			t.insert(s.key, s.val1-1)
		}
	}
}

// del removes key and reports whether it was present. Later entries of the
// probe run shift back into the hole, so lookups never need tombstones.
func (t *table) del(key uint64) bool {
	i := t.home(key)
	for {
		s := &t.slots[i]
		if s.val1 == 0 {
			return false
		}
		if s.key == key {
			break
		}
		i = (i + 1) & t.mask
	}
	hole := i
	j := i
	for {
		j = (j + 1) & t.mask
		s := t.slots[j]
		if s.val1 == 0 {
			break
		}
		// s may move into the hole only if the hole lies on its probe path,
		// that is between its home slot and j.
		if (j-t.home(s.key))&t.mask >= (j-hole)&t.mask {
			t.slots[hole] = s
			hole = j
		}
	}
	t.slots[hole] = tableSlot{}
	t.count--
	return true
}

// clear empties the table without shrinking it.
func (t *table) clear() {
	clear(t.slots)
	t.count = 0
}
