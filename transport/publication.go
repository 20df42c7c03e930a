package transport

import (
	"encoding/binary"
	"fmt"
	"sync"
	"sync/atomic"
)

// Publication appends messages to a stream. It is exclusive: one goroutine
// offers at a time (Aeron's ExclusivePublication), which lets the append path
// work without atomic read-modify-writes. Offer, OfferVectored and TryClaim
// never block and never queue: they return the new stream position or an
// OfferResult.
type Publication struct {
	log     *LogBuffer
	channel string
	cleaner cleaner

	// Writer state, owned by the offering goroutine.
	termCount  int32
	termID     int32
	termIndex  int
	termOffset int32
	termBegin  int64
	limit      int64 // cached publisher limit

	maxPayload  int
	maxMessage  int
	maxPosition int64
	window      int64

	// readers are IPC subscribers or spies (copy-on-write, loaded by the
	// publisher when it refreshes its limit).
	readers atomic.Pointer[[]*Image]
	// net is the sender-side state of a network publication, nil for IPC.
	net *netPublication
	// waker is the sender's waiter, woken after an append while it is parked.
	waker *socketWaiter

	closed   atomic.Bool
	pubPos   *Counter
	pubLimit *Counter
	sys      *SystemCounters
	onClose  func(*Publication)
	mu       sync.Mutex // guards readers updates
}

func newPublication(log *LogBuffer, channel string, window int, sys *SystemCounters, pubPos, pubLimit *Counter) *Publication {
	p := &Publication{
		log:         log,
		channel:     channel,
		termID:      log.initialTermID,
		maxPayload:  int(log.mtu) - HeaderLength,
		maxMessage:  MaxMessageLength(int(log.termLength)),
		maxPosition: int64(log.termLength) * (1<<31 - 1),
		window:      int64(min(window, int(log.termLength)/2)),
		sys:         sys,
		pubPos:      pubPos,
		pubLimit:    pubLimit,
	}
	empty := []*Image{}
	p.readers.Store(&empty)
	return p
}

// startAt moves a new publication to termID/termOffset, so that its first
// message lands at that position of a stream begun at the initial term id.
func (p *Publication) startAt(termID, termOffset int32) error {
	lb := p.log
	count := termID - lb.initialTermID
	if count < 0 || termOffset < 0 || termOffset >= lb.termLength || termOffset&(FrameAlignment-1) != 0 {
		return fmt.Errorf("%w: start term id %d offset %d (initial term id %d, term length %d)",
			ErrBadChannel, termID, termOffset, lb.initialTermID, lb.termLength)
	}
	p.termCount, p.termID, p.termOffset = count, termID, termOffset
	p.termIndex = int(count % PartitionCount)
	p.termBegin = int64(count) << lb.bitsToShift
	start := p.termBegin + int64(termOffset)
	p.cleaner.cleanPosition = start // the buffers are fresh: nothing behind needs cleaning
	lb.activeTermCount.Store(count)
	lb.tail.Store(start)
	return nil
}

// SessionID returns the stream's session id.
func (p *Publication) SessionID() int32 { return p.log.sessionID }

// StreamID returns the stream id.
func (p *Publication) StreamID() int32 { return p.log.streamID }

// Channel returns the channel the publication was added on.
func (p *Publication) Channel() string { return p.channel }

// InitialTermID returns the term id at position 0.
func (p *Publication) InitialTermID() int32 { return p.log.initialTermID }

// TermLength returns the term length in bytes.
func (p *Publication) TermLength() int { return int(p.log.termLength) }

// MaxMessageLength returns the largest message Offer accepts.
func (p *Publication) MaxMessageLength() int { return p.maxMessage }

// MaxPayloadLength returns the largest payload of one frame; TryClaim
// accepts min(MaxPayloadLength, MaxMessageLength).
func (p *Publication) MaxPayloadLength() int { return p.maxPayload }

// Position returns the position after the last appended frame.
func (p *Publication) Position() Position { return Position(p.termBegin + int64(p.termOffset)) }

// Log returns the publication's log buffer (for spies and the archive).
func (p *Publication) Log() *LogBuffer { return p.log }

// IsConnected reports whether anyone consumes the publication.
func (p *Publication) IsConnected() bool {
	if p.net != nil {
		return p.net.connected.Load() || len(*p.readers.Load()) > 0
	}
	return len(*p.readers.Load()) > 0
}

// IsClosed reports whether Close was called.
func (p *Publication) IsClosed() bool { return p.closed.Load() }

// Close ends the stream: subscribers see end of stream at the current
// position. Further offers return Closed. Call it from the offering
// goroutine (or once that goroutine has stopped offering).
func (p *Publication) Close() {
	if p.closed.Swap(true) {
		return
	}
	p.log.eosPosition.Store(int64(p.log.TailPosition()))
	if p.waker != nil {
		p.waker.wake() // let the sender drain and send end of stream
	}
	if p.onClose != nil {
		p.onClose(p)
	}
}

// refreshLimit recomputes the publisher limit from the consumers' positions
// and cleans the log behind them. It returns false when nobody is connected.
func (p *Publication) refreshLimit() bool {
	minPos := int64(1<<63 - 1)
	connected := false
	for _, img := range *p.readers.Load() {
		connected = true
		minPos = min(minPos, img.subCounter.Get())
	}
	if p.net != nil && p.net.connected.Load() {
		connected = true
		minPos = min(minPos, p.net.senderPosition.Load())
	}
	pos := p.termBegin + int64(p.termOffset)
	if !connected {
		p.limit = pos
		return false
	}
	if limit := minPos + p.window; limit != p.limit {
		// Published only on change: a back-pressured publisher refreshes
		// in a loop, and these stores would bounce the counters' lines.
		p.limit = limit
		p.pubLimit.Set(limit)
		p.pubPos.Set(pos)
		p.log.tail.Store(pos)
		p.cleaner.cleanTo(p.log, minPos-int64(p.log.termLength))
	}
	return true
}

// checkLimit returns OfferOK when pos is below the publisher limit.
func (p *Publication) checkLimit(pos int64) OfferResult {
	if p.closed.Load() {
		return Closed
	}
	if pos < p.limit {
		return OfferOK
	}
	if !p.refreshLimit() {
		return NotConnected
	}
	if pos < p.limit {
		return OfferOK
	}
	p.sys.BackPressureEvents.Increment()
	return BackPressured
}

// Offer appends msg, fragmenting it when it exceeds one frame, and returns
// the new stream position.
func (p *Publication) Offer(msg []byte) (Position, OfferResult) {
	if len(msg) > p.maxMessage {
		return 0, MessageTooLong
	}
	pos := p.termBegin + int64(p.termOffset)
	if r := p.checkLimit(pos); r != OfferOK {
		return 0, r
	}
	if len(msg) <= p.maxPayload {
		return p.appendUnfragmented(msg)
	}
	return p.appendFragmented(msg)
}

// OfferVectored appends the concatenation of vec as one message.
func (p *Publication) OfferVectored(vec [][]byte) (Position, OfferResult) {
	length := 0
	for _, b := range vec {
		length += len(b)
	}
	if length > p.maxMessage {
		return 0, MessageTooLong
	}
	pos := p.termBegin + int64(p.termOffset)
	if r := p.checkLimit(pos); r != OfferOK {
		return 0, r
	}
	return p.appendVector(vec, length)
}

// BufferClaim is a frame reserved by TryClaim. Write the payload into
// Buffer(), then Commit (or Abort, which turns the frame into padding).
type BufferClaim struct {
	term  []byte
	off   int32
	len   int32
	waker *socketWaiter
}

// signal wakes a parked sender after an append (one atomic load otherwise).
func signal(w *socketWaiter) {
	if w != nil && w.parked.Load() != 0 {
		w.wake()
	}
}

// Buffer returns the claimed payload bytes.
func (c *BufferClaim) Buffer() []byte {
	return c.term[c.off+HeaderLength : c.off+c.len]
}

// Header returns the claimed frame's header, e.g. to set the reserved value.
func (c *BufferClaim) Header() FrameHeader { return FrameHeader(c.term[c.off:]) }

// Commit publishes the frame to readers.
func (c *BufferClaim) Commit() {
	assert(c.term != nil, "commit of an empty claim")
	frameLengthOrdered(c.term, c.off, c.len)
	c.term = nil
	signal(c.waker)
}

// Abort publishes the frame as padding that readers skip.
func (c *BufferClaim) Abort() {
	assert(c.term != nil, "abort of an empty claim")
	FrameHeader(c.term[c.off:]).SetType(TypePad)
	frameLengthOrdered(c.term, c.off, c.len)
	c.term = nil
	signal(c.waker)
}

// TryClaim reserves a frame for a length-byte payload (at most
// MaxPayloadLength) to be written in place and committed.
func (p *Publication) TryClaim(length int, claim *BufferClaim) (Position, OfferResult) {
	if length > p.maxPayload || length > p.maxMessage || length < 0 {
		return 0, MessageTooLong
	}
	pos := p.termBegin + int64(p.termOffset)
	if r := p.checkLimit(pos); r != OfferOK {
		return 0, r
	}
	frameLen := int32(length + HeaderLength)
	aligned := int32(Align(int(frameLen), FrameAlignment))
	if r := p.ensureSpace(aligned); r != OfferOK {
		return 0, r
	}
	term := p.log.terms[p.termIndex]
	p.writeHeader(term, p.termOffset, FlagsUnfragmented)
	*claim = BufferClaim{term: term, off: p.termOffset, len: frameLen, waker: p.waker}
	return p.advance(aligned), OfferOK
}

// ensureSpace pads and rotates the term when required bytes do not fit; it
// returns AdminAction after a rotation so that the caller retries.
func (p *Publication) ensureSpace(required int32) OfferResult {
	if p.termOffset+required <= p.log.termLength {
		return OfferOK
	}
	if p.termBegin+int64(p.log.termLength) >= p.maxPosition {
		return MaxPositionExceeded
	}
	if remaining := p.log.termLength - p.termOffset; remaining > 0 {
		term := p.log.terms[p.termIndex]
		h := FrameHeader(term[p.termOffset:])
		p.writeHeader(term, p.termOffset, FlagsUnfragmented)
		h.SetType(TypePad)
		frameLengthOrdered(term, p.termOffset, remaining)
	}
	p.rotate()
	return AdminAction
}

func (p *Publication) rotate() {
	p.termCount++
	p.termID++
	p.termIndex = int(p.termCount % PartitionCount)
	p.termBegin += int64(p.log.termLength)
	p.termOffset = 0
	p.log.activeTermCount.Store(p.termCount)
	p.log.tail.Store(p.termBegin)
}

// writeHeader writes every header field but the length, which is stored
// last to publish the frame.
//
// It writes the 28 bytes after the length as four little-endian words
// (version|flags|type, offset|session, stream|term id, reserved) rather
// than field by field: the same layout as FrameHeader's setters, in a
// third of the stores on the hot path.
func (p *Publication) writeHeader(term []byte, off int32, flags uint8) {
	h := term[off : off+HeaderLength]
	binary.LittleEndian.PutUint32(h[VersionOffset:], uint32(CurrentVersion)|uint32(flags)<<8|uint32(TypeData)<<16)
	binary.LittleEndian.PutUint64(h[TermOffsetOffset:], uint64(uint32(off))|uint64(uint32(p.log.sessionID))<<32)
	binary.LittleEndian.PutUint64(h[StreamIDOffset:], uint64(uint32(p.log.streamID))|uint64(uint32(p.termID))<<32)
	binary.LittleEndian.PutUint64(h[ReservedValueOffset:], 0)
}

// advance moves the term offset past the appended frames. The log's tail
// is published lazily (on limit refresh and rotation) because readers that
// need the exact tail scan forward from it (LogBuffer.TailPosition), which
// spares every offer a locked store.
func (p *Publication) advance(aligned int32) Position {
	p.termOffset += aligned
	return Position(p.termBegin + int64(p.termOffset))
}

func (p *Publication) appendUnfragmented(msg []byte) (Position, OfferResult) {
	frameLen := int32(len(msg) + HeaderLength)
	aligned := int32(Align(int(frameLen), FrameAlignment))
	if r := p.ensureSpace(aligned); r != OfferOK {
		return 0, r
	}
	term := p.log.terms[p.termIndex]
	off := p.termOffset
	p.writeHeader(term, off, FlagsUnfragmented)
	copy(term[off+HeaderLength:], msg)
	frameLengthOrdered(term, off, frameLen)
	signal(p.waker)
	return p.advance(aligned), OfferOK
}

// fragmentedLength is the term space a message of length bytes occupies.
func (p *Publication) fragmentedLength(length int) int32 {
	full := length / p.maxPayload
	rem := length % p.maxPayload
	n := full * (p.maxPayload + HeaderLength)
	if rem > 0 {
		n += Align(rem+HeaderLength, FrameAlignment)
	}
	return int32(n)
}

func (p *Publication) appendFragmented(msg []byte) (Position, OfferResult) {
	if r := p.ensureSpace(p.fragmentedLength(len(msg))); r != OfferOK {
		return 0, r
	}
	term := p.log.terms[p.termIndex]
	flags := FlagBegin
	for remaining := msg; len(remaining) > 0; {
		n := min(len(remaining), p.maxPayload)
		if n == len(remaining) {
			flags |= FlagEnd
		}
		off := p.termOffset
		p.writeHeader(term, off, flags)
		copy(term[off+HeaderLength:], remaining[:n])
		frameLengthOrdered(term, off, int32(n+HeaderLength))
		p.termOffset += int32(Align(n+HeaderLength, FrameAlignment))
		remaining = remaining[n:]
		flags = 0
	}
	signal(p.waker)
	return p.advance(0), OfferOK
}

func (p *Publication) appendVector(vec [][]byte, length int) (Position, OfferResult) {
	if r := p.ensureSpace(p.fragmentedLength(max(length, 1))); r != OfferOK {
		return 0, r
	}
	term := p.log.terms[p.termIndex]
	flags := FlagBegin
	vi, vo := 0, 0 // position in vec
	for written := 0; ; {
		n := min(length-written, p.maxPayload)
		if written+n == length {
			flags |= FlagEnd
		}
		off := p.termOffset
		p.writeHeader(term, off, flags)
		dst := term[off+HeaderLength : int(off)+HeaderLength+n]
		for len(dst) > 0 {
			c := copy(dst, vec[vi][vo:])
			dst, vo = dst[c:], vo+c
			if vo == len(vec[vi]) {
				vi, vo = vi+1, 0
			}
		}
		frameLengthOrdered(term, off, int32(n+HeaderLength))
		p.termOffset += int32(Align(n+HeaderLength, FrameAlignment))
		written += n
		flags = 0
		if written == length {
			break
		}
	}
	signal(p.waker)
	return p.advance(0), OfferOK
}

// addReader attaches an IPC subscriber or spy image.
func (p *Publication) addReader(img *Image) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := *p.readers.Load()
	next := make([]*Image, 0, len(old)+1)
	next = append(next, old...)
	next = append(next, img)
	p.readers.Store(&next)
}

// removeReader detaches an image.
func (p *Publication) removeReader(img *Image) {
	p.mu.Lock()
	defer p.mu.Unlock()
	old := *p.readers.Load()
	next := make([]*Image, 0, len(old))
	for _, r := range old {
		if r != img {
			next = append(next, r)
		}
	}
	p.readers.Store(&next)
}
