package logstore

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path/filepath"

	"venue/archive"
	"venue/cluster/consensus"
	"venue/transport"
)

// SnapshotMeta says what a snapshot is of.
type SnapshotMeta struct {
	ServiceID int32
	Term      consensus.TermID
	// Position is the log position whose state the snapshot holds (an
	// entry boundary the service has applied up to).
	Position    consensus.Position
	TimestampNs int64
}

// openSnapshotArchive opens the archive in Dir/archive that holds snapshot
// recordings (and the lock on it).
func (s *Store) openSnapshotArchive() error {
	a, err := archive.Open(archive.Config{
		Dir:           filepath.Join(s.cfg.Dir, snapshotArchiveSubdir),
		FS:            s.cfg.FS,
		Fsync:         archive.FsyncData, // a snapshot replaces log that retention deletes
		SegmentLength: s.cfg.snapshotSegmentLength,
	})
	if err != nil {
		return fmt.Errorf("logstore: open snapshot archive: %w", err)
	}
	s.arch = a
	return nil
}

// deleteOrphanSnapshots deletes the recordings no valid snapshot record
// names: those a crash left behind before their record was appended, and
// those of invalidated snapshots.
func (s *Store) deleteOrphanSnapshots() error {
	a := s.arch
	named := map[int64]bool{}
	for _, r := range s.rl.Snapshots() {
		named[r.RecordingID] = true
	}
	for from := int64(0); ; {
		page := a.List(from, 256)
		if len(page) == 0 {
			return nil
		}
		for _, d := range page {
			if !named[d.RecordingID] {
				if err := a.Delete(d.RecordingID); err != nil {
					return fmt.Errorf("logstore: delete orphan snapshot recording %d: %w", d.RecordingID, err)
				}
			}
		}
		from = page[len(page)-1].RecordingID + 1
	}
}

// SnapshotWriter writes one snapshot into an archive recording; Commit
// makes it durable and then records it, so a crash before Commit returns
// leaves no valid snapshot record (and the orphan recording is deleted at
// the next Open). It is an io.Writer for ClusteredService.OnTakeSnapshot.
// One goroutine uses a writer; Commit or Abort ends it.
type SnapshotWriter struct {
	s      *Store
	meta   SnapshotMeta
	rec    *archive.Recording
	buf    []byte
	length int64
	crc    uint32
	err    error
	done   bool
}

// CreateSnapshot starts a snapshot of meta's service at meta.Position.
func (s *Store) CreateSnapshot(meta SnapshotMeta) (*SnapshotWriter, error) {
	if s.readOnly || s.arch == nil {
		return nil, fmt.Errorf("logstore: create snapshot: %w", ErrReadOnly)
	}
	if meta.Position < 0 || meta.Position%8 != 0 || meta.Term < 0 {
		return nil, fmt.Errorf("%w: snapshot %+v", ErrInvalid, meta)
	}
	rec, err := s.arch.StartRecording(archive.RecordingParams{
		Channel:    fmt.Sprintf("snapshot:service=%d,term=%d,position=%d", meta.ServiceID, meta.Term, meta.Position),
		StreamID:   snapshotStreamID,
		SessionID:  meta.ServiceID,
		TermLength: s.cfg.snapshotTermLength,
		MTULength:  min(snapshotMTULength, s.cfg.snapshotTermLength),
	})
	if err != nil {
		return nil, fmt.Errorf("logstore: create snapshot of service %d at %d: %w", meta.ServiceID, meta.Position, err)
	}
	return &SnapshotWriter{s: s, meta: meta, rec: rec, buf: make([]byte, 0, snapshotBufferLength)}, nil
}

// Write buffers p and records full buffers (each one archive write batch
// and fdatasync).
func (w *SnapshotWriter) Write(p []byte) (int, error) {
	if w.done {
		return 0, fmt.Errorf("logstore: snapshot write: %w", ErrClosed)
	}
	if w.err != nil {
		return 0, w.err
	}
	if w.length+int64(len(p)) > SnapshotLengthMax {
		w.err = fmt.Errorf("%w: snapshot longer than %d bytes", ErrInvalid, int64(SnapshotLengthMax))
		return 0, w.err
	}
	n := 0
	for n < len(p) {
		k := copy(w.buf[len(w.buf):cap(w.buf)], p[n:])
		w.buf = w.buf[:len(w.buf)+k]
		n += k
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(false); err != nil {
				return n, err
			}
		}
	}
	w.length += int64(n)
	w.crc = crc32.Update(w.crc, castagnoli, p)
	return n, nil
}

// flush records the buffer (all of it when final; else at least part).
func (w *SnapshotWriter) flush(final bool) error {
	for len(w.buf) > 0 {
		n, err := w.rec.AppendMessages(w.buf)
		if err != nil {
			w.err = fmt.Errorf("logstore: snapshot of service %d: %w", w.meta.ServiceID, err)
			return w.err
		}
		w.buf = w.buf[:copy(w.buf, w.buf[n:])]
		if !final {
			return nil
		}
	}
	return nil
}

// Commit records what is buffered, stops the recording (syncing it), and
// then appends the valid snapshot record, durably. On error the snapshot
// is abandoned.
func (w *SnapshotWriter) Commit() (SnapshotRecord, error) {
	if w.done {
		return SnapshotRecord{}, fmt.Errorf("logstore: snapshot commit: %w", ErrClosed)
	}
	err := w.err
	if err == nil {
		err = w.flush(true)
	}
	if err != nil {
		return SnapshotRecord{}, errors.Join(err, w.Abort())
	}
	w.done = true
	id := w.rec.ID()
	if err := w.rec.Stop(); err != nil {
		return SnapshotRecord{}, errors.Join(fmt.Errorf("logstore: stop snapshot recording %d: %w", id, err), w.s.arch.Delete(id))
	}
	r := SnapshotRecord{ServiceID: w.meta.ServiceID, Term: w.meta.Term, Position: w.meta.Position,
		TimestampNs: w.meta.TimestampNs, RecordingID: id, Length: w.length, Checksum: w.crc}
	if err := w.s.rl.AppendSnapshot(r); err != nil {
		return SnapshotRecord{}, fmt.Errorf("logstore: record snapshot %d: %w", id, err)
	}
	return r, nil
}

// Abort abandons the snapshot and deletes its recording.
func (w *SnapshotWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	id := w.rec.ID()
	return errors.Join(w.rec.Stop(), w.s.arch.Delete(id))
}

// WriteSnapshot writes all of r as the snapshot meta describes and
// commits it: CreateSnapshot, io.Copy, Commit.
func (s *Store) WriteSnapshot(meta SnapshotMeta, r io.Reader) (SnapshotRecord, error) {
	w, err := s.CreateSnapshot(meta)
	if err != nil {
		return SnapshotRecord{}, err
	}
	if _, err := io.Copy(w, r); err != nil {
		return SnapshotRecord{}, errors.Join(fmt.Errorf("logstore: write snapshot: %w", err), w.Abort())
	}
	return w.Commit()
}

// OpenSnapshot opens a snapshot's bytes for reading. The reader checks the
// record's length and checksum and ends with ErrCorrupt (not io.EOF) when
// they do not match. Close it when done.
func (s *Store) OpenSnapshot(rec SnapshotRecord) (io.ReadCloser, error) {
	if s.readOnly || s.arch == nil {
		return nil, fmt.Errorf("logstore: open snapshot: %w", ErrReadOnly)
	}
	rp, err := s.arch.OpenReplay(archive.ReplayParams{RecordingID: rec.RecordingID,
		Position: archive.NullPosition, Length: archive.ReplayLengthUnbounded})
	if err != nil {
		return nil, fmt.Errorf("logstore: open snapshot recording %d: %w", rec.RecordingID, err)
	}
	r := &snapshotReader{replay: rp, rec: rec}
	r.handler = r.onFrame
	return r, nil
}

// snapshotReader reassembles a snapshot from its recording's frames.
type snapshotReader struct {
	replay  *archive.Replay
	rec     SnapshotRecord
	handler archive.FrameHandler
	buf     []byte // the current frame's payload
	off     int
	read    int64
	crc     uint32
	eof     bool
	err     error
}

func (r *snapshotReader) onFrame(frame []byte, _ transport.Position) {
	r.buf = append(r.buf[:0], frame[transport.HeaderLength:]...)
	r.off = 0
	r.read += int64(len(r.buf))
	r.crc = crc32.Update(r.crc, castagnoli, r.buf)
}

// Read implements io.Reader.
func (r *snapshotReader) Read(p []byte) (int, error) {
	for r.off == len(r.buf) && r.err == nil {
		r.err = r.next()
	}
	if r.off == len(r.buf) {
		return 0, r.err
	}
	n := copy(p, r.buf[r.off:])
	r.off += n
	return n, nil
}

// next polls the next frame into buf, or returns why there is none.
func (r *snapshotReader) next() error {
	for idle := 0; idle < snapshotPollsIdleMax; idle++ {
		n, err := r.replay.Poll(r.handler, 1)
		switch {
		case err == io.EOF:
			if r.read != r.rec.Length || r.crc != r.rec.Checksum {
				return fmt.Errorf("%w: snapshot recording %d: %d bytes, CRC %#x; recorded %d bytes, CRC %#x",
					ErrCorrupt, r.rec.RecordingID, r.read, r.crc, r.rec.Length, r.rec.Checksum)
			}
			return io.EOF
		case err != nil:
			return fmt.Errorf("logstore: read snapshot recording %d: %w", r.rec.RecordingID, err)
		case r.read > r.rec.Length:
			return fmt.Errorf("%w: snapshot recording %d longer than its %d bytes", ErrCorrupt, r.rec.RecordingID, r.rec.Length)
		case n > 0:
			return nil
		}
	}
	return fmt.Errorf("%w: snapshot recording %d stalls at %d bytes", ErrCorrupt, r.rec.RecordingID, r.read)
}

// Close releases the replay.
func (r *snapshotReader) Close() error { return r.replay.Close() }

// RecoveryPlan says how a member rebuilds its services' state at start:
// load Snapshots, then replay the log [Position, End).
type RecoveryPlan struct {
	// Snapshots are the snapshots to load, all at Position: one per service
	// id asked for (or all found there when none were asked for). Empty: the
	// services start empty and replay from 0.
	Snapshots []SnapshotRecord
	// Position is where replay starts.
	Position consensus.Position
	// End is the log's end when the plan was made.
	End consensus.Position
}

// RecoveryPlan picks the newest log position at which every service in
// serviceIDs has a valid snapshot (any snapshot when none are named) that
// the log can continue from (Start <= position <= End). Without one, the
// plan replays from 0, unless retention purged the log's start, which is
// ErrNoSnapshot. Call it from the writer's goroutine.
func (s *Store) RecoveryPlan(serviceIDs ...int32) (RecoveryPlan, error) {
	plan := RecoveryPlan{End: s.end}
	for _, set := range snapshotSets(s.rl.Snapshots()) {
		pos := set[0].Position
		if pos < s.start || pos > s.end {
			continue
		}
		chosen, ok := pickServices(set, serviceIDs)
		if ok {
			plan.Snapshots, plan.Position = chosen, pos
			return plan, nil
		}
	}
	if s.start > 0 {
		return plan, fmt.Errorf("%w: the log starts at %d and no usable snapshot set covers services %v",
			ErrNoSnapshot, s.start, serviceIDs)
	}
	return plan, nil
}

// pickServices returns one snapshot per id in ids from set (the latest
// record per service), or the latest per service in set when ids is empty.
func pickServices(set []SnapshotRecord, ids []int32) ([]SnapshotRecord, bool) {
	latest := map[int32]SnapshotRecord{}
	var order []int32
	for _, r := range set {
		if _, seen := latest[r.ServiceID]; !seen {
			order = append(order, r.ServiceID)
		}
		latest[r.ServiceID] = r
	}
	if len(ids) == 0 {
		ids = order
	}
	out := make([]SnapshotRecord, 0, len(ids))
	for _, id := range ids {
		r, ok := latest[id]
		if !ok {
			return nil, false
		}
		out = append(out, r)
	}
	return out, true
}

// Retain keeps the snapshots at the keep newest log positions that have a
// valid snapshot, and removes the rest: their records (and those of
// invalidated snapshots) go from the recording log first, then their
// recordings are deleted, then the log segments wholly below the oldest
// kept position are purged (PurgeBefore). A crash in between leaves orphan
// recordings, deleted at the next Open, or segments a later Retain purges.
// Call it from the writer's goroutine.
func (s *Store) Retain(keep int) error {
	if err := s.writable(); err != nil {
		return fmt.Errorf("logstore: retain: %w", err)
	}
	if keep < 1 {
		return fmt.Errorf("%w: retain %d snapshots", ErrInvalid, keep)
	}
	sets := snapshotSets(s.rl.Snapshots())
	if len(sets) == 0 {
		return nil
	}
	oldest := sets[min(keep, len(sets))-1][0].Position
	drop, err := s.rl.dropSnapshotsBefore(oldest)
	if err != nil {
		return s.fail(err)
	}
	for _, id := range drop {
		if err := s.arch.Delete(id); err != nil && !errors.Is(err, archive.ErrUnknownRecording) {
			return fmt.Errorf("logstore: delete snapshot recording %d: %w", id, err)
		}
	}
	return s.PurgeBefore(oldest)
}
