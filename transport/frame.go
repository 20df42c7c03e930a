package transport

import "encoding/binary"

// Data frame header layout. Every frame in a term buffer, in a datagram and in
// an archive segment starts with this 32-byte little-endian header, and every
// frame starts on a FrameAlignment boundary, so a term can be scanned frame by
// frame from any frame start.
//
//	 0               1               2               3
//	 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
//	+---------------------------------------------------------------+
//	|                         Frame Length                          |  0
//	+---------------+---------------+-------------------------------+
//	|    Version    |     Flags     |             Type              |  4
//	+---------------+---------------+-------------------------------+
//	|                          Term Offset                          |  8
//	+---------------------------------------------------------------+
//	|                          Session ID                           | 12
//	+---------------------------------------------------------------+
//	|                           Stream ID                           | 16
//	+---------------------------------------------------------------+
//	|                            Term ID                            | 20
//	+---------------------------------------------------------------+
//	|                       Reserved Value (8)                      | 24
//	+---------------------------------------------------------------+
//	|                           Payload ...                         | 32
//
// Frame Length counts the header and the payload but not the alignment
// padding after it; a frame occupies Align(FrameLength, FrameAlignment) bytes.
// A frame length of 0 means "not yet written": writers publish a frame by
// storing its length last (with release semantics when readers are
// concurrent), readers stop at the first zero length.
const (
	FrameLengthOffset   = 0
	VersionOffset       = 4
	FlagsOffset         = 5
	TypeOffset          = 6
	TermOffsetOffset    = 8
	SessionIDOffset     = 12
	StreamIDOffset      = 16
	TermIDOffset        = 20
	ReservedValueOffset = 24

	// HeaderLength is the size of the data frame header in bytes.
	HeaderLength = 32
	// FrameAlignment is the alignment of every frame start in bytes.
	FrameAlignment = 32

	// CurrentVersion is the frame version this code writes. A frame with a
	// different version is counted as invalid and dropped.
	CurrentVersion = 1
)

// Frame types (the Type field).
const (
	// TypePad fills the rest of a term that a frame does not fit into; its
	// payload is garbage and readers skip it.
	TypePad uint16 = 0x00
	// TypeData carries a whole message or one fragment of one.
	TypeData uint16 = 0x01
)

// Frame flags (the Flags field) for TypeData.
const (
	// FlagBegin marks the first fragment of a message.
	FlagBegin uint8 = 0x80
	// FlagEnd marks the last fragment of a message.
	FlagEnd uint8 = 0x40
	// FlagEOS marks a heartbeat frame that signals the end of the stream.
	FlagEOS uint8 = 0x20
	// FlagsUnfragmented marks a message carried whole in one frame.
	FlagsUnfragmented = FlagBegin | FlagEnd
)

// Align rounds n up to a multiple of alignment, which must be a power of two.
func Align(n, alignment int) int {
	return (n + alignment - 1) &^ (alignment - 1)
}

// FrameHeader is a flyweight over the first HeaderLength bytes of a frame. It
// reads and writes the buffer in place and never copies or allocates. The
// caller guarantees len(h) >= HeaderLength.
type FrameHeader []byte

// FrameLength returns the frame length field (header + payload, unaligned).
func (h FrameHeader) FrameLength() int32 {
	return int32(binary.LittleEndian.Uint32(h[FrameLengthOffset:]))
}

// SetFrameLength writes the frame length field.
func (h FrameHeader) SetFrameLength(n int32) {
	binary.LittleEndian.PutUint32(h[FrameLengthOffset:], uint32(n))
}

// Version returns the version field.
func (h FrameHeader) Version() uint8 { return h[VersionOffset] }

// SetVersion writes the version field.
func (h FrameHeader) SetVersion(v uint8) { h[VersionOffset] = v }

// Flags returns the flags field.
func (h FrameHeader) Flags() uint8 { return h[FlagsOffset] }

// SetFlags writes the flags field.
func (h FrameHeader) SetFlags(f uint8) { h[FlagsOffset] = f }

// Type returns the frame type field.
func (h FrameHeader) Type() uint16 { return binary.LittleEndian.Uint16(h[TypeOffset:]) }

// SetType writes the frame type field.
func (h FrameHeader) SetType(t uint16) { binary.LittleEndian.PutUint16(h[TypeOffset:], t) }

// TermOffset returns the offset of this frame within its term.
func (h FrameHeader) TermOffset() int32 {
	return int32(binary.LittleEndian.Uint32(h[TermOffsetOffset:]))
}

// SetTermOffset writes the term offset field.
func (h FrameHeader) SetTermOffset(off int32) {
	binary.LittleEndian.PutUint32(h[TermOffsetOffset:], uint32(off))
}

// SessionID returns the session id field.
func (h FrameHeader) SessionID() int32 {
	return int32(binary.LittleEndian.Uint32(h[SessionIDOffset:]))
}

// SetSessionID writes the session id field.
func (h FrameHeader) SetSessionID(id int32) {
	binary.LittleEndian.PutUint32(h[SessionIDOffset:], uint32(id))
}

// StreamID returns the stream id field.
func (h FrameHeader) StreamID() int32 {
	return int32(binary.LittleEndian.Uint32(h[StreamIDOffset:]))
}

// SetStreamID writes the stream id field.
func (h FrameHeader) SetStreamID(id int32) {
	binary.LittleEndian.PutUint32(h[StreamIDOffset:], uint32(id))
}

// TermID returns the term id field.
func (h FrameHeader) TermID() int32 {
	return int32(binary.LittleEndian.Uint32(h[TermIDOffset:]))
}

// SetTermID writes the term id field.
func (h FrameHeader) SetTermID(id int32) {
	binary.LittleEndian.PutUint32(h[TermIDOffset:], uint32(id))
}

// ReservedValue returns the 8-byte reserved value. Publishers may use it; the
// archive stores a CRC32C of the payload in it when checksums are enabled.
func (h FrameHeader) ReservedValue() int64 {
	return int64(binary.LittleEndian.Uint64(h[ReservedValueOffset:]))
}

// SetReservedValue writes the reserved value field.
func (h FrameHeader) SetReservedValue(v int64) {
	binary.LittleEndian.PutUint64(h[ReservedValueOffset:], uint64(v))
}

// Position is a byte offset in a stream since the stream began. It only moves
// forward. Every position in the system — publisher, sender, receiver,
// subscriber, recorded, durable, append, commit — is a Position of some stream.
type Position int64

// ComputePosition returns the stream position of termOffset within termID,
// for a stream whose first term was initialTermID and whose terms are
// 1<<positionBitsToShift bytes long. Term ids wrap as int32 arithmetic does.
func ComputePosition(termID, termOffset, positionBitsToShift, initialTermID int32) Position {
	termCount := int64(termID - initialTermID) // wraps correctly in int32 first
	return Position(termCount<<positionBitsToShift + int64(termOffset))
}
