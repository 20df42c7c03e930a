package transport

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

// netImage is the receiver side of one remote publication on one endpoint:
// the rebuilt log buffer, loss detection and status messages. Its fields are
// owned by the receiver goroutine except where marked.
type netImage struct {
	ep     *receiveEndpoint
	log    *LogBuffer
	source netip.AddrPort
	cfg    *DriverConfig
	sys    *SystemCounters

	readers atomic.Pointer[[]*Image] // subscriber images, copy-on-write
	mu      sync.Mutex               // guards readers updates

	rebuildPos int64
	hwm        int64
	minSub     int64
	window     int64
	cleaner    cleaner
	hwmCtr     *Counter
	rcvPosCtr  *Counter
	receiverID int64

	lastPacketNs int64
	lastSMNs     int64
	lastSMPos    int64
	smDue        bool
	eosPos       int64

	gapActive   bool
	gapPos      int64
	nakDeadline int64

	// stranded is set when the source is more than a term ahead of the
	// rebuild position: the data in between is beyond retransmit reach
	// (see netPublication.retransmit), so the image ends and a new one
	// joins at the source's current position.
	stranded bool
	removed  bool
	// outOfReachSinceNs is when frames from the source began to show it
	// beyond reach (valid while outOfReachSeen); any frame within reach
	// clears it, so one stray or forged frame never ends a live image.
	outOfReachSinceNs int64
	outOfReachSeen    bool
}

func (img *netImage) addSubscriber(s *Subscription) {
	d := img.ep.r.d
	pos := img.rcvPosCtr.Get()
	ctr := d.allocCounter(CounterSubscriberPosition, "sub-pos", img.log, s.channel)
	im := newImage(img.log, pos, ctr, img.source.String())
	im.waker, im.wakeEvery, im.lastWake = d.recvWaiter, img.window/4, pos
	img.mu.Lock()
	next := append(append([]*Image{}, *img.readers.Load()...), im)
	img.readers.Store(&next)
	img.mu.Unlock()
	s.addImage(im)
}

// release detaches a subscriber image (called from the subscription).
func (img *netImage) release(im *Image) {
	img.mu.Lock()
	old := *img.readers.Load()
	next := make([]*Image, 0, len(old))
	for _, x := range old {
		if x != im {
			next = append(next, x)
		}
	}
	img.readers.Store(&next)
	img.mu.Unlock()
	img.ep.r.d.freeCounter(im.subCounter)
}

// insert writes a data or padding frame into the log at its position unless
// it is a duplicate or beyond the receiver window.
func (img *netImage) insert(frame []byte, nowNs int64) {
	lb := img.log
	h := FrameHeader(frame)
	length := h.FrameLength()
	termOffset := h.TermOffset()
	aligned := int32(Align(int(length), FrameAlignment))
	if termOffset >= lb.termLength || aligned > lb.termLength-termOffset ||
		(h.Type() == TypeData && (int(length) != len(frame) || length > lb.mtu)) {
		img.sys.InvalidFrames.Increment()
		return
	}
	img.lastPacketNs = nowNs
	pos := lb.positionOf(h.TermID(), termOffset)
	if img.outOfReach(pos, nowNs) {
		img.sys.FlowControlOverruns.Increment()
		return
	}
	if img.eosPos >= 0 && pos >= img.eosPos {
		// A resumed session's data: ask for the setup that replaces this
		// image (a publication that other receivers answered sends none).
		img.ep.requestSetup(lb.sessionID, lb.streamID)
		return
	}
	wireEnd := pos + int64(Align(len(frame), FrameAlignment))
	if pos+int64(aligned) <= img.rebuildPos {
		img.sys.DuplicateFrames.Increment()
		return
	}
	if pos < img.rebuildPos || wireEnd > img.minSub+img.window {
		img.sys.FlowControlOverruns.Increment()
		return
	}
	term := lb.terms[lb.partitionIndex(pos)]
	if frameLengthVolatile(term, termOffset) != 0 {
		img.sys.DuplicateFrames.Increment()
		return
	}
	copy(term[termOffset+4:], frame[4:])
	frameLengthOrdered(term, termOffset, length)
	img.hwm = max(img.hwm, pos+int64(aligned))
	if pos == img.rebuildPos {
		img.advanceRebuild()
	}
}

// advanceRebuild moves the rebuild position over contiguous frames.
func (img *netImage) advanceRebuild() {
	lb := img.log
	pos := img.rebuildPos
	for pos < img.hwm {
		term := lb.terms[lb.partitionIndex(pos)]
		length := frameLengthVolatile(term, lb.termOffset(pos))
		if length <= 0 {
			break
		}
		pos += int64(Align(int(length), FrameAlignment))
	}
	img.rebuildPos = pos
	img.rcvPosCtr.Set(pos)
	img.hwmCtr.Set(img.hwm)
}

func (img *netImage) onHeartbeat(h FrameHeader, nowNs int64) {
	img.sys.HeartbeatsReceived.Increment()
	img.lastPacketNs = nowNs
	pos := img.log.positionOf(h.TermID(), h.TermOffset())
	if img.outOfReach(pos, nowNs) {
		return
	}
	if img.eosPos >= 0 && pos > img.eosPos {
		img.ep.requestSetup(img.log.sessionID, img.log.streamID) // resumed, as in insert
		return
	}
	if pos > img.minSub+img.window+int64(img.log.termLength) || pos < img.rebuildPos-int64(img.log.termLength) {
		img.sys.InvalidFrames.Increment()
		return
	}
	img.hwm = max(img.hwm, pos)
	img.hwmCtr.Set(img.hwm)
	if h.Flags()&FlagEOS != 0 {
		img.eosPos = pos
	}
}

// replacedBy reports whether setup c, from src, starts a new incarnation
// of the image's session that should replace it now: one with another
// initial term id, or one resuming the stream after its end (past the end
// position, or at it from another source), once the subscribers consumed
// what this image holds. Until they have, the setup is ignored; the new
// publication repeats it until a status message answers.
func (img *netImage) replacedBy(c ControlFrame, src netip.AddrPort) bool {
	lb := img.log
	if c.SetupInitialTermID() != lb.initialTermID {
		return img.minSub >= img.rebuildPos
	}
	if img.eosPos < 0 {
		return false
	}
	pos := lb.positionOf(c.SetupActiveTermID(), c.SetupTermOffset())
	resumed := pos > img.eosPos || (pos == img.eosPos && src != img.source)
	return resumed && img.minSub >= img.eosPos
}

// strandedConfirmNs is how long frames must keep showing the source out of
// reach, with none within reach between them, before the image is judged
// stranded: three heartbeat intervals, so a live source proves it, while a
// single corrupt or forged frame (a bogus term id) cannot end the image.
const strandedConfirmNs = 3 * int64(heartbeatIntervalDefault)

// outOfReach reports whether a frame from the source at pos is more than a
// term ahead of the rebuild position, and so must be dropped. When such
// frames persist for strandedConfirmNs it marks the image stranded. That
// happens only to a receiver the sender stopped counting (it timed out of,
// or was too far behind for, min flow control, or max flow control left it
// behind), and it could never catch up: the image ends and a new one joins
// at the source's current position.
func (img *netImage) outOfReach(pos, nowNs int64) bool {
	if img.stranded {
		return true
	}
	if pos-int64(img.log.termLength) <= img.rebuildPos {
		img.outOfReachSeen = false
		return false
	}
	if !img.outOfReachSeen {
		img.outOfReachSeen, img.outOfReachSinceNs = true, nowNs
	}
	if nowNs-img.outOfReachSinceNs >= strandedConfirmNs {
		img.stranded = true
	}
	return true
}

// service runs the image's timed duties: window and cleaning, end of
// stream, loss detection, status messages and liveness.
func (img *netImage) service(nowNs int64) int {
	if img.removed {
		return 0
	}
	img.refreshMinSub()
	if img.eosPos >= 0 && img.rebuildPos >= img.eosPos {
		img.log.eosPosition.Store(img.eosPos)
	}
	work := img.detectLoss(nowNs)
	work += img.maybeSendStatus(nowNs)
	if nowNs-img.lastPacketNs > int64(img.cfg.ImageLivenessTimeout) || img.abandoned() || img.stranded {
		img.timeout()
		return work + 1
	}
	return work
}

func (img *netImage) refreshMinSub() {
	readers := *img.readers.Load()
	if len(readers) == 0 {
		img.minSub = img.rebuildPos
	} else {
		m := int64(1<<63 - 1)
		for _, r := range readers {
			m = min(m, r.subCounter.Get())
		}
		img.minSub = m
	}
	img.cleaner.cleanTo(img.log, img.minSub-int64(img.log.termLength))
}

// detectLoss NAKs the gaps between the rebuild position and the high-water
// mark. The timer is keyed on the first gap (which always starts at the
// rebuild position): it fires after a short delay for unicast, or after a
// random back-off for multicast (so that one receiver's NAK and the
// resulting retransmit usually serve the others), and again on every retry
// interval while that gap stays open. When it fires, every gap within
// gapScanLengthMax is NAKed at once, so that heavy loss is repaired in one
// round trip rather than one per gap.
func (img *netImage) detectLoss(nowNs int64) int {
	if img.hwm <= img.rebuildPos {
		img.gapActive = false
		return 0
	}
	if !img.gapActive || img.gapPos != img.rebuildPos {
		img.gapActive, img.gapPos = true, img.rebuildPos
		img.nakDeadline = nowNs + img.nakDelay()
		img.sys.LossGaps.Increment()
	}
	if nowNs < img.nakDeadline {
		return 0
	}
	img.nakDeadline = nowNs + int64(img.cfg.NAKRetry)
	return img.nakGaps()
}

// nakGaps scans the rebuild term from the rebuild position and NAKs up to
// nakGapsMax gaps; it returns the number of NAKs sent.
func (img *netImage) nakGaps() int {
	lb := img.log
	term := lb.terms[lb.partitionIndex(img.rebuildPos)]
	start := lb.termOffset(img.rebuildPos)
	end := min(lb.termLength, start+gapScanLengthMax, start+int32(min(img.hwm-img.rebuildPos, int64(lb.termLength))))
	termID := lb.termIDOf(img.rebuildPos)
	naks := 0
	for off := start; off < end && naks < nakGapsMax; {
		if length := frameLengthVolatile(term, off); length > 0 {
			off += int32(Align(int(length), FrameAlignment))
			continue
		}
		gapStart := off
		for off < end && frameLengthVolatile(term, off) == 0 {
			off += FrameAlignment
		}
		b := img.ep.nextOut(img.source)
		if b == nil {
			break
		}
		EncodeNAK(b, lb.sessionID, lb.streamID, termID, gapStart, off-gapStart)
		img.sys.NaksSent.Increment()
		naks++
	}
	return naks
}

func (img *netImage) nakDelay() int64 {
	if !img.ep.multicast {
		return int64(img.cfg.NAKUnicastDelay)
	}
	return img.ep.r.d.randInt63n(int64(img.cfg.NAKMulticastMaxBackoff) + 1)
}

// maybeSendStatus sends a status message when the consumers moved a quarter
// window since the last one, when one is due (setup) or on the interval
// (the quiet interval when the consumers have not moved since the last).
func (img *netImage) maybeSendStatus(nowNs int64) int {
	interval := int64(img.cfg.StatusMessageInterval)
	if img.minSub == img.lastSMPos {
		interval = img.cfg.quietStatusNs
	}
	if !img.smDue && img.minSub-img.lastSMPos < img.window/4 && nowNs-img.lastSMNs < interval {
		return 0
	}
	lb := img.log
	b := img.ep.nextOut(img.source)
	if b == nil {
		return 0
	}
	EncodeStatus(b, 0, lb.sessionID, lb.streamID, lb.termIDOf(img.minSub), lb.termOffset(img.minSub), int32(img.window), img.receiverID)
	img.sys.StatusMessagesSent.Increment()
	img.smDue = false
	img.lastSMNs = nowNs
	img.lastSMPos = img.minSub
	return 1
}

// abandoned reports whether nobody subscribes to the image's stream any more.
func (img *netImage) abandoned() bool {
	return len(*img.readers.Load()) == 0 && len((*img.ep.subs.Load())[img.log.streamID]) == 0
}

// timeout makes the image unavailable to its subscribers and removes it.
func (img *netImage) timeout() {
	if img.log.eosPosition.Load() == eosUnknown && !img.abandoned() {
		img.sys.ImageTimeouts.Increment()
	}
	img.removed = true
	for _, r := range *img.readers.Load() {
		r.unavailable.Store(true)
	}
	img.ep.removeImage(img)
	d := img.ep.r.d
	d.freeCounter(img.hwmCtr)
	d.freeCounter(img.rcvPosCtr)
}
