package logstore

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"path/filepath"
	"sync"

	"venue/archive"
	"venue/cluster/consensus"
)

// Prepared segments (FsyncData only).
//
// fallocate(2) reserves a segment's blocks as unwritten extents: they read
// as zeros, but the first write into each block converts its extent to
// written, a metadata change that the next fdatasync must write too. So on
// a fallocated segment every sync of a batch costs an inode/extent write
// besides the data and the device flush: on the ext4 of the target host
// (measured with perf: block requests per fdatasync of a 4 KB append) 5
// requests instead of 3, and a closed loop of write+fdatasync ran 1.4 k
// syncs/s instead of 3.2 k. A segment whose every byte was once written
// (zeros) and synced has only written extents, and a sync then covers data
// alone.
//
// Zeroing a 64 MiB segment takes ~0.1 s of disk, too long for a roll on the
// consensus goroutine, so a preparer goroutine zero-fills a spare file,
// preparedName, in the background (in prepareChunkLength writes, each
// synced, so that its writeback never queues much ahead of the syncer's
// fdatasyncs), and marks it complete with a checksummed record at its
// start. A roll renames the spare into place (after writing and syncing
// the segment header over the record, so a segment whose name survives a
// crash has a readable header, as createSegment guarantees) and falls back
// to a fallocated segment when no spare is ready. The preparer starts once
// a fallocated tail holds prepareStartLength bytes (never for a store that
// stays small, such as most tests'), or a prepared one is half full, and a
// ready spare ends a fallocated tail early: a fresh member runs on prepared
// segments after its first few hundred milliseconds. A spare left by a clean Close is
// kept for the next Open; a partial one is removed.
const (
	// prepareSpreadDivisor: a spare for a prepared tail is paced to be
	// complete when 1/prepareSpreadDivisor of the room the tail had left
	// when it was asked for is used (maybePrepare).
	prepareSpreadDivisor = 2

	// prepareChunkLength is the zeros the preparer writes per fdatasync.
	// Each chunk holds the device ~0.4 ms (at ~700 MB/s), which bounds
	// what a commit's sync can queue behind.
	prepareChunkLength = 256 << 10
	// prepareStartLength is how full a fallocated tail must be (capped at
	// half a segment) before the preparer makes the segment that replaces
	// it.
	prepareStartLength = 1 << 20

	preparedMagic          = "VNLOGPRE"
	preparedLengthOffset   = 8
	preparedChecksumOffset = 16
	preparedRecordLength   = 20
)

// zeroChunk is what the preparer writes; never modified.
var zeroChunk [prepareChunkLength]byte

// spareState is the preparer's hand-off to the writer, guarded by mu.
type spareState struct {
	mu     sync.Mutex
	file   archive.File // a complete spare; nil when none
	busy   bool         // a preparation is requested or running
	failed bool         // a preparation failed: none until reopened (ENOSPC)
	err    error        // the failure, for tests and tools

	// The pace of a preparation under way (maybePrepare): it may have
	// written allow bytes and has written written (parked: its goroutine
	// waits for more allowance); the pace is measured in the tail at
	// paceBase from its fill paceFrom over paceSpan bytes (0: unpaced).
	allow, written     int64
	parked             bool
	paceBase           consensus.Position
	paceFrom, paceSpan int64
}

// preparing reports whether this store prepares segments.
func (s *Store) preparing() bool {
	return s.cfg.Fsync != archive.FsyncNone && !s.readOnly && !s.cfg.prepareOff
}

func (s *Store) preparedPath() string { return filepath.Join(s.cfg.Dir, preparedName) }

// adoptSpare keeps a complete spare left by an earlier run (one whose
// record is intact and whose length fits SegmentLength) and removes any
// other file by that name. Called by Open before the preparer starts.
func (s *Store) adoptSpare() error {
	f, err := s.cfg.FS.OpenFile(s.preparedPath(), false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("logstore: open %s: %w", preparedName, err)
	}
	h := newSegHeader(0, s.cfg.SegmentLength)
	if s.preparing() && spareComplete(f, h.fileLength()) {
		s.prep.file = f
		return nil
	}
	f.Close()
	if err := s.cfg.FS.Remove(s.preparedPath()); err != nil {
		return fmt.Errorf("logstore: remove %s: %w", preparedName, err)
	}
	return nil
}

// spareComplete reports whether f is a finished spare of length bytes.
func spareComplete(f archive.File, length int64) bool {
	var b [preparedRecordLength]byte
	if _, err := f.ReadAt(b[:], 0); err != nil {
		return false
	}
	if got, ok := decodePreparedRecord(b[:]); !ok || got != length {
		return false
	}
	size, err := f.Size()
	return err == nil && size == length
}

// encodePreparedRecord writes the completion record of a spare of length
// bytes into b (preparedRecordLength bytes).
func encodePreparedRecord(b []byte, length int64) {
	b = b[:preparedRecordLength]
	copy(b, preparedMagic)
	le.PutUint64(b[preparedLengthOffset:], uint64(length))
	le.PutUint32(b[preparedChecksumOffset:], crc32.Checksum(b[:preparedChecksumOffset], castagnoli))
}

// decodePreparedRecord returns the spare length a completion record
// states, and whether b holds a well-formed one. It never panics.
func decodePreparedRecord(b []byte) (int64, bool) {
	if len(b) < preparedRecordLength || string(b[:len(preparedMagic)]) != preparedMagic ||
		le.Uint32(b[preparedChecksumOffset:]) != crc32.Checksum(b[:preparedChecksumOffset], castagnoli) {
		return 0, false
	}
	length := int64(le.Uint64(b[preparedLengthOffset:]))
	return length, length > 0
}

// maybePrepare asks for a spare when none is ready or coming and the tail
// has grown past prepareStartLength (a fallocated tail, to be left early)
// or half its length (a prepared one: the spare is for its roll, and
// zeroing it sooner would only put its disk traffic beside the first
// one's), and paces a preparation under way. Called by the writer after
// appends.
//
// The pace: a spare for a fallocated tail is written as fast as the disk
// takes it (every sync of such a tail also writes extent metadata, so it
// is left as soon as possible). A spare for a prepared tail is needed only
// when that tail is full, so its zeros are spread over the tail's appends:
// prepareChunkLength at once, then length/span bytes per byte appended,
// where span is 1/prepareSpreadDivisor of the room left when it was asked
// for, so it is complete with room to spare. At `venue bench fix --rate
// 10000` (about 1.4 MB/s of log per member; perf, one 50 s run each on a
// shared host): unpaced, the three members wrote their 72 MiB spares
// together in ~4 s at ~75 MB/s, and the log syncs in the worst 2 s ran at
// p50 0.71 ms against 0.25-0.30 ms; paced, the same zeros took ~12 s at
// ~18 MB/s, and the log syncs beside them ran at p50 0.20-0.22 ms, p99
// 1.1-1.3 ms, as in seconds without a preparation. Paced by appends rather
// than by a clock, a store that stays small (tests) writes few zeros, and
// a roll that comes before the spare is complete (a burst of appends)
// lifts the pace.
func (s *Store) maybePrepare() {
	if !s.preparing() || s.tail == nil {
		return
	}
	fill := int64(s.end - s.tail.base)
	threshold := s.tail.dataLen / 2
	if !s.tail.prepared {
		threshold = min(threshold, prepareStartLength)
	}
	p := &s.prep
	p.mu.Lock()
	start, wake := false, false
	switch {
	case p.busy:
		p.allow = max(p.allow, s.allowanceLocked())
		// Wake the preparation only when it can write its next chunk (and,
		// on its goroutine, is parked waiting for that).
		if p.allow >= min(p.written+s.cfg.prepareChunk, s.spareLength()) && (s.cfg.prepareInline || p.parked) {
			p.parked, wake = false, true
		}
	case p.file == nil && !p.failed && fill >= threshold:
		start, p.busy, p.written, p.parked = true, true, 0, false
		p.paceBase, p.paceFrom, p.paceSpan = s.tail.base, fill, 0
		if s.tail.prepared {
			p.paceSpan = max(1, (s.tail.dataLen-fill)/prepareSpreadDivisor)
		}
		p.allow = s.allowanceLocked()
	}
	p.mu.Unlock()
	if !start && !wake {
		return
	}
	if s.cfg.prepareInline {
		s.prepareInlineStep()
		return
	}
	select { // the preparer's wake-up; one pending is enough
	case s.prepWake <- struct{}{}:
	default:
	}
}

// allowanceLocked is how many bytes of the spare the preparation may have
// written by now (see maybePrepare). The caller holds prep.mu.
func (s *Store) allowanceLocked() int64 {
	p := &s.prep
	length := s.spareLength()
	if p.paceSpan == 0 || s.tail == nil || s.tail.base != p.paceBase {
		return length // unpaced, or the tail it was for is gone: late already
	}
	done := max(0, int64(s.end-s.tail.base)-p.paceFrom)
	return min(length, s.cfg.prepareChunk+length*done/p.paceSpan)
}

// spareLength is the file length of a spare (a segment's, header and index
// included).
func (s *Store) spareLength() int64 {
	h := newSegHeader(0, s.cfg.SegmentLength)
	return h.fileLength()
}

// prepareInlineStep runs the preparation on the writer's goroutine
// (prepareInline): starts it if asked for, and writes what the allowance
// admits.
func (s *Store) prepareInlineStep() {
	if s.prepJob == nil {
		j, err := startSpare(s.cfg.FS, s.preparedPath(), s.spareLength(), s.cfg.prepareChunk)
		if err != nil {
			s.finishPrepare(nil, err)
			return
		}
		s.prepJob = j
	}
	s.prep.mu.Lock()
	allow := s.prep.allow
	s.prep.mu.Unlock()
	done, err := s.prepJob.step(allow, func() bool { return false })
	s.prep.mu.Lock()
	s.prep.written = s.prepJob.off
	s.prep.mu.Unlock()
	switch {
	case err != nil:
		s.prepJob = nil
		s.finishPrepare(nil, err)
	case done:
		f := s.prepJob.f
		s.prepJob = nil
		s.finishPrepare(f, nil)
	}
}

// prepareLoop is the preparer goroutine (FsyncData, unless prepareInline).
func (s *Store) prepareLoop() {
	defer close(s.prepDone)
	for {
		select {
		case <-s.closing:
			return
		case <-s.prepWake:
		}
		s.prep.mu.Lock()
		busy := s.prep.busy
		s.prep.mu.Unlock()
		if busy { // else a wake-up left over from the last preparation
			s.finishPrepare(s.prepareSpare())
		}
	}
}

// finishPrepare publishes a preparation's result.
func (s *Store) finishPrepare(f archive.File, err error) {
	s.prep.mu.Lock()
	defer s.prep.mu.Unlock()
	s.prep.busy = false
	switch {
	case err != nil:
		s.prep.failed, s.prep.err = true, err
	case f != nil:
		s.prep.file = f
	}
}

// closedNow reports whether Close has begun (the preparer then gives up).
func (s *Store) closedNow() bool {
	select {
	case <-s.closing:
		return true
	default:
		return false
	}
}

// prepareSpare makes a complete spare on the preparer goroutine, as fast
// as the writer's allowance lets it (maybePrepare), parking between
// chunks it may not write yet. It returns nil, nil when Close interrupted
// it (the partial file is left for the next Open to remove).
func (s *Store) prepareSpare() (archive.File, error) {
	j, err := startSpare(s.cfg.FS, s.preparedPath(), s.spareLength(), s.cfg.prepareChunk)
	if err != nil {
		return nil, err
	}
	for {
		s.prep.mu.Lock()
		allow := s.prep.allow
		s.prep.mu.Unlock()
		done, err := j.step(allow, s.closedNow)
		switch {
		case err != nil:
			return nil, err
		case done:
			return j.f, nil
		case s.closedNow():
			j.f.Close()
			return nil, nil
		}
		// Park unless the allowance grew meanwhile; the writer wakes a
		// parked preparation when its next chunk is admitted (both under
		// prep.mu, so no wake-up is lost).
		s.prep.mu.Lock()
		s.prep.written = j.off
		park := s.prep.allow < min(j.off+j.chunk, j.length)
		s.prep.parked = park
		s.prep.mu.Unlock()
		if !park {
			continue
		}
		select {
		case <-s.closing:
			j.f.Close()
			return nil, nil
		case <-s.prepWake:
		}
	}
}

// spareJob is a spare being made: resumable, so that it can be paced on
// either goroutine.
type spareJob struct {
	fsys   archive.FS
	path   string
	f      archive.File
	length int64
	chunk  int64
	off    int64 // the zeros below off are written and synced
}

// startSpare removes any old file at path and creates a spare of length
// bytes there, reserved (ENOSPC now, not at the first zero chunk), to be
// zero-filled in chunk writes.
func startSpare(fsys archive.FS, path string, length, chunk int64) (*spareJob, error) {
	if err := fsys.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("logstore: remove %s: %w", preparedName, err)
	}
	f, err := fsys.OpenFile(path, true)
	if err != nil {
		return nil, fmt.Errorf("logstore: create %s: %w", preparedName, err)
	}
	j := &spareJob{fsys: fsys, path: path, f: f, length: length, chunk: chunk}
	if err := f.Allocate(length); err != nil {
		return nil, j.fail(err)
	}
	return j, nil
}

// step writes and syncs the zero chunks that end at or below allow, and
// after the last one the completion record (synced). It stops early when
// stop reports true between chunks. It returns whether the spare is
// complete; on failure the file is closed and removed.
func (j *spareJob) step(allow int64, stop func() bool) (bool, error) {
	for j.off < j.length {
		n := min(j.chunk, j.length-j.off)
		if j.off+n > allow || stop() {
			return false, nil
		}
		if _, err := j.f.WriteAt(zeroChunk[:n], j.off); err != nil {
			return false, j.fail(err)
		}
		if err := j.f.SyncData(); err != nil {
			return false, j.fail(err)
		}
		j.off += n
	}
	var rec [preparedRecordLength]byte
	encodePreparedRecord(rec[:], j.length)
	if _, err := j.f.WriteAt(rec[:], 0); err != nil {
		return false, j.fail(err)
	}
	if err := j.f.SyncData(); err != nil {
		return false, j.fail(err)
	}
	return true, nil
}

// fail closes and removes the job's file and wraps err.
func (j *spareJob) fail(err error) error {
	j.f.Close()
	_ = j.fsys.Remove(j.path)
	return fmt.Errorf("logstore: prepare a segment of %d bytes: %w", j.length, err)
}

// PrepareSpare writes in cfg.Dir the complete spare segment that a store
// opened there with cfg adopts, so that a fresh store's first roll
// installs it and the store runs on a prepared segment from its first
// append. Without it a fresh store starts on a fallocated segment, whose
// every sync also writes extent metadata, while its preparer zero-fills
// the first spare under the store's traffic: measured with perf at
// `venue bench fix --rate 10000`, the first 2-3 s of a fresh cluster's
// syncs ran at p99 4-5 ms (beside 1-1.5 ms after). It is for tools and
// benchmarks that start a fresh member and measure it at once; a member
// that ran before has the spare its last Close kept.
//
// It does nothing under FsyncNone (which prepares no segments) or when a
// complete spare of the right length is there already. It must not run
// while a store is open in cfg.Dir. A crash leaves at worst a partial
// spare, which Open removes.
func PrepareSpare(cfg Config) error {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return err
	}
	if cfg.Fsync == archive.FsyncNone || cfg.prepareOff {
		return nil
	}
	if err := cfg.FS.MkdirAll(cfg.Dir); err != nil {
		return fmt.Errorf("logstore: create %s: %w", cfg.Dir, err)
	}
	h := newSegHeader(0, cfg.SegmentLength)
	length := h.fileLength()
	path := filepath.Join(cfg.Dir, preparedName)
	if f, err := cfg.FS.OpenFile(path, false); err == nil {
		complete := spareComplete(f, length)
		f.Close()
		if complete {
			return nil
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("logstore: open %s: %w", preparedName, err)
	}
	j, err := startSpare(cfg.FS, path, length, cfg.prepareChunk)
	if err != nil {
		return err
	}
	if _, err := j.step(length, func() bool { return false }); err != nil {
		return err
	}
	if err := j.f.Close(); err != nil {
		return fmt.Errorf("logstore: close %s: %w", preparedName, err)
	}
	return nil
}

// takeSpare hands the ready spare, if any, to the caller (a roll).
func (s *Store) takeSpare() archive.File {
	s.prep.mu.Lock()
	defer s.prep.mu.Unlock()
	f := s.prep.file
	s.prep.file = nil
	return f
}

// spareReady reports whether a spare waits for the next roll.
func (s *Store) spareReady() bool {
	s.prep.mu.Lock()
	defer s.prep.mu.Unlock()
	return s.prep.file != nil
}

// installSpare turns the spare f into the segment at base: the header
// over its completion record, then the rename; with syncNow the header is
// synced before the rename and the directory after it (else the roll owes
// them: pendingRoll). The caller holds ioMu.
func (s *Store) installSpare(f archive.File, base consensus.Position, syncNow bool) (*segment, error) {
	h := newSegHeader(base, s.cfg.SegmentLength)
	path := s.segmentPath(base)
	var hdr [segHeaderLength]byte
	encodeSegHeader(hdr[:], &h)
	_, err := f.WriteAt(hdr[:], 0)
	if err == nil && syncNow {
		err = f.SyncData()
	}
	if err == nil {
		err = s.cfg.FS.Rename(s.preparedPath(), path)
	}
	if err == nil && syncNow {
		err = s.cfg.FS.SyncDir(s.cfg.Dir)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("logstore: create segment %d from %s: %w", base, preparedName, err)
	}
	return &segment{segHeader: h, path: path, file: f, prepared: true}, nil
}

// closeSpare closes the spare's file (kept on disk for the next Open), and
// a partial one's (prepareInline; left for the next Open to remove).
func (s *Store) closeSpare() error {
	if j := s.prepJob; j != nil {
		s.prepJob = nil
		j.f.Close()
	}
	if f := s.takeSpare(); f != nil {
		return f.Close()
	}
	return nil
}
