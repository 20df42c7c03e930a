package archive

import (
	"errors"
	"io"
	"testing"
	"time"

	"venue/transport"
)

// Stop from another goroutine while the writer appends: the writer sees
// ErrClosed, and the catalog's stop is exactly what was recorded.
func TestStopWhileAppending(t *testing.T) {
	a := openTestArchive(t, NewSimFS(50), "/arch", FsyncData)
	defer a.Close()
	rec, _ := a.StartRecording(testParams())
	s := newStream(t, rec, 50)
	done := make(chan error, 1)
	go func() {
		for {
			pos, blk := s.block(2)
			if err := rec.Append(pos, blk); err != nil {
				done <- err
				return
			}
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for rec.RecordedPosition() < 4*testSegmentLength {
		if time.Now().After(deadline) {
			t.Fatal("the writer made no progress by the deadline")
		}
	}
	mustNotErr(t, rec.Stop(), "stop")
	wantErr(t, <-done, ErrClosed, "append after stop")
	d, _ := a.Describe(rec.ID())
	if d.StopPosition != rec.RecordedPosition() {
		t.Fatalf("catalog stop %d, recorded %d", d.StopPosition, rec.RecordedPosition())
	}
}

// A replay that starts inside a frame fails on its first poll.
func TestReplayFromInsideAFrameFails(t *testing.T) {
	a := openTestArchive(t, NewSimFS(51), "/arch", FsyncData)
	defer a.Close()
	rec, _ := a.StartRecording(testParams())
	s := newStream(t, rec, 51)
	s.record(t, rec, 3, 3)
	rec.Stop()
	var inside transport.Position
	for i, f := range s.frames {
		if len(f) > 2*transport.FrameAlignment {
			inside = s.starts[i] + transport.FrameAlignment
			break
		}
	}
	r, err := a.OpenReplay(ReplayParams{RecordingID: rec.ID(), Position: inside, Length: ReplayLengthUnbounded})
	mustNotErr(t, err, "open")
	defer r.Close()
	if _, err := r.Poll(func([]byte, transport.Position) {}, 10); !errors.Is(err, ErrInvalidFrame) {
		t.Fatalf("poll from inside a frame: %v, want ErrInvalidFrame", err)
	}
}

// Replays refuse what cannot be replayed.
func TestOpenReplayRejects(t *testing.T) {
	a := openTestArchive(t, NewSimFS(52), "/arch", FsyncData)
	defer a.Close()
	_, err := a.OpenReplay(ReplayParams{RecordingID: 3, Position: NullPosition, Length: ReplayLengthUnbounded})
	wantErr(t, err, ErrUnknownRecording, "unknown recording")
	rec, _ := a.StartRecording(testParams())
	_, err = a.OpenReplay(ReplayParams{RecordingID: rec.ID(), Position: 64, Length: ReplayLengthUnbounded})
	wantErr(t, err, ErrInvalidPosition, "past the recorded position")
	_, err = a.StartRecording(RecordingParams{TermLength: 1000, MTULength: testMTU})
	wantErr(t, err, ErrInvalidParams, "term length not a power of two")
}

// The benchmark runs end to end on a small stream and cleans up.
func TestRunBenchSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 48 MiB")
	}
	dir := t.TempDir()
	res, err := RunBench(BenchConfig{Dir: dir, MessageLength: 200, Fsync: FsyncNone,
		TotalBytes: benchRoundTerms * benchTermLength, BatchLength: 64 << 10, SegmentLength: 8 << 20})
	if err == nil && (res.Messages == 0 || res.RecordMBPerSec <= 0 || res.RawMBPerSec <= 0 || res.ReplayMBPerSec <= 0 || res.DurableLagP99Ns <= 0) {
		t.Fatalf("implausible result %+v", res)
	}
	mustNotErr(t, err, "bench")
	if left, _ := (OSFS{}).ReadDir(dir); len(left) != 0 {
		t.Fatalf("bench left %v behind", left)
	}
}

// A following replay on one goroutine reads a recording that another
// goroutine is writing and rolling across segments; it sees every frame,
// byte for byte, and ends when the recording stops.
func TestConcurrentRecordAndFollowingReplay(t *testing.T) {
	a := openTestArchive(t, NewSimFS(53), "/arch", FsyncData)
	defer a.Close()
	rec, _ := a.StartRecording(testParams())
	s := newStream(t, rec, 53)
	r, err := a.OpenReplay(ReplayParams{RecordingID: rec.ID(), Position: NullPosition, Length: ReplayLengthUnbounded, Follow: true})
	mustNotErr(t, err, "open replay")
	defer r.Close()
	writerDone := make(chan error, 1)
	go func() {
		for range 200 {
			pos, blk := s.block(1 + s.rng.IntN(6))
			if err := rec.Append(pos, blk); err != nil {
				writerDone <- err
				return
			}
		}
		writerDone <- rec.Stop()
	}()
	var got []replayedFrame
	h := func(frame []byte, pos transport.Position) {
		got = append(got, replayedFrame{pos, append([]byte(nil), frame...)})
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := r.Poll(h, 32)
		if errors.Is(err, io.EOF) {
			break
		}
		mustNotErr(t, err, "poll")
		if time.Now().After(deadline) {
			t.Fatalf("replay did not reach the end by the deadline (at %d)", r.Position())
		}
	}
	mustNotErr(t, <-writerDone, "writer")
	checkReplay(t, got, s, 0, len(s.frames))
}

// Running out of counters refuses a recording and leaves the catalog as it was.
func TestStartRecordingWithoutCounters(t *testing.T) {
	cm := transport.NewCountersManager(4) // the archive's 3, and one more
	a, err := Open(Config{Dir: "/arch", FS: NewSimFS(54), Counters: cm, SegmentLength: testSegmentLength})
	mustNotErr(t, err, "open")
	defer a.Close()
	_, err = a.StartRecording(testParams())
	wantErr(t, err, transport.ErrCountersFull, "start without counters")
	if n := len(a.List(0, 10)); n != 0 {
		t.Fatalf("%d recordings listed after a refused start", n)
	}
}
