package logstore

import (
	"errors"
	"fmt"
	"hash/crc32"

	"venue/archive"
	"venue/cluster/consensus"
)

// Sizes and bounds. Every length is in bytes.
const (
	// SegmentLengthDefault is the data capacity of a log segment file unless
	// configured.
	SegmentLengthDefault = 64 << 20
	// segmentLengthMin keeps at least a couple of the largest entries in a
	// segment (tests use it to roll often).
	segmentLengthMin = 64 << 10
	// segmentLengthMax bounds a segment, and so the tail's in-memory copy.
	segmentLengthMax = 1 << 30

	// indexBytesPerSlot is the segment data each index slot is provisioned
	// for: a segment has SegmentLength/indexBytesPerSlot slots, one per
	// Append batch, and rolls early when they run out (batches averaging
	// less than this). Its cost is SegmentLength/8 of disk per segment.
	indexBytesPerSlot = 256

	// recoveryValidateSegments is how many segments, counted from the last,
	// recovery validates in full (every batch checksum and entry). At most
	// one roll's syncs are owed at a time (Store.rollNext), so only the
	// last two segments can be incomplete after a power loss (FsyncData);
	// older ones' extent is trusted from the next segment's base.
	recoveryValidateSegments = 2

	// openSegmentsMax bounds the segment files held open for reads besides
	// the tail: the file descriptors a store holds.
	openSegmentsMax = 8

	// zeroChunkLength is the unit in which recovery reads and zeroes an
	// index region.
	zeroChunkLength = 64 << 10

	// scanChunkLength is how much ScanEntries reads at a time.
	scanChunkLength = 1 << 20

	// snapshotTermLengthDefault, snapshotMTULength and
	// snapshotSegmentLengthDefault shape the archive recordings that hold
	// snapshots: 64 KiB frames, 1 MiB terms, 16 MiB preallocated segments.
	snapshotTermLengthDefault    = 1 << 20
	snapshotMTULength            = 64 << 10
	snapshotSegmentLengthDefault = 16 << 20
	// snapshotBufferLength is the bytes a SnapshotWriter gathers before it
	// records them as one archive write batch (one fdatasync).
	snapshotBufferLength = archive.BlockLengthMax
	// SnapshotLengthMax bounds one snapshot.
	SnapshotLengthMax = 64 << 30
	// snapshotStreamID is the stream id of snapshot recordings.
	snapshotStreamID = 1000
	// snapshotPollsIdleMax bounds how many empty polls a snapshot reader
	// tolerates on a stopped recording before it calls the recording broken.
	snapshotPollsIdleMax = 16
)

// File names in Dir.
const (
	segmentPrefix         = "log-"
	segmentSuffix         = ".seg"
	preparedName          = "log-prepared.tmp" // the next segment, zero-filled (prepare.go)
	recordingLogName      = "recording.log"
	recordingLogTempName  = "recording.log.tmp"
	hardStateName         = "hard-state"
	snapshotArchiveSubdir = "archive"
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Sentinel errors; operations wrap them with context (test with errors.Is).
// Errors from the LogStore methods also wrap consensus.ErrStore.
var (
	// ErrPurged: a read below the log's start position, which retention
	// has deleted.
	ErrPurged = errors.New("logstore: position purged")
	// ErrCorrupt: a file cannot be recovered (a bad header, an impossible
	// term sequence), as opposed to a torn tail, which recovery trims.
	ErrCorrupt = errors.New("logstore: corrupt")
	// ErrFailed: a write or sync failed, so what is on disk past the durable
	// position is unknown; the store refuses further changes (sticky).
	// Reopen it to recover.
	ErrFailed = errors.New("logstore: store failed")
	// ErrReadOnly: a change or snapshot asked of a store opened read-only.
	ErrReadOnly = errors.New("logstore: read-only")
	// ErrClosed: the store is closed.
	ErrClosed = errors.New("logstore: closed")
	// ErrNoSnapshot: no valid snapshot satisfies the request.
	ErrNoSnapshot = errors.New("logstore: no snapshot")
	// ErrRecordingLogFull: the recording log holds RecordingLogRecordsMax
	// records, none of them removable.
	ErrRecordingLogFull = errors.New("logstore: recording log full")
	// ErrInvalid: an argument out of range.
	ErrInvalid = errors.New("logstore: invalid argument")
)

// Config configures a Store.
type Config struct {
	// Dir holds every file of the store: log segments, the recording log,
	// the hard state and the snapshot archive (Dir/archive).
	Dir string
	// FS is the file layer; nil means archive.OSFS{}.
	FS archive.FS
	// Fsync is when appended log bytes are forced to disk (see the package
	// doc). FsyncDataAndMetadata is treated as FsyncData: segments are
	// preallocated, so fdatasync covers everything a read needs. Truncate,
	// the recording log, the hard state and snapshots always sync.
	Fsync archive.FsyncPolicy
	// SegmentLength is the data capacity of new segment files: a power of
	// two in [64 KiB, 1 GiB]; zero means SegmentLengthDefault. The tail
	// segment is mirrored in memory (two buffers that alternate at rolls),
	// so twice this is the store's memory. Under FsyncData the next
	// segment, zero-filled ahead of need (log-prepared.tmp), holds one
	// more segment's disk.
	SegmentLength int64
	// DeferWrites (FsyncNone only) makes Append only copy the bytes into
	// the tail's memory: they are written, and DurablePosition advances
	// over them, when LogAppended (or Notify, or Close) is called next, on
	// the writer's goroutine. A leader then ships an append to its
	// followers before it writes it itself, instead of after: the write
	// leaves the path of the commit (a majority still includes a follower's
	// write, and the leader counts only what it wrote).
	DeferWrites bool

	// snapshotSegmentLength and snapshotTermLength override the shape of
	// snapshot recordings (tests keep them small); zero means the default.
	snapshotSegmentLength int32
	snapshotTermLength    int32
	// prepareInline makes segment preparation (prepare.go) run on the
	// writer's goroutine when asked for, so that a seeded crash test sees
	// its file operations in a reproducible order; prepareOff disables it.
	prepareInline bool
	prepareOff    bool
	// prepareChunk is the zeros a preparation writes per fdatasync: zero
	// means prepareChunkLength; tests make it small so that a paced
	// preparation interleaves with their appends.
	prepareChunk int64
}

func (c Config) withDefaults() (Config, error) {
	if c.FS == nil {
		c.FS = archive.OSFS{}
	}
	if c.SegmentLength == 0 {
		c.SegmentLength = SegmentLengthDefault
	}
	if c.prepareChunk <= 0 || c.prepareChunk > prepareChunkLength {
		c.prepareChunk = prepareChunkLength
	}
	if c.snapshotSegmentLength == 0 {
		c.snapshotSegmentLength = snapshotSegmentLengthDefault
	}
	if c.snapshotTermLength == 0 {
		c.snapshotTermLength = snapshotTermLengthDefault
	}
	switch {
	case c.Dir == "":
		return c, fmt.Errorf("%w: no directory", ErrInvalid)
	case c.SegmentLength < segmentLengthMin || c.SegmentLength > segmentLengthMax ||
		c.SegmentLength&(c.SegmentLength-1) != 0:
		return c, fmt.Errorf("%w: segment length %d (a power of two in [%d, %d])",
			ErrInvalid, c.SegmentLength, segmentLengthMin, segmentLengthMax)
	case c.Fsync > archive.FsyncDataAndMetadata:
		return c, fmt.Errorf("%w: fsync policy %d", ErrInvalid, c.Fsync)
	}
	return c, nil
}

// storeError wraps err for a LogStore method's caller.
func storeError(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", consensus.ErrStore, err)
}
