package engine

import (
	"encoding/binary"
	"math/bits"
)

// nameIndex maps a 16-byte identifier (account or principal name) to its
// index: open addressing with linear probing; entries are never removed
// (accounts and principals are never deleted). It replaces a Go map on the
// per-command path, where hashing through the runtime's generic map cost
// more than the lookup itself; like every index here it is never iterated.
type nameIndex struct {
	slots []nameSlot
	shift uint8
	mask  uint64
	count int
}

// nameSlot holds a key and its index plus one; zero marks an empty slot.
type nameSlot struct {
	key  [16]byte
	val1 int32
}

const nameIndexSlotsMin = 16

func (t *nameIndex) init() {
	t.slots = make([]nameSlot, nameIndexSlotsMin)
	t.shift = uint8(64 - bits.TrailingZeros(nameIndexSlotsMin))
	t.mask = nameIndexSlotsMin - 1
	t.count = 0
}

func hashName(k *[16]byte) uint64 {
	h := (binary.LittleEndian.Uint64(k[:8]) ^ clHashMul1) * clHashMul0
	h = (h ^ h>>29 ^ binary.LittleEndian.Uint64(k[8:])) * clHashMul1
	return h ^ h>>32
}

func (t *nameIndex) home(k *[16]byte) uint64 { return (hashName(k) * fibonacciHash) >> t.shift }

// get returns the index stored for k.
func (t *nameIndex) get(k [16]byte) (int32, bool) { return t.find(&k) }

// find is get of *k, read where it lies (a command's field) rather than
// copied.
func (t *nameIndex) find(k *[16]byte) (int32, bool) {
	for i := t.home(k); ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.val1 == 0 {
			return 0, false
		}
		if sameName(&s.key, k) {
			return s.val1 - 1, true
		}
	}
}

// put stores k -> v; k must be absent.
func (t *nameIndex) put(k [16]byte, v int32) {
	if t.count+1 > len(t.slots)>>1 {
		old := t.slots
		t.slots = make([]nameSlot, 2*len(old))
		t.shift--
		t.mask = uint64(len(t.slots) - 1)
		for _, s := range old {
			if s.val1 != 0 {
				t.insert(s.key, s.val1)
			}
		}
	}
	t.insert(k, v+1)
	t.count++
}

func (t *nameIndex) insert(k [16]byte, val1 int32) {
	i := t.home(&k)
	for t.slots[i].val1 != 0 {
		assert(t.slots[i].key != k, "nameIndex: duplicate key")
		i = (i + 1) & t.mask
	}
	t.slots[i] = nameSlot{key: k, val1: val1}
}
