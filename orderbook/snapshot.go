package orderbook

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Snapshot layout, version 1, little-endian. The encoding is canonical: it
// depends only on the book's logical state (instrument parameters and the
// orders in priority order), never on table layout, so two books in
// the same state produce identical bytes.
//
//	header (48 bytes)
//	 0 [4]byte magic "OBSN"
//	 4 u32     version
//	 8 i64     tick size
//	16 i64     lot size
//	24 i64     band half-width
//	32 i64     reference price
//	40 u32     flags (bit 0: reference set)
//	44 u32     order count
//	orders (40 bytes each): bids best first, then asks best first, each
//	level in queue order
//	 0 u64     id
//	 8 i64     price
//	16 i64     quantity
//	24 i64     filled
//	32 u32     account
//	36 u8      side
//	37 u8      time in force
//	38 u8      flags (bit 0: post-only)
//	39 u8      STP mode
//	trailer (4 bytes)
//	 0 u32     CRC-32C of everything before it
const (
	snapMagic          = "OBSN"
	snapVersion        = 1
	snapMagicOffset    = 0
	snapVersionOffset  = 4
	snapTickOffset     = 8
	snapLotOffset      = 16
	snapBandOffset     = 24
	snapRefOffset      = 32
	snapFlagsOffset    = 40
	snapCountOffset    = 44
	snapHeaderLength   = 48
	snapOrderLength    = 40
	snapTrailerLength  = 4
	snapFlagReference  = 1
	snapOrderFlagPost  = 1
	snapOrderIDOffset  = 0
	snapOrderPxOffset  = 8
	snapOrderQtyOffset = 16
	snapOrderFilOffset = 24
	snapOrderAccOffset = 32
	snapOrderSideOff   = 36
	snapOrderTIFOff    = 37
	snapOrderFlagsOff  = 38
	snapOrderSTPOff    = 39
)

// ErrSnapshot marks snapshot bytes that cannot be restored.
var ErrSnapshot = errors.New("orderbook: bad snapshot")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// AppendSnapshot appends the canonical encoding of the book to dst.
func (b *Book) AppendSnapshot(dst []byte) []byte {
	start := len(dst)
	dst = append(dst, snapMagic...)
	dst = binary.LittleEndian.AppendUint32(dst, snapVersion)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(b.cfg.TickSize))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(b.cfg.LotSize))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(b.cfg.BandTicks))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(b.reference))
	var flags uint32
	if b.hasReference {
		flags |= snapFlagReference
	}
	dst = binary.LittleEndian.AppendUint32(dst, flags)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(b.live))
	for s := range b.sides {
		b.settleTree(Side(s))
		b.scratch = b.scratch[:0]
		b.sides[s].tree.Ascend(b.collectFn)
		for _, li := range b.scratch {
			for oi := b.levels[li].head; oi != nilIndex; oi = b.links[oi].next {
				dst = appendSnapOrder(dst, &b.orders[oi], &b.levels[li])
			}
		}
	}
	b.scratch = b.scratch[:0]
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(dst[start:], castagnoli))
}

func appendSnapOrder(dst []byte, o *order, lv *level) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(o.id))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(lv.price))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(o.qty()))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(o.filled))
	dst = binary.LittleEndian.AppendUint32(dst, uint32(o.account))
	var flags byte
	if o.terms.postOnly {
		flags |= snapOrderFlagPost
	}
	return append(dst, byte(lv.side), byte(o.terms.tif), flags, byte(o.terms.stp))
}

// Digest returns a SHA-256 of the canonical state (the snapshot encoding),
// for comparing replicas. It reuses a buffer kept in the book, so repeated
// digests of a book that does not grow do not allocate.
func (b *Book) Digest() [sha256.Size]byte {
	b.digestBuf = b.AppendSnapshot(b.digestBuf[:0])
	return sha256.Sum256(b.digestBuf)
}

// Restore replaces the book's state with the snapshot in data. Any
// corruption or inconsistency is an error wrapping ErrSnapshot, and then the
// book is left unchanged. The listener and the OrdersMax limit are kept;
// instrument parameters come from the snapshot. Restore emits no events.
func (b *Book) Restore(data []byte) error {
	nb, err := b.decodeSnapshot(data)
	if err != nil {
		return err
	}
	listener := b.listener
	*b = *nb
	b.listener = listener
	// The visitors are bound to nb; rebind them to b.
	b.bindVisitors()
	return nil
}

func snapErr(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrSnapshot}, args...)...)
}

func (b *Book) decodeSnapshot(data []byte) (*Book, error) {
	count, err := checkSnapFrame(data)
	if err != nil {
		return nil, err
	}
	cfg, err := b.snapConfig(data, count)
	if err != nil {
		return nil, err
	}
	nb := New(cfg, nil)
	flags := binary.LittleEndian.Uint32(data[snapFlagsOffset:])
	if flags&^snapFlagReference != 0 {
		return nil, snapErr("unknown header flags %#x", flags)
	}
	ref := int64(binary.LittleEndian.Uint64(data[snapRefOffset:]))
	switch {
	case flags&snapFlagReference != 0:
		if nb.SetReference(ref) != RejectNone {
			return nil, snapErr("reference %d out of range", ref)
		}
	case ref != 0:
		// Canonical form: no reference is encoded as zero.
		return nil, snapErr("reference %d without the reference flag", ref)
	}
	last := nilIndex
	for i := 0; i < count; i++ {
		off := snapHeaderLength + i*snapOrderLength
		if last, err = nb.restoreOrder(data[off:off+snapOrderLength], last); err != nil {
			return nil, err
		}
	}
	if err := nb.Check(); err != nil {
		return nil, snapErr("restored book inconsistent: %v", err)
	}
	return nb, nil
}

// checkSnapFrame validates magic, version, length and checksum, and returns
// the order count.
func checkSnapFrame(data []byte) (int, error) {
	if len(data) < snapHeaderLength+snapTrailerLength {
		return 0, snapErr("%d bytes, shorter than header and trailer", len(data))
	}
	if string(data[snapMagicOffset:snapMagicOffset+len(snapMagic)]) != snapMagic {
		return 0, snapErr("bad magic %q", data[:len(snapMagic)])
	}
	if v := binary.LittleEndian.Uint32(data[snapVersionOffset:]); v != snapVersion {
		return 0, snapErr("unsupported version %d", v)
	}
	count := int(binary.LittleEndian.Uint32(data[snapCountOffset:]))
	body := len(data) - snapHeaderLength - snapTrailerLength
	if body%snapOrderLength != 0 || body/snapOrderLength != count {
		return 0, snapErr("%d bytes do not hold %d orders", len(data), count)
	}
	end := len(data) - snapTrailerLength
	if sum := binary.LittleEndian.Uint32(data[end:]); sum != crc32.Checksum(data[:end], castagnoli) {
		return 0, snapErr("checksum mismatch")
	}
	return count, nil
}

func (b *Book) snapConfig(data []byte, count int) (Config, error) {
	cfg := b.cfg
	cfg.TickSize = int64(binary.LittleEndian.Uint64(data[snapTickOffset:]))
	cfg.LotSize = int64(binary.LittleEndian.Uint64(data[snapLotOffset:]))
	cfg.BandTicks = int64(binary.LittleEndian.Uint64(data[snapBandOffset:]))
	if cfg.TickSize <= 0 || cfg.LotSize <= 0 || cfg.Validate() != nil {
		return Config{}, snapErr("bad instrument parameters tick %d lot %d band %d", cfg.TickSize, cfg.LotSize, cfg.BandTicks)
	}
	if count > cfg.OrdersMax {
		return Config{}, snapErr("%d orders exceed OrdersMax %d", count, cfg.OrdersMax)
	}
	cfg.OrdersHint = max(count, min(b.cfg.OrdersHint, cfg.OrdersMax))
	return cfg, nil
}

// restoreOrder validates one encoded order and appends it to the back of
// its level; it returns the order's order table slot. Orders must arrive in
// canonical order: all bids, then all asks, each side in priority order;
// last is the slot of the order restored before (nilIndex for the first).
func (b *Book) restoreOrder(rec []byte, last int32) (int32, error) {
	in := incoming{
		id:       OrderID(binary.LittleEndian.Uint64(rec[snapOrderIDOffset:])),
		account:  Account(binary.LittleEndian.Uint32(rec[snapOrderAccOffset:])),
		side:     Side(rec[snapOrderSideOff]),
		typ:      Limit,
		keptSlot: nilIndex,
		terms: terms{
			tif:      TimeInForce(rec[snapOrderTIFOff]),
			stp:      STPMode(rec[snapOrderSTPOff]),
			postOnly: rec[snapOrderFlagsOff]&snapOrderFlagPost != 0,
		},
		price:  int64(binary.LittleEndian.Uint64(rec[snapOrderPxOffset:])),
		qty:    int64(binary.LittleEndian.Uint64(rec[snapOrderQtyOffset:])),
		filled: int64(binary.LittleEndian.Uint64(rec[snapOrderFilOffset:])),
	}
	if err := b.checkRestoredOrder(&in, rec[snapOrderFlagsOff], last); err != nil {
		return nilIndex, err
	}
	li := b.levelAt(in.side, in.price)
	oi := b.allocOrder(&in)
	b.appendOrder(li, oi)
	b.indexOrder(oi)
	return oi, nil
}

func (b *Book) checkRestoredOrder(in *incoming, flags byte, last int32) error {
	switch {
	case in.side > Sell || !in.terms.tif.rests() || in.terms.stp > STPCancelBoth || flags&^snapOrderFlagPost != 0:
		return snapErr("order %d: bad side, time in force, STP mode or flags", in.id)
	case b.validateQuantity(in.qty) != RejectNone || in.filled < 0 || in.filled >= in.qty:
		return snapErr("order %d: bad quantity %d filled %d", in.id, in.qty, in.filled)
	case in.price > PriceMax || in.price < -PriceMax || in.price%b.cfg.TickSize != 0:
		return snapErr("order %d: bad price %d", in.id, in.price)
	}
	if _, dup := b.lookupOrder(in.id); dup {
		return snapErr("order %d: duplicate id", in.id)
	}
	return b.checkRestoredOrdering(in, last)
}

// checkRestoredOrdering rejects an order that would not come next in
// canonical order, so that a restored book re-encodes to the same bytes.
// Restoring creates only non-empty levels, each after the ones before it,
// so the worst level so far is that of the order restored before, last.
func (b *Book) checkRestoredOrdering(in *incoming, last int32) error {
	if in.side == Buy && b.sides[Sell].active > 0 {
		return snapErr("order %d: bid after asks", in.id)
	}
	if last != nilIndex {
		lv := &b.levels[b.orders[last].level]
		if lv.side == in.side && sideKey(in.side, in.price) < sideKey(lv.side, lv.price) {
			return snapErr("order %d: price %d out of priority order", in.id, in.price)
		}
	}
	return nil
}
