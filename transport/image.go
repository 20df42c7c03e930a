package transport

import (
	"sync/atomic"
)

// FragmentHandler receives one fragment: its payload (valid only during the
// call) and its header.
type FragmentHandler func(payload []byte, header *Header)

// ControlledFragmentHandler receives one fragment and says what to do next.
type ControlledFragmentHandler func(payload []byte, header *Header) ControlledAction

// Header describes the fragment being delivered. It is reused between
// fragments; copy what you need to keep.
type Header struct {
	frame         []byte // header and payload, unaligned
	initialTermID int32
	bitsToShift   int32
}

// Frame returns the whole frame (header and payload) in the term buffer.
func (h *Header) Frame() []byte { return h.frame }

// FrameHeader returns the header flyweight.
func (h *Header) FrameHeader() FrameHeader { return FrameHeader(h.frame) }

// Flags returns the frame flags (FlagBegin, FlagEnd).
func (h *Header) Flags() uint8 { return FrameHeader(h.frame).Flags() }

// SessionID returns the stream's session id.
func (h *Header) SessionID() int32 { return FrameHeader(h.frame).SessionID() }

// StreamID returns the stream id.
func (h *Header) StreamID() int32 { return FrameHeader(h.frame).StreamID() }

// TermID returns the frame's term id.
func (h *Header) TermID() int32 { return FrameHeader(h.frame).TermID() }

// TermOffset returns the frame's offset in its term.
func (h *Header) TermOffset() int32 { return FrameHeader(h.frame).TermOffset() }

// ReservedValue returns the frame's reserved value.
func (h *Header) ReservedValue() int64 { return FrameHeader(h.frame).ReservedValue() }

// InitialTermID returns the stream's initial term id.
func (h *Header) InitialTermID() int32 { return h.initialTermID }

// PositionBitsToShift returns log2 of the stream's term length.
func (h *Header) PositionBitsToShift() int32 { return h.bitsToShift }

// Position returns the stream position just after this frame.
func (h *Header) Position() Position {
	f := FrameHeader(h.frame)
	end := f.TermOffset() + int32(Align(len(h.frame), FrameAlignment))
	return ComputePosition(f.TermID(), end, h.bitsToShift, h.initialTermID)
}

// Image is one subscription's view of one source session of a stream: it
// reads the log buffer in place from its own position. An Image is polled
// by one goroutine (its subscription's).
type Image struct {
	log          *LogBuffer
	pos          int64    // owned by the polling goroutine
	subCounter   *Counter // the published position, read by flow control
	joinPosition int64
	header       Header
	sourceID     string
	correlation  int64

	// unavailable is set by the driver when the source is gone (liveness
	// timeout, publication removed); the subscription then drops the image.
	unavailable atomic.Bool
	closed      bool

	// For network images: the receiver's waiter, woken when the position
	// moved wakeEvery bytes since the last wake while the receiver is
	// parked, so that it sends the status message that reopens the window.
	waker     *socketWaiter
	wakeEvery int64
	lastWake  int64
}

func newImage(log *LogBuffer, joinPos int64, counter *Counter, sourceID string) *Image {
	img := &Image{log: log, pos: joinPos, joinPosition: joinPos, subCounter: counter, sourceID: sourceID}
	counter.Set(joinPos)
	img.header.initialTermID = log.initialTermID
	img.header.bitsToShift = log.bitsToShift
	return img
}

// SessionID returns the source session id.
func (img *Image) SessionID() int32 { return img.log.sessionID }

// StreamID returns the stream id.
func (img *Image) StreamID() int32 { return img.log.streamID }

// SourceIdentity names the source: "ipc" or the sender's address.
func (img *Image) SourceIdentity() string { return img.sourceID }

// InitialTermID returns the term id at position 0.
func (img *Image) InitialTermID() int32 { return img.log.initialTermID }

// TermLength returns the stream's term length.
func (img *Image) TermLength() int { return int(img.log.termLength) }

// Position returns the subscriber's position in the stream.
func (img *Image) Position() Position { return Position(img.pos) }

// JoinPosition returns the position at which this image joined the stream.
func (img *Image) JoinPosition() Position { return Position(img.joinPosition) }

// EndOfStreamPosition returns the position at which the source ended the
// stream, or the largest int64 while it is still open.
func (img *Image) EndOfStreamPosition() Position { return Position(img.log.eosPosition.Load()) }

// IsEndOfStream reports whether the source closed the stream and this image
// has consumed everything up to the end.
func (img *Image) IsEndOfStream() bool { return img.pos >= img.log.eosPosition.Load() }

// IsClosed reports whether the image was removed from its subscription.
func (img *Image) IsClosed() bool { return img.closed }

// Log returns the image's log buffer.
func (img *Image) Log() *LogBuffer { return img.log }

func (img *Image) setPosition(pos int64) {
	img.pos = pos
	img.subCounter.Set(pos)
	if w := img.waker; w != nil && pos-img.lastWake >= img.wakeEvery && w.parked.Load() != 0 {
		img.lastWake = pos
		w.wake()
	}
}

// Poll delivers up to fragmentLimit fragments and returns how many it delivered.
func (img *Image) Poll(handler FragmentHandler, fragmentLimit int) int {
	return img.BoundedPoll(handler, 1<<63-1, fragmentLimit)
}

// BoundedPoll is Poll that never consumes past limitPosition: a fragment is
// delivered only if it ends at or before the limit.
func (img *Image) BoundedPoll(handler FragmentHandler, limitPosition Position, fragmentLimit int) int {
	if img.closed {
		return 0
	}
	lb := img.log
	pos := img.pos
	term := lb.terms[lb.partitionIndex(pos)]
	start := lb.termOffset(pos)
	end := int64(lb.termLength)
	if avail := int64(limitPosition) - pos + int64(start); avail < end {
		end = avail
	}
	off := start
	fragments := 0
	for fragments < fragmentLimit && int64(off) < end {
		length := frameLengthVolatile(term, off)
		if length <= 0 {
			break
		}
		aligned := int32(Align(int(length), FrameAlignment))
		if int64(off+aligned) > end {
			break
		}
		if frameType(term, off) != TypePad {
			img.header.frame = term[off : off+length]
			handler(term[off+HeaderLength:off+length], &img.header)
			fragments++
		}
		off += aligned
	}
	if off > start {
		img.setPosition(pos + int64(off-start))
	}
	return fragments
}

// BlockHandler receives a run of whole frames (padding included) exactly as
// they lie in the term buffer, starting at position; the archive records
// such blocks straight into its segment files.
type BlockHandler func(block []byte, position Position, sessionID, termID int32)

// BlockPoll delivers the complete frames from the image position up to
// blockLengthLimit bytes (at least one frame if any is available) as one
// block within one term, and consumes them. It returns the block length.
func (img *Image) BlockPoll(handler BlockHandler, blockLengthLimit int) int {
	block, pos := img.nextBlock(blockLengthLimit)
	if len(block) == 0 {
		return 0
	}
	lb := img.log
	handler(block, Position(pos), lb.sessionID, lb.termIDOf(pos))
	img.setPosition(pos + int64(len(block)))
	return len(block)
}

// ControlledBlockHandler is a BlockHandler that may refuse a block (for
// example when the recording's storage is full): it returns false to leave
// the image position where it was, so that the same block comes again.
type ControlledBlockHandler func(block []byte, position Position, sessionID, termID int32) bool

// ControlledBlockPoll is BlockPoll with a handler that may refuse the block.
// It returns the bytes consumed: the block length, or 0 when refused.
func (img *Image) ControlledBlockPoll(handler ControlledBlockHandler, blockLengthLimit int) int {
	block, pos := img.nextBlock(blockLengthLimit)
	if len(block) == 0 {
		return 0
	}
	lb := img.log
	if !handler(block, Position(pos), lb.sessionID, lb.termIDOf(pos)) {
		return 0
	}
	img.setPosition(pos + int64(len(block)))
	return len(block)
}

// nextBlock returns the complete frames from the image position up to
// blockLengthLimit bytes (at least one frame if any) within one term, and
// that position.
func (img *Image) nextBlock(blockLengthLimit int) (block []byte, pos int64) {
	if img.closed {
		return nil, 0
	}
	lb := img.log
	pos = img.pos
	term := lb.terms[lb.partitionIndex(pos)]
	start := lb.termOffset(pos)
	end := lb.termLength
	if int64(blockLengthLimit) < int64(end-start) {
		end = start + int32(max(blockLengthLimit, 0))
	}
	off := start
	for off < lb.termLength {
		length := frameLengthVolatile(term, off)
		if length <= 0 {
			break
		}
		aligned := int32(Align(int(length), FrameAlignment))
		if off+aligned > end && off > start {
			break
		}
		off += aligned
	}
	return term[start:off], pos
}

// ControlledPoll delivers up to fragmentLimit fragments to a handler that can
// abort, break, commit or continue.
func (img *Image) ControlledPoll(handler ControlledFragmentHandler, fragmentLimit int) int {
	if img.closed {
		return 0
	}
	lb := img.log
	pos := img.pos
	term := lb.terms[lb.partitionIndex(pos)]
	start := lb.termOffset(pos)
	off := start
	fragments := 0
loop:
	for fragments < fragmentLimit && off < lb.termLength {
		length := frameLengthVolatile(term, off)
		if length <= 0 {
			break
		}
		aligned := int32(Align(int(length), FrameAlignment))
		if frameType(term, off) == TypePad {
			off += aligned
			continue
		}
		img.header.frame = term[off : off+length]
		action := handler(term[off+HeaderLength:off+length], &img.header)
		switch action {
		case Abort:
			break loop
		case Break:
			off += aligned
			fragments++
			break loop
		case Commit:
			off += aligned
			fragments++
			img.setPosition(pos + int64(off-start))
		default:
			off += aligned
			fragments++
		}
	}
	if newPos := pos + int64(off-start); newPos > img.pos {
		img.setPosition(newPos)
	}
	return fragments
}
