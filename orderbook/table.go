package orderbook

import "math/bits"

// table maps a uint64 key to an int32 index (a side's prices to their
// levels; orders are indexed by the order table itself, see orders.go):
// open addressing with linear
// probing, Fibonacci hashing and backward-shift deletion (no tombstones, so a
// long run of inserts and deletes never degrades it). It grows by doubling
// when the load would pass three quarters; at a steady number of keys it
// never allocates.
//
// A slot holds only 8 bytes: the index and a 32-bit tag of the key. The key
// itself already lives in what the index points at (an order's id, a
// level's price), so the caller confirms a tag match there; see
// Book.tableLevel. Half-size slots keep twice as many of many books'
// tables in cache, and the caller reads the level it looks up anyway. The tag alone gives the home slot back, which is all
// that growing and deleting need.
//
// The caller picks the tag function, and so how keys spread: hashTag
// spreads every key evenly; groupTag keeps neighbouring keys together: keys
// that differ only in their last tableGroupBits bits share a group, whose
// home slots are adjacent, one cache line, and only the group number is
// hashed. The price tables are grouped, so that the prices near the top of
// the book, which most commands touch, sit in a few cache lines instead of
// one line each. Ids would not be (a table of them in tests uses hashTag):
// consecutive ids would fill whole groups, and the long runs of full slots
// cost more probing than the cache lines they save.
type table struct {
	slots []tableSlot
	mask  uint64
	count int32
	shift uint8 // tableTagBits - log2(len(slots)): the group bits of a tag
}

// tableSlot holds an index plus one, so that the zero slot is empty, and
// the tag of its key.
type tableSlot struct {
	tag  uint32
	val1 int32
}

const (
	tableSlotsMin = 16
	// tableTagBits is the size of a tag, which must hold every home slot's
	// number: a table has at most 1<<tableTagBits slots, far above what
	// ordersMaxLimit orders need.
	tableTagBits = 32
	// tableGroupBits: a group is 1<<tableGroupBits slots of 8 bytes, a
	// cache line.
	tableGroupBits = 3
	tableGroupMask = 1<<tableGroupBits - 1
	fibonacciHash  = 0x9E3779B97F4A7C15
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
	t.setSlots(make([]tableSlot, n))
	t.count = 0
}

func (t *table) setSlots(s []tableSlot) {
	log2 := bits.TrailingZeros(uint(len(s)))
	assert(log2 <= tableTagBits, "table: too many slots")
	t.slots = s
	t.shift = uint8(tableTagBits - log2)
	t.mask = uint64(len(s) - 1)
}

// hashTag returns key's tag: the top bits of its Fibonacci hash, which
// spreads keys evenly.
func hashTag(key uint64) uint32 { return uint32((key * fibonacciHash) >> (64 - tableTagBits)) }

// groupTag returns key's tag in a table that keeps neighbours together:
// the top bits of its group number's hash, and its place in the group.
func groupTag(key uint64) uint32 {
	return hashTag(key>>tableGroupBits)&^tableGroupMask | uint32(key)&tableGroupMask
}

// home is the first slot to probe for a key with tag: the group's first
// slot, from the tag's top bits, plus the key's place in the group (the
// tag's last bits, which a hashTag makes as random as the rest). A lookup
// walks from there with next until it meets an empty slot (the key is
// absent) or a slot with the tag whose index holds the key.
func (t *table) home(tag uint32) uint64 {
	return uint64(tag>>(t.shift&(tableTagBits-1)))&^tableGroupMask | uint64(tag&tableGroupMask)
}

func (t *table) next(i uint64) uint64 { return (i + 1) & t.mask }

// put stores val for a key with tag. The key must not be present.
func (t *table) put(tag uint32, val int32) {
	if !tableFits(int(t.count)+1, len(t.slots)) {
		t.grow()
	}
	t.insert(tableSlot{tag: tag, val1: val + 1})
	t.count++
}

func (t *table) insert(s tableSlot) {
	i := t.home(s.tag)
	for t.slots[i].val1 != 0 {
		i = t.next(i)
	}
	t.slots[i] = s
}

func (t *table) grow() {
	old := t.slots
	t.setSlots(make([]tableSlot, len(old)*2))
	for _, s := range old {
		if s.val1 != 0 {
			t.insert(s)
		}
	}
}

// delAt empties slot i, which a lookup found. Later entries of the probe
// run shift back into the hole, so lookups never need tombstones.
func (t *table) delAt(i uint64) {
	hole, j := i, i
	for {
		j = t.next(j)
		s := t.slots[j]
		if s.val1 == 0 {
			break
		}
		// s may move into the hole only if the hole lies on its probe path,
		// that is between its home slot and j.
		if (j-t.home(s.tag))&t.mask >= (j-hole)&t.mask {
			t.slots[hole] = s
			hole = j
		}
	}
	t.slots[hole] = tableSlot{}
	t.count--
}
