package engine

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math/bits"
)

// Restore replaces the engine's state with a snapshot made by
// AppendSnapshot. Every length and cross-reference is checked; a corrupted
// or inconsistent snapshot returns an error wrapping ErrSnapshot and leaves
// the engine as it was. Counters are not part of the state and are kept.
// Restore schedules no timers: pending state changes are restored as
// state (see PendingTimers).
func (e *Engine) Restore(data []byte) error {
	if len(data) < len(snapMagic)+4+snapTrailerLength {
		return fmt.Errorf("%w: %d bytes", ErrSnapshot, len(data))
	}
	end := len(data) - snapTrailerLength
	if crc32.Checksum(data[:end], castagnoli) != binary.LittleEndian.Uint32(data[end:]) {
		return fmt.Errorf("%w: checksum mismatch", ErrSnapshot)
	}
	r := &snapReader{b: data[:end]}
	if string(r.take(len(snapMagic))) != snapMagic {
		return fmt.Errorf("%w: bad magic", ErrSnapshot)
	}
	if v := r.u32(); v != snapVersion {
		return fmt.Errorf("%w: unsupported version %d", ErrSnapshot, v)
	}
	var ns state
	ns.init()
	ns.nextOrderID, ns.nextExecID, ns.nextTradeID, ns.nextTimerID = r.u64(), r.u64(), r.u64(), r.i64()
	e.readInstruments(r, &ns)
	ns.indexInstruments()
	readParties(r, &ns)
	readOrders(r, &ns)
	readPending(r, &ns)
	if r.err == nil && r.off != len(r.b) {
		r.fail("%d trailing bytes", len(r.b)-r.off)
	}
	if r.err == nil {
		checkRestored(r, &ns)
	}
	if r.err != nil {
		return r.err
	}
	e.state = ns
	e.lastSession = nil
	return nil
}

func (e *Engine) readInstruments(r *snapReader, ns *state) {
	n := r.count("instruments", InstrumentsMax)
	for i := 0; i < n && r.err == nil; i++ {
		info := InstrumentInfo{ID: r.u32(), Symbol: r.array16(), PriceDecimals: r.u8(), State: TradingState(r.u8())}
		info.TickSize, info.LotSize, info.ReferencePrice, info.BandBps = r.i64(), r.i64(), r.i64(), r.u32()
		raw := r.take(r.count("book bytes", len(r.b)))
		if r.err != nil {
			return
		}
		if !ValidChars(chars(info.Symbol[:])) || !info.State.Valid() || info.TickSize <= 0 || info.LotSize <= 0 ||
			info.ReferencePrice < 0 || info.BandBps > basisPointsPerUnit || info.PriceDecimals > maxPriceDecimals ||
			info.ID == AllInstruments || (i > 0 && info.ID <= ns.instruments[i-1].info.ID) {
			r.fail("instrument %d: bad definition", info.ID)
			return
		}
		band := bandOf(info.ReferencePrice, info.BandBps)
		if !e.validBookParams(info.TickSize, info.LotSize, band, info.ReferencePrice) {
			r.fail("instrument %d: parameters out of range", info.ID)
			return
		}
		book := e.newBook(info.TickSize, info.LotSize, band)
		if err := book.Restore(raw); err != nil {
			r.fail("instrument %d: %v", info.ID, err)
			return
		}
		if !bookConfigMatches(book, &info) {
			r.fail("instrument %d: book parameters disagree with the definition", info.ID)
			return
		}
		ns.instruments = append(ns.instruments, &instrument{info: info, band: band, book: book})
		ns.instrumentIDs = append(ns.instrumentIDs, info.ID)
	}
}

func readParties(r *snapReader, ns *state) {
	n := r.count("accounts", AccountsMax)
	for i := 0; i < n && r.err == nil; i++ {
		a := account{name: r.array16(), stp: STPMode(r.u8())}
		if _, dup := ns.accountIdx.get(a.name); dup || !validName(a.name[:]) || !a.stp.Valid() {
			r.fail("account %d: bad or duplicate", i)
			return
		}
		ns.accounts = append(ns.accounts, a)
		ns.accountIdx.put(a.name, int32(i))
	}
	n = r.count("principals", PrincipalsMax)
	for i := 0; i < n && r.err == nil; i++ {
		readPrincipal(r, ns, i)
	}
	n = r.count("sessions", SessionsMax)
	for i := 0; i < n && r.err == nil; i++ {
		s := &session{id: SessionID(r.i64()), name: r.array16(), principal: r.i32()}
		if s.id == 0 || !validName(s.name[:]) || s.principal < nilIndex || int(s.principal) >= len(ns.principals) {
			r.fail("session %d: bad", s.id)
			return
		}
		if _, dup := ns.sessions[s.id]; dup {
			r.fail("session %d: duplicate", s.id)
			return
		}
		ns.sessions[s.id] = s
	}
}

func readPrincipal(r *snapReader, ns *state, i int) {
	p := principal{name: r.array16(), role: Role(r.u8())}
	cod := r.u8()
	p.cod, p.session, p.senderSeq = cod == 1, SessionID(r.i64()), r.u64()
	if _, dup := ns.principalIdx.get(p.name); dup || !validName(p.name[:]) || !p.role.Valid() || cod > 1 {
		r.fail("principal %d: bad or duplicate", i)
		return
	}
	n := r.count("accounts of a principal", AccountsPerPrincipalMax)
	for j := 0; j < n && r.err == nil; j++ {
		a := r.i32()
		if a < 0 || int(a) >= len(ns.accounts) || (j > 0 && a <= p.accounts[j-1]) {
			r.fail("principal %d: bad account %d", i, a)
			return
		}
		p.accounts = append(p.accounts, a)
	}
	p.setAccounts(p.accounts, ns.accounts)
	ns.principals = append(ns.principals, p)
	ns.principalIdx.put(p.name, int32(i))
}

// Identifier fields are used as map keys whole, so they must be canonical:
// ValidChars up to the first NUL, then only NULs. "ab\x00cd" would
// otherwise be a second key that reports render as "ab".

func validAccount(k [accountNameBytes]byte) bool     { return validName(k[:]) }
func validPrincipal(k [principalNameBytes]byte) bool { return validName(k[:]) }
func validClOrdID(k [clOrdIDBytes]byte) bool         { return validName32(&k) }
func validSymbol(k [symbolBytes]byte) bool           { return validName(k[:]) }

// validName reports whether a NUL-padded identifier field is well formed:
// valid characters, then only padding.
func validName(b []byte) bool {
	if len(b)%8 == 0 {
		return validNameWords(b)
	}
	return validNameBytes(b)
}

// SWAR constants: every byte 0x01, 0x80, and the offsets that carry a
// valid byte (0x21..0x7E) into bit 7 or keep it out.
const (
	swarOnes  = 0x0101010101010101
	swarHighs = 0x8080808080808080
	swarGE21  = 0x5F5F5F5F5F5F5F5F // c+0x5F has bit 7 set iff c >= 0x21 (for c < 0x80)
	swarLow7  = 0x7F7F7F7F7F7F7F7F // c+0x7F has bit 7 set iff c != 0 (for c < 0x80)
)

// validNameWords is validName eight bytes at a time: in each word, the
// bytes before the first NUL must be 0x21..0x7E and the rest 0; after a
// word with a NUL, every word must be 0. TestValidNameWords checks it
// against validNameBytes.
func validNameWords(b []byte) bool {
	ended := false
	for i := 0; i < len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if ended {
			if w != 0 {
				return false
			}
			continue
		}
		// The lowest set bit of zeros marks the first NUL exactly (the
		// trick's false positives only sit above a real zero byte).
		zeros := (w - swarOnes) &^ w & swarHighs
		k := 8
		if zeros != 0 {
			k = bits.TrailingZeros64(zeros) / 8
			ended = true
		}
		if k == 0 {
			return i > 0 && w == 0
		}
		prefix := uint64(1)<<(8*uint(k)) - 1
		if k == 8 {
			prefix = ^uint64(0)
		}
		if k < 8 && w>>(8*uint(k)) != 0 {
			return false
		}
		p := w & prefix
		hi := swarHighs & prefix
		if p&swarHighs != 0 || (p+swarGE21&prefix)&hi != hi || (p+swarOnes&prefix)&hi != 0 {
			return false
		}
	}
	return true
}

// validName32 is validName for a 32-byte field (a ClOrdID, checked on
// every order entry), without loops or branches per word: every byte must
// be a valid character or NUL, the NULs a suffix of at least one byte's
// worth less than the whole, and the first byte not NUL. TestValidName32
// checks it against validNameBytes.
func validName32(k *[32]byte) bool {
	w0 := binary.LittleEndian.Uint64(k[0:8])
	w1 := binary.LittleEndian.Uint64(k[8:16])
	w2 := binary.LittleEndian.Uint64(k[16:24])
	w3 := binary.LittleEndian.Uint64(k[24:32])
	if (w0|w1|w2|w3)&swarHighs != 0 {
		return false // a byte of 0x80 or more
	}
	z0, z1, z2, z3 := swarZeros(w0), swarZeros(w1), swarZeros(w2), swarZeros(w3)
	v0, v1, v2, v3 := swarValid(w0), swarValid(w1), swarValid(w2), swarValid(w3)
	// Each byte a character or NUL; within a word, no character after a
	// NUL; a word with a NUL followed only by zero words; byte 0 not NUL.
	return (v0|z0)&(v1|z1)&(v2|z2)&(v3|z3) == swarHighs &&
		(z0<<8)&^z0|(z1<<8)&^z1|(z2<<8)&^z2|(z3<<8)&^z3 == 0 &&
		(z0 == 0 || w1|w2|w3 == 0) && (z1 == 0 || w2|w3 == 0) && (z2 == 0 || w3 == 0) &&
		z0&0x80 == 0
}

// swarZeros marks (bit 7) the bytes of w that are 0; w has no byte of 0x80
// or more.
func swarZeros(w uint64) uint64 {
	return ^(w + swarLow7) & swarHighs
}

// swarValid marks (bit 7) the bytes of w that are 0x21..0x7E; w has no
// byte of 0x80 or more, so no sum below carries into the next byte.
func swarValid(w uint64) uint64 {
	return (w + swarGE21) &^ (w + swarOnes) & swarHighs
}

// validNameBytes is validName a byte at a time.
func validNameBytes(b []byte) bool {
	n := 0
	for n < len(b) && b[n] != 0 {
		if c := b[n]; c <= ' ' || c > '~' {
			return false
		}
		n++
	}
	if n == 0 {
		return false
	}
	// The padding, a word at a time once aligned to the field's 8-byte
	// grid (identifier fields are 16 or 32 bytes).
	for ; n < len(b) && n%8 != 0; n++ {
		if b[n] != 0 {
			return false
		}
	}
	for ; n+8 <= len(b); n += 8 {
		if binary.LittleEndian.Uint64(b[n:]) != 0 {
			return false
		}
	}
	for ; n < len(b); n++ {
		if b[n] != 0 {
			return false
		}
	}
	return true
}

func readOrders(r *snapReader, ns *state) {
	s := &ns.orders
	n := r.count("live orders", LiveOrdersMax)
	var last uint64
	for i := 0; i < n && r.err == nil; i++ {
		o := readOrder(r, ns)
		if r.err == nil && (o.done() || o.id <= last || o.cum >= o.qty) {
			r.fail("live order %d: bad state or out of order", o.id)
		}
		if r.err != nil {
			return
		}
		last = o.id
		at := s.alloc(o.id)
		*s.at(at) = o
		ns.principals[o.principal].live++
		// A book snapshot holds no tags, and the record may sit elsewhere
		// than before: tag the resting order with its record again, so that
		// its trades find it without the id lookup. Orders come in id order,
		// so the tagging is as deterministic as the rest. A live order
		// missing from its book is checkRestored's to report.
		ns.instrument(o.instrument).book.SetTag(orderIDToBook(o.id), uint32(at))
	}
	n = r.count("finished orders", rememberedOrdersMax)
	for i := 0; i < n && r.err == nil; i++ {
		o := readOrder(r, ns)
		if r.err == nil && !o.done() {
			r.fail("finished order %d is live", o.id)
		}
		if _, dup := s.get(o.id); r.err == nil && dup {
			r.fail("order %d twice", o.id)
		}
		if r.err != nil {
			return
		}
		at := s.alloc(o.id)
		*s.at(at) = o
		s.finish(at)
	}
	readClOrdIDs(r, ns)
}

func readOrder(r *snapReader, ns *state) order {
	o := order{id: r.u64(), price: r.i64(), qty: r.i64(), cum: r.i64(), cumNotional: r.i64()}
	o.instrument, o.account, o.principal = r.u32(), r.i32(), r.i32()
	o.side, o.ordType, o.tif, o.flags, o.status = Side(r.u8()), OrdType(r.u8()), TimeInForce(r.u8()), r.u8(), OrdStatus(r.u8())
	o.reason = Reason(r.u16())
	o.clOrdID = r.array32()
	if r.err != nil {
		return o
	}
	instOK := ns.instrument(o.instrument) != nil
	switch {
	case o.id == 0 || o.id > ns.nextOrderID || !instOK:
		r.fail("order %d: bad id or instrument", o.id)
	case o.account < 0 || int(o.account) >= len(ns.accounts) || o.principal < 0 || int(o.principal) >= len(ns.principals):
		r.fail("order %d: bad account or principal", o.id)
	case !o.side.Valid() || !o.ordType.Valid() || !o.tif.Valid() || !o.status.Valid() || !o.reason.Valid() || o.flags&^flagsKnown != 0:
		r.fail("order %d: bad enum", o.id)
	case !validName(o.clOrdID[:]) || !quantitiesValid(&o):
		r.fail("order %d: bad quantities or ClOrdID", o.id)
	default:
		o.clHash = ns.clKeyHash(&clKey{account: o.account, id: o.clOrdID})
	}
	return o
}

// quantitiesValid reports whether an order's quantities are possible: a
// positive quantity with 0 <= cum <= qty, or, for an order the book
// rejected on entry, nothing filled (its quantity is what the command
// asked for, which may be why it was rejected: 0 or negative).
func quantitiesValid(o *order) bool {
	if o.status == OrdStatusRejected {
		return o.cum == 0 && o.cumNotional == 0
	}
	return o.qty > 0 && o.cum >= 0 && o.cum <= o.qty
}

func readClOrdIDs(r *snapReader, ns *state) {
	s := &ns.orders
	latest := make(map[clRef]int) // the newest ring entry of each (key, order)
	n := r.count("superseded ClOrdIDs", supersededClOrdIDsMax)
	for i := 0; i < n && r.err == nil; i++ {
		ref := clRef{key: clKey{account: r.i32(), id: r.array32()}, id: r.u64()}
		if ref.key.account < 0 || int(ref.key.account) >= len(ns.accounts) || ref.id == 0 || ref.id > ns.nextOrderID {
			r.fail("superseded ClOrdID %d: bad", i)
			return
		}
		latest[ref] = s.superseded.len()
		s.superseded.push(supersededID{key: ref.key, hash: ns.clKeyHash(&ref.key), id: ref.id})
	}
	n = r.count("ClOrdIDs", LiveOrdersMax+RememberedOrdersMax+SupersededClOrdIDsMax)
	var prev clKey
	for i := 0; i < n && r.err == nil; i++ {
		k := clKey{account: r.i32(), id: r.array32()}
		id := r.u64()
		if k.account < 0 || int(k.account) >= len(ns.accounts) || id == 0 || id > ns.nextOrderID ||
			(i > 0 && cmpClKey(prev, k) >= 0) {
			r.fail("ClOrdID entry %d: bad or out of order", i)
			return
		}
		prev = k
		ref, ok := restoredRef(s, latest, k, id)
		if !ok {
			r.fail("ClOrdID entry %d names order %d, which neither holds it nor superseded it", i, id)
			return
		}
		s.clPut(&k, ns.clKeyHash(&k), ref)
	}
}

// restoredRef finds what an index entry points at: the order whose own
// ClOrdID k is, or else the newest superseded entry of k for that order
// (the one a running engine would point at).
func restoredRef(s *orderStore, latest map[clRef]int, k clKey, id uint64) (orderRef, bool) {
	if r, ok := s.get(id); ok && s.refKeyIs(r, &k) {
		return r, true
	}
	if i, ok := latest[clRef{key: k, id: id}]; ok {
		return supersededRef(i), true
	}
	return 0, false
}

func readPending(r *snapReader, ns *state) {
	n := r.count("pending state changes", PendingStateChangesMax)
	for i := 0; i < n && r.err == nil; i++ {
		p := pendingState{correlationID: r.i64(), deadlineNs: r.i64(), instrument: r.u32(), state: TradingState(r.u8())}
		known := ns.instrument(p.instrument) != nil
		if p.correlationID <= 0 || p.correlationID > ns.nextTimerID || !p.state.Valid() ||
			(!known && p.instrument != AllInstruments) ||
			(i > 0 && p.correlationID <= ns.pending[i-1].correlationID) {
			r.fail("pending state change %d: bad", p.correlationID)
			return
		}
		ns.pending = append(ns.pending, p)
	}
}

// checkRestored cross-checks the restored state: every principal's session
// exists, every live order rests in its book as the engine remembers it,
// and every book holds only orders the engine knows.
func checkRestored(r *snapReader, ns *state) {
	for i := range ns.principals {
		if sid := ns.principals[i].session; sid != 0 && ns.sessions[sid] == nil {
			r.fail("principal %d: session %d does not exist", i, sid)
			return
		}
	}
	if err := checkOrders(ns); err != nil {
		r.fail("%v", err)
	}
}
