package archive

import (
	"errors"
	"syscall"
	"testing"

	"venue/transport"
)

// Truncate at a frame boundary, extend, replay; truncate inside a frame and
// while active fail; everything survives a restart.
func TestTruncateExtendRoundTrip(t *testing.T) {
	sim := NewSimFS(5)
	a := openTestArchive(t, sim, "/arch", FsyncData)
	rec, _ := a.StartRecording(testParams())
	s := newStream(t, rec, 5)
	s.record(t, rec, 40, 10)
	wantErr(t, a.Truncate(rec.ID(), s.starts[3]), ErrRecordingActive, "truncate while recording")
	mustNotErr(t, rec.Stop(), "stop")

	cut := s.starts[len(s.starts)/2]
	wantErr(t, a.Truncate(rec.ID(), cut+transport.FrameAlignment), ErrInvalidPosition, "truncate inside a frame")
	wantErr(t, a.Truncate(rec.ID(), s.b.position+transport.FrameAlignment), ErrInvalidPosition, "truncate past the stop")
	mustNotErr(t, a.Truncate(rec.ID(), cut), "truncate")
	s.rewind(cut)
	checkReplay(t, replayAll(t, a, ReplayParams{RecordingID: rec.ID(), Position: NullPosition, Length: ReplayLengthUnbounded}), s, 0, len(s.frames))

	// Segment files past the cut are gone, and the old bytes never come back.
	bases, _ := a.segmentFiles(rec.ID())
	if last := bases[len(bases)-1]; last != segmentBase(cut, testSegmentLength) {
		t.Fatalf("last segment %d after truncating at %d", last, cut)
	}
	rec, err := a.ExtendRecording(rec.ID())
	mustNotErr(t, err, "extend")
	s.record(t, rec, 5, 3) // shorter than what was cut: old frames must not reappear
	mustNotErr(t, rec.Stop(), "stop")
	a.Close()
	sim.PowerLoss()
	a = openTestArchive(t, sim, "/arch", FsyncData)
	defer a.Close()
	d, _ := a.Describe(rec.ID())
	if d.StopPosition != s.b.position {
		t.Fatalf("stop %d after restart, want %d", d.StopPosition, s.b.position)
	}
	checkReplay(t, replayAll(t, a, ReplayParams{RecordingID: rec.ID(), Position: NullPosition, Length: ReplayLengthUnbounded}), s, 0, len(s.frames))
}

// Truncating to the start empties the recording; it then extends from there.
func TestTruncateToStart(t *testing.T) {
	a := openTestArchive(t, NewSimFS(6), "/arch", FsyncData)
	defer a.Close()
	rec, _ := a.StartRecording(testParams())
	s := newStream(t, rec, 6)
	s.record(t, rec, 10, 10)
	rec.Stop()
	mustNotErr(t, a.Truncate(rec.ID(), 0), "truncate to start")
	s.rewind(0)
	rec, _ = a.ExtendRecording(rec.ID())
	s.record(t, rec, 10, 10)
	rec.Stop()
	checkReplay(t, replayAll(t, a, ReplayParams{RecordingID: rec.ID(), Position: NullPosition, Length: ReplayLengthUnbounded}), s, 0, len(s.frames))
}

// Purge removes whole segments before a position, moves the start, and the
// rest still replays; a replay before the new start is refused.
func TestPurgeSegments(t *testing.T) {
	sim := NewSimFS(7)
	a := openTestArchive(t, sim, "/arch", FsyncData)
	rec, _ := a.StartRecording(testParams())
	s := newStream(t, rec, 7)
	s.record(t, rec, 60, 10)
	pos := s.starts[len(s.starts)*2/3]
	newStart, err := a.Purge(rec.ID(), pos) // allowed while recording
	mustNotErr(t, err, "purge")
	if newStart != segmentBase(pos, testSegmentLength) || newStart == 0 {
		t.Fatalf("new start %d, want the base of the segment holding %d", newStart, pos)
	}
	bases, _ := a.segmentFiles(rec.ID())
	if bases[0] != newStart {
		t.Fatalf("first segment %d after purge, want %d", bases[0], newStart)
	}
	s.record(t, rec, 5, 5)
	rec.Stop()
	a.Close()
	a = openTestArchive(t, sim, "/arch", FsyncData)
	defer a.Close()
	d, _ := a.Describe(rec.ID())
	if d.StartPosition != newStart {
		t.Fatalf("start %d after restart, want %d", d.StartPosition, newStart)
	}
	_, err = a.OpenReplay(ReplayParams{RecordingID: rec.ID(), Position: 0, Length: ReplayLengthUnbounded})
	wantErr(t, err, ErrInvalidPosition, "replay before the start")
	first := s.countBefore(newStart)
	checkReplay(t, replayAll(t, a, ReplayParams{RecordingID: rec.ID(), Position: NullPosition, Length: ReplayLengthUnbounded}), s, first, len(s.frames)-first)
}

// Delete removes files, keeps the id retired, and refuses active recordings.
func TestDeleteRecording(t *testing.T) {
	sim := NewSimFS(8)
	a := openTestArchive(t, sim, "/arch", FsyncData)
	rec, _ := a.StartRecording(testParams())
	s := newStream(t, rec, 8)
	s.record(t, rec, 10, 10)
	wantErr(t, a.Delete(rec.ID()), ErrRecordingActive, "delete while recording")
	rec.Stop()
	r, _ := a.OpenReplay(ReplayParams{RecordingID: rec.ID(), Position: NullPosition, Length: ReplayLengthUnbounded})
	wantErr(t, a.Delete(rec.ID()), ErrRecordingActive, "delete while replayed")
	r.Close()
	mustNotErr(t, a.Delete(rec.ID()), "delete")
	if bases, _ := a.segmentFiles(rec.ID()); len(bases) != 0 {
		t.Fatalf("segments %v left after delete", bases)
	}
	_, err := a.Describe(rec.ID())
	wantErr(t, err, ErrUnknownRecording, "describe deleted")
	a.Close()
	a = openTestArchive(t, sim, "/arch", FsyncData)
	defer a.Close()
	rec2, _ := a.StartRecording(testParams())
	if rec2.ID() == rec.ID() {
		t.Fatalf("deleted recording's id %d reused", rec.ID())
	}
}

// A full disk refuses the append without recording any of it, counts it,
// keeps the durable position, and the same block succeeds once space returns.
func TestDiskFullStopsAndResumes(t *testing.T) {
	sim := NewSimFS(9)
	a := openTestArchive(t, sim, "/arch", FsyncData)
	defer a.Close()
	rec, _ := a.StartRecording(testParams())
	s := newStream(t, rec, 9)
	sim.SetSpaceLimit(sim.Used() + 2*testSegmentLength) // room for two segments
	var err error
	var pos transport.Position
	var blk []byte
	for range 1000 {
		pos, blk = s.block(1 + s.rng.IntN(8))
		if err = rec.Append(pos, blk); err != nil {
			break
		}
	}
	wantErr(t, err, ErrDiskFull, "append on a full disk")
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("error %v does not carry ENOSPC", err)
	}
	if rec.RecordedPosition() != pos || rec.DurablePosition() != pos || a.DiskFullCount() != 1 {
		t.Fatalf("after ENOSPC: recorded %d durable %d disk-full count %d; want %d, %d, 1",
			rec.RecordedPosition(), rec.DurablePosition(), a.DiskFullCount(), pos, pos)
	}
	wantErr(t, rec.Append(pos, blk), ErrDiskFull, "retry while still full")
	sim.SetSpaceLimit(0)
	mustNotErr(t, rec.Append(pos, blk), "append after space returned")
	s.record(t, rec, 20, 8)
	rec.Stop()
	checkReplay(t, replayAll(t, a, ReplayParams{RecordingID: rec.ID(), Position: NullPosition, Length: ReplayLengthUnbounded}), s, 0, len(s.frames))
}

// A failed sync stops the recording at its durable position for good; it
// is extended from there once stopped.
func TestFailedSyncStopsAtDurable(t *testing.T) {
	sim := NewSimFS(10)
	a := openTestArchive(t, sim, "/arch", FsyncData)
	defer a.Close()
	rec, _ := a.StartRecording(testParams())
	s := newStream(t, rec, 10)
	s.record(t, rec, 5, 5)
	durable := rec.DurablePosition()
	sim.FailSyncs(1, syscall.EIO)
	pos, blk := s.block(3)
	wantErr(t, rec.Append(pos, blk), ErrRecordingFailed, "append with a failing sync")
	if rec.DurablePosition() != durable || rec.RecordedPosition() != durable {
		t.Fatalf("after failed sync: recorded %d durable %d, want both %d", rec.RecordedPosition(), rec.DurablePosition(), durable)
	}
	wantErr(t, rec.Append(durable, blk), ErrRecordingFailed, "the failure is sticky")
	mustNotErr(t, rec.Stop(), "stop")
	d, _ := a.Describe(rec.ID())
	if d.StopPosition != durable {
		t.Fatalf("stop %d, want durable %d", d.StopPosition, durable)
	}
	s.rewind(durable)
	rec, err := a.ExtendRecording(rec.ID())
	mustNotErr(t, err, "extend")
	s.record(t, rec, 5, 5)
	rec.Stop()
	checkReplay(t, replayAll(t, a, ReplayParams{RecordingID: rec.ID(), Position: NullPosition, Length: ReplayLengthUnbounded}), s, 0, len(s.frames))
}

// Appends that are not whole frames of the stream are refused.
func TestAppendRejectsInvalidFrames(t *testing.T) {
	a := openTestArchive(t, NewSimFS(11), "/arch", FsyncNone)
	defer a.Close()
	rec, _ := a.StartRecording(testParams())
	s := newStream(t, rec, 11)
	pos, blk := s.block(3)
	bad := append([]byte(nil), blk...)
	transport.FrameHeader(bad).SetTermID(5)
	wantErr(t, rec.Append(pos, bad), ErrInvalidFrame, "wrong term id")
	wantErr(t, rec.Append(pos, blk[:len(blk)-transport.FrameAlignment]), ErrInvalidFrame, "cut block")
	mustNotErr(t, rec.Append(pos, blk), "valid block")
	defer func() {
		if recover() == nil {
			t.Fatal("a non-contiguous append did not panic")
		}
	}()
	rec.Append(pos, blk)
}
