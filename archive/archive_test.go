package archive

import (
	"testing"

	"venue/transport"
)

// Record, replay everything, replay a slice, restart, replay again.
func TestRecordReplayRoundTrip(t *testing.T) {
	for name, fsys := range map[string]FS{"os": OSFS{}, "sim": NewSimFS(3)} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			a := openTestArchive(t, fsys, dir, FsyncData)
			rec, err := a.StartRecording(testParams())
			mustNotErr(t, err, "start")
			s := newStream(t, rec, 1)
			s.record(t, rec, 60, 12)
			if rec.DurablePosition() != rec.RecordedPosition() || rec.RecordedPosition() != s.b.position {
				t.Fatalf("durable %d recorded %d, want both %d", rec.DurablePosition(), rec.RecordedPosition(), s.b.position)
			}
			if s.b.position < 4*testSegmentLength {
				t.Fatalf("test recorded only %d bytes: too few to cross segments", s.b.position)
			}
			// A live, non-following replay sees what was recorded when it opened.
			checkReplay(t, replayAll(t, a, ReplayParams{RecordingID: rec.ID(), Position: NullPosition, Length: ReplayLengthUnbounded}), s, 0, len(s.frames))
			mustNotErr(t, rec.Stop(), "stop")

			mid := len(s.frames) / 3
			length := int64(s.starts[2*mid] - s.starts[mid])
			checkReplay(t, replayAll(t, a, ReplayParams{RecordingID: rec.ID(), Position: s.starts[mid], Length: length}), s, mid, mid)
			mustNotErr(t, a.Close(), "close")

			a = openTestArchive(t, fsys, dir, FsyncData)
			defer a.Close()
			d, err := a.Describe(rec.ID())
			mustNotErr(t, err, "describe")
			if d.StopPosition != s.b.position || d.StartPosition != 0 || d.State != RecordingValid {
				t.Fatalf("after restart %+v, want stop %d", d, s.b.position)
			}
			checkReplay(t, replayAll(t, a, ReplayParams{RecordingID: rec.ID(), Position: NullPosition, Length: ReplayLengthUnbounded}), s, 0, len(s.frames))
		})
	}
}

// A bounded replay never hands out a frame at or past the limit, and moves
// on when the limit does.
func TestReplayNeverPassesLimit(t *testing.T) {
	a := openTestArchive(t, NewSimFS(1), "/arch", FsyncData)
	defer a.Close()
	rec, _ := a.StartRecording(testParams())
	s := newStream(t, rec, 2)
	s.record(t, rec, 30, 8)
	cm := transport.NewCountersManager(4)
	commit := cm.MustAllocate(transport.CounterTypeClusterBase, "commit-pos")
	r, err := a.OpenReplay(ReplayParams{RecordingID: rec.ID(), Position: NullPosition, Length: ReplayLengthUnbounded, Follow: true, Limit: commit})
	mustNotErr(t, err, "open replay")
	defer r.Close()
	seen := 0
	h := func(frame []byte, pos transport.Position) {
		end := pos + transport.Position(transport.Align(len(frame), transport.FrameAlignment))
		if end > transport.Position(commit.Get()) {
			t.Fatalf("frame [%d, %d) handed out with limit %d", pos, end, commit.Get())
		}
		seen++
	}
	for i, start := range s.starts {
		// The limit sits at the start of frame i: frames before it only.
		commit.Set(int64(start))
		for range 3 {
			if _, err := r.Poll(h, 1000); err != nil {
				t.Fatal(err)
			}
		}
		if seen != i {
			t.Fatalf("limit %d: %d frames seen, want %d", start, seen, i)
		}
	}
	// Half way into a frame is still before it.
	commit.Set(int64(s.starts[len(s.starts)-1] + 64))
	r.Poll(h, 1000)
	if seen != len(s.starts)-1 {
		t.Fatalf("limit inside the last frame: %d seen, want %d", seen, len(s.starts)-1)
	}
}

// A following replay sees a live recording grow and ends when it stops.
func TestReplayFollowsLiveRecording(t *testing.T) {
	a := openTestArchive(t, NewSimFS(1), "/arch", FsyncNone)
	defer a.Close()
	rec, _ := a.StartRecording(testParams())
	s := newStream(t, rec, 3)
	r, err := a.OpenReplay(ReplayParams{RecordingID: rec.ID(), Position: NullPosition, Length: ReplayLengthUnbounded, Follow: true})
	mustNotErr(t, err, "open replay")
	defer r.Close()
	var got []replayedFrame
	h := func(frame []byte, pos transport.Position) {
		got = append(got, replayedFrame{pos, append([]byte(nil), frame...)})
	}
	for range 20 {
		s.record(t, rec, 3, 10)
		for len(got) < len(s.frames) {
			if _, err := r.Poll(h, 16); err != nil {
				t.Fatalf("poll: %v", err)
			}
		}
	}
	mustNotErr(t, rec.Stop(), "stop")
	if n, err := r.Poll(h, 16); n != 0 || err == nil {
		t.Fatalf("poll after stop: %d, %v; want EOF", n, err)
	}
	checkReplay(t, got, s, 0, len(s.frames))
}
