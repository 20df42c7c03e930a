package logstore

import (
	"bytes"
	"testing"

	"venue/archive"
	"venue/cluster/consensus"
)

// TestDeferWrites: under FsyncNone with DeferWrites an Append moves End but
// not DurablePosition, and neither is anything of it in the segment file;
// Notify (LogAppended) writes it and makes it durable; Close writes what
// no Notify did; a reopened store holds the whole log, across rolls.
func TestDeferWrites(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{Dir: dir, Fsync: archive.FsyncNone, SegmentLength: testSegmentLength, DeferWrites: true}
	s := mustOpen(t, cfg)
	g := newEntryGen(7)
	m := newModel()
	const batches = 400
	for i := range batches {
		var lead consensus.TermID
		if i == 0 {
			lead = 1
		}
		data := g.batch(8, 600, lead)
		before := s.DurablePosition()
		if err := s.Append(1, data); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		m.append(1, data)
		if got := s.DurablePosition(); got != before {
			t.Fatalf("append %d: durable %d -> %d before Notify", i, before, got)
		}
		if s.End() != m.end() {
			t.Fatalf("append %d: end %d, want %d", i, s.End(), m.end())
		}
		if tail := s.tail; tail != nil && s.end > tail.base && s.flushed == s.end {
			t.Fatalf("append %d: the tail was written before Notify", i)
		}
		if i%3 == 2 || i == batches-1 {
			continue // left for the next Notify, or for Close
		}
		s.LogAppended()
		if got := s.DurablePosition(); got != s.End() {
			t.Fatalf("append %d: durable %d after Notify, end %d", i, got, s.End())
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	cfg.DeferWrites = false
	r := mustOpen(t, cfg)
	defer r.Close()
	if r.End() != m.end() || r.DurablePosition() != m.end() {
		t.Fatalf("reopened: end %d durable %d, want %d", r.End(), r.DurablePosition(), m.end())
	}
	if got := readAll(t, r, 0); !bytes.Equal(got, m.buf) {
		t.Fatalf("reopened: the log differs from what was appended")
	}
}

// TestDeferWritesOnlyUnderFsyncNone: FsyncData keeps its syncer (Notify
// wakes it; nothing is written on the caller's goroutine).
func TestDeferWritesOnlyUnderFsyncNone(t *testing.T) {
	s := mustOpen(t, Config{Dir: t.TempDir(), Fsync: archive.FsyncData, SegmentLength: testSegmentLength,
		DeferWrites: true})
	defer s.Close()
	if s.deferring() {
		t.Fatal("DeferWrites honoured under FsyncData")
	}
}
