package replay

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"

	"venue/engine"
)

// The engine's canonical snapshot (engine/snapshot.go, version 1) and the
// order book's inside it (orderbook/snapshot.go, version 1) are the one
// complete, stable description of the venue's state the engine exports:
// replay reads them for what the engine has no query for — every book's
// orders in priority order with their owners (`venue replay book
// --orders`), the books to seed the market with after a snapshot start,
// and what differs when an audit finds a snapshot that does not match.
// Layouts are the engine's and the book's; a snapshot of another version
// is refused, not guessed at.
const (
	engineSnapMagic   = "VNSN"
	engineSnapVersion = 1
	bookSnapMagic     = "OBSN"
	bookSnapVersion   = 1
	snapTrailerBytes  = 4 // CRC-32C of everything before it

	nameBytes    = 16 // account, principal, session and symbol names
	clOrdIDBytes = 32

	// Minimum encoded sizes, used to refuse a count the bytes left cannot
	// hold before anything is allocated for it.
	snapInstrumentMin = 4 + nameBytes + 1 + 1 + 8 + 8 + 8 + 4 + 4
	snapAccountBytes  = nameBytes + 1
	snapPrincipalMin  = nameBytes + 1 + 1 + 8 + 8 + 4
	snapSessionBytes  = 8 + nameBytes + 4
	snapOrderBytes    = 8 + 8 + 8 + 8 + 8 + 4 + 4 + 4 + 1 + 1 + 1 + 1 + 1 + 2 + clOrdIDBytes

	bookHeaderBytes = 48
	bookOrderBytes  = 40
	bookSideBuy     = 0 // orderbook.Buy
)

// ErrSnapshotView marks engine snapshot bytes replay cannot read.
var ErrSnapshotView = errors.New("replay: unreadable engine snapshot")

// snapView is what replay reads from an engine snapshot.
type snapView struct {
	instruments []snapInstrument
	accounts    []string
	principals  []string
	sessions    []snapSession
	live        []snapOrder // by id, ascending
}

type snapInstrument struct {
	info engine.InstrumentInfo
	book []byte // the book's own snapshot, aliasing the input
}

type snapSession struct {
	id   engine.SessionID
	name string
}

// snapOrder is the engine's record of a live order.
type snapOrder struct {
	id         uint64
	price, qty int64
	cum        int64
	instrument uint32
	account    int32
	principal  int32
	side       engine.Side
	ordType    engine.OrdType
	tif        engine.TimeInForce
	clOrdID    [clOrdIDBytes]byte
}

// bookOrder is one order of a book snapshot, in priority order.
type bookOrder struct {
	id            uint64
	price, qty    int64
	filled        int64
	account       uint32
	buy, postOnly bool
}

// snapReader reads little-endian fields; the first short read sticks.
type snapReader struct {
	b    []byte
	off  int
	err  error
	zero [clOrdIDBytes]byte // what a failed take of a fixed field reads
}

// take returns the next n bytes; after a failure, zeros (at most
// len(zero): enough for any fixed field, never an allocation).
func (r *snapReader) take(n int) []byte {
	if r.err != nil || n < 0 || len(r.b)-r.off < n {
		if r.err == nil {
			r.err = fmt.Errorf("%w: truncated at byte %d (need %d more)", ErrSnapshotView, r.off, n)
		}
		return r.zero[:min(max(n, 0), len(r.zero))]
	}
	b := r.b[r.off : r.off+n]
	r.off += n
	return b
}

func (r *snapReader) u8() uint8   { return r.take(1)[0] }
func (r *snapReader) u16() uint16 { return binary.LittleEndian.Uint16(r.take(2)) }
func (r *snapReader) u32() uint32 { return binary.LittleEndian.Uint32(r.take(4)) }
func (r *snapReader) u64() uint64 { return binary.LittleEndian.Uint64(r.take(8)) }
func (r *snapReader) i64() int64  { return int64(r.u64()) }
func (r *snapReader) name() string {
	return string(bytes.TrimRight(r.take(nameBytes), "\x00"))
}

// count reads a record count and refuses one the remaining bytes cannot
// hold at minBytes a record.
func (r *snapReader) count(what string, minBytes int) int {
	n := int(r.u32())
	if r.err == nil && n > (len(r.b)-r.off)/minBytes {
		r.err = fmt.Errorf("%w: %d %s in %d bytes", ErrSnapshotView, n, what, len(r.b)-r.off)
		return 0
	}
	return n
}

// checkTrailer verifies a snapshot's CRC-32C trailer and returns the body.
func checkTrailer(data []byte, magic string, version uint32) ([]byte, error) {
	if len(data) < len(magic)+4+snapTrailerBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrSnapshotView, len(data))
	}
	end := len(data) - snapTrailerBytes
	if crc32.Checksum(data[:end], castagnoli) != binary.LittleEndian.Uint32(data[end:]) {
		return nil, fmt.Errorf("%w: %s checksum mismatch", ErrSnapshotView, magic)
	}
	if string(data[:len(magic)]) != magic {
		return nil, fmt.Errorf("%w: magic %q, want %q", ErrSnapshotView, data[:len(magic)], magic)
	}
	if v := binary.LittleEndian.Uint32(data[len(magic):]); v != version {
		return nil, fmt.Errorf("%w: %s version %d, replay reads %d", ErrSnapshotView, magic, v, version)
	}
	return data[len(magic)+4 : end], nil
}

// readSnapView decodes an engine snapshot as far as the live orders (the
// rest — finished orders, ClOrdID indexes, pending changes — is not
// needed). It never panics and allocates in proportion to len(data).
func readSnapView(data []byte) (*snapView, error) {
	body, err := checkTrailer(data, engineSnapMagic, engineSnapVersion)
	if err != nil {
		return nil, err
	}
	r := &snapReader{b: body}
	r.take(8 * 4) // last order, ExecID, TradeID and timer ids
	v := &snapView{}
	readSnapInstruments(r, v)
	for i, n := 0, r.count("accounts", snapAccountBytes); i < n && r.err == nil; i++ {
		v.accounts = append(v.accounts, r.name())
		r.u8() // STP mode
	}
	for i, n := 0, r.count("principals", snapPrincipalMin); i < n && r.err == nil; i++ {
		v.principals = append(v.principals, r.name())
		r.take(1 + 1 + 8 + 8) // role, cancel on disconnect, session, SenderSeq mark
		r.take(4 * r.count("accounts of a principal", 4))
	}
	for i, n := 0, r.count("sessions", snapSessionBytes); i < n && r.err == nil; i++ {
		v.sessions = append(v.sessions, snapSession{id: engine.SessionID(r.i64()), name: r.name()})
		r.u32() // principal index
	}
	for i, n := 0, r.count("live orders", snapOrderBytes); i < n && r.err == nil; i++ {
		v.live = append(v.live, readSnapOrder(r))
	}
	if r.err != nil {
		return nil, r.err
	}
	return v, nil
}

func readSnapInstruments(r *snapReader, v *snapView) {
	for i, n := 0, r.count("instruments", snapInstrumentMin); i < n && r.err == nil; i++ {
		var in snapInstrument
		in.info.ID = r.u32()
		copy(in.info.Symbol[:], r.take(nameBytes))
		in.info.PriceDecimals = r.u8()
		in.info.State = engine.TradingState(r.u8())
		in.info.TickSize, in.info.LotSize, in.info.ReferencePrice = r.i64(), r.i64(), r.i64()
		in.info.BandBps = r.u32()
		in.book = r.take(int(r.u32()))
		v.instruments = append(v.instruments, in)
	}
}

func readSnapOrder(r *snapReader) snapOrder {
	o := snapOrder{id: r.u64(), price: r.i64(), qty: r.i64(), cum: r.i64()}
	r.i64() // cumulative notional
	o.instrument = r.u32()
	o.account, o.principal = int32(r.u32()), int32(r.u32())
	o.side, o.ordType, o.tif = engine.Side(r.u8()), engine.OrdType(r.u8()), engine.TimeInForce(r.u8())
	r.take(1 + 1 + 2) // flags, status, reason
	copy(o.clOrdID[:], r.take(clOrdIDBytes))
	return o
}

// instrument returns the instrument with id or the symbol sym.
func (v *snapView) instrument(id uint32, sym string) (*snapInstrument, bool) {
	for i := range v.instruments {
		in := &v.instruments[i]
		if (sym == "" && in.info.ID == id) || (sym != "" && in.info.SymbolString() == sym) {
			return in, true
		}
	}
	return nil, false
}

// order returns the live order with id.
func (v *snapView) order(id uint64) (*snapOrder, bool) {
	i := sort.Search(len(v.live), func(i int) bool { return v.live[i].id >= id })
	if i < len(v.live) && v.live[i].id == id {
		return &v.live[i], true
	}
	return nil, false
}

func (v *snapView) accountName(i int32) string { return nameAt(v.accounts, int(i)) }

func (v *snapView) principalName(i int32) string { return nameAt(v.principals, int(i)) }

func nameAt(names []string, i int) string {
	if i >= 0 && i < len(names) {
		return names[i]
	}
	return ""
}

// readBookOrders decodes a book snapshot's orders: bids best first, then
// asks best first, each level in queue (time priority) order.
func readBookOrders(data []byte) ([]bookOrder, error) {
	body, err := checkTrailer(data, bookSnapMagic, bookSnapVersion)
	if err != nil {
		return nil, err
	}
	r := &snapReader{b: body}
	r.take(bookHeaderBytes - len(bookSnapMagic) - 4 - 4) // tick, lot, band, reference, flags
	n := r.count("book orders", bookOrderBytes)
	out := make([]bookOrder, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		o := bookOrder{id: r.u64(), price: r.i64(), qty: r.i64(), filled: r.i64(), account: r.u32()}
		o.buy = r.u8() == bookSideBuy
		r.u8() // time in force (the engine's record has it)
		o.postOnly = r.u8()&1 != 0
		r.u8() // STP mode
		out = append(out, o)
	}
	if r.err != nil {
		return nil, r.err
	}
	return out, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)
