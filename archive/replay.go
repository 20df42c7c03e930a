package archive

import (
	"fmt"
	"io"
	"math"

	"venue/transport"
)

// PositionReader is a position published by another component, such as the
// cluster's commit-position counter; *transport.Counter implements it.
type PositionReader interface {
	Get() int64
}

// ReplayLengthUnbounded replays to the stop position (or, following, forever).
const ReplayLengthUnbounded int64 = -1

// ReplayParams say what to replay.
type ReplayParams struct {
	RecordingID int64
	// Position is where to start: a frame boundary; NullPosition means the
	// recording's start position.
	Position transport.Position
	// Length bounds the replay to [Position, Position+Length);
	// ReplayLengthUnbounded replays to the end.
	Length int64
	// Follow keeps replaying a live recording as it grows, ending only when
	// it stops. Without Follow an unbounded replay of a live recording ends
	// at the position recorded when the replay opened.
	Follow bool
	// Limit, when set, is a position the replay never passes, read afresh on
	// every poll: the cluster's commit position. Frames at or beyond it wait.
	Limit PositionReader
}

// FrameHandler receives one data frame (header included) at its stream
// position. frame aliases the replay's buffer: it is valid only until the
// handler returns and must not be retained or modified.
type FrameHandler func(frame []byte, position transport.Position)

// BlockSink receives replayed frames as blocks, the shape a transport
// publication accepts them in (replay to a remote follower plugs in here).
// Each call returns false when the sink is back pressured; the same data is
// offered again on a later poll. A sink that also has an Err() error method
// (PublicationSink) ends its Replayer session when Err returns non-nil.
type BlockSink interface {
	// OfferBlock offers whole data frames starting at position. block
	// aliases the replay's buffer and must not be retained.
	OfferBlock(position transport.Position, block []byte) bool
	// AppendPadding offers a pad frame of length bytes at position.
	AppendPadding(position transport.Position, length int) bool
}

// Replay reads a recording's frames from its segment files through one
// bounded buffer. It is used by one goroutine at a time.
type Replay struct {
	a        *Archive
	desc     Descriptor
	geom     frameGeometry
	live     *liveState
	position transport.Position // next frame to hand out
	end      transport.Position // never hand out bytes at or past this
	follow   bool
	limit    PositionReader

	buf      []byte
	bufPos   transport.Position // stream position of buf[0]
	bufLen   int
	file     File
	fileBase transport.Position
	closed   bool
}

// OpenReplay opens a replay. The caller must Close it: while it is open the
// recording cannot be truncated, purged or deleted.
func (a *Archive) OpenReplay(p ReplayParams) (*Replay, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, err := a.entry(p.RecordingID)
	if err != nil {
		return nil, err
	}
	d := e.desc
	if d.State != RecordingValid {
		return nil, fmt.Errorf("%w: replay recording %d in state %s", ErrInvalidParams, d.RecordingID, d.State)
	}
	live := a.liveOf(&d)
	pos := p.Position
	if pos == NullPosition {
		pos = d.StartPosition
	}
	recorded := transport.Position(live.recorded.Load())
	if pos < d.StartPosition || pos > recorded || pos%transport.FrameAlignment != 0 {
		return nil, fmt.Errorf("archive: replay recording %d from %d: %w: outside [%d, %d]",
			d.RecordingID, pos, ErrInvalidPosition, d.StartPosition, recorded)
	}
	end := transport.Position(math.MaxInt64)
	if p.Length >= 0 {
		end = pos + transport.Position(p.Length)
	} else if !p.Follow {
		end = recorded
	}
	a.readers[d.RecordingID]++
	return &Replay{
		a: a, desc: d, geom: newFrameGeometry(&d), live: live, position: pos, end: end,
		follow: p.Follow, limit: p.Limit, buf: make([]byte, replayBufferLength), fileBase: NullPosition,
	}, nil
}

// Position returns the position of the next frame the replay hands out.
func (r *Replay) Position() transport.Position { return r.position }

// RecordingID returns the id of the recording replayed.
func (r *Replay) RecordingID() int64 { return r.desc.RecordingID }

// Close releases the replay's file and its hold on the recording.
func (r *Replay) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	if r.file != nil {
		r.file.Close()
	}
	r.a.mu.Lock()
	r.a.readers[r.desc.RecordingID]--
	r.a.mu.Unlock()
	return nil
}

// available returns how far the replay may read now, and whether it has
// reached its end for good.
func (r *Replay) available() (transport.Position, bool) {
	// Active is read before the position: once a stopped recording is seen,
	// the position read after it is final (Stop publishes it first).
	active := r.live.active.Load()
	recorded := transport.Position(r.live.recorded.Load())
	avail := min(r.end, recorded)
	if r.limit != nil {
		avail = min(avail, transport.Position(r.limit.Get()))
	}
	done := r.position >= r.end || (!active && r.position >= recorded)
	return avail, done
}

// Poll hands up to fragmentLimit data frames to h and returns how many it
// handed. It returns io.EOF once the replay has reached its length or the
// end of a stopped recording, and (0, nil) while it waits for the recording
// to grow or the limit to move. Pad frames are skipped.
func (r *Replay) Poll(h FrameHandler, fragmentLimit int) (int, error) {
	count := 0
	for count < fragmentLimit {
		frame, err := r.next()
		if err != nil || frame == nil {
			if count > 0 && err == io.EOF {
				return count, nil
			}
			return count, err
		}
		hdr := transport.FrameHeader(frame)
		if hdr.Type() == transport.TypeData {
			h(frame[:hdr.FrameLength()], r.position)
			count++
		}
		r.position += transport.Position(r.alignedLength(frame))
	}
	return count, nil
}

// PollBlock offers the sink a block of up to lengthMax bytes of whole data
// frames (or one pad frame) and returns the bytes the sink accepted.
func (r *Replay) PollBlock(sink BlockSink, lengthMax int) (int, error) {
	frame, err := r.next()
	if err != nil || frame == nil {
		return 0, err
	}
	if transport.FrameHeader(frame).Type() == transport.TypePad {
		n := r.alignedLength(frame)
		if !sink.AppendPadding(r.position, n) {
			return 0, nil
		}
		r.position += transport.Position(n)
		return n, nil
	}
	block := r.dataRun(lengthMax)
	if !sink.OfferBlock(r.position, block) {
		return 0, nil
	}
	r.position += transport.Position(len(block))
	return len(block), nil
}

// dataRun returns the buffered run of whole data frames at the replay
// position, at most lengthMax bytes (at least one frame).
func (r *Replay) dataRun(lengthMax int) []byte {
	avail, _ := r.available()
	start := int(r.position - r.bufPos)
	off := start
	for off < r.bufLen && r.bufPos+transport.Position(off) < avail {
		frame := r.buf[off:r.bufLen]
		if len(frame) < transport.HeaderLength || transport.FrameHeader(frame).Type() != transport.TypeData {
			break
		}
		n := r.alignedLength(frame)
		if off+n > r.bufLen || (off > start && off+n-start > lengthMax) {
			break
		}
		off += n
	}
	return r.buf[start:off]
}

func (r *Replay) alignedLength(frame []byte) int {
	return transport.Align(int(transport.FrameHeader(frame).FrameLength()), transport.FrameAlignment)
}

// next returns the frame at the replay position, from the buffer (reading
// more when needed): nil when none is available yet, io.EOF at the end. A
// data frame is whole; a pad frame may be only its header.
func (r *Replay) next() ([]byte, error) {
	if r.closed {
		return nil, fmt.Errorf("archive: replay of recording %d: %w", r.desc.RecordingID, ErrClosed)
	}
	avail, done := r.available()
	if done {
		return nil, io.EOF
	}
	if r.position >= avail {
		return nil, nil
	}
	if frame := r.buffered(); frame != nil {
		return frame, nil
	}
	if err := r.fill(avail); err != nil {
		return nil, err
	}
	frame := r.buffered()
	if frame == nil {
		if n := r.geom.headerLengthAt(r.buf[:r.bufLen], r.position); n > 0 && r.position+transport.Position(n) > avail {
			return nil, nil // a limit inside a frame: wait for it to move past
		}
		return nil, fmt.Errorf("archive: replay of recording %d: %w at position %d", r.desc.RecordingID, ErrInvalidFrame, r.position)
	}
	return frame, nil
}

// buffered returns the valid frame at the replay position if the buffer
// holds it (a pad frame's header is enough).
func (r *Replay) buffered() []byte {
	off := int64(r.position - r.bufPos)
	if off < 0 || off >= int64(r.bufLen) {
		return nil
	}
	frame := r.buf[off:r.bufLen]
	if r.geom.frameLengthAt(frame, r.position, false) == 0 {
		return nil
	}
	return frame
}

// fill reads from the replay position up to avail, the end of the segment
// or the end of the buffer, whichever is first.
func (r *Replay) fill(avail transport.Position) error {
	base := segmentBase(r.position, r.desc.SegmentLength)
	if base != r.fileBase {
		if r.file != nil {
			r.file.Close()
			r.file = nil
		}
		f, err := r.a.cfg.FS.OpenFile(r.a.segmentPath(r.desc.RecordingID, base), false)
		if err != nil {
			return fmt.Errorf("archive: replay of recording %d: open segment %d: %w", r.desc.RecordingID, base, err)
		}
		r.file, r.fileBase = f, base
	}
	want := min(int64(len(r.buf)), int64(avail-r.position), int64(base)+int64(r.desc.SegmentLength)-int64(r.position))
	n, err := r.file.ReadAt(r.buf[:want], int64(r.position-base))
	if err != nil && err != io.EOF {
		return fmt.Errorf("archive: replay of recording %d: read segment %d: %w", r.desc.RecordingID, base, err)
	}
	r.bufPos, r.bufLen = r.position, n
	return nil
}
