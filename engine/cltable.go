package engine

import (
	"encoding/binary"
	"math/bits"
)

// clIndex maps (account, ClOrdID) to the order it names: open addressing
// with linear probing and backward-shift deletion, 8 bytes a slot. A slot
// holds 32 bits of the key's hash and a reference: to the order's record,
// live or finished (the key is the order's own ClOrdID), or to an entry of
// the superseded ring (a ClOrdID the order was replaced from). The key itself lives where
// the reference points, so the index stays small enough to stay in cache,
// and a lookup lands on the order without going through the id index.
//
// A Go map is not used because this index churns (every order adds a key
// and later removes one) and is mostly probed for absent keys (every new
// ClOrdID): tombstones make such probes run long until the next rehash. The
// index is never iterated except to write a snapshot, which sorts.
type clIndex struct {
	slots []clSlot
	shift uint8 // 32 - log2(len(slots))
	mask  uint32
	count int
}

// clSlot is one entry; ref 0 marks an empty slot.
type clSlot struct {
	hash uint32
	ref  orderRef
}

// clFits reports whether keys entries fit slots within the load bound,
// clLoadNum/clLoadDen. Every new order probes the index for an absent key
// and every forgotten order deletes one, at random slots: the smaller the
// index, the more of it stays in cache, and at 8 bytes a slot a probe at
// this load still stays within a cache line or two.
func clFits(keys, slots int) bool { return keys*clLoadDen <= slots*clLoadNum }

const (
	clLoadNum       = 3
	clLoadDen       = 4
	clIndexSlotsMin = 64
	clHashMul0      = 0x9E3779B97F4A7C15
	clHashMul1      = 0xBF58476D1CE4E5B9
	clHashMul2      = 0x94D049BB133111EB
	clHashMul3      = 0xD6E8FEB86659FD93
	clHashMul4      = 0xFF51AFD7ED558CCD
	clHashMul5      = 0xC4CEB9FE1A85EC53
)

func (t *clIndex) init(keysHint int) {
	n := clIndexSlotsMin
	for !clFits(keysHint, n) {
		n <<= 1
	}
	t.slots = make([]clSlot, n)
	t.shift = uint8(32 - bits.TrailingZeros(uint(n)))
	t.mask = uint32(n - 1)
	t.count = 0
}

// hashClID is the hash of the key (account, *id), given the account's
// name: it mixes the two words of the name and the four words of the id,
// read where they lie (a command's fields). Names are unique and an
// account keeps its name and index for good, so the name stands for the
// index; hashing the name lets a hint hash a command's key straight from
// the command, without resolving the account first (a lookup in a table
// that a flow of 100 instruments keeps out of cache). Each word is
// multiplied by its own constant and the products summed, so that the
// multiplies run side by side rather than one after another (every new
// order, cancel and replace waits for this hash before its first probe);
// a final xor-shift and multiply spreads the sum into the top bits, which
// pick the home slot. It is fixed (no per-process seed), so the layout is
// the same on every member; the layout never affects output either way.
func hashClID(account *[accountNameBytes]byte, id *[clOrdIDBytes]byte) uint32 {
	h := binary.LittleEndian.Uint64(account[0:8])*clHashMul0 +
		binary.LittleEndian.Uint64(account[8:16])*clHashMul5 +
		binary.LittleEndian.Uint64(id[0:8])*clHashMul1 +
		binary.LittleEndian.Uint64(id[8:16])*clHashMul2 +
		binary.LittleEndian.Uint64(id[16:24])*clHashMul3 +
		binary.LittleEndian.Uint64(id[24:32])*clHashMul4
	h ^= h >> 29
	return uint32((h * clHashMul5) >> 32)
}

// clKeyHash is the hash of key k, whose account is one of s's.
func (s *state) clKeyHash(k *clKey) uint32 { return hashClID(&s.accounts[k.account].name, &k.id) }

func (t *clIndex) home(h uint32) uint32 { return h >> t.shift }

// refKeyIs reports whether ref names key k.
func (s *orderStore) refKeyIs(ref orderRef, k *clKey) bool { return s.refIDIs(ref, k.account, &k.id) }

// refIDIs reports whether ref names the key (account, *id).
func (s *orderStore) refIDIs(ref orderRef, account int32, id *[clOrdIDBytes]byte) bool {
	if ref.isSuperseded() {
		r := &s.superseded.buf[ref.index()].key
		return r.account == account && sameClOrdID(&r.id, id)
	}
	o := s.at(ref)
	return o.account == account && sameClOrdID(&o.clOrdID, id)
}

// sameClOrdID compares two ClOrdIDs a word at a time (an array compare
// would call the runtime's memequal).
func sameClOrdID(a, b *[clOrdIDBytes]byte) bool {
	return binary.LittleEndian.Uint64(a[0:8]) == binary.LittleEndian.Uint64(b[0:8]) &&
		binary.LittleEndian.Uint64(a[8:16]) == binary.LittleEndian.Uint64(b[8:16]) &&
		binary.LittleEndian.Uint64(a[16:24]) == binary.LittleEndian.Uint64(b[16:24]) &&
		binary.LittleEndian.Uint64(a[24:32]) == binary.LittleEndian.Uint64(b[24:32])
}

// clFind returns the slot holding k, or, if k is absent, the empty slot
// that ended the probe (where an insert would put it).
func (s *orderStore) clFind(k *clKey, h uint32) (uint32, bool) {
	return s.clFindID(k.account, &k.id, h)
}

// clFindID is clFind of the key (account, *id), compared where the id lies.
func (s *orderStore) clFindID(account int32, id *[clOrdIDBytes]byte, h uint32) (uint32, bool) {
	t := &s.byClOrdID
	for i := t.home(h); ; i = (i + 1) & t.mask {
		sl := &t.slots[i]
		if sl.ref == 0 {
			return i, false
		}
		if sl.hash == h && s.refIDIs(sl.ref, account, id) {
			return i, true
		}
	}
}

// clFindRef returns the slot that holds exactly (h, ref). An entry's
// reference always holds the entry's key, so this is the entry of the key
// ref holds, if it points at ref; the record need not be read.
func (t *clIndex) clFindRef(h uint32, ref orderRef) (uint32, bool) {
	for i := t.home(h); ; i = (i + 1) & t.mask {
		sl := &t.slots[i]
		if sl.ref == 0 {
			return 0, false
		}
		if sl.hash == h && sl.ref == ref {
			return i, true
		}
	}
}

// clGet returns the reference stored for k, whose hash is h.
func (s *orderStore) clGet(k *clKey, h uint32) (orderRef, bool) {
	i, ok := s.clFind(k, h)
	if !ok {
		return 0, false
	}
	return s.byClOrdID.slots[i].ref, true
}

// clPut makes k name ref. ref must already name k (the order's record
// holds k as its ClOrdID, or the ring entry holds k), since the index
// compares keys through references.
func (s *orderStore) clPut(k *clKey, h uint32, ref orderRef) {
	assert(ref != 0 && s.refKeyIs(ref, k), "clPut: reference does not hold the key")
	i, ok := s.clFind(k, h)
	s.clPutAt(i, ok, h, ref)
}

// clPutAt is clPut once clFind returned (i, found) for the key: a present
// key is repointed, an absent one is inserted at i (unless the index must
// grow first), without probing again.
func (s *orderStore) clPutAt(i uint32, found bool, h uint32, ref orderRef) {
	t := &s.byClOrdID
	if found {
		t.slots[i].ref = ref
		return
	}
	if !clFits(t.count+1, len(t.slots)) {
		t.grow()
		t.insert(clSlot{hash: h, ref: ref})
	} else {
		t.slots[i] = clSlot{hash: h, ref: ref}
	}
	t.count++
}

// clRepointRef changes the entry (h, from), if there is one, to point at
// to, which must hold the same key.
func (s *orderStore) clRepointRef(h uint32, from, to orderRef) {
	if i, ok := s.byClOrdID.clFindRef(h, from); ok {
		s.byClOrdID.slots[i].ref = to
	}
}

func (t *clIndex) insert(sl clSlot) {
	i := t.home(sl.hash)
	for t.slots[i].ref != 0 {
		i = (i + 1) & t.mask
	}
	t.slots[i] = sl
}

func (t *clIndex) grow() {
	old := t.slots
	n := len(old) * 2
	t.slots = make([]clSlot, n)
	t.shift--
	t.mask = uint32(n - 1)
	for i := range old {
		if old[i].ref != 0 {
			t.insert(old[i])
		}
	}
}

// clDelRef removes the entry (h, ref), if there is one: the entry of the
// key ref holds, if it still points at ref.
func (s *orderStore) clDelRef(h uint32, ref orderRef) {
	t := &s.byClOrdID
	i, ok := t.clFindRef(h, ref)
	if !ok {
		return
	}
	hole := i
	for j := (i + 1) & t.mask; t.slots[j].ref != 0; j = (j + 1) & t.mask {
		if (j-t.home(t.slots[j].hash))&t.mask >= (j-hole)&t.mask {
			t.slots[hole] = t.slots[j]
			hole = j
		}
	}
	t.slots[hole] = clSlot{}
	t.count--
}

// appendClRefs appends every entry as (key, order id), in table order
// (callers sort).
func (s *orderStore) appendClRefs(dst []clRef) []clRef {
	for _, sl := range s.byClOrdID.slots {
		switch {
		case sl.ref == 0:
		case sl.ref.isSuperseded():
			dst = append(dst, s.superseded.buf[sl.ref.index()].clRef())
		default:
			o := s.at(sl.ref)
			dst = append(dst, clRef{key: clKey{account: o.account, id: o.clOrdID}, id: o.id})
		}
	}
	return dst
}
