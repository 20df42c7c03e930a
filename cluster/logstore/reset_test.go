package logstore

import (
	"bytes"
	"testing"

	"venue/archive"
	"venue/cluster/consensus"
)

// resetFixture is a store holding a few segments of term 1 and 2 log and a
// durable snapshot at a position past its end (installed from a peer).
func resetFixture(t *testing.T, fsys *archive.SimFS, seed uint64) (*Store, Config, consensus.Position, SnapshotRecord) {
	t.Helper()
	cfg := testConfig(fsys, archive.FsyncData)
	s := mustOpen(t, cfg)
	gen := newEntryGen(seed)
	for term := consensus.TermID(1); len(s.segs) < 4; {
		lead := consensus.TermID(0)
		if s.End() == 0 || len(s.segs) == 2 && s.terms[len(s.terms)-1].Term == 1 {
			lead = term
			if s.End() > 0 {
				term, lead = 2, 2
			}
		}
		if err := s.Append(term, gen.batch(10, 900, lead)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	pos := (s.End() + 4096) &^ 7
	rec, err := s.WriteSnapshot(SnapshotMeta{Term: 3, Position: pos, TimestampNs: 9}, bytes.NewReader([]byte("state")))
	if err != nil {
		t.Fatal(err)
	}
	return s, cfg, pos, rec
}

// TestResetTo: after a reset the log is empty at the snapshot position with
// the given term record, takes appends there, and reopens the same; the
// snapshot is the recovery plan.
func TestResetTo(t *testing.T) {
	fsys := archive.NewSimFS(7)
	s, cfg, pos, rec := resetFixture(t, fsys, 7)
	term := consensus.TermRecord{Term: 3, Base: pos - 64}
	if err := s.ResetTo(pos, term); err != nil {
		t.Fatal(err)
	}
	check := func(s *Store, end consensus.Position) {
		t.Helper()
		if s.Start() != pos || s.End() != end || s.DurablePosition() != end ||
			!equalTerms(s.Terms(), []consensus.TermRecord{term}) {
			t.Fatalf("start %d end %d durable %d terms %v; want start %d end %d terms [%v]",
				s.Start(), s.End(), s.DurablePosition(), s.Terms(), pos, end, term)
		}
		plan, err := s.RecoveryPlan(0)
		if err != nil || plan.Position != pos || len(plan.Snapshots) != 1 || plan.Snapshots[0] != rec {
			t.Fatalf("plan %+v err %v", plan, err)
		}
	}
	check(s, pos)
	if _, err := s.Read(pos-8, pos, nil); err == nil {
		t.Fatal("read below the reset position succeeded")
	}
	b := newEntryGen(8).batch(5, 100, 0)
	if err := s.Append(3, b); err != nil {
		t.Fatal(err)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	end := s.End()
	s.Close()
	fsys.PowerLoss()
	r := mustOpen(t, cfg)
	defer r.Close()
	check(r, end)
	if got := readAll(t, r, pos); !bytes.Equal(got, b) {
		t.Fatalf("read back %d bytes, appended %d", len(got), len(b))
	}
}

// TestResetToRejects: a reset that could not describe a log is refused,
// the store unchanged.
func TestResetToRejects(t *testing.T) {
	s, _, pos, _ := resetFixture(t, archive.NewSimFS(3), 3)
	defer s.Close()
	end := s.End()
	for _, c := range []struct {
		pos  consensus.Position
		term consensus.TermRecord
	}{
		{0, consensus.TermRecord{Term: 1}},
		{pos + 1, consensus.TermRecord{Term: 3}},
		{pos, consensus.TermRecord{Term: 0}},
		{pos, consensus.TermRecord{Term: 3, Base: pos}},
		{pos, consensus.TermRecord{Term: 3, Base: -8}},
	} {
		if err := s.ResetTo(c.pos, c.term); err == nil {
			t.Fatalf("reset to %d %+v accepted", c.pos, c.term)
		}
	}
	if s.End() != end || s.Start() != 0 {
		t.Fatalf("rejected resets changed the log to [%d,%d)", s.Start(), s.End())
	}
}

// TestCrashDuringResetTo: power fails at each step of a reset; recovery
// gives the old log's prefix, an empty log at 0, or the new empty log at
// the snapshot position — and the snapshot is in the recovery plan only
// in the last case.
func TestCrashDuringResetTo(t *testing.T) {
	for step := 1; step <= 24; step++ {
		fsys := archive.NewSimFS(uint64(200 + step))
		s, cfg, pos, _ := resetFixture(t, fsys, uint64(step))
		old := readAll(t, s, 0)
		term := consensus.TermRecord{Term: 3, Base: pos - 64}
		fsys.CrashAfter(step)
		err := s.ResetTo(pos, term)
		s.Close()
		fsys.CrashAfter(0)
		fsys.PowerLoss()
		r := mustOpen(t, cfg)
		plan, perr := r.RecoveryPlan(0)
		t.Logf("step %d: err %v log [%d,%d)", step, err, r.Start(), r.End())
		switch {
		case r.Start() == pos && r.End() == pos:
			if !equalTerms(r.Terms(), []consensus.TermRecord{term}) || perr != nil || plan.Position != pos {
				t.Fatalf("step %d: reset log with terms %v, plan %+v %v", step, r.Terms(), plan, perr)
			}
		case r.Start() == 0:
			got := readAll(t, r, 0)
			if !isPrefix(got, old) || perr != nil || plan.Position != 0 {
				t.Fatalf("step %d (%v): %d bytes recovered (prefix %t), plan %+v %v",
					step, err, len(got), isPrefix(got, old), plan, perr)
			}
			checkDecodes(t, got)
			if len(got) == 0 && len(r.Terms()) != 0 {
				t.Fatalf("step %d: empty log with terms %v", step, r.Terms())
			}
		default:
			t.Fatalf("step %d (%v): log [%d,%d)", step, err, r.Start(), r.End())
		}
		checkSegments(t, r)
		r.Close()
	}
}
