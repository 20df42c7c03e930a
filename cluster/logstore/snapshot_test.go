package logstore

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"venue/archive"
	"venue/cluster/consensus"
)

func randomBytes(seed uint64, n int) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

func readSnapshot(t *testing.T, s *Store, r SnapshotRecord) ([]byte, error) {
	t.Helper()
	rc, err := s.OpenSnapshot(r)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

// snapshotRecordings lists the recordings in the store's snapshot archive.
func snapshotRecordings(s *Store) []int64 {
	var ids []int64
	for _, d := range s.arch.List(0, 1000) {
		ids = append(ids, d.RecordingID)
	}
	return ids
}

// TestSnapshotRoundTrip writes snapshots of several sizes (empty, one
// frame, many terms and segments of the recording, more than one write
// batch) and reads them back, before and after a reopen.
func TestSnapshotRoundTrip(t *testing.T) {
	fsys := archive.NewSimFS(1)
	cfg := testConfig(fsys, archive.FsyncNone)
	s := mustOpen(t, cfg)
	sizes := []int{0, 1, 1000, 200 << 10, snapshotBufferLength + 12345}
	var recs []SnapshotRecord
	for i, n := range sizes {
		meta := SnapshotMeta{ServiceID: int32(i), Term: 2, Position: consensus.Position(8 * i), TimestampNs: int64(i)}
		r, err := s.WriteSnapshot(meta, bytes.NewReader(randomBytes(uint64(n), n)))
		if err != nil {
			t.Fatalf("write %d bytes: %v", n, err)
		}
		if r.Length != int64(n) || r.ServiceID != meta.ServiceID || r.Position != meta.Position {
			t.Fatalf("record %+v for %+v, %d bytes", r, meta, n)
		}
		recs = append(recs, r)
	}
	check := func(s *Store) {
		for i, r := range recs {
			got, err := readSnapshot(t, s, r)
			if err != nil || !bytes.Equal(got, randomBytes(uint64(sizes[i]), sizes[i])) {
				t.Fatalf("snapshot of %d bytes: %v, %d bytes read", sizes[i], err, len(got))
			}
		}
	}
	check(s)
	s.Close()
	s = mustOpen(t, cfg)
	check(s)
	if got := s.RecordingLog().Snapshots(); len(got) != len(recs) {
		t.Fatalf("%d snapshot records after reopen", len(got))
	}
	// A record whose checksum or length does not match its bytes.
	bad := recs[2]
	bad.Checksum ^= 1
	if _, err := readSnapshot(t, s, bad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("wrong checksum: %v", err)
	}
	bad = recs[2]
	bad.Length--
	if _, err := readSnapshot(t, s, bad); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("wrong length: %v", err)
	}
	s.Close()
}

// TestSnapshotCrash: power fails at every step of writing a snapshot. After
// recovery either the snapshot is recorded and reads back whole, or there
// is no valid record and no recording left behind.
func TestSnapshotCrash(t *testing.T) {
	data := randomBytes(7, 300<<10)
	for step := 1; ; step++ {
		fsys := archive.NewSimFS(uint64(step))
		cfg := testConfig(fsys, archive.FsyncData)
		s := mustOpen(t, cfg)
		fsys.CrashAfter(step)
		_, err := s.WriteSnapshot(SnapshotMeta{Term: 1, Position: 64}, bytes.NewReader(data))
		s.Close()
		fsys.CrashAfter(0)
		fsys.PowerLoss()
		r := mustOpen(t, cfg)
		latest, ok := r.RecordingLog().LatestSnapshot(0)
		switch {
		case ok:
			got, rerr := readSnapshot(t, r, latest)
			if rerr != nil || !bytes.Equal(got, data) {
				t.Fatalf("step %d: recorded snapshot reads %d bytes, %v", step, len(got), rerr)
			}
		case len(snapshotRecordings(r)) != 0:
			t.Fatalf("step %d: no snapshot record, but recordings %v remain", step, snapshotRecordings(r))
		}
		r.Close()
		if err == nil {
			if !ok {
				t.Fatalf("step %d: WriteSnapshot succeeded, snapshot lost", step)
			}
			return // every step up to completion was cut
		}
		if step > 500 {
			t.Fatal("snapshot never completes")
		}
	}
}

// TestSnapshotAbortAndInvalidate: an aborted snapshot leaves nothing; an
// invalidated one is skipped by LatestSnapshot and RecoveryPlan and its
// recording deleted at the next open.
func TestSnapshotAbortAndInvalidate(t *testing.T) {
	fsys := archive.NewSimFS(2)
	cfg := testConfig(fsys, archive.FsyncData)
	s := mustOpen(t, cfg)
	gen := newEntryGen(2)
	b := gen.batch(50, 500, 1)
	s.Append(1, b)
	w, err := s.CreateSnapshot(SnapshotMeta{Term: 1, Position: 0})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("abandoned"))
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if ids := snapshotRecordings(s); len(ids) != 0 {
		t.Fatalf("recordings %v after abort", ids)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrClosed) {
		t.Fatalf("write after abort: %v", err)
	}
	old, _ := s.WriteSnapshot(SnapshotMeta{Term: 1, Position: 0}, bytes.NewReader([]byte("old")))
	newer, _ := s.WriteSnapshot(SnapshotMeta{Term: 1, Position: 64}, bytes.NewReader([]byte("new")))
	if got, _ := s.RecordingLog().LatestSnapshot(0); got != newer {
		t.Fatalf("latest %+v, want %+v", got, newer)
	}
	if err := s.RecordingLog().InvalidateSnapshot(newer.RecordingID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.RecordingLog().LatestSnapshot(0); got != old {
		t.Fatalf("latest after invalidation %+v, want %+v", got, old)
	}
	plan, err := s.RecoveryPlan(0)
	if err != nil || plan.Position != 0 || len(plan.Snapshots) != 1 || plan.Snapshots[0] != old {
		t.Fatalf("plan %+v %v", plan, err)
	}
	if err := s.RecordingLog().InvalidateSnapshot(newer.RecordingID); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("second invalidation: %v", err)
	}
	s.Sync()
	s.Close()
	s = mustOpen(t, cfg)
	if ids := snapshotRecordings(s); len(ids) != 1 || ids[0] != old.RecordingID {
		t.Fatalf("recordings %v after reopen, want [%d]", ids, old.RecordingID)
	}
	s.Close()
}

// TestRecoveryPlan picks the newest position where every asked-for service
// has a snapshot, within [Start, End].
func TestRecoveryPlan(t *testing.T) {
	fsys := archive.NewSimFS(3)
	s := mustOpen(t, testConfig(fsys, archive.FsyncNone))
	defer s.Close()
	gen := newEntryGen(3)
	s.Append(1, gen.batch(20, 100, 1))
	snap := func(service int32, pos consensus.Position) SnapshotRecord {
		r, err := s.WriteSnapshot(SnapshotMeta{ServiceID: service, Term: 1, Position: pos}, bytes.NewReader([]byte{byte(service)}))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if plan, err := s.RecoveryPlan(0, 1); err != nil || len(plan.Snapshots) != 0 || plan.Position != 0 || plan.End != s.End() {
		t.Fatalf("empty plan %+v %v", plan, err)
	}
	a0, a1 := snap(0, 8), snap(1, 8)
	snap(0, 16) // service 1 has none at 16
	_ = snap(-1, s.End()+8)
	plan, err := s.RecoveryPlan(0, 1)
	if err != nil || plan.Position != 8 || len(plan.Snapshots) != 2 || plan.Snapshots[0] != a0 || plan.Snapshots[1] != a1 {
		t.Fatalf("plan for 0,1: %+v %v", plan, err)
	}
	if plan, _ := s.RecoveryPlan(0); plan.Position != 16 {
		t.Fatalf("plan for 0 at %d, want 16", plan.Position)
	}
	if plan, _ := s.RecoveryPlan(); plan.Position != 16 || len(plan.Snapshots) != 1 {
		t.Fatalf("plan for any: %+v (a snapshot past the log's end is unusable)", plan)
	}
}

// TestRetention: Retain(2) keeps the snapshots at the two newest positions,
// deletes older records and recordings, and purges the segments wholly
// below the oldest kept position; reads below Start fail with ErrPurged;
// End and Terms stay; a reopen keeps it all.
func TestRetention(t *testing.T) {
	fsys := archive.NewSimFS(4)
	cfg := testConfig(fsys, archive.FsyncData)
	s := mustOpen(t, cfg)
	gen := newEntryGen(4)
	m := newModel()
	var recs []SnapshotRecord
	for i := range 6 {
		term := consensus.TermID(i + 1)
		for m.end() < consensus.Position(i+1)*testSegmentLength {
			lead := consensus.TermID(0)
			if m.lastTerm() != term {
				lead = term
			}
			b := gen.batch(10, 1000, lead)
			s.Append(term, b)
			m.append(term, b)
		}
		r, err := s.WriteSnapshot(SnapshotMeta{Term: term, Position: m.end()}, bytes.NewReader([]byte{byte(i)}))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	if err := s.PurgeBefore(m.end() + 8); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("purge past the newest snapshot: %v", err)
	}
	s.Sync()
	segsBefore := len(segmentBases(t, fsys, cfg.Dir))
	if err := s.Retain(2); err != nil {
		t.Fatal(err)
	}
	oldest := recs[4].Position
	check := func(s *Store, at string) {
		t.Helper()
		if s.Start() > oldest || s.Start() == 0 {
			t.Fatalf("%s: start %d, oldest kept snapshot at %d", at, s.Start(), oldest)
		}
		for _, b := range segmentBases(t, fsys, cfg.Dir) {
			if b < s.Start() {
				t.Fatalf("%s: segment %d below start %d remains", at, b, s.Start())
			}
		}
		if _, err := s.Read(s.Start()-8, s.Start(), nil); !errors.Is(err, ErrPurged) {
			t.Fatalf("%s: read below start: %v", at, err)
		}
		got, err := s.Read(s.Start(), s.End(), nil)
		if err != nil || !bytes.Equal(got, m.buf[s.Start():]) || s.End() != m.end() || !equalTerms(s.Terms(), m.terms) {
			t.Fatalf("%s: log after retention differs (%v)", at, err)
		}
		snaps := s.RecordingLog().Snapshots()
		if len(snaps) != 2 || snaps[0] != recs[4] || snaps[1] != recs[5] {
			t.Fatalf("%s: snapshots %+v", at, snaps)
		}
		if ids := snapshotRecordings(s); len(ids) != 2 || ids[0] != recs[4].RecordingID {
			t.Fatalf("%s: recordings %v", at, ids)
		}
		if plan, err := s.RecoveryPlan(0); err != nil || plan.Position != recs[5].Position {
			t.Fatalf("%s: plan %+v %v", at, plan, err)
		}
	}
	check(s, "after Retain")
	if n := len(segmentBases(t, fsys, cfg.Dir)); n >= segsBefore {
		t.Fatalf("no segment purged: %d -> %d", segsBefore, n)
	}
	if err := s.Truncate(s.Start() - 8); !errors.Is(err, ErrPurged) {
		t.Fatalf("truncate below start: %v", err)
	}
	s.Close()
	s = mustOpen(t, cfg)
	check(s, "reopened")
	// Invalidate both kept snapshots: with the log's start purged there is
	// nothing to recover from.
	s.RecordingLog().InvalidateSnapshot(recs[4].RecordingID)
	s.RecordingLog().InvalidateSnapshot(recs[5].RecordingID)
	if _, err := s.RecoveryPlan(0); !errors.Is(err, ErrNoSnapshot) {
		t.Fatalf("plan without snapshots after a purge: %v", err)
	}
	s.Close()
}
