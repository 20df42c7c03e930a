package archive

import (
	"errors"
	"fmt"

	"venue/transport"
)

// remoteReplayRetriesMax bounds how often a replication asks again for a
// replay whose stream went away before its end.
const remoteReplayRetriesMax = 8

// RemoteReplicationParams say what to replicate from a remote archive and
// how the streams reach this side.
type RemoteReplicationParams struct {
	// Source is a connected client of the source archive's ControlServer.
	Source *RemoteArchive
	// SourceRecordingID is the recording to copy.
	SourceRecordingID int64
	// Destination is the local archive; DestinationRecordingID is a stopped
	// recording to extend from its stop position, or NullRecordingID for a
	// new recording.
	Destination            *Archive
	DestinationRecordingID int64
	// Driver receives the replay (and live) streams.
	Driver *transport.Driver
	// ReplayChannel is where this side receives the replay, e.g.
	// "udp?endpoint=10.0.0.2:8030". The replay comes on the recording's
	// stream id and session id, so that its frames are the recorded ones.
	// The transport ignores a new stream of a session whose previous image
	// at that endpoint has not yet timed out, so a second replication of the
	// same recording right after a first should use another endpoint (or
	// wait for the receiving driver's image liveness timeout).
	ReplayChannel string
	// Follow keeps replicating a live source recording as it grows; the
	// replication ends when the source recording stops.
	Follow bool
	// LiveChannel, when set, is a channel on which this side receives the
	// live stream the source is recording (its stream and session): once
	// the replay reaches the live image's position the replication records
	// the live image instead and stops the replay (Aeron's live merge). The
	// replication then ends when the live stream ends. Implies Follow.
	LiveChannel string
}

// RemoteReplication copies a recording from a remote archive into a local
// one with the transport in the middle: the source replays it to
// ReplayChannel (a PublicationSink keeps the recorded positions, session
// id, flags and reserved values), and this side appends the replay image's
// blocks to the destination recording, so both hold the same bytes at the
// same positions. With a live channel it hands off from the replay to the
// live stream once both reach the same position.
//
// It is an agent: DoWork moves at most one block, on the goroutine that
// polls its subscriptions. Setup (describe, the replay request), the
// hand-off's StopReplay and asking again for a lost replay are blocking
// calls on Source, bounded by its timeout; Source's Invoke must not run
// this agent.
type RemoteReplication struct {
	p         RemoteReplicationParams
	src       Descriptor
	rec       *Recording
	replaySub *transport.Subscription
	replay    *ImageSource
	replayID  int64
	liveSub   *transport.Subscription
	live      *ImageSource
	merged    bool
	retries   int
	appendErr error
	append    BlockHandler
	discard   transport.BlockHandler
	done      bool
	err       error
}

var _ transport.Agent = (*RemoteReplication)(nil)

// ReplicateRemote starts a remote replication: it describes the source
// recording, creates or extends the destination recording, subscribes to
// the replay (and live) channels and asks the source to replay from the
// destination's recorded position.
func ReplicateRemote(p RemoteReplicationParams) (*RemoteReplication, error) {
	sd, err := p.Source.Describe(p.SourceRecordingID)
	if err != nil {
		return nil, fmt.Errorf("archive: replicate from remote %d: %w", p.SourceRecordingID, err)
	}
	rec, err := replicationTarget(&sd, p.Destination, p.DestinationRecordingID)
	if err != nil {
		return nil, err
	}
	r := &RemoteReplication{p: p, src: sd, rec: rec}
	r.append = r.onBlock
	r.discard = func([]byte, transport.Position, int32, int32) {}
	if err := r.subscribe(); err != nil {
		r.finish(err)
		return nil, err
	}
	if err := r.requestReplay(); err != nil {
		r.finish(err)
		return nil, err
	}
	return r, nil
}

// requestReplay asks the source to replay from the recorded position.
func (r *RemoteReplication) requestReplay() error {
	follow := r.p.Follow || r.p.LiveChannel != ""
	var err error
	r.replayID, err = r.p.Source.Replay(ReplayParams{RecordingID: r.src.RecordingID, Position: r.rec.RecordedPosition(),
		Length: ReplayLengthUnbounded, Follow: follow}, NoLimitCounter, r.p.ReplayChannel, r.src.StreamID)
	if err != nil {
		return fmt.Errorf("archive: replicate remote %d into %d: %w", r.src.RecordingID, r.rec.ID(), err)
	}
	return nil
}

// replayLost asks again for a replay whose stream went away before its end
// of stream (its tail lost after the source closed it, a liveness
// timeout): from the recorded position, a bounded number of times.
func (r *RemoteReplication) replayLost() int {
	if r.retries >= remoteReplayRetriesMax {
		r.finish(fmt.Errorf("archive: replicate %d: %w: the replay stream went away at %d %d times",
			r.src.RecordingID, ErrReplayStopped, r.rec.RecordedPosition(), r.retries))
		return 1
	}
	r.retries++
	r.replay = nil
	// The old replay may still run at the source; stopping it is best effort.
	_ = r.p.Source.StopReplay(r.replayID)
	if err := r.requestReplay(); err != nil {
		r.finish(err)
	}
	return 1
}

func (r *RemoteReplication) subscribe() error {
	var err error
	if r.replaySub, err = r.p.Driver.AddSubscription(r.p.ReplayChannel, r.src.StreamID, transport.SubscriptionOptions{}); err != nil {
		return fmt.Errorf("archive: replicate: replay channel %s: %w", r.p.ReplayChannel, err)
	}
	if r.p.LiveChannel == "" {
		return nil
	}
	if r.liveSub, err = r.p.Driver.AddSubscription(r.p.LiveChannel, r.src.StreamID, transport.SubscriptionOptions{}); err != nil {
		return fmt.Errorf("archive: replicate: live channel %s: %w", r.p.LiveChannel, err)
	}
	return nil
}

// DestinationID returns the destination recording's id.
func (r *RemoteReplication) DestinationID() int64 { return r.rec.ID() }

// Recording returns the destination recording's writer (its positions).
func (r *RemoteReplication) Recording() *Recording { return r.rec }

// Merged reports whether the replication has handed off to the live stream.
func (r *RemoteReplication) Merged() bool { return r.merged }

// Done reports whether the replication has ended; Err says why if it failed.
func (r *RemoteReplication) Done() bool { return r.done }

// Err returns the error that ended the replication, or nil.
func (r *RemoteReplication) Err() error { return r.err }

// RoleName names the agent.
func (r *RemoteReplication) RoleName() string {
	return fmt.Sprintf("replicate-remote-%d->%d", r.src.RecordingID, r.rec.ID())
}

// OnClose stops the replication where it is (the destination recording
// keeps what it has; extend it to continue).
func (r *RemoteReplication) OnClose() {
	if !r.done {
		r.finish(ErrClosed)
	}
}

// DoWork finds the images, then records one block from the replay or,
// once merged, from the live stream.
func (r *RemoteReplication) DoWork(int64) int {
	if r.done {
		return 0
	}
	if r.replay == nil && !r.merged {
		return r.findReplayImage()
	}
	if r.liveSub != nil && r.live == nil {
		if img := r.liveSub.ImageBySessionID(r.src.SessionID); img != nil {
			r.live = NewImageSource(img)
		}
	}
	if r.merged {
		return r.recordFrom(r.live)
	}
	r.replaySub.ImageCount() // takes in the image's end: closed when it went away
	if r.replay.Image().IsClosed() && !r.replay.IsEndOfStream() {
		return r.replayLost()
	}
	if r.live != nil && r.rec.RecordedPosition() >= r.live.Position() {
		return r.tryMerge()
	}
	return r.recordFrom(r.replay)
}

func (r *RemoteReplication) findReplayImage() int {
	img := r.replaySub.ImageBySessionID(r.src.SessionID)
	if img == nil {
		return 0
	}
	if err := checkImageFits(img, &r.src, r.rec.RecordedPosition(), false); err != nil {
		r.finish(fmt.Errorf("archive: replicate: replay image: %w", err))
		return 1
	}
	r.replay = NewImageSource(img)
	return 1
}

// recordFrom appends one block of src; the end of its stream ends the
// replication.
func (r *RemoteReplication) recordFrom(src *ImageSource) int {
	r.appendErr = nil
	n := src.BlockPoll(r.append, r.blockLimit())
	switch {
	case r.appendErr != nil && !errors.Is(r.appendErr, ErrDiskFull):
		r.finish(r.appendErr)
	case src.IsEndOfStream():
		r.finish(nil)
	case src.Image().IsClosed():
		r.finish(fmt.Errorf("archive: replicate %d: %w: the stream went away at %d",
			r.src.RecordingID, ErrReplayStopped, src.Position()))
	}
	if n > 0 {
		return 1
	}
	return 0
}

// blockLimit keeps replay blocks from running past the live image's
// position, where the hand-off happens.
func (r *RemoteReplication) blockLimit() int {
	if r.live != nil && !r.merged {
		if gap := int64(r.live.Position() - r.rec.RecordedPosition()); gap > 0 && gap < replayerBlockLengthDefault {
			return int(gap)
		}
	}
	return replayerBlockLengthDefault
}

func (r *RemoteReplication) onBlock(pos transport.Position, block []byte) error {
	if isPadBlock(block) {
		r.appendErr = r.rec.AppendPadding(pos, len(block))
	} else {
		r.appendErr = r.rec.Append(pos, block)
	}
	return r.appendErr
}

// tryMerge skips the live image to the recorded position and, once they
// meet, switches to the live image and stops the replay.
func (r *RemoteReplication) tryMerge() int {
	recorded := r.rec.RecordedPosition()
	img := r.live.Image()
	if gap := int64(recorded - img.Position()); gap > 0 {
		// The replay ran past where the live image joined: those frames are
		// recorded already. BlockPoll stops at frame boundaries, and the
		// recorded position is one.
		if img.BlockPoll(r.discard, int(min(gap, replayerBlockLengthDefault))) == 0 {
			return 0 // the live image has not received them yet
		}
		return 1
	}
	r.merged = true
	r.replaySub.Close()
	r.replay = nil
	// The replay is no longer read: stop it at the source. Failing to is not
	// fatal (its stream just ends unread), so the error is dropped.
	_ = r.p.Source.StopReplay(r.replayID)
	return 1
}

func (r *RemoteReplication) finish(err error) {
	if r.done {
		return
	}
	r.done = true
	r.err = err
	if r.replaySub != nil {
		r.replaySub.Close()
	}
	if r.liveSub != nil {
		r.liveSub.Close()
	}
	if stopErr := r.rec.Stop(); r.err == nil {
		r.err = stopErr
	}
}
