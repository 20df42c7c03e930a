package transport

import (
	"fmt"
	"math/bits"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/cpu"
)

// Log buffer bounds. A log buffer is PartitionCount term partitions of one
// power-of-two term length; a publication writes one term at a time and
// rotates to the next partition when a term is full.
const (
	// PartitionCount is the number of term partitions in a log buffer: one
	// being written, one being read or retransmitted, one being cleaned.
	PartitionCount = 3
	// TermLengthMin is the smallest term length in bytes.
	TermLengthMin = 64 * 1024
	// TermLengthMax is the largest term length in bytes.
	TermLengthMax = 1 << 30
	// TermLengthDefault is the term length used when none is configured.
	TermLengthDefault = 16 * 1024 * 1024
	// MessageLengthMax bounds a message regardless of term length in bytes.
	MessageLengthMax = 16 * 1024 * 1024
	// MTULengthDefault is the default maximum datagram (and frame) length in bytes.
	MTULengthDefault = 1408
	// MTULengthMin is the smallest MTU: a header and one aligned payload word.
	MTULengthMin = HeaderLength + FrameAlignment
	// MTULengthMax is the largest MTU: a UDP payload that fits in 64 KiB.
	MTULengthMax = 65504
)

// MaxMessageLength returns the largest message a log of termLength can carry:
// min(termLength/8, MessageLengthMax).
func MaxMessageLength(termLength int) int {
	return min(termLength/8, MessageLengthMax)
}

// CheckTermLength validates a term length.
func CheckTermLength(termLength int) error {
	if termLength < TermLengthMin || termLength > TermLengthMax || termLength&(termLength-1) != 0 {
		return fmt.Errorf("transport: term length %d must be a power of two in [%d, %d]",
			termLength, TermLengthMin, TermLengthMax)
	}
	return nil
}

// CheckMTU validates an MTU length.
func CheckMTU(mtu int) error {
	if mtu < MTULengthMin || mtu > MTULengthMax || mtu%FrameAlignment != 0 {
		return fmt.Errorf("transport: mtu %d must be a multiple of %d in [%d, %d]",
			mtu, FrameAlignment, MTULengthMin, MTULengthMax)
	}
	return nil
}

// LogBuffer holds a stream's three term partitions and their metadata. The
// terms are written by one writer (a publication, or a receiver rebuilding a
// remote publication) and read in place by any number of readers, which
// synchronise on each frame's length field.
type LogBuffer struct {
	terms         [PartitionCount][]byte
	termLength    int32
	bitsToShift   int32
	initialTermID int32
	mtu           int32
	sessionID     int32
	streamID      int32

	// The writer updates the fields below on every append; the padding keeps
	// them off the cache line that readers load on every poll.
	_ cpu.CacheLinePad
	// tail is a recent writer position (exact after rotation and limit
	// refresh; TailPosition scans forward from it); activeTermCount is the
	// number of completed terms. Both only grow.
	tail            atomic.Int64
	activeTermCount atomic.Int32
	// eosPosition is the end-of-stream position once the writer closed, or
	// eosUnknown.
	eosPosition atomic.Int64
	_           cpu.CacheLinePad
}

const eosUnknown = int64(1<<63 - 1)

// NewLogBuffer allocates a log buffer. termLength and mtu must be valid.
func NewLogBuffer(termLength, mtu int, sessionID, streamID, initialTermID int32) (*LogBuffer, error) {
	if err := CheckTermLength(termLength); err != nil {
		return nil, err
	}
	if err := CheckMTU(mtu); err != nil {
		return nil, err
	}
	lb := &LogBuffer{
		termLength:    int32(termLength),
		bitsToShift:   int32(bits.TrailingZeros32(uint32(termLength))),
		initialTermID: initialTermID,
		mtu:           int32(mtu),
		sessionID:     sessionID,
		streamID:      streamID,
	}
	// One []uint64 backing array keeps every frame-length word aligned for
	// atomic access.
	words := make([]uint64, PartitionCount*termLength/8)
	all := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)
	for i := range lb.terms {
		lb.terms[i] = all[i*termLength : (i+1)*termLength : (i+1)*termLength]
	}
	lb.eosPosition.Store(eosUnknown)
	return lb, nil
}

// TermLength returns the term length in bytes.
func (lb *LogBuffer) TermLength() int { return int(lb.termLength) }

// InitialTermID returns the term id at position 0.
func (lb *LogBuffer) InitialTermID() int32 { return lb.initialTermID }

// PositionBitsToShift returns log2(term length).
func (lb *LogBuffer) PositionBitsToShift() int32 { return lb.bitsToShift }

// MTU returns the maximum frame length in bytes.
func (lb *LogBuffer) MTU() int { return int(lb.mtu) }

// Term returns partition i's buffer.
func (lb *LogBuffer) Term(i int) []byte { return lb.terms[i] }

// TailPosition returns the position after the last complete frame: it
// scans forward over published frames from the lazily updated tail.
func (lb *LogBuffer) TailPosition() Position {
	pos := lb.tail.Load()
	for limit := pos + 2*int64(lb.termLength); pos < limit; {
		length := frameLengthVolatile(lb.terms[lb.partitionIndex(pos)], lb.termOffset(pos))
		if length <= 0 {
			break
		}
		pos += int64(Align(int(length), FrameAlignment))
	}
	return Position(pos)
}

// ActiveTermCount returns the number of terms completed.
func (lb *LogBuffer) ActiveTermCount() int32 { return lb.activeTermCount.Load() }

// partitionIndex returns the partition holding position pos.
func (lb *LogBuffer) partitionIndex(pos int64) int {
	return int((pos >> lb.bitsToShift) % PartitionCount)
}

func (lb *LogBuffer) termOffset(pos int64) int32 { return int32(pos & int64(lb.termLength-1)) }

// termIDOf returns the term id of position pos.
func (lb *LogBuffer) termIDOf(pos int64) int32 {
	return lb.initialTermID + int32(pos>>lb.bitsToShift)
}

// positionOf returns the position of termOffset in termID.
func (lb *LogBuffer) positionOf(termID, termOffset int32) int64 {
	return int64(ComputePosition(termID, termOffset, lb.bitsToShift, lb.initialTermID))
}

// cleanRange zeroes [from, to) which must lie within one term.
func (lb *LogBuffer) cleanRange(from, length int64) {
	term := lb.terms[lb.partitionIndex(from)]
	off := lb.termOffset(from)
	clear(term[off : int64(off)+length])
}

// cleaner zeroes a log buffer behind its slowest reader so that the writer
// always finds zeroed frame-length words ahead of it. Data one whole term
// behind the slowest reader is never read again (windows are at most half a
// term), so cleaning up to that point is safe.
type cleaner struct {
	cleanPosition int64
}

// cleanTo zeroes from the clean position up to pos. Owned by the writer.
func (c *cleaner) cleanTo(lb *LogBuffer, pos int64) {
	for c.cleanPosition < pos {
		off := int64(lb.termOffset(c.cleanPosition))
		n := min(pos-c.cleanPosition, int64(lb.termLength)-off)
		lb.cleanRange(c.cleanPosition, n)
		c.cleanPosition += n
	}
}

// frameLengthVolatile loads the frame length at off with acquire semantics.
func frameLengthVolatile(term []byte, off int32) int32 {
	return atomic.LoadInt32((*int32)(unsafe.Pointer(&term[off])))
}

// frameLengthOrdered stores the frame length at off with release semantics,
// publishing the frame to concurrent readers.
func frameLengthOrdered(term []byte, off int32, length int32) {
	atomic.StoreInt32((*int32)(unsafe.Pointer(&term[off])), length)
}

// frameType reads the frame type at off (valid after frameLengthVolatile > 0).
func frameType(term []byte, off int32) uint16 {
	return FrameHeader(term[off:]).Type()
}

// assert panics with msg when cond is false: impossible states stop the
// process rather than corrupt a stream.
func assert(cond bool, msg string) {
	if !cond {
		panic("transport: assertion failed: " + msg)
	}
}
