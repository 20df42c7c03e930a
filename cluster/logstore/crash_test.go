package logstore

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"

	"venue/archive"
	"venue/cluster/consensus"
)

// crashCase is the state a crash may leave: the recovered log must be a
// prefix of cand at least lower bytes long, with cand's terms below its end.
type crashCase struct {
	cand  *model
	lower consensus.Position
	at    string
}

// TestCrashLog runs random workloads (appends, truncations, syncs, clean
// reopens) on a simulated disk whose power fails at a random operation,
// which keeps, drops or tears (per 512-byte sector) every unsynced write.
// Recovery — itself sometimes interrupted by a second power failure — must
// give a log that is a prefix of what was appended (of the log before a
// truncation in flight), at least as long as the last DurablePosition the
// store reported (FsyncData), that decodes entry by entry, whose term
// records are the model's below its end, and that works as a store after.
func TestCrashLog(t *testing.T) {
	runs := map[archive.FsyncPolicy]uint64{archive.FsyncData: 120, archive.FsyncNone: 40}
	if testing.Short() || raceEnabled {
		runs = map[archive.FsyncPolicy]uint64{archive.FsyncData: 40, archive.FsyncNone: 15}
	}
	for fsync, n := range runs {
		t.Run(fsync.String(), func(t *testing.T) {
			for seed := uint64(1); seed <= n; seed++ {
				crashRun(t, fsync, seed)
			}
		})
	}
}

func crashRun(t *testing.T, fsync archive.FsyncPolicy, seed uint64) {
	fsys := archive.NewSimFS(seed)
	cfg := testConfig(fsys, fsync)
	s := mustOpen(t, cfg)
	rng := rand.New(rand.NewPCG(seed, 11))
	fsys.CrashAfter(1 + rng.IntN(400))
	c, final, s := crashWorkload(rng, newEntryGen(seed), cfg, s)
	fsys.CrashAfter(0)
	if c.cand == nil {
		fsys.PowerLoss()
		c = crashCase{cand: final, lower: s.DurablePosition(), at: "after the workload"}
	}
	_ = s.Close() // its files died with the power
	if fsync == archive.FsyncNone {
		c.lower = 0 // the page cache is not durable
	}
	if rng.IntN(2) == 0 { // a power failure during recovery too
		fsys.CrashAfter(1 + rng.IntN(30))
		if r, err := Open(cfg); err == nil {
			_ = r.Close()
		}
		fsys.CrashAfter(0)
		fsys.PowerLoss()
	}
	r, err := Open(cfg)
	if err != nil {
		t.Fatalf("seed %d (%s): reopen: %v", seed, c.at, err)
	}
	defer r.Close()
	where := fmt.Sprintf("seed %d, crash %s", seed, c.at)
	got := readAll(t, r, 0)
	switch {
	case !isPrefix(got, c.cand.buf):
		diff := 0
		for diff < len(got) && diff < len(c.cand.buf) && got[diff] == c.cand.buf[diff] {
			diff++
		}
		var bases []consensus.Position
		for _, sg := range r.segs {
			bases = append(bases, sg.base)
		}
		t.Logf("first difference at %d; segments %v", diff, bases)
		t.Fatalf("%s: recovered %d bytes are not a prefix of the %d-byte log", where, len(got), len(c.cand.buf))
	case consensus.Position(len(got)) < c.lower:
		t.Fatalf("%s: recovered %d bytes, but %d were reported durable", where, len(got), c.lower)
	case r.DurablePosition() != r.End():
		t.Fatalf("%s: durable %d after recovery, end %d", where, r.DurablePosition(), r.End())
	case !equalTerms(r.Terms(), termsBelow(c.cand.terms, r.End())):
		t.Fatalf("%s: terms %v, want %v", where, r.Terms(), termsBelow(c.cand.terms, r.End()))
	}
	checkDecodes(t, got)
	checkSegments(t, r)
	// What recovery kept is durable: another power loss keeps it all.
	r.Close()
	fsys.PowerLoss()
	r = mustOpen(t, cfg)
	if again := readAll(t, r, 0); !bytes.Equal(again, got) {
		t.Fatalf("%s: a second power loss changed the recovered log: %d -> %d bytes", where, len(got), len(again))
	}
	// The recovered store works: append, sync, reopen.
	m := c.cand.clone()
	m.truncate(r.End())
	gen := newEntryGen(seed + 1000)
	term := max(m.lastTerm(), 1)
	b := gen.batch(5, 300, 0)
	if m.lastTerm() != term {
		b = gen.batch(5, 300, term)
	}
	if err := r.Append(term, b); err != nil {
		t.Fatalf("%s: append after recovery: %v", where, err)
	}
	m.append(term, b)
	if err := r.Sync(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r = mustOpen(t, cfg)
	checkAgainst(t, where+", after recovery and more appends", r, m)
}

// crashWorkload runs random operations until one fails (the power went)
// and says what the crash may leave; without a crash, c.cand is nil and
// final is the model after the last operation.
func crashWorkload(rng *rand.Rand, gen *entryGen, cfg Config, s *Store) (c crashCase, final *model, _ *Store) {
	m := newModel()
	for op := 0; op < 150; op++ {
		d := s.DurablePosition()
		at := fmt.Sprintf("at op %d", op)
		switch k := rng.IntN(20); {
		case k < 12:
			term := m.lastTerm()
			var lead consensus.TermID
			if term == 0 || rng.IntN(6) == 0 {
				term++
				lead = term
			}
			data := gen.batch(10, 700, lead)
			if rng.IntN(12) == 0 {
				data = gen.batch(100, 2000, lead)
			}
			if err := s.Append(term, data); err != nil {
				next := m.clone()
				next.append(term, data)
				return crashCase{next, min(d, next.end()), at + " (append)"}, nil, s
			}
			m.append(term, data)
		case k < 14 && len(m.bounds) > 1:
			pos := m.bounds[len(m.bounds)-1-rng.IntN(min(len(m.bounds), 40))]
			if err := s.Truncate(pos); err != nil {
				return crashCase{m, min(d, pos), at + " (truncate)"}, nil, s
			}
			m.truncate(pos)
		case k < 15:
			if err := s.Close(); err != nil {
				return crashCase{m, d, at + " (close)"}, nil, s
			}
			r, err := Open(cfg)
			if err != nil {
				return crashCase{m, d, at + " (open)"}, nil, s
			}
			s = r
		default:
			if err := s.Sync(); err != nil {
				return crashCase{m, d, at + " (sync)"}, nil, s
			}
		}
	}
	return crashCase{}, m, s
}

// TestTornBatchIsCut damages the disk the ways a torn or lost write can and
// checks that recovery ends the log before the damaged batch, never after,
// and that nothing past the cut comes back once new batches are appended.
func TestTornBatchIsCut(t *testing.T) {
	cases := []struct {
		name   string
		damage func(f archive.File, h *segHeader, b slot, slotB int)
	}{
		{"data sector lost", func(f archive.File, _ *segHeader, b slot, _ int) {
			f.WriteAt(make([]byte, min(512, b.length/2)), segHeaderRegion+int64(b.start)+b.length/4)
		}},
		{"one data byte wrong", func(f archive.File, _ *segHeader, b slot, _ int) {
			f.WriteAt([]byte{0x5a}, segHeaderRegion+int64(b.start)+b.length-3)
		}},
		{"slot torn", func(f archive.File, h *segHeader, _ slot, slotB int) {
			f.WriteAt([]byte{1, 2, 3}, h.indexOffset()+int64(slotB*slotLength)+4)
		}},
		{"slot lost, later slots kept", func(f archive.File, h *segHeader, _ slot, slotB int) {
			f.WriteAt(make([]byte, slotLength), h.indexOffset()+int64(slotB*slotLength))
		}},
		{"slot points elsewhere", func(f archive.File, h *segHeader, b slot, slotB int) {
			var buf [slotLength]byte
			b.start += 8
			encodeSlot(buf[:], b)
			f.WriteAt(buf[:], h.indexOffset()+int64(slotB*slotLength))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fsys := archive.NewSimFS(8)
			cfg := testConfig(fsys, archive.FsyncData)
			s := mustOpen(t, cfg)
			m := newModel()
			gen := newEntryGen(8)
			var ends []consensus.Position
			for i := range 6 {
				lead := consensus.TermID(0)
				if i == 0 {
					lead = 1
				}
				b := gen.batch(12, 900, lead)
				if err := s.Append(1, b); err != nil {
					t.Fatal(err)
				}
				m.append(1, b)
				ends = append(ends, m.end())
			}
			if err := s.Sync(); err != nil {
				t.Fatal(err)
			}
			full := append([]byte(nil), m.buf...)
			h, slotB := s.tail.segHeader, 3
			b, ok := decodeSlot(s.idx[slotB*slotLength:])
			if !ok || b.end() != ends[slotB] {
				t.Fatalf("slot %d: %+v", slotB, b)
			}
			s.Close()
			f, _ := fsys.OpenFile(s.segmentPath(0), false)
			c.damage(f, &h, b, slotB)
			f.SyncData()
			f.Close()
			r := mustOpen(t, cfg)
			if r.End() != ends[slotB-1] {
				t.Fatalf("recovered end %d, want %d (the end before the damaged batch)", r.End(), ends[slotB-1])
			}
			m.truncate(r.End())
			checkAgainst(t, "recovered", r, m)
			// Append the damaged batch again, whole: it ends where the old
			// batch 4 starts, so old slots after the cut would chain onto it
			// if recovery had not zeroed them.
			again := append([]byte(nil), full[ends[slotB-1]:ends[slotB]]...)
			if err := r.Append(1, again); err != nil {
				t.Fatal(err)
			}
			m.append(1, again)
			r.Sync()
			r.Close()
			r = mustOpen(t, cfg)
			checkAgainst(t, "appended after the cut", r, m)
			r.Close()
		})
	}
}

// TestSyncFailure: a failed fdatasync fails the store (sticky), leaves
// DurablePosition where it was, and recovery after a power loss keeps at
// least that much.
func TestSyncFailure(t *testing.T) {
	fsys := archive.NewSimFS(12)
	cfg := testConfig(fsys, archive.FsyncData)
	s := mustOpen(t, cfg)
	gen := newEntryGen(12)
	m := newModel()
	b := gen.batch(10, 500, 1)
	s.Append(1, b)
	m.append(1, b)
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	durable := s.DurablePosition()
	b = gen.batch(10, 500, 0)
	s.Append(1, b)
	fsys.FailSyncs(1, syscall.EIO)
	if err := s.Sync(); !errors.Is(err, syscall.EIO) || !errors.Is(err, ErrFailed) {
		t.Fatalf("sync: %v", err)
	}
	if s.DurablePosition() != durable {
		t.Fatalf("durable %d after a failed sync, was %d", s.DurablePosition(), durable)
	}
	if err := s.Append(1, gen.batch(1, 10, 0)); !errors.Is(err, ErrFailed) || !errors.Is(err, consensus.ErrStore) {
		t.Fatalf("append after a failed sync: %v", err)
	}
	if err := s.Sync(); !errors.Is(err, ErrFailed) {
		t.Fatalf("second sync: %v", err)
	}
	s.Close()
	fsys.PowerLoss()
	r := mustOpen(t, cfg)
	defer r.Close()
	if r.End() < durable || !isPrefix(readAll(t, r, 0), append(m.buf, b...)) {
		t.Fatalf("recovered %d bytes, durable was %d", r.End(), durable)
	}
}

// TestCrashDuringRoll: power fails at each step of a roll, and the new
// segment's leftovers (a file with a torn header) do not stop recovery.
func TestCrashDuringRoll(t *testing.T) {
	for step := 1; step <= 12; step++ {
		fsys := archive.NewSimFS(uint64(step))
		cfg := testConfig(fsys, archive.FsyncData)
		s := mustOpen(t, cfg)
		gen := newEntryGen(uint64(step))
		m := newModel()
		for m.end() < testSegmentLength-4000 {
			lead := consensus.TermID(0)
			if m.end() == 0 {
				lead = 1
			}
			b := gen.batch(10, 900, lead)
			s.Append(1, b)
			m.append(1, b)
		}
		s.Sync()
		durable := s.DurablePosition()
		fsys.CrashAfter(step)
		b := gen.batch(40, 900, 0)
		err := s.Append(1, b)
		next := m.clone()
		next.append(1, b)
		if err == nil {
			err = s.Sync()
		}
		s.Close()
		fsys.CrashAfter(0)
		fsys.PowerLoss()
		r := mustOpen(t, cfg)
		got := readAll(t, r, 0)
		if !isPrefix(got, next.buf) || consensus.Position(len(got)) < durable {
			t.Fatalf("step %d (%v): recovered %d bytes, durable %d, appended %d", step, err, len(got), durable, len(next.buf))
		}
		checkDecodes(t, got)
		checkSegments(t, r)
		r.Close()
	}
}

// TestCrashDuringTruncate: power fails at each step of a Truncate that
// reaches back over several segments; recovery must give a prefix of the
// old log at least as long as the truncation point (the new log or more of
// the old one), never a log with a hole.
func TestCrashDuringTruncate(t *testing.T) {
	for step := 1; step <= 16; step++ {
		fsys := archive.NewSimFS(uint64(100 + step))
		cfg := testConfig(fsys, archive.FsyncData)
		s := mustOpen(t, cfg)
		gen := newEntryGen(uint64(step))
		m := newModel()
		for len(s.segs) < 5 {
			lead := consensus.TermID(0)
			if m.end() == 0 {
				lead = 1
			}
			b := gen.batch(10, 900, lead)
			s.Append(1, b)
			m.append(1, b)
		}
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
		pos := m.bounds[len(m.bounds)/10]
		if pos >= s.segs[1].base {
			t.Fatalf("truncation point %d not in the first segment", pos)
		}
		fsys.CrashAfter(step)
		err := s.Truncate(pos)
		s.Close()
		fsys.CrashAfter(0)
		fsys.PowerLoss()
		r := mustOpen(t, cfg)
		got := readAll(t, r, 0)
		if !isPrefix(got, m.buf) || consensus.Position(len(got)) < pos {
			t.Fatalf("step %d (%v): recovered %d bytes, want a prefix of the %d-byte log of at least %d",
				step, err, len(got), len(m.buf), pos)
		}
		checkDecodes(t, got)
		checkSegments(t, r)
		r.Close()
	}
}

// TestFsyncNoneRollsWithoutSyncing: under FsyncNone appends that roll to
// new segments make no sync at all (every sync would fail here), because a
// sync on the writer's goroutine waits for the disk's whole write cache.
func TestFsyncNoneRollsWithoutSyncing(t *testing.T) {
	fsys := archive.NewSimFS(7)
	s := mustOpen(t, testConfig(fsys, archive.FsyncNone))
	defer s.Close()
	gen := newEntryGen(7)
	m := newModel()
	appendNext(t, s, gen, m) // the term's record is synced whatever the policy
	fsys.FailSyncs(1<<30, errors.New("no sync expected"))
	for m.end() < 3*testSegmentLength {
		appendNext(t, s, gen, m)
	}
	if len(s.segs) < 3 {
		t.Fatalf("%d segments: the test did not roll", len(s.segs))
	}
	checkAgainst(t, "after rolling without syncs", s, m)
}

// TestProcessCrashThenPowerLoss: after a process crash the page cache still
// holds writes that were never synced (FsyncNone); recovery accepts them
// and must make them durable, so a power loss after the restart takes
// nothing back.
func TestProcessCrashThenPowerLoss(t *testing.T) {
	for seed := uint64(1); seed <= 10; seed++ {
		fsys := archive.NewSimFS(seed)
		cfg := testConfig(fsys, archive.FsyncNone)
		s := mustOpen(t, cfg)
		gen := newEntryGen(seed)
		m := newModel()
		for m.end() < 3*testSegmentLength {
			appendNext(t, s, gen, m)
		}
		// The process dies: s is abandoned, not closed.
		r := mustOpen(t, cfg)
		checkAgainst(t, "after the process crash", r, m)
		r.Close()
		fsys.PowerLoss()
		r = mustOpen(t, cfg)
		checkAgainst(t, fmt.Sprintf("seed %d: after a power loss following recovery", seed), r, m)
		r.Close()
	}
}

// appendNext appends the generator's next batch to s and to m, the first
// one starting term 1.
func appendNext(t *testing.T, s *Store, gen *entryGen, m *model) {
	t.Helper()
	lead := consensus.TermID(0)
	if m.end() == 0 {
		lead = 1
	}
	b := gen.batch(10, 900, lead)
	if err := s.Append(1, b); err != nil {
		t.Fatalf("append at %d: %v", m.end(), err)
	}
	m.append(1, b)
}
