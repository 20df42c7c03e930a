package transport

import "encoding/binary"

// Control frame types. They share the first 8 bytes of the data header
// (frame length, version, flags, type) and are 32-byte aligned in a datagram.
const (
	// TypeNAK asks the sender to retransmit a range (receiver → sender).
	TypeNAK uint16 = 0x02
	// TypeStatus reports consumption position and window (receiver → sender).
	TypeStatus uint16 = 0x03
	// TypeSetup announces a stream's parameters (sender → receiver).
	TypeSetup uint16 = 0x05
	// TypeHeartbeat carries the sender position when no data flows; with
	// FlagEOS it ends the stream. Same layout as a data header.
	TypeHeartbeat uint16 = 0x07
)

// FlagSetupRequest on a status message asks the sender to send a setup frame
// (the receiver saw data from a session it has no image for).
const FlagSetupRequest uint8 = 0x80

// Setup frame layout (sender → receiver).
const (
	SetupSessionIDOffset     = 8
	SetupStreamIDOffset      = 12
	SetupInitialTermIDOffset = 16
	SetupActiveTermIDOffset  = 20
	SetupTermOffsetOffset    = 24
	SetupTermLengthOffset    = 28
	SetupMTUOffset           = 32
	SetupTTLOffset           = 36
	SetupLength              = 40
)

// Status message layout (receiver → sender).
const (
	StatusSessionIDOffset         = 8
	StatusStreamIDOffset          = 12
	StatusConsumptionTermIDOffset = 16
	StatusConsumptionOffsetOffset = 20
	StatusReceiverWindowOffset    = 24
	StatusReceiverIDOffset        = 32
	StatusLength                  = 40
)

// NAK layout (receiver → sender).
const (
	NAKSessionIDOffset  = 8
	NAKStreamIDOffset   = 12
	NAKTermIDOffset     = 16
	NAKTermOffsetOffset = 20
	NAKLengthOffset     = 24
	NAKLength           = 28
)

// ControlFrame is a flyweight over a setup, status or NAK frame; the caller
// checks the length for the type before using the type's accessors.
type ControlFrame []byte

func (c ControlFrame) i32(off int) int32 { return int32(binary.LittleEndian.Uint32(c[off:])) }
func (c ControlFrame) put32(off int, v int32) {
	binary.LittleEndian.PutUint32(c[off:], uint32(v))
}

// SessionID returns the session id (same offset in all control frames).
func (c ControlFrame) SessionID() int32 { return c.i32(8) }

// StreamID returns the stream id (same offset in all control frames).
func (c ControlFrame) StreamID() int32 { return c.i32(12) }

// SetupInitialTermID returns a setup frame's initial term id.
func (c ControlFrame) SetupInitialTermID() int32 { return c.i32(SetupInitialTermIDOffset) }

// SetupActiveTermID returns a setup frame's active term id.
func (c ControlFrame) SetupActiveTermID() int32 { return c.i32(SetupActiveTermIDOffset) }

// SetupTermOffset returns a setup frame's term offset.
func (c ControlFrame) SetupTermOffset() int32 { return c.i32(SetupTermOffsetOffset) }

// SetupTermLength returns a setup frame's term length.
func (c ControlFrame) SetupTermLength() int32 { return c.i32(SetupTermLengthOffset) }

// SetupMTU returns a setup frame's MTU.
func (c ControlFrame) SetupMTU() int32 { return c.i32(SetupMTUOffset) }

// StatusTermID returns a status message's consumption term id.
func (c ControlFrame) StatusTermID() int32 { return c.i32(StatusConsumptionTermIDOffset) }

// StatusTermOffset returns a status message's consumption term offset.
func (c ControlFrame) StatusTermOffset() int32 { return c.i32(StatusConsumptionOffsetOffset) }

// StatusWindow returns a status message's receiver window in bytes.
func (c ControlFrame) StatusWindow() int32 { return c.i32(StatusReceiverWindowOffset) }

// StatusReceiverID returns a status message's receiver id.
func (c ControlFrame) StatusReceiverID() int64 {
	return int64(binary.LittleEndian.Uint64(c[StatusReceiverIDOffset:]))
}

// NAKTermID returns a NAK's term id.
func (c ControlFrame) NAKTermID() int32 { return c.i32(NAKTermIDOffset) }

// NAKTermOffset returns a NAK's term offset.
func (c ControlFrame) NAKTermOffset() int32 { return c.i32(NAKTermOffsetOffset) }

// NAKLength returns a NAK's length in bytes.
func (c ControlFrame) NAKLength() int32 { return c.i32(NAKLengthOffset) }

func putControlHeader(b []byte, length int, flags uint8, typ uint16) {
	h := FrameHeader(b)
	h.SetFrameLength(int32(length))
	h.SetVersion(CurrentVersion)
	h.SetFlags(flags)
	h.SetType(typ)
}

// EncodeSetup writes a setup frame into b (len >= SetupLength) and returns its length.
func EncodeSetup(b []byte, sessionID, streamID, initialTermID, activeTermID, termOffset, termLength, mtu, ttl int32) int {
	putControlHeader(b, SetupLength, 0, TypeSetup)
	c := ControlFrame(b)
	c.put32(SetupSessionIDOffset, sessionID)
	c.put32(SetupStreamIDOffset, streamID)
	c.put32(SetupInitialTermIDOffset, initialTermID)
	c.put32(SetupActiveTermIDOffset, activeTermID)
	c.put32(SetupTermOffsetOffset, termOffset)
	c.put32(SetupTermLengthOffset, termLength)
	c.put32(SetupMTUOffset, mtu)
	c.put32(SetupTTLOffset, ttl)
	return SetupLength
}

// EncodeStatus writes a status message into b (len >= StatusLength).
func EncodeStatus(b []byte, flags uint8, sessionID, streamID, termID, termOffset, window int32, receiverID int64) int {
	putControlHeader(b, StatusLength, flags, TypeStatus)
	c := ControlFrame(b)
	c.put32(StatusSessionIDOffset, sessionID)
	c.put32(StatusStreamIDOffset, streamID)
	c.put32(StatusConsumptionTermIDOffset, termID)
	c.put32(StatusConsumptionOffsetOffset, termOffset)
	c.put32(StatusReceiverWindowOffset, window)
	c.put32(28, 0)
	binary.LittleEndian.PutUint64(c[StatusReceiverIDOffset:], uint64(receiverID))
	return StatusLength
}

// EncodeNAK writes a NAK into b (len >= NAKLength).
func EncodeNAK(b []byte, sessionID, streamID, termID, termOffset, length int32) int {
	putControlHeader(b, NAKLength, 0, TypeNAK)
	c := ControlFrame(b)
	c.put32(NAKSessionIDOffset, sessionID)
	c.put32(NAKStreamIDOffset, streamID)
	c.put32(NAKTermIDOffset, termID)
	c.put32(NAKTermOffsetOffset, termOffset)
	c.put32(NAKLengthOffset, length)
	return NAKLength
}

// EncodeHeartbeat writes a heartbeat (a data-layout header of TypeHeartbeat)
// carrying the sender position termID/termOffset into b.
func EncodeHeartbeat(b []byte, flags uint8, sessionID, streamID, termID, termOffset int32) int {
	putControlHeader(b, HeaderLength, flags, TypeHeartbeat)
	h := FrameHeader(b)
	h.SetTermOffset(termOffset)
	h.SetSessionID(sessionID)
	h.SetStreamID(streamID)
	h.SetTermID(termID)
	h.SetReservedValue(0)
	return HeaderLength
}

// DatagramVisitor receives the valid frames of a datagram. frame spans the
// frame's bytes in the datagram: for data frames the header and payload, for
// padding only the header (the padding's length field covers term space that
// is not sent).
type DatagramVisitor interface {
	OnFrame(frame []byte, typ uint16)
}

// minFrameLength returns the smallest valid frame length for typ, or 0 for
// an unknown type.
func minFrameLength(typ uint16) int {
	switch typ {
	case TypeData, TypePad, TypeHeartbeat:
		return HeaderLength
	case TypeSetup:
		return SetupLength
	case TypeStatus:
		return StatusLength
	case TypeNAK:
		return NAKLength
	}
	return 0
}

// ParseDatagram validates b frame by frame and hands each valid frame to v.
// It stops at the first invalid frame (bad version, unknown type, length
// shorter than the type's minimum, longer than the datagram, or a data frame
// whose term offset is not aligned) and returns the number of invalid
// frames found (0 or 1). It never reads outside b and never panics.
func ParseDatagram(b []byte, v DatagramVisitor) (valid, invalid int) {
	for off := 0; off < len(b); {
		rest := b[off:]
		if len(rest) < 8 {
			return valid, 1
		}
		h := FrameHeader(rest)
		length := int(h.FrameLength())
		typ := h.Type()
		minLen := minFrameLength(typ)
		if h.Version() != CurrentVersion || minLen == 0 || length < minLen || len(rest) < minLen {
			return valid, 1
		}
		wire := length
		if typ == TypePad {
			wire = HeaderLength // padding sends only its header
		}
		if wire > len(rest) {
			return valid, 1
		}
		if typ == TypeData || typ == TypePad || typ == TypeHeartbeat {
			if h.TermOffset()&(FrameAlignment-1) != 0 || h.TermOffset() < 0 {
				return valid, 1
			}
		}
		v.OnFrame(rest[:wire], typ)
		valid++
		off += Align(wire, FrameAlignment)
	}
	return valid, 0
}
