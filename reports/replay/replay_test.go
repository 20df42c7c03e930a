package replay

import (
	"errors"
	"reflect"
	"testing"

	"venue/cluster/logstore"
	"venue/reports/surveil"
)

// Replaying a written log through the cluster's container and service
// reproduces what feeding the same commands to a fresh engine directly
// did: the same state digest and the same order events, position for
// position; so does replaying from the snapshot in the middle.
func TestReplayReproducesTheEngine(t *testing.T) {
	h := writeByHand(t, 4000, 2500)
	src := mustOpen(t, h.dir)
	var got []surveil.Event
	r := replayAll(t, src, Config{Handler: collect{&got}})
	if r.Engine().Digest() != h.digest {
		t.Fatal("the replayed digest differs from the directly fed engine's")
	}
	if len(got) != len(h.events) || !reflect.DeepEqual(got, h.events) {
		t.Fatalf("replay reported %d events, the direct engine %d (or they differ)", len(got), len(h.events))
	}
	if c := r.Container(); c.UnknownSession != 0 || c.BadSessionOpen != 0 {
		t.Fatalf("container counters: unknown session %d, bad open %d", c.UnknownSession, c.BadSessionOpen)
	}

	snaps := src.Snapshots(0)
	if len(snaps) != 1 || snaps[0].Position != h.snap {
		t.Fatalf("snapshots %+v, want one at %d", snaps, h.snap)
	}
	var after []surveil.Event
	r2 := replayAll(t, src, Config{Handler: collect{&after}, Snapshot: &snaps[0]})
	if r2.Engine().Digest() != h.digest {
		t.Fatal("replay from the snapshot ends in another state than replay from the start")
	}
	var want []surveil.Event
	for _, ev := range h.events {
		if ev.LogPosition > int64(h.snap) {
			want = append(want, ev)
		}
	}
	if !reflect.DeepEqual(after, want) {
		t.Fatalf("from the snapshot: %d events, want the %d after it", len(after), len(want))
	}
	if r2.Container().UnknownSession != 0 {
		t.Fatalf("%d messages of sessions opened before the snapshot were dropped", r2.Container().UnknownSession)
	}

	rep, err := Audit(h.dir, AuditConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || len(rep.Checks) != 1 || !rep.Checks[0].Match {
		t.Fatalf("audit of an intact log: %+v", rep)
	}
}

// A position inside an entry stops before it; a time stops after the
// last entry stamped at or before it.
func TestAdvanceToPoints(t *testing.T) {
	h := writeByHand(t, 500, 100)
	src := mustOpen(t, h.dir)
	r, err := NewReplayer(src, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.AdvanceTo(AtPosition(h.snap + 3)); err != nil {
		t.Fatal(err)
	}
	if r.Position() != h.snap {
		t.Fatalf("advanced to %d, want %d (the entry boundary before @%d)", r.Position(), h.snap, h.snap+3)
	}
	if r.Engine().Digest() != h.snapDig {
		t.Fatal("state at the snapshot's position differs from the snapshot")
	}
	last := r.Stats().LastTimeNs
	if err := r.AdvanceTo(AtTime(last)); err != nil || r.Position() != h.snap {
		t.Fatalf("advancing to the current time moved to %d (%v)", r.Position(), err)
	}
	if err := r.AdvanceTo(Point{}); err != nil || r.Position() != src.End() {
		t.Fatalf("at %d after advancing to the end %d (%v)", r.Position(), src.End(), err)
	}
}

// A log whose beginning retention purged replays only from a snapshot,
// and from it ends in the same state.
func TestPurgedLogStartsFromASnapshot(t *testing.T) {
	h := writeByHand(t, 4000, 2500)
	s, err := logstore.Open(logstore.Config{Dir: h.dir, SegmentLength: testSegmentLength})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Retain(1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	src := mustOpen(t, h.dir)
	if src.Start() == 0 {
		t.Fatal("retention purged nothing")
	}
	if _, err := NewReplayer(src, Config{}); !errors.Is(err, ErrPurged) {
		t.Fatalf("replay of a purged log from the start: %v, want ErrPurged", err)
	}
	r, err := newReplayer(src, Config{}, Start{}, Point{})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.AdvanceTo(Point{}); err != nil {
		t.Fatal(err)
	}
	if r.Stats().Start != h.snap || r.Engine().Digest() != h.digest {
		t.Fatalf("started at %d (want %d); digest equal %v", r.Stats().Start, h.snap, r.Engine().Digest() == h.digest)
	}
}

func TestStartSnapshotChoice(t *testing.T) {
	snaps := []logstore.SnapshotRecord{{Position: 100, TimestampNs: 10}, {Position: 200, TimestampNs: 20}, {Position: 300, TimestampNs: 30}}
	for _, c := range []struct {
		from Point
		want int64 // -1: none
	}{
		{Point{}, 300},
		{AtPosition(250), 200},
		{AtPosition(200), 200},
		{AtPosition(99), -1},
		{AtTime(25), 200},
		{AtTime(5), -1},
	} {
		s, ok := startSnapshot(snaps, c.from, 0, 1000)
		if (c.want < 0) == ok || (ok && int64(s.Position) != c.want) {
			t.Errorf("from %v: got %v %v, want %d", c.from, s.Position, ok, c.want)
		}
	}
	if _, ok := startSnapshot(snaps, Point{}, 0, 250); !ok {
		t.Error("the newest snapshot inside the log was not chosen")
	}
}

// Progress reports every chunk applied, moving forward to the log's end.
func TestProgress(t *testing.T) {
	dir, res := sharedDay(t)
	src := mustOpen(t, dir)
	var seen []Progress
	r := replayAll(t, src, Config{Progress: func(p Progress) { seen = append(seen, p) }})
	if len(seen) < 2 {
		t.Fatalf("%d progress reports for %d bytes of log", len(seen), res.End)
	}
	for i, p := range seen {
		if p.End != res.End || (i > 0 && (p.Position <= seen[i-1].Position || p.Entries < seen[i-1].Entries)) {
			t.Fatalf("report %d: %+v after %+v", i, p, seen[max(i-1, 0)])
		}
	}
	if last := seen[len(seen)-1]; last.Position != res.End || last.Entries != res.Entries || last.Events != r.Stats().Events {
		t.Fatalf("last report %+v; the day: %d bytes, %d entries", last, res.End, res.Entries)
	}
}
