package archive

import (
	"math/bits"

	"venue/transport"
)

// frameBuilder makes the frames a publication would: data frames at the
// right term offsets and term ids, a pad frame at the end of each term that
// the next frame does not fit. Tests, fuzz targets and the benchmark use it.
type frameBuilder struct {
	termLength    int32
	shift         int32
	initialTermID int32
	sessionID     int32
	streamID      int32
	checksums     bool // stamp the checksum the archive would
	position      transport.Position
}

func newFrameBuilder(d *Descriptor, position transport.Position) *frameBuilder {
	return &frameBuilder{
		termLength: d.TermLength, shift: int32(bits.TrailingZeros32(uint32(d.TermLength))),
		initialTermID: d.InitialTermID, sessionID: d.SessionID, streamID: d.StreamID,
		checksums: d.Checksums, position: position,
	}
}

// appendMessage appends one data frame carrying payload to dst, preceded by
// a pad frame when the current term cannot hold it.
func (b *frameBuilder) appendMessage(dst, payload []byte) []byte {
	aligned := transport.Align(transport.HeaderLength+len(payload), transport.FrameAlignment)
	termOffset := int32(int64(b.position) & int64(b.termLength-1))
	if int64(termOffset)+int64(aligned) > int64(b.termLength) {
		dst = b.appendFrame(dst, transport.TypePad, int(b.termLength-termOffset), nil)
	}
	return b.appendFrame(dst, transport.TypeData, transport.HeaderLength+len(payload), payload)
}

func (b *frameBuilder) appendFrame(dst []byte, typ uint16, frameLength int, payload []byte) []byte {
	return b.writeFrame(dst, typ, frameLength, payload)
}

// writeFrame appends one frame, growing dst only when it lacks capacity.
func (b *frameBuilder) writeFrame(dst []byte, typ uint16, frameLength int, payload []byte) []byte {
	aligned := transport.Align(frameLength, transport.FrameAlignment)
	start := len(dst)
	if cap(dst)-start >= aligned {
		dst = dst[:start+aligned]
		clear(dst[start:])
	} else {
		dst = append(dst, make([]byte, aligned)...)
	}
	frame := dst[start:]
	copy(frame[transport.HeaderLength:], payload)
	h := transport.FrameHeader(frame)
	h.SetVersion(transport.CurrentVersion)
	h.SetType(typ)
	h.SetTermOffset(int32(int64(b.position) & int64(b.termLength-1)))
	h.SetSessionID(b.sessionID)
	h.SetStreamID(b.streamID)
	h.SetTermID(b.initialTermID + int32(int64(b.position)>>b.shift))
	if typ == transport.TypeData {
		h.SetFlags(transport.FlagsUnfragmented)
		if b.checksums {
			h.SetReservedValue(frameChecksum(frame[:frameLength]))
		}
	}
	h.SetFrameLength(int32(frameLength))
	b.position += transport.Position(aligned)
	return dst
}

// appendMessageInPlace is appendMessage for callers that reuse dst's
// capacity: it never allocates when dst has room for the frame (and a pad).
func (b *frameBuilder) appendMessageInPlace(dst, payload []byte) []byte {
	aligned := transport.Align(transport.HeaderLength+len(payload), transport.FrameAlignment)
	termOffset := int32(int64(b.position) & int64(b.termLength-1))
	if int64(termOffset)+int64(aligned) > int64(b.termLength) {
		dst = b.writeFrame(dst, transport.TypePad, int(b.termLength-termOffset), nil)
	}
	return b.writeFrame(dst, transport.TypeData, transport.HeaderLength+len(payload), payload)
}
