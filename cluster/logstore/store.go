package logstore

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"sort"
	"sync"
	"sync/atomic"

	"venue/archive"
	"venue/cluster/consensus"
)

// Store is a member's durable copy of the replicated log: a
// consensus.LogStore over segment files, with the recording log (terms,
// snapshots), the hard state and the snapshot archive beside it.
//
// Goroutines: the LogStore methods (End, Append, Truncate, Read, Terms),
// ScanEntries, PurgeBefore and Retain belong to one goroutine, the
// consensus module's. DurablePosition, Notify/LogAppended, Sync, Err,
// SaveHardState/LoadHardState, the snapshot methods and the RecordingLog
// are safe from any goroutine. Close must not overlap the writer's calls.
type Store struct {
	cfg      Config
	readOnly bool

	// Owned by the writer goroutine.
	segs    []*segment // by base; the last is the tail
	start   consensus.Position
	end     consensus.Position
	terms   []consensus.TermRecord
	openLRU []*segment // older segments holding an open file, least recent first
	slots   int        // index slots the tail uses (in idx)
	entry   consensus.LogEntry

	// The tail segment and its in-memory copy: mirror holds its data, idx
	// its index region. Replaced only with ioMu held (roll, Truncate); the
	// bytes below the published end never change without ioMu either, so
	// the syncer reads them while the writer appends past them.
	tail   *segment
	mirror []byte
	spare  []byte // the previous tail's mirror, reused at the next roll
	idx    []byte

	// ioMu serialises the tail's file writes and its replacement: the
	// syncer's writes, roll, Truncate, Close; it is never held across an
	// fdatasync of the tail (Sync). Append takes it only to roll or, under
	// FsyncNone, to write.
	ioMu sync.Mutex
	// syncMu is held for a whole Sync round, fdatasyncs included. What
	// closes or removes files the syncer may be syncing (Truncate,
	// ResetTo, Close) and a roll that must finish the previous one take it
	// first (before ioMu), so that no file is closed under a sync.
	syncMu sync.Mutex
	// rolled is the roll whose syncs are still owed (FsyncData): set by
	// roll, cleared by whoever finishes it (finishRoll). At most one.
	rolled       atomic.Pointer[pendingRoll]
	flushed      consensus.Position // tail bytes written to the file
	flushedSlots int                // tail index slots written to the file

	// mu guards what the writer publishes to the syncer, and the sticky
	// failure. Held for a few instructions, never across I/O.
	mu       sync.Mutex
	pubEnd   consensus.Position
	pubSlots int
	failure  error
	failed   atomic.Bool

	durable   atomic.Int64
	onDurable atomic.Pointer[func()] // SetDurableHook

	rl   *RecordingLog
	hs   *hardStateFile
	arch *archive.Archive // snapshots; nil when read-only

	notify   chan struct{}
	closing  chan struct{}
	syncDone chan struct{}
	closed   bool

	// The preparer's spare segment (prepare.go); prepWake and prepDone
	// exist while the preparer goroutine runs.
	prep     spareState
	prepWake chan struct{}
	prepDone chan struct{}
	prepJob  *spareJob // the preparation under way (prepareInline only)
}

var _ consensus.LogStore = (*Store)(nil)

// Open opens (or creates) the store in cfg.Dir and recovers it (see the
// package doc): torn batches are cut, files past the log's end removed, and
// what survives is synced, so DurablePosition == End on return. Under
// FsyncData it starts the store's syncer and segment preparer goroutines,
// which Close stops. On
// the real file system a second Open of the same directory, in this
// process or another, fails with archive.ErrLocked (the snapshot archive's
// lock), before anything is written.
func Open(cfg Config) (*Store, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := cfg.FS.MkdirAll(cfg.Dir); err != nil {
		return nil, fmt.Errorf("logstore: create %s: %w", cfg.Dir, err)
	}
	s := &Store{cfg: cfg}
	if err := s.open(); err != nil {
		s.closeFiles()
		return nil, err
	}
	s.allocSpare()
	if s.cfg.Fsync != archive.FsyncNone {
		s.notify = make(chan struct{}, 1)
		s.closing = make(chan struct{})
		s.syncDone = make(chan struct{})
		go s.syncLoop()
	}
	if s.preparing() && !s.cfg.prepareInline {
		s.prepWake = make(chan struct{}, 1)
		s.prepDone = make(chan struct{})
		go s.prepareLoop()
	}
	return s, nil
}

// OpenReadOnly opens the store in dir for reading (venue replay and other
// tools) without writing anything: recovery finds the log's end the same
// way but trims nothing. Changes, Sync and snapshots fail with
// ErrReadOnly. fsys nil means archive.OSFS{}. It takes no lock: opened
// while a member writes, it sees some consistent prefix of the log. A
// segment the member purges between the listing and its open makes it
// list again, at most openReadOnlyAttempts times.
func OpenReadOnly(dir string, fsys archive.FS) (*Store, error) {
	cfg, err := Config{Dir: dir, FS: fsys}.withDefaults()
	if err != nil {
		return nil, err
	}
	for attempt := 1; ; attempt++ {
		s := &Store{cfg: cfg, readOnly: true}
		err := s.open()
		if err == nil {
			return s, nil
		}
		s.closeFiles()
		if !errors.Is(err, fs.ErrNotExist) || attempt == openReadOnlyAttempts {
			return nil, err
		}
	}
}

// openReadOnlyAttempts bounds OpenReadOnly's retries when a live member's
// purge removes a listed segment: each purge takes the log's first
// segments only, so a second listing normally succeeds.
const openReadOnlyAttempts = 4

func (s *Store) open() error {
	var err error
	if !s.readOnly {
		// First: the archive's directory lock keeps a second writer out
		// before recovery writes anything.
		if err := s.openSnapshotArchive(); err != nil {
			return err
		}
	}
	if s.hs, err = openHardState(s.cfg.FS, s.cfg.Dir, s.readOnly); err != nil {
		return err
	}
	if s.rl, err = openRecordingLog(s.cfg.FS, s.cfg.Dir, s.readOnly); err != nil {
		return err
	}
	if err := s.recoverSegments(); err != nil {
		return err
	}
	if err := s.reconcileTerms(); err != nil {
		return err
	}
	s.durable.Store(int64(s.end))
	if s.readOnly {
		return nil
	}
	if err := s.adoptSpare(); err != nil {
		return err
	}
	return s.deleteOrphanSnapshots()
}

// reconcileTerms drops term records past the recovered end (their bytes
// were lost) and checks that every log byte has a term.
func (s *Store) reconcileTerms() error {
	if err := s.rl.truncateTerms(s.end); err != nil {
		return err
	}
	s.terms = s.rl.Terms()
	if s.end > s.start && (len(s.terms) == 0 || s.terms[0].Base > s.start) {
		return fmt.Errorf("%w: log [%d, %d) has no term record for its start (%d records)",
			ErrCorrupt, s.start, s.end, len(s.terms))
	}
	return nil
}

// End implements consensus.LogStore.
func (s *Store) End() consensus.Position { return s.end }

// Start returns the first readable position: 0, or the base of the oldest
// segment retention kept.
func (s *Store) Start() consensus.Position { return s.start }

// DurablePosition implements consensus.LogStore. Safe from any goroutine.
func (s *Store) DurablePosition() consensus.Position { return consensus.Position(s.durable.Load()) }

// Terms implements consensus.LogStore.
func (s *Store) Terms() []consensus.TermRecord { return s.terms }

// Err returns the error that failed the store, or nil.
func (s *Store) Err() error {
	if !s.failed.Load() {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failure
}

// fail makes err the store's sticky failure and returns it.
func (s *Store) fail(err error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failure == nil {
		s.failure = fmt.Errorf("%w: %w", ErrFailed, err)
		s.failed.Store(true)
	}
	return s.failure
}

// writable returns why the store cannot change now, or nil.
func (s *Store) writable() error {
	switch {
	case s.closed:
		return ErrClosed
	case s.readOnly:
		return ErrReadOnly
	case s.failed.Load():
		return s.Err()
	}
	return nil
}

// Append implements consensus.LogStore. data must be whole entries that
// consensus.DecodeEntry accepts (anything else is refused, unchanged, so
// that recovery can never cut the log inside what Append took). A new term
// is recorded durably in the recording log before its bytes are written.
// Under FsyncData the bytes go to memory and the syncer writes and syncs
// them; under FsyncNone they are written here and DurablePosition == End on
// return, unless Config.DeferWrites leaves that to the next LogAppended. A
// failed write fails the store (ErrFailed).
func (s *Store) Append(term consensus.TermID, data []byte) error {
	if err := s.writable(); err != nil {
		return storeError(fmt.Errorf("logstore: append: %w", err))
	}
	tsNs, err := s.validateEntries(data)
	if err != nil {
		return storeError(err)
	}
	if n := len(s.terms); n == 0 || s.terms[n-1].Term != term {
		if n > 0 && s.terms[n-1].Term > term {
			return storeError(fmt.Errorf("%w: append term %d after term %d", ErrInvalid, term, s.terms[n-1].Term))
		}
		rec := consensus.TermRecord{Term: term, Base: s.end}
		if err := s.rl.appendTerm(rec, tsNs); err != nil {
			return storeError(s.fail(err))
		}
		s.terms = append(s.terms, rec)
	}
	for len(data) > 0 {
		n, err := s.appendChunk(data)
		if err != nil {
			return storeError(s.fail(err))
		}
		data = data[n:]
	}
	s.maybePrepare()
	if s.cfg.Fsync == archive.FsyncNone && !s.cfg.DeferWrites {
		if err := s.flushNow(); err != nil {
			return storeError(s.fail(err))
		}
	}
	return nil
}

// validateEntries checks that data is whole, decodable entries and returns
// the timestamp of a leading NewLeadershipTerm entry (for its term record).
func (s *Store) validateEntries(data []byte) (int64, error) {
	var tsNs int64
	for p := 0; p < len(data); {
		n, err := consensus.DecodeEntry(data[p:], &s.entry)
		if err != nil {
			return 0, fmt.Errorf("logstore: append at %d: entry at +%d: %w", s.end, p, err)
		}
		if p == 0 && s.entry.Type == consensus.EntryNewLeadershipTerm {
			tsNs = s.entry.Timestamp
		}
		p += n
	}
	return tsNs, nil
}

// appendChunk appends the longest prefix of data (whole entries) that fits
// the tail, rolling first when nothing fits, and returns its length.
func (s *Store) appendChunk(data []byte) (int, error) {
	if t := s.tail; t != nil && !t.prepared && s.end > t.base && s.preparing() && s.spareReady() {
		// Leave a fallocated tail for a prepared segment (see prepare.go):
		// one roll now instead of a metadata write in every later sync.
		if err := s.roll(); err != nil {
			return 0, err
		}
	}
	n := 0
	if s.tail != nil && s.slots < s.tail.slots {
		n = fit(data, s.tail.dataLen-int64(s.end-s.tail.base))
	}
	if n == 0 {
		if err := s.roll(); err != nil {
			return 0, err
		}
		if n = fit(data, s.tail.dataLen); n == 0 {
			assertf(false, "an entry does not fit an empty segment of %d bytes", s.tail.dataLen)
		}
	}
	chunk := data[:n]
	off := s.end - s.tail.base
	copy(s.mirror[off:], chunk)
	encodeSlot(s.idx[s.slots*slotLength:], slot{start: s.end, length: int64(n),
		dataCRC: crc32.Checksum(chunk, castagnoli)})
	s.slots++
	s.end += consensus.Position(n)
	s.mu.Lock()
	s.pubEnd, s.pubSlots = s.end, s.slots
	s.mu.Unlock()
	return n, nil
}

// fit returns the length of the longest prefix of data, whole validated
// entries, that is at most room bytes.
func fit(data []byte, room int64) int {
	if int64(len(data)) <= room {
		return len(data)
	}
	p := 0
	for {
		n, _ := consensus.EntryFrameLength(data[p:])
		if int64(p+n) > room {
			return p
		}
		p += n
	}
}

// roll makes a new tail segment at the log's end. The old tail is written
// and (FsyncData) synced first, so every segment but the tail is complete
// on disk: the syncer and recovery deal with the tail alone.
func (s *Store) roll() error { return s.rollNext(false) }

// rollNext makes a new tail segment at the log's end. Under FsyncNone it
// syncs nothing. Under FsyncData with wait unset it syncs nothing either:
// the old tail's last bytes, the new segment's header and its name are
// owed to the syncer (pendingRoll), which pays them before it writes any
// byte into the new segment or advances DurablePosition past the old one.
// Before, a roll fdatasynced twice and synced the directory on the
// writer's goroutine, and waited for a sync in flight first: a 3-20 ms
// stall of the member's duty cycle every segment, 40 ms and more when the
// disk stalled. With wait set (ResetTo), the roll is durable on return.
//
// At most one roll is owed: a roll that finds the previous one still owed
// waits for the syncer's round and finishes it first. So after a power
// loss only the last two segments can be incomplete, and recovery
// validates the last recoveryValidateSegments (2): a torn header on the
// last segment or a short second-to-last one ends the log there.
func (s *Store) rollNext(wait bool) error {
	owed := s.cfg.Fsync != archive.FsyncNone
	if owed && s.rolled.Load() != nil {
		if err := s.finishRollWaiting(); err != nil {
			return err
		}
	}
	s.ioMu.Lock()
	defer s.ioMu.Unlock()
	var old *segment
	if s.tail != nil {
		if _, err := s.flushLocked(); err != nil {
			return err
		}
		old = s.tail
		s.retireTail()
	}
	if owed && wait && old != nil {
		if err := old.file.SyncData(); err != nil {
			return fmt.Errorf("logstore: sync segment %d: %w", old.base, err)
		}
	}
	seg, err := s.createSegment(s.end, owed && wait)
	if err != nil {
		return err
	}
	if owed && !wait {
		pr := &pendingRoll{new: seg.file, newBase: seg.base, pinned: old}
		if old != nil {
			pr.old, pr.oldBase = old.file, old.base
		}
		s.rolled.Store(pr)
	}
	s.segs = append(s.segs, seg)
	mirror := s.spare
	if int64(len(mirror)) != seg.dataLen {
		mirror = make([]byte, seg.dataLen)
	}
	s.spare = s.mirror
	s.allocSpare() // a fresh store's first roll: the next one must not wait for it
	s.setTail(seg, mirror, 0)
	if len(s.segs) == 1 {
		s.start = seg.base
	}
	return nil
}

// pendingRoll is what a roll left for the syncer (FsyncData): the old
// tail's file to fdatasync (its bytes are all written), and the new
// segment's header and directory entry to make durable. The files are the
// handles the roll saw; the old segment stays open (pinned) until the
// roll is finished.
type pendingRoll struct {
	old, new         archive.File // old nil at a store's first segment
	oldBase, newBase consensus.Position
	pinned           *segment // the old tail: trimOpen and PurgeBefore keep it
}

// finishRoll pays what pr owes: the old tail's bytes, then the new
// segment's header, then its name. The caller holds syncMu.
func (s *Store) finishRoll(pr *pendingRoll) error {
	if pr.old != nil {
		if err := pr.old.SyncData(); err != nil {
			return fmt.Errorf("logstore: sync segment %d: %w", pr.oldBase, err)
		}
	}
	if err := pr.new.SyncData(); err != nil {
		return fmt.Errorf("logstore: sync segment %d header: %w", pr.newBase, err)
	}
	if err := s.cfg.FS.SyncDir(s.cfg.Dir); err != nil {
		return fmt.Errorf("logstore: sync %s after creating segment %d: %w", s.cfg.Dir, pr.newBase, err)
	}
	s.rolled.CompareAndSwap(pr, nil)
	return nil
}

// finishRollWaiting finishes the owed roll, if any, after the syncer's
// round in flight. Call it holding neither syncMu nor ioMu.
func (s *Store) finishRollWaiting() error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if pr := s.rolled.Load(); pr != nil {
		if err := s.finishRoll(pr); err != nil {
			return s.fail(err)
		}
	}
	return nil
}

// allocSpare allocates the mirror the next roll will take, if there is
// none, so that rolls under traffic do not: allocating (and zeroing) a
// segment-sized buffer took 5-18 ms on the writer's goroutine. It runs when
// the store opens and at a fresh store's first roll, before traffic.
func (s *Store) allocSpare() {
	if s.spare == nil {
		s.spare = make([]byte, s.cfg.SegmentLength)
	}
}

// setTail makes seg the tail with data mirror and used index slots. The
// caller holds ioMu. Two mirrors alternate (roll), so a slice Read returned
// from the tail stays intact through the next roll; the index buffer is
// reused.
func (s *Store) setTail(seg *segment, mirror []byte, slots int) {
	n := seg.slots * slotLength
	if cap(s.idx) < n {
		s.idx = make([]byte, n)
	}
	s.idx = s.idx[:n]
	clear(s.idx[slots*slotLength:])
	s.tail, s.mirror, s.slots = seg, mirror, slots
	s.flushed, s.flushedSlots = s.end, slots
	s.mu.Lock()
	s.pubEnd, s.pubSlots = s.end, slots
	s.mu.Unlock()
}

// pinned reports whether seg is the old tail of an owed roll.
func (s *Store) pinned(seg *segment) bool {
	pr := s.rolled.Load()
	return pr != nil && pr.pinned == seg
}

// retireTail moves the tail's open file to the read cache.
func (s *Store) retireTail() {
	s.openLRU = append(s.openLRU, s.tail)
	s.trimOpen()
	s.tail = nil
}

// trimOpen closes the least recently used older segment files beyond
// openSegmentsMax. An owed roll's old tail, which the syncer may be
// syncing, goes to the back of the list instead (there is at most one).
func (s *Store) trimOpen() {
	for len(s.openLRU) > openSegmentsMax {
		old := s.openLRU[0]
		s.openLRU = s.openLRU[1:]
		if s.pinned(old) {
			s.openLRU = append(s.openLRU, old)
			continue
		}
		if old != s.tail && old.file != nil {
			old.file.Close()
			old.file = nil
		}
	}
}

// Read implements consensus.LogStore. A range in the tail segment aliases
// the store's memory and allocates nothing; older bytes are read into buf
// when it has the capacity, else into a new slice. Positions below Start
// fail with ErrPurged.
func (s *Store) Read(from, to consensus.Position, buf []byte) ([]byte, error) {
	switch {
	case s.closed:
		return nil, storeError(fmt.Errorf("logstore: read: %w", ErrClosed))
	case from < 0 || from > to || to > s.end:
		return nil, storeError(fmt.Errorf("%w: read [%d,%d) of [%d,%d)", ErrInvalid, from, to, s.start, s.end))
	case from < s.start:
		return nil, storeError(fmt.Errorf("%w: read [%d,%d): the log starts at %d", ErrPurged, from, to, s.start))
	case from == to:
		return buf[:0], nil
	}
	if t := s.tail; t != nil && from >= t.base {
		return s.mirror[from-t.base : to-t.base : to-t.base], nil
	}
	n := int(to - from)
	dst := buf[:0]
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	if err := s.readInto(dst, from); err != nil {
		return nil, storeError(err)
	}
	return dst, nil
}

// readInto fills dst with the log bytes from pos, across segments.
func (s *Store) readInto(dst []byte, pos consensus.Position) error {
	for len(dst) > 0 {
		i := s.segmentIndex(pos)
		seg := s.segs[i]
		segEnd := s.end
		if i+1 < len(s.segs) {
			segEnd = s.segs[i+1].base
		}
		k := min(int64(len(dst)), int64(segEnd-pos))
		if seg == s.tail {
			copy(dst[:k], s.mirror[pos-seg.base:])
		} else {
			f, err := s.segmentFile(seg)
			if err != nil {
				return err
			}
			if _, err := f.ReadAt(dst[:k], segHeaderRegion+int64(pos-seg.base)); err != nil {
				return fmt.Errorf("logstore: read segment %d at %d: %w", seg.base, pos, err)
			}
		}
		dst, pos = dst[k:], pos+consensus.Position(k)
	}
	return nil
}

// segmentIndex returns the index of the segment holding pos (start <= pos < end).
func (s *Store) segmentIndex(pos consensus.Position) int {
	return sort.Search(len(s.segs), func(i int) bool { return s.segs[i].base > pos }) - 1
}

// segmentFile returns an open file for an older segment.
func (s *Store) segmentFile(seg *segment) (archive.File, error) {
	if seg.file != nil {
		return seg.file, nil
	}
	f, err := s.cfg.FS.OpenFile(seg.path, false)
	if err != nil {
		return nil, fmt.Errorf("logstore: open segment %d: %w", seg.base, err)
	}
	seg.file = f
	s.openLRU = append(s.openLRU, seg)
	s.trimOpen()
	return f, nil
}

// ScanEntries decodes the entries in [from, to) in order, calling fn with
// each one's position, until fn returns false. from must be an entry
// boundary (0, a term base, a snapshot position). It reads
// scanChunkLength bytes at a time; e.Payload aliases a buffer valid only
// during the call. For offline replay of a member's directory opened with
// OpenReadOnly.
func (s *Store) ScanEntries(from, to consensus.Position, fn func(pos consensus.Position, e *consensus.LogEntry) bool) error {
	buf := make([]byte, scanChunkLength)
	var e consensus.LogEntry
	for from < to {
		b, err := s.Read(from, min(to, from+scanChunkLength), buf)
		if err != nil {
			return err
		}
		p := 0
		for p < len(b) {
			n, err := consensus.DecodeEntry(b[p:], &e)
			if err != nil {
				if p == 0 {
					return fmt.Errorf("logstore: scan at %d: %w", from, err)
				}
				break // the chunk cut this entry: read it whole next time
			}
			if !fn(from+consensus.Position(p), &e) {
				return nil
			}
			p += n
		}
		from += consensus.Position(p)
	}
	return nil
}

// Close stops the syncer, writes and syncs what was appended (FsyncData),
// and closes every file and the snapshot archive. A closed store refuses
// everything.
func (s *Store) Close() error {
	if s.closed {
		return nil
	}
	var errs []error
	if s.closing != nil {
		close(s.closing)
		<-s.syncDone
		if s.prepDone != nil {
			<-s.prepDone
		}
		errs = append(errs, s.Sync())
	}
	if s.deferring() && s.tail != nil && s.Err() == nil {
		errs = append(errs, s.flushNow())
	}
	s.closed = true
	errs = append(errs, s.closeFiles())
	return errors.Join(errs...)
}

func (s *Store) closeFiles() error {
	var errs []error
	s.ioMu.Lock()
	for _, seg := range s.segs {
		if seg.file != nil {
			errs = append(errs, seg.file.Close())
			seg.file = nil
		}
	}
	s.ioMu.Unlock()
	errs = append(errs, s.closeSpare())
	if s.rl != nil {
		errs = append(errs, s.rl.close())
	}
	if s.hs != nil {
		errs = append(errs, s.hs.close())
	}
	if s.arch != nil {
		errs = append(errs, s.arch.Close())
	}
	return errors.Join(errs...)
}

// SaveHardState stores term and vote durably before it returns (two
// alternating checksummed slots: a torn write keeps the previous state).
// With LogAppended it makes *Store a module.Durability.
func (s *Store) SaveHardState(hs consensus.HardState) error {
	if s.readOnly {
		return fmt.Errorf("logstore: save hard state: %w", ErrReadOnly)
	}
	return s.hs.save(hs)
}

// LoadHardState returns the last saved hard state ({0, NoMember} if none).
func (s *Store) LoadHardState() (consensus.HardState, error) { return s.hs.load(), nil }

// RecordingLog returns the store's recording log (terms and snapshots).
func (s *Store) RecordingLog() *RecordingLog { return s.rl }

// discard reports whether an io read error just means the end of a file.
func discard(err error) error {
	if err == io.EOF {
		return nil
	}
	return err
}

// assertf panics when an invariant the store relies on is broken: going on
// would corrupt the log.
func assertf(cond bool, format string, args ...any) {
	if !cond {
		panic(fmt.Sprintf("logstore: assertion failed: "+format, args...))
	}
}
