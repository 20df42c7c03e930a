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
// one's). Called by the writer after appends.
func (s *Store) maybePrepare() {
	if !s.preparing() || s.tail == nil {
		return
	}
	threshold := s.tail.dataLen / 2
	if !s.tail.prepared {
		threshold = min(threshold, prepareStartLength)
	}
	if int64(s.end-s.tail.base) < threshold {
		return
	}
	s.prep.mu.Lock()
	start := s.prep.file == nil && !s.prep.busy && !s.prep.failed
	if start {
		s.prep.busy = true
	}
	s.prep.mu.Unlock()
	if !start {
		return
	}
	if s.cfg.prepareInline {
		s.finishPrepare(s.prepareSpare())
		return
	}
	s.prepWake <- struct{}{} // room: busy admits one request at a time
}

// prepareLoop is the preparer goroutine (FsyncData, unless prepareInline).
func (s *Store) prepareLoop() {
	defer close(s.prepDone)
	for {
		select {
		case <-s.closing:
			return
		case <-s.prepWake:
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

// prepareSpare makes a complete spare: reserved, zero-filled and synced
// chunk by chunk, then marked complete. It returns nil, nil when Close
// interrupted it (the partial file is left for the next Open to remove).
func (s *Store) prepareSpare() (archive.File, error) {
	h := newSegHeader(0, s.cfg.SegmentLength)
	return writeSpare(s.cfg.FS, s.preparedPath(), h.fileLength(), s.closedNow)
}

// writeSpare makes a complete spare of length bytes at path: any old file
// by that name removed, the new one reserved, zero-filled and synced chunk
// by chunk, then marked complete and synced. It returns nil, nil when stop
// reports true between chunks (the partial file is left for Open to
// remove), and on failure removes what it wrote.
func writeSpare(fsys archive.FS, path string, length int64, stop func() bool) (archive.File, error) {
	if err := fsys.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("logstore: remove %s: %w", preparedName, err)
	}
	f, err := fsys.OpenFile(path, true)
	if err != nil {
		return nil, fmt.Errorf("logstore: create %s: %w", preparedName, err)
	}
	fail := func(err error) (archive.File, error) {
		f.Close()
		_ = fsys.Remove(path)
		return nil, fmt.Errorf("logstore: prepare a segment of %d bytes: %w", length, err)
	}
	if err := f.Allocate(length); err != nil { // ENOSPC now, not at the first zero chunk
		return fail(err)
	}
	for off := int64(0); off < length; off += prepareChunkLength {
		if stop() {
			f.Close()
			return nil, nil
		}
		n := min(prepareChunkLength, length-off)
		if _, err := f.WriteAt(zeroChunk[:n], off); err != nil {
			return fail(err)
		}
		if err := f.SyncData(); err != nil {
			return fail(err)
		}
	}
	var rec [preparedRecordLength]byte
	encodePreparedRecord(rec[:], length)
	if _, err := f.WriteAt(rec[:], 0); err != nil {
		return fail(err)
	}
	if err := f.SyncData(); err != nil {
		return fail(err)
	}
	return f, nil
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
	f, err := writeSpare(cfg.FS, path, length, func() bool { return false })
	if err != nil {
		return err
	}
	if err := f.Close(); err != nil {
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
// over its completion record, synced, then the rename, then the directory
// sync. The caller holds ioMu.
func (s *Store) installSpare(f archive.File, base consensus.Position) (*segment, error) {
	h := newSegHeader(base, s.cfg.SegmentLength)
	path := s.segmentPath(base)
	var hdr [segHeaderLength]byte
	encodeSegHeader(hdr[:], &h)
	_, err := f.WriteAt(hdr[:], 0)
	if err == nil {
		err = f.SyncData()
	}
	if err == nil {
		err = s.cfg.FS.Rename(s.preparedPath(), path)
	}
	if err == nil {
		err = s.cfg.FS.SyncDir(s.cfg.Dir)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("logstore: create segment %d from %s: %w", base, preparedName, err)
	}
	return &segment{segHeader: h, path: path, file: f, prepared: true}, nil
}

// closeSpare closes the spare's file (kept on disk for the next Open).
func (s *Store) closeSpare() error {
	if f := s.takeSpare(); f != nil {
		return f.Close()
	}
	return nil
}
