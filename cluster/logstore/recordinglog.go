package logstore

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"path/filepath"
	"sort"
	"sync"

	"venue/archive"
	"venue/cluster/consensus"
)

// Recording log file layout (Aeron's RecordingLog):
//
//	header   rlHeaderLength bytes: magic, version, record length, CRC32C
//	records  rlRecordLength bytes each, appended in order
//
// A record is a term {term, base, timestamp} or a snapshot {term, log
// position, timestamp, service id, recording id, length, checksum, valid};
// each carries a CRC32C of itself. Records are appended and synced; the
// only in-place write is a snapshot's invalidation. Removing records
// (Truncate's terms, compaction) rewrites the file under a temporary name,
// syncs it, renames it into place and syncs the directory.
const (
	rlMagic        = "VNRECLOG"
	rlVersion      = 1
	rlHeaderLength = 64
	rlRecordLength = 64 // 512 is a multiple: a record never straddles a sector

	rlVersionOffset   = 8
	rlRecLenOffset    = 12
	rlChecksumOffset  = 60
	rlChecksummedSize = 60

	recTypeOffset        = 0
	recFlagsOffset       = 1
	recServiceOffset     = 4
	recTermOffset        = 8
	recPositionOffset    = 16
	recTimestampOffset   = 24
	recRecordingOffset   = 32
	recLengthOffset      = 40
	recSnapChecksumOff   = 48
	recReservedOffset    = 52
	recChecksumOffset    = 60
	recChecksummedLength = 60

	recFlagValid = 1

	// RecordingLogRecordsMax bounds the records in a recording log (4 MiB
	// of file, read whole at open). Retain compacts it; a log that fills
	// with records it may not drop refuses appends with
	// ErrRecordingLogFull.
	RecordingLogRecordsMax = 1 << 16
)

type recordType uint8

const (
	recordHole     recordType = 0 // a torn in-place rewrite, read as no record
	recordTerm     recordType = 1
	recordSnapshot recordType = 2
)

// logRecord is one decoded recording-log record.
type logRecord struct {
	typ         recordType
	valid       bool
	serviceID   int32
	term        consensus.TermID
	position    consensus.Position
	timestampNs int64
	recordingID int64
	length      int64
	checksum    uint32
}

// SnapshotRecord describes one snapshot in the recording log.
type SnapshotRecord struct {
	ServiceID int32
	Term      consensus.TermID
	// Position is the log position whose state the snapshot holds: replay
	// the log from here after loading it.
	Position    consensus.Position
	TimestampNs int64
	// RecordingID is the snapshot archive's recording holding the bytes; it
	// identifies the snapshot (ids are never reused).
	RecordingID int64
	// Length and Checksum (CRC32C) are of the snapshot's bytes; reading it
	// back checks both.
	Length   int64
	Checksum uint32
}

func (r *logRecord) snapshot() SnapshotRecord {
	return SnapshotRecord{ServiceID: r.serviceID, Term: r.term, Position: r.position,
		TimestampNs: r.timestampNs, RecordingID: r.recordingID, Length: r.length, Checksum: r.checksum}
}

func encodeRecord(b []byte, r *logRecord) {
	b = b[:rlRecordLength]
	clear(b)
	b[recTypeOffset] = byte(r.typ)
	if r.valid {
		b[recFlagsOffset] = recFlagValid
	}
	le.PutUint32(b[recServiceOffset:], uint32(r.serviceID))
	le.PutUint64(b[recTermOffset:], uint64(r.term))
	le.PutUint64(b[recPositionOffset:], uint64(r.position))
	le.PutUint64(b[recTimestampOffset:], uint64(r.timestampNs))
	le.PutUint64(b[recRecordingOffset:], uint64(r.recordingID))
	le.PutUint64(b[recLengthOffset:], uint64(r.length))
	le.PutUint32(b[recSnapChecksumOff:], r.checksum)
	le.PutUint32(b[recChecksumOffset:], crc32.Checksum(b[:recChecksummedLength], castagnoli))
}

// decodeRecord decodes and validates one record; ok is false for a zero,
// torn or malformed one. It never panics.
func decodeRecord(b []byte) (logRecord, bool) {
	if len(b) < rlRecordLength ||
		le.Uint32(b[recChecksumOffset:]) != crc32.Checksum(b[:recChecksummedLength], castagnoli) {
		return logRecord{}, false
	}
	r := logRecord{
		typ:         recordType(b[recTypeOffset]),
		valid:       b[recFlagsOffset]&recFlagValid != 0,
		serviceID:   int32(le.Uint32(b[recServiceOffset:])),
		term:        consensus.TermID(le.Uint64(b[recTermOffset:])),
		position:    consensus.Position(le.Uint64(b[recPositionOffset:])),
		timestampNs: int64(le.Uint64(b[recTimestampOffset:])),
		recordingID: int64(le.Uint64(b[recRecordingOffset:])),
		length:      int64(le.Uint64(b[recLengthOffset:])),
		checksum:    le.Uint32(b[recSnapChecksumOff:]),
	}
	if b[recFlagsOffset]&^recFlagValid != 0 || b[2] != 0 || b[3] != 0 ||
		!isZero(b[recReservedOffset:recChecksumOffset]) || r.term < 0 || r.position < 0 {
		return logRecord{}, false
	}
	switch r.typ {
	case recordTerm:
		ok := r.valid && r.serviceID == 0 && r.recordingID == 0 && r.length == 0 && r.checksum == 0
		return r, ok
	case recordSnapshot:
		return r, r.recordingID >= 0 && r.length >= 0 && r.length <= SnapshotLengthMax
	}
	return logRecord{}, false
}

func encodeRLHeader(b []byte) {
	clear(b[:rlHeaderLength])
	copy(b, rlMagic)
	le.PutUint32(b[rlVersionOffset:], rlVersion)
	le.PutUint32(b[rlRecLenOffset:], rlRecordLength)
	le.PutUint32(b[rlChecksumOffset:], crc32.Checksum(b[:rlChecksummedSize], castagnoli))
}

// decodeRecordingLog parses a whole recording-log file. It returns every
// record slot up to the last well-formed one (slots that fail in between
// are holes: torn invalidations, read as invalid) and the file length they
// span; what follows is a torn append. It never panics
// (FuzzDecodeRecordingLog).
func decodeRecordingLog(b []byte) ([]logRecord, int64, error) {
	if len(b) < rlHeaderLength || string(b[:len(rlMagic)]) != rlMagic ||
		le.Uint32(b[rlChecksumOffset:]) != crc32.Checksum(b[:rlChecksummedSize], castagnoli) {
		return nil, 0, fmt.Errorf("%w: recording log header", ErrCorrupt)
	}
	if v, l := le.Uint32(b[rlVersionOffset:]), le.Uint32(b[rlRecLenOffset:]); v != rlVersion || l != rlRecordLength {
		return nil, 0, fmt.Errorf("%w: recording log version %d, record length %d", ErrCorrupt, v, l)
	}
	n := (len(b) - rlHeaderLength) / rlRecordLength
	if n > RecordingLogRecordsMax {
		return nil, 0, fmt.Errorf("%w: recording log holds %d records, at most %d", ErrCorrupt, n, RecordingLogRecordsMax)
	}
	recs := make([]logRecord, 0, n)
	last := -1
	for i := range n {
		r, ok := decodeRecord(b[rlHeaderLength+i*rlRecordLength:])
		if ok {
			last = i
		} else {
			r = logRecord{typ: recordHole}
		}
		recs = append(recs, r)
	}
	recs = recs[:last+1]
	if err := checkTerms(recs); err != nil {
		return nil, 0, err
	}
	return recs, rlHeaderLength + int64(len(recs))*rlRecordLength, nil
}

// checkTerms checks that the term records rise in term and do not fall in
// base, as appends make them.
func checkTerms(recs []logRecord) error {
	var prev *logRecord
	for i := range recs {
		r := &recs[i]
		if r.typ != recordTerm {
			continue
		}
		if prev != nil && (r.term <= prev.term || r.position < prev.position) {
			return fmt.Errorf("%w: term record %d {%d, %d} after {%d, %d}",
				ErrCorrupt, i, r.term, r.position, prev.term, prev.position)
		}
		prev = r
	}
	return nil
}

// RecordingLog is the durable list of term and snapshot records beside a
// log. It is safe for concurrent use.
type RecordingLog struct {
	mu       sync.Mutex
	fsys     archive.FS
	dir      string
	file     archive.File // nil when read-only or never created
	readOnly bool
	recs     []logRecord
	failure  error
	scratch  [rlRecordLength]byte
}

func openRecordingLog(fsys archive.FS, dir string, readOnly bool) (*RecordingLog, error) {
	l := &RecordingLog{fsys: fsys, dir: dir, readOnly: readOnly}
	path := filepath.Join(dir, recordingLogName)
	f, err := fsys.OpenFile(path, false)
	if errors.Is(err, fs.ErrNotExist) {
		if readOnly {
			return l, nil
		}
		return l, l.rewrite(nil)
	}
	if err != nil {
		return nil, fmt.Errorf("logstore: open recording log: %w", err)
	}
	l.file = f
	size, err := f.Size()
	if err != nil {
		return l, fmt.Errorf("logstore: recording log size: %w", err)
	}
	if size > rlHeaderLength+RecordingLogRecordsMax*rlRecordLength+rlRecordLength {
		return l, fmt.Errorf("%w: recording log of %d bytes", ErrCorrupt, size)
	}
	b := make([]byte, size)
	if _, err := f.ReadAt(b, 0); discard(err) != nil {
		return l, fmt.Errorf("logstore: read recording log: %w", err)
	}
	recs, valid, err := decodeRecordingLog(b)
	if err != nil {
		return l, err
	}
	l.recs = recs
	if readOnly {
		return l, nil
	}
	if valid != size { // a torn append: cut it
		if err := f.Truncate(valid); err != nil {
			return l, fmt.Errorf("logstore: trim recording log: %w", err)
		}
	}
	// What was read is acted on (a snapshot record lets Retain purge log),
	// so it must be durable even if the write before the crash never
	// reached its sync.
	if err := f.Sync(); err != nil {
		return l, fmt.Errorf("logstore: sync recording log: %w", err)
	}
	if err := fsys.Remove(filepath.Join(dir, recordingLogTempName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return l, fmt.Errorf("logstore: remove recording log temporary: %w", err)
	}
	return l, nil
}

func (l *RecordingLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.file == nil {
		return nil
	}
	err := l.file.Close()
	l.file = nil
	return err
}

// Terms returns a copy of the term records, in order.
func (l *RecordingLog) Terms() []consensus.TermRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []consensus.TermRecord
	for _, r := range l.recs {
		if r.typ == recordTerm {
			out = append(out, consensus.TermRecord{Term: r.term, Base: r.position})
		}
	}
	return out
}

// Snapshots returns the valid snapshot records in the order they were
// appended.
func (l *RecordingLog) Snapshots() []SnapshotRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []SnapshotRecord
	for i := range l.recs {
		if r := &l.recs[i]; r.typ == recordSnapshot && r.valid {
			out = append(out, r.snapshot())
		}
	}
	return out
}

// LatestSnapshot returns the valid snapshot of serviceID at the highest log
// position (the later record among equals).
func (l *RecordingLog) LatestSnapshot(serviceID int32) (SnapshotRecord, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var best *logRecord
	for i := range l.recs {
		r := &l.recs[i]
		if r.typ == recordSnapshot && r.valid && r.serviceID == serviceID && (best == nil || r.position >= best.position) {
			best = r
		}
	}
	if best == nil {
		return SnapshotRecord{}, false
	}
	return best.snapshot(), true
}

// latestPosition returns the highest log position of any valid snapshot.
func (l *RecordingLog) latestPosition() (consensus.Position, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := consensus.Position(-1), false
	for _, r := range l.recs {
		if r.typ == recordSnapshot && r.valid && r.position > p {
			p, ok = r.position, true
		}
	}
	return p, ok
}

// AppendSnapshot durably records a valid snapshot whose bytes are already
// durable (SnapshotWriter.Commit calls it after the recording is stopped
// and synced).
func (l *RecordingLog) AppendSnapshot(s SnapshotRecord) error {
	if s.Position < 0 || s.Term < 0 || s.RecordingID < 0 || s.Length < 0 || s.Length > SnapshotLengthMax {
		return fmt.Errorf("%w: snapshot record %+v", ErrInvalid, s)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.append(logRecord{typ: recordSnapshot, valid: true, serviceID: s.ServiceID, term: s.Term,
		position: s.Position, timestampNs: s.TimestampNs, recordingID: s.RecordingID, length: s.Length,
		checksum: s.Checksum})
}

// InvalidateSnapshot marks the valid snapshot held by recording id invalid,
// in place, durably: LatestSnapshot and RecoveryPlan then fall back to an
// older one. A crash that tears the rewrite leaves a record that fails its
// checksum between valid ones, which reading takes for invalid too.
func (l *RecordingLog) InvalidateSnapshot(recordingID int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.writable(); err != nil {
		return err
	}
	for i := range l.recs {
		r := &l.recs[i]
		if r.typ != recordSnapshot || !r.valid || r.recordingID != recordingID {
			continue
		}
		nr := *r
		nr.valid = false
		encodeRecord(l.scratch[:], &nr)
		if _, err := l.file.WriteAt(l.scratch[:], rlHeaderLength+int64(i)*rlRecordLength); err != nil {
			return l.fail(fmt.Errorf("invalidate snapshot %d: %w", recordingID, err))
		}
		if err := l.file.SyncData(); err != nil {
			return l.fail(fmt.Errorf("invalidate snapshot %d: %w", recordingID, err))
		}
		*r = nr
		return nil
	}
	return fmt.Errorf("%w: no valid snapshot in recording %d", ErrNoSnapshot, recordingID)
}

// appendTerm durably records term rec, with the cluster time it began.
func (l *RecordingLog) appendTerm(rec consensus.TermRecord, tsNs int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.append(logRecord{typ: recordTerm, valid: true, term: rec.Term, position: rec.Base, timestampNs: tsNs})
}

// append writes r after the last record and syncs it, compacting first
// when the log is full. The caller holds mu.
func (l *RecordingLog) append(r logRecord) error {
	if err := l.writable(); err != nil {
		return err
	}
	if len(l.recs) >= RecordingLogRecordsMax {
		if err := l.compactLocked(func(*logRecord) bool { return true }); err != nil {
			return err
		}
		if len(l.recs) >= RecordingLogRecordsMax {
			return fmt.Errorf("%w: %d records", ErrRecordingLogFull, len(l.recs))
		}
	}
	encodeRecord(l.scratch[:], &r)
	if _, err := l.file.WriteAt(l.scratch[:], rlHeaderLength+int64(len(l.recs))*rlRecordLength); err != nil {
		return l.fail(fmt.Errorf("append record: %w", err))
	}
	if err := l.file.SyncData(); err != nil {
		return l.fail(fmt.Errorf("append record: %w", err))
	}
	l.recs = append(l.recs, r)
	return nil
}

// truncateTerms removes the term records with Base >= pos, if any.
func (l *RecordingLog) truncateTerms(pos consensus.Position) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.readOnly {
		// A read-only view drops them in memory only.
		l.recs = keepRecords(l.recs, func(r *logRecord) bool { return r.typ != recordTerm || r.position < pos })
		return nil
	}
	return l.compactLocked(func(r *logRecord) bool { return r.typ != recordTerm || r.position < pos })
}

// dropSnapshotsBefore removes the snapshot records below log position pos
// and the invalid ones, and returns the recording ids they named.
func (l *RecordingLog) dropSnapshotsBefore(pos consensus.Position) ([]int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []int64
	for _, r := range l.recs {
		if r.typ == recordSnapshot && (!r.valid || r.position < pos) {
			ids = append(ids, r.recordingID)
		}
	}
	err := l.compactLocked(func(r *logRecord) bool { return r.typ != recordSnapshot || r.position >= pos })
	return ids, err
}

// compactLocked rewrites the log keeping the records keep accepts (and
// never a hole or an invalid snapshot). The caller holds mu.
func (l *RecordingLog) compactLocked(keep func(*logRecord) bool) error {
	if err := l.writable(); err != nil {
		return err
	}
	kept := keepRecords(l.recs, func(r *logRecord) bool {
		return r.typ != recordHole && (r.typ != recordSnapshot || r.valid) && keep(r)
	})
	if len(kept) == len(l.recs) {
		return nil
	}
	return l.rewrite(kept)
}

func keepRecords(recs []logRecord, keep func(*logRecord) bool) []logRecord {
	out := make([]logRecord, 0, len(recs))
	for i := range recs {
		if keep(&recs[i]) {
			out = append(out, recs[i])
		}
	}
	return out
}

// rewrite replaces the file with one holding recs: written under a
// temporary name and synced, renamed into place, the directory synced. A
// crash leaves the old file or the new one. The caller holds mu.
func (l *RecordingLog) rewrite(recs []logRecord) error {
	b := make([]byte, rlHeaderLength+len(recs)*rlRecordLength)
	encodeRLHeader(b)
	for i := range recs {
		encodeRecord(b[rlHeaderLength+i*rlRecordLength:], &recs[i])
	}
	path := filepath.Join(l.dir, recordingLogName)
	temp := filepath.Join(l.dir, recordingLogTempName)
	f, err := l.fsys.OpenFile(temp, true)
	if err != nil {
		return l.fail(fmt.Errorf("rewrite: %w", err))
	}
	err = f.Truncate(0)
	if err == nil {
		_, err = f.WriteAt(b, 0)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = l.fsys.Rename(temp, path)
	}
	if err == nil {
		err = l.fsys.SyncDir(l.dir)
	}
	if err != nil {
		f.Close()
		return l.fail(fmt.Errorf("rewrite: %w", err))
	}
	if l.file != nil {
		l.file.Close()
	}
	l.file, l.recs = f, recs
	return nil
}

func (l *RecordingLog) writable() error {
	switch {
	case l.readOnly:
		return fmt.Errorf("logstore: recording log: %w", ErrReadOnly)
	case l.failure != nil:
		return l.failure
	case l.file == nil:
		return fmt.Errorf("logstore: recording log: %w", ErrClosed)
	}
	return nil
}

// fail makes err sticky: after a failed write or sync the file's contents
// are unknown until it is read again at the next open.
func (l *RecordingLog) fail(err error) error {
	if l.failure == nil {
		l.failure = fmt.Errorf("%w: recording log: %w", ErrFailed, err)
	}
	return l.failure
}

// snapshotSets groups valid snapshots by log position, newest position
// first.
func snapshotSets(snaps []SnapshotRecord) [][]SnapshotRecord {
	sort.SliceStable(snaps, func(i, j int) bool { return snaps[i].Position > snaps[j].Position })
	var sets [][]SnapshotRecord
	for i := 0; i < len(snaps); {
		j := i
		for j < len(snaps) && snaps[j].Position == snaps[i].Position {
			j++
		}
		sets = append(sets, snaps[i:j])
		i = j
	}
	return sets
}

// resetTerms replaces every term record with rec (a log reset to start
// after a snapshot installed from a peer), keeping the snapshot records:
// the old terms go first, durably, then rec is appended. A crash in
// between leaves no term record, which recovery reads as an empty log.
func (l *RecordingLog) resetTerms(rec consensus.TermRecord, tsNs int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.compactLocked(func(r *logRecord) bool { return r.typ != recordTerm }); err != nil {
		return err
	}
	return l.append(logRecord{typ: recordTerm, valid: true, term: rec.Term, position: rec.Base, timestampNs: tsNs})
}
