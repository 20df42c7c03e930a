package engine

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"hash/crc32"
	"slices"

	"venue/orderbook"
)

// Snapshot layout, version 1, little-endian. It is canonical: it depends
// only on the logical state (never on slab, table or map layout), so two
// engines that applied the same log produce identical bytes, and Digest can
// compare replicas.
//
//	magic "VNSN", u32 version
//	u64 last order id, u64 last ExecID, u64 last TradeID, i64 last timer id
//	instruments, by id:  u32 n; each u32 id, [16] symbol, u8 decimals, u8 state,
//	                     i64 tick, i64 lot, i64 reference, u32 band bps,
//	                     u32 book length, the book's own snapshot (orderbook)
//	accounts, by index:  u32 n; each [16] name, u8 STP mode
//	principals, by index: u32 n; each [16] name, u8 role, u8 cod, i64 session,
//	                     u64 SenderSeq mark, u32 n accounts, i32 each (ascending)
//	sessions, by id:     u32 n; each i64 id, [16] name, i32 principal (-1 unknown)
//	live orders, by id:  u32 n; each an order record (below)
//	finished orders, oldest first: u32 n; each an order record
//	superseded ClOrdIDs, oldest first: u32 n; each i32 account, [32] id, u64 order id
//	ClOrdID index, by (account, id): u32 n; each i32 account, [32] id, u64 order id
//	pending state changes, by correlation id: u32 n; each i64 id, i64 deadline,
//	                     u32 instrument, u8 state
//	u32 CRC-32C of everything before it
//
// Order record: u64 id, i64 price, i64 qty, i64 cum, i64 cum notional,
// u32 instrument, i32 account, i32 principal, u8 side, u8 type, u8 time in
// force, u8 flags, u8 status, u16 reason, [32] ClOrdID.
const (
	snapMagic         = "VNSN"
	snapVersion       = 1
	snapTrailerLength = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AppendSnapshot appends the canonical encoding of the whole venue to dst.
func (e *Engine) AppendSnapshot(dst []byte) []byte {
	start := len(dst)
	w := &snapWriter{b: dst}
	w.bytes([]byte(snapMagic))
	w.u32(snapVersion)
	w.u64(e.nextOrderID)
	w.u64(e.nextExecID)
	w.u64(e.nextTradeID)
	w.i64(e.nextTimerID)
	e.writeInstruments(w)
	e.writeParties(w)
	e.writeOrders(w)
	w.count(len(e.pending))
	for _, p := range e.pending {
		w.i64(p.correlationID)
		w.i64(p.deadlineNs)
		w.u32(p.instrument)
		w.u8(uint8(p.state))
	}
	w.u32(crc32.Checksum(w.b[start:], castagnoli))
	return w.b
}

// Digest returns the SHA-256 of the canonical snapshot.
func (e *Engine) Digest() [sha256.Size]byte { return sha256.Sum256(e.AppendSnapshot(nil)) }

func (e *Engine) writeInstruments(w *snapWriter) {
	w.count(len(e.instruments))
	for _, in := range e.instruments {
		w.u32(in.info.ID)
		w.bytes(in.info.Symbol[:])
		w.u8(in.info.PriceDecimals)
		w.u8(uint8(in.info.State))
		w.i64(in.info.TickSize)
		w.i64(in.info.LotSize)
		w.i64(in.info.ReferencePrice)
		w.u32(in.info.BandBps)
		lenAt := len(w.b)
		w.u32(0)
		w.b = in.book.AppendSnapshot(w.b)
		binary.LittleEndian.PutUint32(w.b[lenAt:], uint32(len(w.b)-lenAt-4))
	}
}

func (e *Engine) writeParties(w *snapWriter) {
	w.count(len(e.accounts))
	for i := range e.accounts {
		w.bytes(e.accounts[i].name[:])
		w.u8(uint8(e.accounts[i].stp))
	}
	w.count(len(e.principals))
	for i := range e.principals {
		p := &e.principals[i]
		w.bytes(p.name[:])
		w.u8(uint8(p.role))
		w.u8(boolByte(p.cod))
		w.i64(int64(p.session))
		w.u64(p.senderSeq)
		w.count(len(p.accounts))
		for _, a := range p.accounts {
			w.i32(a)
		}
	}
	ids := make([]SessionID, 0, len(e.sessions))
	for id := range e.sessions {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	w.count(len(ids))
	for _, id := range ids {
		s := e.sessions[id]
		w.i64(int64(id))
		w.bytes(s.name[:])
		w.i32(s.principal)
	}
}

func (e *Engine) writeOrders(w *snapWriter) {
	s := &e.orders
	live := s.appendLiveIDs(make([]uint64, 0, s.live), nil)
	w.count(len(live))
	for _, id := range live {
		_, o := s.liveOrder(id)
		writeOrder(w, o)
	}
	w.count(s.finished.len())
	for i := range s.finished.len() {
		r, ok := s.get(s.finished.buf[s.finished.phys(i)].id)
		assert(ok, "writeOrders: a remembered order is missing")
		writeOrder(w, s.at(r))
	}
	w.count(s.superseded.len())
	for i := range s.superseded.len() {
		ref := s.superseded.buf[s.superseded.phys(i)]
		w.i32(ref.key.account)
		w.bytes(ref.key.id[:])
		w.u64(ref.id)
	}
	refs := s.appendClRefs(make([]clRef, 0, s.byClOrdID.count))
	slices.SortFunc(refs, func(a, b clRef) int { return cmpClKey(a.key, b.key) })
	w.count(len(refs))
	for _, ref := range refs {
		w.i32(ref.key.account)
		w.bytes(ref.key.id[:])
		w.u64(ref.id)
	}
}

func writeOrder(w *snapWriter, o *order) {
	w.u64(o.id)
	w.i64(o.price)
	w.i64(o.qty)
	w.i64(o.cum)
	w.i64(o.cumNotional)
	w.u32(o.instrument)
	w.i32(o.account)
	w.i32(o.principal)
	w.u8(uint8(o.side))
	w.u8(uint8(o.ordType))
	w.u8(uint8(o.tif))
	w.u8(o.flags)
	w.u8(uint8(o.status))
	w.u16(uint16(o.reason))
	w.bytes(o.clOrdID[:])
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpClKey(a, b clKey) int {
	if a.account != b.account {
		if a.account < b.account {
			return -1
		}
		return 1
	}
	return bytes.Compare(a.id[:], b.id[:])
}

// bookConfigMatches reports whether a restored book has the parameters its
// instrument's definition implies.
func bookConfigMatches(b *orderbook.Book, info *InstrumentInfo) bool {
	c := b.Config()
	ref, hasRef := b.Reference()
	return c.TickSize == info.TickSize && c.LotSize == info.LotSize &&
		c.BandTicks == bandOf(info.ReferencePrice, info.BandBps) &&
		hasRef == (info.ReferencePrice > 0) && (!hasRef || ref == info.ReferencePrice)
}
