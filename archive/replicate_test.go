package archive

import (
	"testing"
	"time"
)

// Replicate into an empty archive, then catch up again after the source
// grew: the destination replays exactly what the source recorded.
func TestReplicateAndCatchUp(t *testing.T) {
	src := openTestArchive(t, NewSimFS(70), "/src", FsyncData)
	defer src.Close()
	dstFS := NewSimFS(71)
	dst := openTestArchive(t, dstFS, "/dst", FsyncData)
	rec, _ := src.StartRecording(testParams())
	s := newStream(t, rec, 70)
	s.record(t, rec, 30, 10)

	rep, err := Replicate(src, rec.ID(), dst, NullRecordingID, false)
	mustNotErr(t, err, "replicate")
	runReplication(t, rep)
	dstID := rep.DestinationID()
	checkReplay(t, replayAll(t, dst, ReplayParams{RecordingID: dstID, Position: NullPosition, Length: ReplayLengthUnbounded}), s, 0, len(s.frames))

	s.record(t, rec, 20, 10) // the source moves on
	rep, err = Replicate(src, rec.ID(), dst, dstID, false)
	mustNotErr(t, err, "catch up")
	runReplication(t, rep)
	rec.Stop()
	checkReplay(t, replayAll(t, dst, ReplayParams{RecordingID: dstID, Position: NullPosition, Length: ReplayLengthUnbounded}), s, 0, len(s.frames))
	// The copy, pads recorded as headers only, survives power loss intact.
	dstFS.PowerLoss()
	dst = openTestArchive(t, dstFS, "/dst", FsyncData)
	defer dst.Close()
	d, _ := dst.Describe(dstID)
	if d.StopPosition != s.b.position || dst.TailsTrimmed() != 0 {
		t.Fatalf("destination stops at %d (%d tails trimmed), source at %d", d.StopPosition, dst.TailsTrimmed(), s.b.position)
	}
	checkReplay(t, replayAll(t, dst, ReplayParams{RecordingID: dstID, Position: NullPosition, Length: ReplayLengthUnbounded}), s, 0, len(s.frames))
}

// A following replication keeps up with a live source and ends when it stops.
func TestReplicateFollowsLiveSource(t *testing.T) {
	src := openTestArchive(t, NewSimFS(72), "/src", FsyncNone)
	defer src.Close()
	dst := openTestArchive(t, NewSimFS(73), "/dst", FsyncData)
	defer dst.Close()
	rec, _ := src.StartRecording(testParams())
	s := newStream(t, rec, 72)
	rep, err := Replicate(src, rec.ID(), dst, NullRecordingID, true)
	mustNotErr(t, err, "replicate")
	for range 40 {
		s.record(t, rec, 1, 8)
		for range 4 {
			rep.DoWork(0)
		}
	}
	rec.Stop()
	runReplication(t, rep)
	checkReplay(t, replayAll(t, dst, ReplayParams{RecordingID: rep.DestinationID(), Position: NullPosition, Length: ReplayLengthUnbounded}), s, 0, len(s.frames))
}

func TestReplicateRejectsDifferentStream(t *testing.T) {
	src := openTestArchive(t, NewSimFS(74), "/src", FsyncData)
	defer src.Close()
	dst := openTestArchive(t, NewSimFS(75), "/dst", FsyncData)
	defer dst.Close()
	rec, _ := src.StartRecording(testParams())
	rec.Stop()
	p := testParams()
	p.StreamID = 99
	other, _ := dst.StartRecording(p)
	other.Stop()
	_, err := Replicate(src, rec.ID(), dst, other.ID(), false)
	wantErr(t, err, ErrInvalidParams, "replicate into a different stream")
}

func runReplication(t *testing.T, rep *Replication) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !rep.Done() {
		rep.DoWork(0)
		if time.Now().After(deadline) {
			t.Fatal("replication unfinished by the deadline")
		}
	}
	mustNotErr(t, rep.Err(), "replication")
}

func TestAppendPaddingRules(t *testing.T) {
	a := openTestArchive(t, NewSimFS(76), "/arch", FsyncData)
	defer a.Close()
	rec, _ := a.StartRecording(testParams())
	wantErr(t, rec.AppendPadding(0, 100), ErrInvalidFrame, "unaligned pad")
	wantErr(t, rec.AppendPadding(0, 2*testTermLength), ErrInvalidFrame, "pad past the term end")
	mustNotErr(t, rec.AppendPadding(0, testTermLength), "pad of a whole term")
	if rec.RecordedPosition() != testTermLength || rec.DurablePosition() != testTermLength {
		t.Fatalf("after a pad: recorded %d durable %d", rec.RecordedPosition(), rec.DurablePosition())
	}
	s := newStream(t, rec, 76)
	s.record(t, rec, 3, 3)
	rec.Stop()
	checkReplay(t, replayAll(t, a, ReplayParams{RecordingID: rec.ID(), Position: NullPosition, Length: ReplayLengthUnbounded}), s, 0, len(s.frames))
}
