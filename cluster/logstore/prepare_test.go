package logstore

import (
	"errors"
	"io/fs"
	"testing"
	"time"

	"venue/archive"
	"venue/cluster/consensus"
)

// prepareBatchPayloadMax keeps the prepare tests' batches a few KB, so that
// a 64 KiB test segment takes tens of them.
const prepareBatchPayloadMax = 1500

// appendSynced appends one batch of term 1 (opening the term on an empty
// model) and syncs it. The model takes the batch first: a crash inside
// Append may leave any whole-entry part of it on disk.
func appendSynced(s *Store, m *model, gen *entryGen) error {
	lead := consensus.TermID(0)
	if m.lastTerm() != 1 {
		lead = 1
	}
	b := gen.batch(4, prepareBatchPayloadMax, lead)
	m.append(1, b)
	if err := s.Append(1, b); err != nil {
		return err
	}
	return s.Sync()
}

// spareOnDisk reports whether the store's directory holds a complete spare.
func spareOnDisk(t *testing.T, fsys archive.FS, cfg Config) bool {
	t.Helper()
	f, err := fsys.OpenFile(cfg.Dir+"/"+preparedName, false)
	if errors.Is(err, fs.ErrNotExist) {
		return false
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := newSegHeader(0, cfg.SegmentLength)
	return spareComplete(f, h.fileLength())
}

// TestPreparedSegments walks the preparer's life: a fresh store's first
// segment is fallocated; once it holds half a segment a spare is
// prepared, and the next append leaves the first segment early for it; the
// prepared tail asks for the next spare, which the roll at its end
// renames into place. A spare survives Close for the next Open; a partial
// one is removed; FsyncNone never prepares. The log reads back whole
// after every reopen.
func TestPreparedSegments(t *testing.T) {
	fsys := archive.NewSimFS(7)
	cfg := testConfig(fsys, archive.FsyncData)
	s := mustOpen(t, cfg)
	m, gen := newModel(), newEntryGen(7)
	appendUntil := func(what string, cond func() bool) {
		t.Helper()
		for i := 0; !cond(); i++ {
			if i == 200 { // several segments' worth
				t.Fatalf("%s: not after %d appends (spare error %v)", what, i, s.prep.err)
			}
			if err := appendSynced(s, m, gen); err != nil {
				t.Fatal(err)
			}
		}
	}
	appendUntil("a spare", s.spareReady)
	if len(s.segs) != 1 || s.tail.prepared {
		t.Fatalf("before the spare: %d segments, tail prepared %t; want the fallocated first", len(s.segs), s.tail.prepared)
	}
	if !spareOnDisk(t, fsys, cfg) {
		t.Fatal("spare ready but not complete on disk")
	}
	end := s.End()
	appendUntil("an early roll", func() bool { return len(s.segs) == 2 })
	if !s.tail.prepared || s.tail.base != end || s.spareReady() {
		t.Fatalf("early roll: tail at %d prepared %t (want %d, true), spare still ready %t",
			s.tail.base, s.tail.prepared, end, s.spareReady())
	}
	appendUntil("a full roll", func() bool { return len(s.segs) == 3 })
	if !s.tail.prepared || s.segs[2].base-s.segs[1].base < testSegmentLength/2 {
		t.Fatalf("roll at %d after %d: tail prepared %t", s.segs[2].base, s.segs[1].base, s.tail.prepared)
	}
	appendUntil("another spare", s.spareReady)
	checkAgainst(t, "prepared", s, m)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if !spareOnDisk(t, fsys, cfg) {
		t.Fatal("Close dropped the spare")
	}

	s = mustOpen(t, cfg)
	checkAgainst(t, "reopened", s, m)
	if !s.spareReady() {
		t.Fatal("a complete spare was not adopted")
	}
	s.Close()

	f, err := fsys.OpenFile(cfg.Dir+"/"+preparedName, false)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt(make([]byte, preparedRecordLength), 0) // as if preparation was cut short
	f.SyncData()
	f.Close()
	s = mustOpen(t, cfg)
	if s.spareReady() || spareOnDisk(t, fsys, cfg) {
		t.Fatal("a partial spare was adopted")
	}
	if _, err := fsys.OpenFile(cfg.Dir+"/"+preparedName, false); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("partial spare not removed: %v", err)
	}
	checkAgainst(t, "reopened after a partial spare", s, m)
	s.Close()

	nfs := archive.NewSimFS(8)
	ncfg := testConfig(nfs, archive.FsyncNone)
	n := mustOpen(t, ncfg)
	nm, ngen := newModel(), newEntryGen(8)
	for range 60 {
		if err := appendSynced(n, nm, ngen); err != nil {
			t.Fatal(err)
		}
	}
	if n.spareReady() || spareOnDisk(t, nfs, ncfg) {
		t.Fatal("FsyncNone prepared a segment")
	}
	n.Close()
}

// TestPreparerGoroutine: with the preparer on its own goroutine (as in
// production) a spare appears without the writer's help and the next
// append moves to it; Close stops the preparer. Run with -race.
func TestPreparerGoroutine(t *testing.T) {
	fsys := archive.NewSimFS(9)
	cfg := testConfig(fsys, archive.FsyncData)
	cfg.prepareInline = false
	s := mustOpen(t, cfg)
	m, gen := newModel(), newEntryGen(9)
	for int64(s.End()) < testSegmentLength/2 {
		if err := appendSynced(s, m, gen); err != nil {
			t.Fatal(err)
		}
	}
	awaitPrep(t, s, "a spare", s.spareReady)
	if err := appendSynced(s, m, gen); err != nil {
		t.Fatal(err)
	}
	if !s.tail.prepared {
		t.Fatal("the append after the spare did not move to it")
	}
	checkAgainst(t, "goroutine", s, m)
	closeStopsPreparer(t, s)
}

// TestCrashAroundPreparedSegments cuts the power at every file operation
// of a workload that prepares spares, leaves a fallocated segment early for
// one and rolls into another (FsyncData, a sync after each append): the
// recovered log must be a prefix of what was appended, at least as long as
// the last DurablePosition, decode, and take appends again; a spare left
// behind is either complete or gone after the reopen.
func TestCrashAroundPreparedSegments(t *testing.T) {
	const appends = 130 // over two 64 KiB segments
	for k := 1; ; k++ {
		fsys := archive.NewSimFS(uint64(k))
		cfg := testConfig(fsys, archive.FsyncData)
		s := mustOpen(t, cfg)
		m, gen := newModel(), newEntryGen(11)
		fsys.CrashAfter(k)
		var durable consensus.Position
		crashed := false
		for range appends {
			if err := appendSynced(s, m, gen); err != nil {
				crashed = true
				break
			}
			durable = s.DurablePosition()
		}
		fsys.CrashAfter(0)
		if !crashed {
			if len(s.segs) < 3 {
				t.Fatalf("the workload made %d segments, want 3 (a fallocated one and two prepared); end %d, tail %d prepared %t, spare err %v", len(s.segs), s.End(), s.tail.base, s.tail.prepared, s.prep.err)
			}
			s.Close()
			return // every operation had its crash
		}
		_ = s.Close() // its files died with the power
		r, err := Open(cfg)
		if err != nil {
			t.Fatalf("crash at op %d: reopen: %v", k, err)
		}
		got := readAll(t, r, 0)
		if !isPrefix(got, m.buf) || consensus.Position(len(got)) < durable {
			t.Fatalf("crash at op %d: recovered %d bytes (prefix %t), durable was %d", k, len(got), isPrefix(got, m.buf), durable)
		}
		checkDecodes(t, got)
		if _, err := fsys.OpenFile(cfg.Dir+"/"+preparedName, false); err == nil && !r.spareReady() {
			t.Fatalf("crash at op %d: a spare left on disk but not adopted", k)
		}
		rm := newModel()
		rm.buf, rm.terms = got, termsBelow(m.terms, consensus.Position(len(got)))
		if err := appendSynced(r, rm, gen); err != nil {
			t.Fatalf("crash at op %d: append after recovery: %v", k, err)
		}
		r.Close()
	}
}

// TestPrepareSpare: a spare PrepareSpare wrote is adopted by the next Open
// and installed by the first roll, so a fresh store's first segment is a
// prepared one; a second call leaves a complete spare alone; a wrong-length
// file by that name is replaced; FsyncNone writes nothing.
func TestPrepareSpare(t *testing.T) {
	fsys := archive.NewSimFS(21)
	cfg := testConfig(fsys, archive.FsyncData)
	if err := PrepareSpare(cfg); err != nil {
		t.Fatal(err)
	}
	if !spareOnDisk(t, fsys, cfg) {
		t.Fatal("no complete spare after PrepareSpare")
	}
	fsys.CrashAfter(1) // the check reads; a write or sync would fail
	if err := PrepareSpare(cfg); err != nil {
		t.Fatalf("a second PrepareSpare did not leave the complete spare alone: %v", err)
	}
	fsys.CrashAfter(0)
	s := mustOpen(t, cfg)
	m, gen := newModel(), newEntryGen(21)
	if err := appendSynced(s, m, gen); err != nil {
		t.Fatal(err)
	}
	if len(s.segs) != 1 || !s.tail.prepared {
		t.Fatalf("first segment: %d segments, prepared %t; want one prepared", len(s.segs), s.tail.prepared)
	}
	checkAgainst(t, "on a prepared first segment", s, m)
	s.Close()

	wrong := testConfig(fsys, archive.FsyncData)
	wrong.Dir = "/other"
	wrong.SegmentLength = 2 * testSegmentLength
	if err := PrepareSpare(wrong); err != nil { // a spare for another length...
		t.Fatal(err)
	}
	wrong.SegmentLength = testSegmentLength
	if spareOnDisk(t, fsys, wrong) {
		t.Fatal("a spare of twice the length counts as complete")
	}
	if err := PrepareSpare(wrong); err != nil { // ...is replaced
		t.Fatal(err)
	}
	if !spareOnDisk(t, fsys, wrong) {
		t.Fatal("a wrong-length spare was not replaced")
	}

	none := testConfig(fsys, archive.FsyncNone)
	none.Dir = "/none"
	if err := PrepareSpare(none); err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.OpenFile(none.Dir+"/"+preparedName, false); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("FsyncNone: PrepareSpare left a file (%v)", err)
	}
}

// TestCrashDuringPrepareSpare cuts the power at every file operation of
// PrepareSpare (into a directory where a partial spare of an earlier try
// lies, so that removing it is cut too): the store then opens, adopts the
// spare only if it is complete on disk and removes it otherwise, runs on
// a prepared first segment exactly when it adopted one, and reads back
// what it was given.
func TestCrashDuringPrepareSpare(t *testing.T) {
	for k := 1; ; k++ {
		fsys := archive.NewSimFS(uint64(100 + k))
		cfg := testConfig(fsys, archive.FsyncData)
		if err := fsys.MkdirAll(cfg.Dir); err != nil {
			t.Fatal(err)
		}
		f, err := fsys.OpenFile(cfg.Dir+"/"+preparedName, true)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteAt(make([]byte, 4096), 0) // an earlier try's partial spare
		f.SyncData()
		f.Close()
		fsys.SyncDir(cfg.Dir)
		fsys.CrashAfter(k)
		crashed := PrepareSpare(cfg) != nil
		fsys.CrashAfter(0)
		complete := spareOnDisk(t, fsys, cfg)
		if !crashed && !complete {
			t.Fatalf("crash at op %d: PrepareSpare succeeded without a complete spare", k)
		}
		s, err := Open(cfg)
		if err != nil {
			t.Fatalf("crash at op %d: open: %v", k, err)
		}
		if s.spareReady() != complete {
			t.Fatalf("crash at op %d: spare complete on disk %t, adopted %t", k, complete, s.spareReady())
		}
		if _, err := fsys.OpenFile(cfg.Dir+"/"+preparedName, false); !complete && !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("crash at op %d: a partial spare was not removed (%v)", k, err)
		}
		m, gen := newModel(), newEntryGen(uint64(k))
		for range 3 {
			if err := appendSynced(s, m, gen); err != nil {
				t.Fatalf("crash at op %d: append: %v", k, err)
			}
		}
		if s.tail.prepared != complete {
			t.Fatalf("crash at op %d: first segment prepared %t, spare was complete %t", k, s.tail.prepared, complete)
		}
		checkAgainst(t, "after a crash in PrepareSpare", s, m)
		s.Close()
		if !crashed {
			return // every operation had its crash
		}
	}
}

// TestPreparePaced: a spare for a prepared tail is written no faster than
// the tail's appends allow (one chunk at once, then in proportion), and is
// complete before half the room the tail had left is used, without a roll
// to a fallocated segment; a spare for a fallocated tail is written at
// once.
func TestPreparePaced(t *testing.T) {
	fsys := archive.NewSimFS(31)
	cfg := testConfig(fsys, archive.FsyncData)
	s := mustOpen(t, cfg)
	defer s.Close()
	m, gen := newModel(), newEntryGen(31)
	appendOne := func() {
		t.Helper()
		if err := appendSynced(s, m, gen); err != nil {
			t.Fatal(err)
		}
	}
	for appendOne(); !s.prep.busy && !s.spareReady(); {
		appendOne()
	}
	if !s.spareReady() {
		t.Fatalf("the spare for a fallocated tail was paced: %d of %d bytes written", s.prep.written, s.spareLength())
	}
	for !s.tail.prepared {
		appendOne()
	}
	for !s.prep.busy {
		appendOne()
	}
	if s.prep.written > cfg.prepareChunk {
		t.Fatalf("paced spare: %d bytes written at once, want at most one chunk of %d", s.prep.written, cfg.prepareChunk)
	}
	segs, from, span := len(s.segs), s.prep.paceFrom, s.prep.paceSpan
	steps := 0
	for s.prep.busy {
		if s.prep.written > s.prep.allow {
			t.Fatalf("paced spare ran ahead: %d bytes written, %d allowed", s.prep.written, s.prep.allow)
		}
		appendOne()
		steps++
	}
	if !s.spareReady() || len(s.segs) != segs {
		t.Fatalf("paced spare: ready %t, segments %d -> %d (error %v)", s.spareReady(), segs, len(s.segs), s.prep.err)
	}
	if fill := int64(s.end - s.tail.base); fill > from+span+prepareBatchPayloadMax*4+1024 || steps < 2 {
		t.Fatalf("paced spare complete at tail fill %d after %d appends; asked for at %d, to be done by %d", fill, steps, from, from+span)
	}
	checkAgainst(t, "paced", s, m)
}

// TestPreparerGoroutinePaced: on its goroutine a paced preparation parks
// when it has written what the appends allow, resumes with more appends
// and completes; Close stops one that is parked, and the next Open removes
// the partial spare it left.
func TestPreparerGoroutinePaced(t *testing.T) {
	fsys := archive.NewSimFS(33)
	cfg := testConfig(fsys, archive.FsyncData)
	cfg.prepareInline = false
	s := mustOpen(t, cfg)
	m, gen := newModel(), newEntryGen(33)
	appendOne := func() {
		t.Helper()
		if err := appendSynced(s, m, gen); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(what string, cond func() bool) { t.Helper(); awaitPrep(t, s, what, cond) }
	prep := func(read func(p *spareState) bool) func() bool {
		return func() bool {
			s.prep.mu.Lock()
			defer s.prep.mu.Unlock()
			return read(&s.prep)
		}
	}
	// To the first prepared tail, then past its half: a paced request.
	for s.tail == nil || !s.tail.prepared {
		appendOne()
		if s.spareReady() {
			continue
		}
		if prep(func(p *spareState) bool { return p.busy })() {
			waitFor("the spare for the fallocated tail", s.spareReady)
		}
	}
	for !prep(func(p *spareState) bool { return p.busy })() {
		appendOne()
	}
	waitFor("the paced preparation parks", prep(func(p *spareState) bool { return p.parked }))
	if w := prep(func(p *spareState) bool { return p.written < s.spareLength() && p.written <= p.allow })(); !w {
		t.Fatalf("parked preparation: written %d, allowed %d, length %d", s.prep.written, s.prep.allow, s.spareLength())
	}
	// More appends let it finish.
	for i := 0; !s.spareReady(); i++ {
		if i == 200 {
			t.Fatal("the paced preparation did not finish within 200 appends")
		}
		appendOne()
		if prep(func(p *spareState) bool { return p.busy && !p.parked })() {
			waitFor("the preparation parks or finishes", prep(func(p *spareState) bool { return !p.busy || p.parked }))
		}
	}
	checkAgainst(t, "paced on its goroutine", s, m)
	// Roll into the spare and ask for the next, then close while parked.
	for segs := len(s.segs); len(s.segs) == segs || !prep(func(p *spareState) bool { return p.busy })(); {
		appendOne()
	}
	waitFor("the next preparation parks", prep(func(p *spareState) bool { return p.parked }))
	closeStopsPreparer(t, s)
	if spareOnDisk(t, fsys, cfg) {
		t.Fatal("a parked preparation left a complete spare")
	}
	r := mustOpen(t, cfg)
	defer r.Close()
	if r.spareReady() {
		t.Fatal("a partial spare was adopted")
	}
	if _, err := fsys.OpenFile(cfg.Dir+"/"+preparedName, false); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("the partial spare was not removed: %v", err)
	}
	checkAgainst(t, "reopened after Close stopped a paced preparation", r, m)
}

// closeStopsPreparer closes s and checks that its preparer goroutine has
// ended by the time Close returns.
func closeStopsPreparer(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.prepDone:
	default:
		t.Fatal("preparer still running after Close")
	}
}

// awaitPrep polls cond until it holds, failing the test after 10 s with
// the preparer's error.
func awaitPrep(t *testing.T, s *Store, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10 s (spare error %v)", what, s.prep.err)
		}
		time.Sleep(time.Millisecond) // poll interval
	}
}
