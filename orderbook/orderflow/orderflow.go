package orderflow

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// Header layout.
const (
	Magic             = "OBSTRM01"
	Version           = 1
	HeaderLength      = 48
	MagicOffset       = 0
	RecordsOffset     = 8
	WarmupOffset      = 16
	InstrumentsOffset = 24
	VersionOffset     = 28
	SeedOffset        = 32
	TargetLiveOffset  = 40
)

// Record layout.
const (
	RecordLength     = 32
	OpOffset         = 0
	SideOffset       = 1
	TypeOffset       = 2
	ReservedOffset   = 3
	InstrumentOffset = 4
	IDOffset         = 8
	PriceOffset      = 16
	QtyOffset        = 24
	UserOffset       = 28
)

// Limits that keep a hostile header from asking for absurd work.
const (
	// InstrumentsMax bounds the instrument count of a file.
	InstrumentsMax = 1 << 16
	// RecordsMax bounds the record count of a file (32 GiB of records).
	RecordsMax = 1 << 30
)

// Op is a record's command.
type Op uint8

// Record ops.
const (
	OpNew    Op = 1
	OpCancel Op = 2
	OpAmend  Op = 3
)

// String returns the name the CSV mirror uses.
func (o Op) String() string {
	switch o {
	case OpNew:
		return "NEW"
	case OpCancel:
		return "CANCEL"
	case OpAmend:
		return "AMEND"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Side is a record's side: 0 buy, 1 sell.
type Side uint8

// Record sides.
const (
	Buy  Side = 0
	Sell Side = 1
)

// String returns the name the CSV mirror uses.
func (s Side) String() string {
	switch s {
	case Buy:
		return "B"
	case Sell:
		return "S"
	}
	return fmt.Sprintf("side(%d)", uint8(s))
}

// Type is a NEW record's order type.
type Type uint8

// Order types of NEW records.
const (
	TypeGTC    Type = 0
	TypeIOC    Type = 1
	TypeMarket Type = 2
)

// String returns the name the CSV mirror uses.
func (t Type) String() string {
	switch t {
	case TypeGTC:
		return "GTC"
	case TypeIOC:
		return "IOC"
	case TypeMarket:
		return "MKT"
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// ErrFormat marks bytes that are not a valid OBSTRM01 file.
var ErrFormat = errors.New("orderflow: bad format")

// Header is a decoded file header.
type Header struct {
	Records     uint64
	Warmup      uint64
	Instruments uint32
	Version     uint32
	Seed        uint64
	TargetLive  uint64
}

// DecodeHeader decodes and validates a header.
func DecodeHeader(b []byte) (Header, error) {
	if len(b) < HeaderLength {
		return Header{}, fmt.Errorf("%w: header is %d bytes, need %d", ErrFormat, len(b), HeaderLength)
	}
	if string(b[MagicOffset:MagicOffset+len(Magic)]) != Magic {
		return Header{}, fmt.Errorf("%w: magic %q, want %q", ErrFormat, b[:len(Magic)], Magic)
	}
	h := Header{
		Records:     binary.LittleEndian.Uint64(b[RecordsOffset:]),
		Warmup:      binary.LittleEndian.Uint64(b[WarmupOffset:]),
		Instruments: binary.LittleEndian.Uint32(b[InstrumentsOffset:]),
		Version:     binary.LittleEndian.Uint32(b[VersionOffset:]),
		Seed:        binary.LittleEndian.Uint64(b[SeedOffset:]),
		TargetLive:  binary.LittleEndian.Uint64(b[TargetLiveOffset:]),
	}
	switch {
	case h.Version != Version:
		return Header{}, fmt.Errorf("%w: version %d, want %d", ErrFormat, h.Version, Version)
	case h.Instruments == 0 || h.Instruments > InstrumentsMax:
		return Header{}, fmt.Errorf("%w: %d instruments, want 1..%d", ErrFormat, h.Instruments, InstrumentsMax)
	case h.Records > RecordsMax:
		return Header{}, fmt.Errorf("%w: %d records, more than %d", ErrFormat, h.Records, RecordsMax)
	case h.Warmup > h.Records:
		return Header{}, fmt.Errorf("%w: warm-up %d exceeds %d records", ErrFormat, h.Warmup, h.Records)
	}
	return h, nil
}

// AppendHeader appends the encoding of h to dst.
func AppendHeader(dst []byte, h Header) []byte {
	dst = append(dst, Magic...)
	dst = binary.LittleEndian.AppendUint64(dst, h.Records)
	dst = binary.LittleEndian.AppendUint64(dst, h.Warmup)
	dst = binary.LittleEndian.AppendUint32(dst, h.Instruments)
	dst = binary.LittleEndian.AppendUint32(dst, h.Version)
	dst = binary.LittleEndian.AppendUint64(dst, h.Seed)
	return binary.LittleEndian.AppendUint64(dst, h.TargetLive)
}

// Record is a flyweight over one 32-byte record. Its accessors read the
// bytes in place; validate it (File does) before trusting its values. Each
// accessor slices exactly its field, so that after one check of the whole
// record (_ = r[RecordLength-1]) the compiler drops their bounds checks.
type Record []byte

// Op returns the command.
func (r Record) Op() Op { return Op(r[OpOffset]) }

// Side returns the order side.
func (r Record) Side() Side { return Side(r[SideOffset]) }

// Type returns a NEW record's order type.
func (r Record) Type() Type { return Type(r[TypeOffset]) }

// Instrument returns the instrument id.
func (r Record) Instrument() uint32 {
	return binary.LittleEndian.Uint32(r[InstrumentOffset : InstrumentOffset+4])
}

// ID returns the order id.
func (r Record) ID() uint64 { return binary.LittleEndian.Uint64(r[IDOffset : IDOffset+8]) }

// Price returns the price in ticks.
func (r Record) Price() int64 {
	return int64(binary.LittleEndian.Uint64(r[PriceOffset : PriceOffset+8]))
}

// Qty returns the quantity in lots: a NEW order's quantity, an AMEND's new
// open quantity.
func (r Record) Qty() uint32 { return binary.LittleEndian.Uint32(r[QtyOffset : QtyOffset+4]) }

// User returns the informational user id.
func (r Record) User() uint32 { return binary.LittleEndian.Uint32(r[UserOffset : UserOffset+4]) }

// Validate checks one record on its own against a file with instruments
// instruments.
func (r Record) Validate(instruments uint32) error {
	if len(r) != RecordLength {
		return fmt.Errorf("%w: record is %d bytes, want %d", ErrFormat, len(r), RecordLength)
	}
	op, side, typ := r.Op(), r.Side(), r.Type()
	switch {
	case op < OpNew || op > OpAmend:
		return fmt.Errorf("%w: unknown op %d", ErrFormat, uint8(op))
	case side > Sell:
		return fmt.Errorf("%w: unknown side %d", ErrFormat, uint8(side))
	case r[ReservedOffset] != 0:
		return fmt.Errorf("%w: reserved byte %d", ErrFormat, r[ReservedOffset])
	case r.Instrument() >= instruments:
		return fmt.Errorf("%w: instrument %d of %d", ErrFormat, r.Instrument(), instruments)
	case r.ID() == 0:
		return fmt.Errorf("%w: order id 0", ErrFormat)
	}
	switch op {
	case OpNew:
		return r.validateNew(typ)
	case OpCancel:
		if typ != 0 || r.Price() != 0 || r.Qty() != 0 {
			return fmt.Errorf("%w: cancel with type, price or quantity", ErrFormat)
		}
	case OpAmend:
		if typ != 0 || r.Qty() == 0 || r.Price() <= 0 {
			return fmt.Errorf("%w: amend with type, no quantity or no price", ErrFormat)
		}
	}
	return nil
}

func (r Record) validateNew(typ Type) error {
	switch {
	case typ > TypeMarket:
		return fmt.Errorf("%w: unknown order type %d", ErrFormat, uint8(typ))
	case r.Qty() == 0:
		return fmt.Errorf("%w: new order with quantity 0", ErrFormat)
	case typ == TypeMarket && r.Price() != 0:
		return fmt.Errorf("%w: market order with price %d", ErrFormat, r.Price())
	case typ != TypeMarket && r.Price() <= 0:
		return fmt.Errorf("%w: limit order with price %d", ErrFormat, r.Price())
	}
	return nil
}

// RecordFields is a record's values, for building records.
type RecordFields struct {
	Op         Op
	Side       Side
	Type       Type
	Instrument uint32
	ID         uint64
	Price      int64
	Qty        uint32
	User       uint32
}

// AppendRecord appends the encoding of f to dst.
func AppendRecord(dst []byte, f RecordFields) []byte {
	dst = append(dst, byte(f.Op), byte(f.Side), byte(f.Type), 0)
	dst = binary.LittleEndian.AppendUint32(dst, f.Instrument)
	dst = binary.LittleEndian.AppendUint64(dst, f.ID)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(f.Price))
	dst = binary.LittleEndian.AppendUint32(dst, f.Qty)
	return binary.LittleEndian.AppendUint32(dst, f.User)
}

// Fields returns the record's values.
func (r Record) Fields() RecordFields {
	return RecordFields{
		Op: r.Op(), Side: r.Side(), Type: r.Type(), Instrument: r.Instrument(),
		ID: r.ID(), Price: r.Price(), Qty: r.Qty(), User: r.User(),
	}
}

// File is a validated order-flow file held in memory.
type File struct {
	Header Header
	data   []byte // the records, Header.Records * RecordLength bytes
}

// Parse validates a whole file: header, exact length, and every record,
// including that NEW ids increase. The records keep referring to data.
func Parse(data []byte) (*File, error) {
	h, err := DecodeHeader(data)
	if err != nil {
		return nil, err
	}
	want := uint64(HeaderLength) + h.Records*RecordLength
	if uint64(len(data)) != want {
		return nil, fmt.Errorf("%w: %d bytes, header says %d records (%d bytes)", ErrFormat, len(data), h.Records, want)
	}
	f := &File{Header: h, data: data[HeaderLength:]}
	var lastNew uint64
	for i := 0; i < f.Len(); i++ {
		r := f.Record(i)
		if err := r.Validate(h.Instruments); err != nil {
			return nil, fmt.Errorf("record %d: %w", i, err)
		}
		if r.Op() == OpNew {
			if r.ID() <= lastNew {
				return nil, fmt.Errorf("record %d: %w: new order id %d after %d", i, ErrFormat, r.ID(), lastNew)
			}
			lastNew = r.ID()
		}
	}
	return f, nil
}

// ReadFile reads and parses the file at path.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("orderflow: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("orderflow: %s: %w", path, err)
	}
	return f, nil
}

// Len returns the number of records.
func (f *File) Len() int { return len(f.data) / RecordLength }

// Record returns record i as a flyweight over the file's bytes.
func (f *File) Record(i int) Record {
	off := i * RecordLength
	return Record(f.data[off : off+RecordLength : off+RecordLength])
}
