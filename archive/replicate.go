package archive

import (
	"errors"
	"fmt"
	"io"

	"venue/transport"
)

// NullRecordingID asks Replicate for a new destination recording.
const NullRecordingID int64 = -1

// Replication copies a recording from one archive into another through a
// Replay and a Recording: the in-process form of replication, used by the
// deterministic simulator and by tests. Remote replication
// (RemoteReplication) is the same pipeline with the transport in the
// middle: the source archive replays to a publication, the destination
// records the Image.
//
// A Replication is an agent: each duty cycle moves one bounded block.
type Replication struct {
	replay *Replay
	rec    *Recording
	err    error
	done   bool
}

var _ transport.Agent = (*Replication)(nil)

// Replicate starts copying recording srcID of src into dst: into a new
// recording when dstID is NullRecordingID, else by extending the stopped
// recording dstID from its stop position (which must lie within the
// source). With follow, a live source is followed until it stops.
func Replicate(src *Archive, srcID int64, dst *Archive, dstID int64, follow bool) (*Replication, error) {
	sd, err := src.Describe(srcID)
	if err != nil {
		return nil, fmt.Errorf("archive: replicate from %d: %w", srcID, err)
	}
	rec, err := replicationTarget(&sd, dst, dstID)
	if err != nil {
		return nil, err
	}
	replay, err := src.OpenReplay(ReplayParams{RecordingID: srcID, Position: rec.RecordedPosition(),
		Length: ReplayLengthUnbounded, Follow: follow})
	if err != nil {
		rec.Stop()
		return nil, fmt.Errorf("archive: replicate %d into %d: %w", srcID, rec.ID(), err)
	}
	return &Replication{replay: replay, rec: rec}, nil
}

func replicationTarget(sd *Descriptor, dst *Archive, dstID int64) (*Recording, error) {
	if dstID == NullRecordingID {
		return dst.StartRecording(RecordingParams{Channel: sd.Channel, StreamID: sd.StreamID, SessionID: sd.SessionID,
			InitialTermID: sd.InitialTermID, TermLength: sd.TermLength, MTULength: sd.MTULength, StartPosition: sd.StartPosition})
	}
	dd, err := dst.Describe(dstID)
	if err != nil {
		return nil, fmt.Errorf("archive: replicate into %d: %w", dstID, err)
	}
	if dd.StreamID != sd.StreamID || dd.InitialTermID != sd.InitialTermID || dd.TermLength != sd.TermLength || dd.MTULength != sd.MTULength {
		return nil, fmt.Errorf("%w: replicate %d into %d: the streams differ", ErrInvalidParams, sd.RecordingID, dstID)
	}
	if dd.StopPosition < sd.StartPosition {
		return nil, fmt.Errorf("%w: replicate %d into %d: destination stops at %d, before the source starts at %d",
			ErrInvalidPosition, sd.RecordingID, dstID, dd.StopPosition, sd.StartPosition)
	}
	return dst.ExtendRecording(dstID)
}

// DestinationID returns the destination recording's id.
func (r *Replication) DestinationID() int64 { return r.rec.ID() }

// Done reports whether the replication has ended; Err says why if it failed.
func (r *Replication) Done() bool { return r.done }

// Err returns the error that ended the replication, or nil.
func (r *Replication) Err() error { return r.err }

// DoWork moves at most one block from the replay to the recording.
func (r *Replication) DoWork(int64) int {
	if r.done {
		return 0
	}
	n, err := r.replay.PollBlock(r, replayerBlockLengthDefault)
	if err == nil && r.err != nil && !errors.Is(r.err, ErrDiskFull) {
		err = r.err
	}
	if err != nil {
		r.finish(err)
	}
	if n > 0 {
		return 1
	}
	return 0
}

func (r *Replication) finish(err error) {
	r.done = true
	if !errors.Is(err, io.EOF) {
		r.err = err
	}
	r.replay.Close()
	if stopErr := r.rec.Stop(); r.err == nil {
		r.err = stopErr
	}
}

// OfferBlock records a replayed block (the Replication is the replay's sink).
// A full disk refuses it; the replay offers it again next cycle.
func (r *Replication) OfferBlock(pos transport.Position, block []byte) bool {
	r.err = r.rec.Append(pos, block)
	return r.err == nil
}

// AppendPadding records a replayed pad frame.
func (r *Replication) AppendPadding(pos transport.Position, length int) bool {
	r.err = r.rec.AppendPadding(pos, length)
	return r.err == nil
}

// OnClose stops the replication where it is.
func (r *Replication) OnClose() {
	if !r.done {
		r.finish(ErrClosed)
	}
}

// RoleName names the agent.
func (r *Replication) RoleName() string { return fmt.Sprintf("replicate->%d", r.rec.ID()) }
