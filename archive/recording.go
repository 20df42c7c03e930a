package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"sync"
	"syscall"

	"venue/transport"
)

// RecordingParams describe a stream to record.
type RecordingParams struct {
	Channel       string
	StreamID      int32
	SessionID     int32
	InitialTermID int32
	TermLength    int32
	MTULength     int32
	// StartPosition is the stream position of the first block to record.
	StartPosition transport.Position
}

// Recording writes one recording's frames to its segment files. It is the
// writer half of a recording: Append is called by one goroutine (the
// recorder's); Stop may come from any goroutine (a control request, Close)
// and waits for an Append in progress; positions may be read from any.
//
// Durability contract: DurablePosition never passes the bytes the fsync
// policy has made durable, because it moves only after the sync that covers
// them returns (or, under FsyncNone, after the write does). The cluster
// reports it as its append position.
type Recording struct {
	mu     sync.Mutex // serialises Append and Stop; uncontended on the hot path
	a      *Archive
	desc   Descriptor
	geom   frameGeometry
	fsync  FsyncPolicy
	segLen int32
	live   *liveState

	file     File
	fileBase transport.Position // base of file; NullPosition when none is open
	position transport.Position // recorded position, owned by the writer
	durable  transport.Position

	recordedCounter *transport.Counter
	durableCounter  *transport.Counter
	stage           []byte // checksummed copy of a block; nil without checksums
	padHeader       [transport.HeaderLength]byte
	failed          error
	stopped         bool
}

// syncError marks a failed sync: the bytes it should have covered may be
// lost whatever the error number says, so it is never retried.
type syncError struct{ err error }

func (e *syncError) Error() string { return e.err.Error() }
func (e *syncError) Unwrap() error { return e.err }

// StartRecording adds a recording to the catalog and returns its writer,
// positioned at p.StartPosition.
func (a *Archive) StartRecording(p RecordingParams) (*Recording, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, ErrClosed
	}
	d := Descriptor{
		RecordingID:      a.cat.nextID(),
		State:            RecordingValid,
		StartPosition:    p.StartPosition,
		StopPosition:     NullPosition,
		StartTimestampNs: a.cfg.EpochClockNs(),
		InitialTermID:    p.InitialTermID,
		SessionID:        p.SessionID,
		StreamID:         p.StreamID,
		TermLength:       p.TermLength,
		SegmentLength:    a.cfg.SegmentLength,
		MTULength:        p.MTULength,
		Checksums:        !a.cfg.DisableChecksums,
		Channel:          p.Channel,
	}
	if d.SegmentLength < d.TermLength {
		d.SegmentLength = d.TermLength // a segment holds whole terms
	}
	if err := d.validate(); err != nil {
		return nil, fmt.Errorf("archive: start recording: %w", err)
	}
	counters, err := a.allocateCounters(&d)
	if err != nil {
		return nil, err
	}
	if err := a.cat.put(&d); err != nil {
		a.freeRecordingCounters(counters)
		return nil, a.classify(fmt.Errorf("archive: start recording: %w", err))
	}
	return a.newRecording(d, d.StartPosition, counters), nil
}

// ExtendRecording reopens a stopped recording for writing at its stop
// position: after a restart, or after ErrRecordingFailed.
func (a *Archive) ExtendRecording(id int64) (*Recording, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, err := a.stoppedEntry(id, "extend")
	if err != nil {
		return nil, err
	}
	d := e.desc
	stop := d.StopPosition
	d.StopPosition = NullPosition
	counters, err := a.allocateCounters(&d)
	if err != nil {
		return nil, err
	}
	if err := a.cat.put(&d); err != nil {
		a.freeRecordingCounters(counters)
		return nil, a.classify(fmt.Errorf("archive: extend recording %d: %w", id, err))
	}
	return a.newRecording(d, stop, counters), nil
}

// allocateCounters allocates a recording's recorded- and durable-position
// counters, before its catalog record changes, so that running out of
// counters leaves the catalog as it was.
func (a *Archive) allocateCounters(d *Descriptor) ([2]*transport.Counter, error) {
	label := fmt.Sprintf("%d %d %s", d.RecordingID, d.StreamID, d.Channel)
	rc, err := a.cfg.Counters.Allocate(CounterTypeRecordedPosition, "rec-pos: "+label)
	if err != nil {
		return [2]*transport.Counter{}, fmt.Errorf("archive: recording %d: %w", d.RecordingID, err)
	}
	dc, err := a.cfg.Counters.Allocate(CounterTypeDurablePosition, "rec-durable-pos: "+label)
	if err != nil {
		a.cfg.Counters.Free(rc)
		return [2]*transport.Counter{}, fmt.Errorf("archive: recording %d: %w", d.RecordingID, err)
	}
	return [2]*transport.Counter{rc, dc}, nil
}

func (a *Archive) freeRecordingCounters(c [2]*transport.Counter) {
	a.cfg.Counters.Free(c[0])
	a.cfg.Counters.Free(c[1])
}

func (a *Archive) newRecording(d Descriptor, position transport.Position, counters [2]*transport.Counter) *Recording {
	r := &Recording{
		a: a, desc: d, geom: newFrameGeometry(&d), fsync: a.cfg.Fsync, segLen: d.SegmentLength,
		live: a.liveOf(&d), fileBase: NullPosition, position: position, durable: position,
	}
	r.recordedCounter, r.durableCounter = counters[0], counters[1]
	if d.Checksums {
		r.stage = make([]byte, BlockLengthMax)
	}
	r.publish()
	r.live.active.Store(true)
	a.active[d.RecordingID] = r
	return r
}

// ID returns the recording id.
func (r *Recording) ID() int64 { return r.desc.RecordingID }

// Descriptor returns the recording's descriptor as it was when recording
// (re)started; its StopPosition is NullPosition.
func (r *Recording) Descriptor() Descriptor { return r.desc }

// RecordedPosition returns the position up to which frames have been
// written (to the page cache, at least). Safe from any goroutine.
func (r *Recording) RecordedPosition() transport.Position {
	return transport.Position(r.live.recorded.Load())
}

// DurablePosition returns the position up to which frames are durable
// under the fsync policy. Safe from any goroutine.
func (r *Recording) DurablePosition() transport.Position {
	return transport.Position(r.live.durable.Load())
}

// RecordedCounter is the recorded-position counter (type CounterTypeRecordedPosition).
func (r *Recording) RecordedCounter() *transport.Counter { return r.recordedCounter }

// DurableCounter is the durable-position counter (type CounterTypeDurablePosition).
func (r *Recording) DurableCounter() *transport.Counter { return r.durableCounter }

// Err returns the error that failed the recording, or nil.
func (r *Recording) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.failed
}

// publish makes the writer's positions visible to other goroutines. The
// durable position is stored first so that no reader ever sees it ahead of
// the recorded position.
func (r *Recording) publish() {
	if r.durable > r.position {
		assertFailed("durable %d ahead of recorded %d", r.durable, r.position)
	}
	r.live.durable.Store(int64(r.durable))
	r.durableCounter.Set(int64(r.durable))
	r.live.recorded.Store(int64(r.position))
	r.recordedCounter.Set(int64(r.position))
}

// Append records block, whole frames starting at stream position pos, as
// one write batch: written, then synced per the fsync policy. pos must equal
// RecordedPosition (blocks are contiguous; anything else is a bug in the
// source and panics). block is not modified nor retained.
//
// Errors: ErrDiskFull (nothing of the block is recorded; retry the same
// block later), ErrRecordingFailed (sticky: the recording rolled back to its
// durable position; Stop it and extend it), ErrInvalidFrame, ErrClosed.
func (r *Recording) Append(pos transport.Position, block []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return fmt.Errorf("archive: append to recording %d: %w", r.desc.RecordingID, ErrClosed)
	}
	if r.failed != nil {
		return r.failed
	}
	if pos != r.position {
		assertFailed("recording %d: append at %d, recorded position is %d", r.desc.RecordingID, pos, r.position)
	}
	if len(block) == 0 {
		return nil
	}
	if len(block) > BlockLengthMax {
		return fmt.Errorf("archive: append %d bytes to recording %d: %w: more than BlockLengthMax", len(block), r.desc.RecordingID, ErrInvalidParams)
	}
	data := block
	if r.stage != nil {
		data = r.stage[:len(block)]
		copy(data, block)
	}
	if n := r.geom.stampBlock(data, pos); n != len(data) {
		return fmt.Errorf("archive: append to recording %d: %w at position %d", r.desc.RecordingID, ErrInvalidFrame, pos+transport.Position(n))
	}
	return r.commit(data, pos, len(data))
}

// AppendPadding records a pad frame of length bytes at pos, the way a
// replay hands one over (BlockSink.AppendPadding): only its header is
// written, since nothing ever reads a pad's body. The same rules and errors
// as Append apply.
func (r *Recording) AppendPadding(pos transport.Position, length int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return fmt.Errorf("archive: append padding to recording %d: %w", r.desc.RecordingID, ErrClosed)
	}
	if r.failed != nil {
		return r.failed
	}
	if pos != r.position {
		assertFailed("recording %d: padding at %d, recorded position is %d", r.desc.RecordingID, pos, r.position)
	}
	h := transport.FrameHeader(r.padHeader[:])
	clear(h)
	h.SetVersion(transport.CurrentVersion)
	h.SetType(transport.TypePad)
	h.SetTermOffset(int32(int64(pos) & int64(r.desc.TermLength-1)))
	h.SetSessionID(r.desc.SessionID)
	h.SetStreamID(r.desc.StreamID)
	h.SetTermID(r.geom.initialTermID + int32(int64(pos)>>r.geom.positionShift))
	h.SetFrameLength(int32(min(length, int(r.desc.TermLength))))
	if length%transport.FrameAlignment != 0 || r.geom.headerLengthAt(h, pos) != length {
		return fmt.Errorf("archive: append padding to recording %d: %w: %d bytes at position %d", r.desc.RecordingID, ErrInvalidFrame, length, pos)
	}
	return r.commit(h, pos, length)
}

// commit writes data at pos, moves the recorded position length bytes on
// (more than len(data) for a pad), and syncs per the policy.
func (r *Recording) commit(data []byte, pos transport.Position, length int) error {
	if err := r.write(data, pos); err != nil {
		return r.onError(err)
	}
	r.position = pos + transport.Position(length)
	r.publish()
	if err := r.syncFile(); err != nil {
		return r.onError(err)
	}
	r.durable = r.position
	r.publish()
	return nil
}

// write writes data at pos, rolling to the next segment where needed.
func (r *Recording) write(data []byte, pos transport.Position) error {
	for len(data) > 0 {
		base := segmentBase(pos, r.segLen)
		if base != r.fileBase {
			if err := r.roll(base); err != nil {
				return err
			}
		}
		n := min(int64(len(data)), int64(base)+int64(r.segLen)-int64(pos))
		if _, err := r.file.WriteAt(data[:n], int64(pos-base)); err != nil {
			return fmt.Errorf("write segment %d-%d: %w", r.desc.RecordingID, base, err)
		}
		data, pos = data[n:], pos+transport.Position(n)
	}
	return nil
}

// roll switches the writer to the segment at base. The segment being left
// is synced first, so a segment never holds durable-looking frames while an
// earlier one still misses some: recovery scans only the last segment.
func (r *Recording) roll(base transport.Position) error {
	if r.file != nil {
		if err := r.syncFile(); err != nil {
			return err
		}
		r.durable = min(r.position, base)
		r.publish()
		r.file.Close()
		r.file, r.fileBase = nil, NullPosition
	}
	f, err := r.a.openSegment(r.desc.RecordingID, base, r.segLen)
	if err != nil {
		return err
	}
	r.file, r.fileBase = f, base
	return nil
}

// syncFile syncs the open segment per the policy.
func (r *Recording) syncFile() error {
	if r.file == nil {
		return nil
	}
	var err error
	switch r.fsync {
	case FsyncNone:
		return nil
	case FsyncData:
		err = r.file.SyncData()
	case FsyncDataAndMetadata:
		err = r.file.Sync()
	}
	if err != nil {
		return &syncError{fmt.Errorf("sync segment %d-%d: %w", r.desc.RecordingID, r.fileBase, err)}
	}
	return nil
}

// onError turns a write or sync error into Append's result. A full disk
// while writing or allocating is retryable: rewriting the same block at the
// same offsets is idempotent. Anything else, and any failed sync, fails the
// recording at its durable position.
func (r *Recording) onError(err error) error {
	var se *syncError
	if errors.Is(err, syscall.ENOSPC) && !errors.As(err, &se) {
		r.a.diskFullCounter.Increment()
		return fmt.Errorf("archive: recording %d at position %d: %w: %w", r.desc.RecordingID, r.position, ErrDiskFull, err)
	}
	r.a.errorsCounter.Increment()
	r.position = r.durable
	r.publish()
	if r.file != nil {
		r.file.Close()
		r.file, r.fileBase = nil, NullPosition
	}
	r.failed = fmt.Errorf("archive: recording %d stopped at durable position %d: %w: %w", r.desc.RecordingID, r.durable, ErrRecordingFailed, err)
	return r.failed
}

// Stop syncs what was recorded, records the stop position and time in the
// catalog, and releases the writer. After ErrRecordingFailed the stop
// position is the durable position.
func (r *Recording) Stop() error {
	a := r.a
	a.mu.Lock() // lock order: archive, then recording (Append never takes a.mu)
	defer a.mu.Unlock()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return nil
	}
	r.stopped = true
	var syncErr error
	if r.failed == nil {
		if syncErr = r.syncFile(); syncErr != nil {
			r.onError(syncErr)
		}
		r.durable = r.position
	}
	r.publish()
	if r.file != nil {
		r.file.Close()
	}
	d := a.cat.get(r.desc.RecordingID).desc // Purge may have moved the start
	d.StopPosition, d.StopTimestampNs = r.durable, a.cfg.EpochClockNs()
	putErr := a.cat.put(&d)
	r.live.active.Store(false)
	delete(a.active, d.RecordingID)
	a.freeRecordingCounters([2]*transport.Counter{r.recordedCounter, r.durableCounter})
	if err := errors.Join(syncErr, putErr); err != nil {
		a.errorsCounter.Increment()
		return fmt.Errorf("archive: stop recording %d: %w", d.RecordingID, err)
	}
	return nil
}

// openSegment opens the segment file at base, creating and preallocating it
// (and syncing the directory) when missing.
func (a *Archive) openSegment(id int64, base transport.Position, segLen int32) (File, error) {
	path := a.segmentPath(id, base)
	f, err := a.cfg.FS.OpenFile(path, false)
	created := false
	if errors.Is(err, fs.ErrNotExist) {
		f, err = a.cfg.FS.OpenFile(path, true)
		created = true
	}
	if err != nil {
		return nil, fmt.Errorf("open segment %d-%d: %w", id, base, err)
	}
	if err := f.Allocate(int64(segLen)); err != nil {
		f.Close()
		return nil, fmt.Errorf("allocate segment %d-%d: %w", id, base, err)
	}
	if created {
		if err := a.cfg.FS.SyncDir(a.cfg.Dir); err != nil {
			f.Close()
			return nil, &syncError{fmt.Errorf("sync %s after creating segment %d-%d: %w", a.cfg.Dir, id, base, err)}
		}
	}
	return f, nil
}

// classify counts a control-plane error and marks a full disk as such.
func (a *Archive) classify(err error) error {
	if errors.Is(err, syscall.ENOSPC) {
		a.diskFullCounter.Increment()
		return fmt.Errorf("%w: %w", ErrDiskFull, err)
	}
	a.errorsCounter.Increment()
	return err
}
