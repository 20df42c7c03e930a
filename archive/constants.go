package archive

import (
	"errors"

	"venue/transport"
)

// Sizes and bounds. Every length is in bytes.
const (
	// SegmentLengthDefault is the length of a segment file unless configured.
	SegmentLengthDefault = 128 << 20
	// segmentLengthMax bounds a segment so that offsets fit an int32 and a
	// recovery scan of one segment stays short.
	segmentLengthMax = 1 << 30

	// termLengthMin and termLengthMax bound a recorded stream's term length
	// (a power of two). The archive accepts shorter terms than the transport
	// uses so that tests can exercise many terms and segments cheaply.
	termLengthMin = 4 << 10
	termLengthMax = 1 << 30

	// mtuLengthMax bounds one data frame; it is also the most a replay
	// buffer must hold to hand out any data frame whole.
	mtuLengthMax = 64 << 10

	// BlockLengthMax bounds one Append (one write batch, one fdatasync).
	BlockLengthMax = 4 << 20

	// replayBufferLength is the read buffer of one replay: the memory a
	// replay holds whatever the size of the recording.
	replayBufferLength = 1 << 20

	// zeroChunkLength is the unit in which tails are scanned and zeroed.
	zeroChunkLength = 64 << 10

	// ChannelLengthMax bounds a recording's channel string.
	ChannelLengthMax = 256
)

// NullPosition marks a position that is not known: the stop position of a
// recording that is still being recorded.
const NullPosition transport.Position = -1

// Archive counter type ids, stable across releases (transport.CounterTypeArchiveBase + n).
const (
	// CounterTypeRecordedPosition is the position up to which a recording
	// has been written to its segment files.
	CounterTypeRecordedPosition = transport.CounterTypeArchiveBase + 0
	// CounterTypeDurablePosition is the position up to which a recording is
	// durable under the archive's fsync policy; the cluster reports it as
	// its append position.
	CounterTypeDurablePosition = transport.CounterTypeArchiveBase + 1
	// CounterTypeErrors counts recording and file errors.
	CounterTypeErrors = transport.CounterTypeArchiveBase + 2
	// CounterTypeDiskFull counts appends refused because the disk was full.
	CounterTypeDiskFull = transport.CounterTypeArchiveBase + 3
	// CounterTypeTailsTrimmed counts torn or garbage tails trimmed at recovery.
	CounterTypeTailsTrimmed = transport.CounterTypeArchiveBase + 4
)

// Sentinel errors. Operations wrap them with context; test with errors.Is.
var (
	// ErrUnknownRecording: no recording with that id, or it was deleted.
	ErrUnknownRecording = errors.New("archive: unknown recording")
	// ErrRecordingActive: the operation needs a stopped recording.
	ErrRecordingActive = errors.New("archive: recording is active")
	// ErrInvalidPosition: a position outside the recording or inside a frame.
	ErrInvalidPosition = errors.New("archive: invalid position")
	// ErrInvalidFrame: a block handed to Append is not whole, valid frames.
	ErrInvalidFrame = errors.New("archive: invalid frame")
	// ErrInvalidParams: a recording's parameters are out of bounds.
	ErrInvalidParams = errors.New("archive: invalid parameters")
	// ErrDiskFull: the disk is full. Nothing of the refused block was
	// recorded; what was durable stays durable; retry when space returns.
	ErrDiskFull = errors.New("archive: disk full")
	// ErrRecordingFailed: a sync or write failed in a way that leaves the
	// bytes after the durable position unknown. The recording is stopped at
	// its durable position; extend it to continue from there.
	ErrRecordingFailed = errors.New("archive: recording failed")
	// ErrCorruptCatalog: the catalog file cannot be read.
	ErrCorruptCatalog = errors.New("archive: corrupt catalog")
	// ErrClosed: the archive, recording or replay is closed.
	ErrClosed = errors.New("archive: closed")
)
