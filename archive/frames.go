package archive

import (
	"encoding/binary"
	"hash/crc32"
	"math/bits"

	"venue/transport"
)

// Frame checksums. When a recording has checksums enabled (the default), the
// archive writes CRC32C(payload) into the low 32 bits of each data frame's
// reserved value before the frame reaches the disk, and recovery checks it.
//
// Why on by default: the recovery scan trims a torn tail to the last whole
// frame, but a write torn after the header reached the disk and before the
// payload did leaves a header that looks whole over a payload of zeros or old
// bytes. Without a checksum that frame would be accepted, reported as
// appended, counted towards a commit, and applied by this member's service
// while the other members apply the real bytes. CRC32C runs on the CPU's
// crc32 instruction at many GB/s, far faster than the disk it protects.
// Publishers must not rely on the reserved value of a recorded frame.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// frameGeometry is what the archive knows about a recorded stream, enough to
// tell whether bytes at a position are a valid frame of that stream.
type frameGeometry struct {
	termLength    int32
	positionShift int32
	initialTermID int32
	streamID      int32
	mtuLength     int32
	checksums     bool
}

func newFrameGeometry(d *Descriptor) frameGeometry {
	return frameGeometry{
		termLength:    d.TermLength,
		positionShift: int32(bits.TrailingZeros32(uint32(d.TermLength))),
		initialTermID: d.InitialTermID,
		streamID:      d.StreamID,
		mtuLength:     d.MTULength,
		checksums:     d.Checksums,
	}
}

// frameLengthAt validates the frame at the start of buf, which sits at
// stream position pos, and returns its aligned length, or 0 when buf does
// not start with a whole valid frame. A pad frame needs only its header in
// buf: its body is never read. checkCRC verifies the checksum of a data
// frame (recovery); the recorder stamps checksums instead.
func (g *frameGeometry) frameLengthAt(buf []byte, pos transport.Position, checkCRC bool) int {
	aligned := g.headerLengthAt(buf, pos)
	if aligned == 0 {
		return 0
	}
	h := transport.FrameHeader(buf)
	if h.Type() == transport.TypePad {
		return aligned
	}
	if aligned > len(buf) {
		return 0
	}
	if checkCRC && g.checksums && h.ReservedValue() != frameChecksum(buf[:h.FrameLength()]) {
		return 0
	}
	return aligned
}

// headerLengthAt validates only the header at the start of buf, at stream
// position pos, and returns the aligned length it claims, or 0. The frame's
// body may lie beyond buf.
func (g *frameGeometry) headerLengthAt(buf []byte, pos transport.Position) int {
	if len(buf) < transport.HeaderLength {
		return 0
	}
	h := transport.FrameHeader(buf)
	frameLength := h.FrameLength()
	termOffset := int32(int64(pos) & int64(g.termLength-1))
	if frameLength < transport.HeaderLength || frameLength > g.termLength-termOffset ||
		h.Version() != transport.CurrentVersion || h.TermOffset() != termOffset ||
		h.TermID() != g.initialTermID+int32(int64(pos)>>g.positionShift) || h.StreamID() != g.streamID {
		return 0
	}
	aligned := transport.Align(int(frameLength), transport.FrameAlignment)
	if int64(termOffset)+int64(aligned) > int64(g.termLength) {
		return 0
	}
	switch h.Type() {
	case transport.TypePad:
		return aligned
	case transport.TypeData:
		if frameLength <= g.mtuLength {
			return aligned
		}
	}
	return 0
}

// scan returns the length of the longest run of whole valid frames at the
// start of buf, which sits at stream position pos, ending at most limit
// bytes after pos. The run may end past len(buf) when it ends in a pad frame
// whose body buf does not hold.
func (g *frameGeometry) scan(buf []byte, pos transport.Position, limit int64) int {
	offset := 0
	for offset < len(buf) {
		n := g.frameLengthAt(buf[offset:], pos+transport.Position(offset), true)
		if n == 0 || int64(offset+n) > limit {
			break
		}
		offset += n
	}
	return offset
}

// frameChecksum is the reserved value a checksummed data frame carries.
func frameChecksum(frame []byte) int64 {
	return int64(crc32.Checksum(frame[transport.HeaderLength:], castagnoli))
}

// stampBlock validates that block, at pos, is whole valid frames, and when
// checksums are on writes each data frame's checksum into its header. It
// returns the offset of the first invalid frame, or len(block). It is the
// recorder's per-frame hot loop: headerLengthAt's checks, with the term id
// and term offset carried forward instead of recomputed.
func (g *frameGeometry) stampBlock(block []byte, pos transport.Position) int {
	termMask := int64(g.termLength) - 1
	termOffset := int64(pos) & termMask
	termID := g.initialTermID + int32(int64(pos)>>g.positionShift)
	offset := 0
	for offset < len(block) {
		if len(block)-offset < transport.HeaderLength {
			return offset
		}
		h := transport.FrameHeader(block[offset : offset+transport.HeaderLength])
		frameLength := int64(h.FrameLength())
		aligned := (frameLength + transport.FrameAlignment - 1) &^ (transport.FrameAlignment - 1)
		typ := h.Type()
		if frameLength < transport.HeaderLength || termOffset+aligned > int64(g.termLength) ||
			aligned > int64(len(block)-offset) || h.Version() != transport.CurrentVersion ||
			int64(h.TermOffset()) != termOffset || h.TermID() != termID || h.StreamID() != g.streamID ||
			(typ != transport.TypePad && (typ != transport.TypeData || frameLength > int64(g.mtuLength))) {
			return offset
		}
		if g.checksums && typ == transport.TypeData {
			h.SetReservedValue(frameChecksum(block[offset : offset+int(frameLength)]))
		}
		offset += int(aligned)
		if termOffset += aligned; termOffset == int64(g.termLength) {
			termOffset, termID = 0, termID+1
		}
	}
	return offset
}

// isZero reports whether b holds only zero bytes.
func isZero(b []byte) bool {
	for len(b) >= 8 {
		if binary.LittleEndian.Uint64(b) != 0 {
			return false
		}
		b = b[8:]
	}
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
