package logstore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"venue/archive"
	"venue/cluster/consensus"
)

// segmentBases lists the segment files in the store's directory.
func segmentBases(t *testing.T, fsys archive.FS, dir string) []consensus.Position {
	t.Helper()
	names, err := fsys.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []consensus.Position
	for _, n := range names {
		if b, ok := parseSegmentName(n); ok {
			out = append(out, b)
		}
	}
	return out
}

// TestSegments walks a store through a roll, an Append spanning three
// segments, a Truncate into the first segment and appends after it,
// reopening after each step and checking the files and the bytes.
func TestSegments(t *testing.T) {
	for _, fsync := range []archive.FsyncPolicy{archive.FsyncNone, archive.FsyncData} {
		t.Run(fsync.String(), func(t *testing.T) {
			fsys := archive.NewSimFS(2)
			cfg := testConfig(fsys, fsync)
			cfg.prepareOff = true // the segment counts below assume no early roll
			s := mustOpen(t, cfg)
			m := newModel()
			gen := newEntryGen(9)
			step := func(name string, wantSegments int) {
				t.Helper()
				if err := s.Sync(); err != nil {
					t.Fatalf("%s: sync: %v", name, err)
				}
				checkAgainst(t, name, s, m)
				if err := s.Close(); err != nil {
					t.Fatalf("%s: close: %v", name, err)
				}
				s = mustOpen(t, cfg)
				checkAgainst(t, name+" reopened", s, m)
				if got := segmentBases(t, fsys, cfg.Dir); len(got) != wantSegments {
					t.Fatalf("%s: segments %v, want %d", name, got, wantSegments)
				}
			}
			appendN := func(term consensus.TermID, bytesMin int) {
				t.Helper()
				for start := m.end(); m.end()-start < consensus.Position(bytesMin); {
					lead := consensus.TermID(0)
					if m.lastTerm() != term {
						lead = term
					}
					b := gen.batch(8, 1000, lead)
					if err := s.Append(term, b); err != nil {
						t.Fatal(err)
					}
					m.append(term, b)
				}
			}
			appendN(1, testSegmentLength/2)
			step("half a segment", 1)
			appendN(1, testSegmentLength/2+1000)
			step("rolled", 2)
			var big []byte
			for len(big) < 2*testSegmentLength {
				big = gen.entry(big, 4000)
			}
			if err := s.Append(2, big); err != nil {
				t.Fatal(err)
			}
			m.append(2, big)
			step("one append over three segments", 4)
			cut := m.bounds[len(m.bounds)/8]
			if cut >= testSegmentLength {
				t.Fatalf("cut %d not in the first segment", cut)
			}
			if err := s.Truncate(cut); err != nil {
				t.Fatal(err)
			}
			m.truncate(cut)
			step("truncated into the first segment", 1)
			appendN(3, testSegmentLength)
			step("appended after the truncation", 2)
			if err := s.Truncate(testSegmentBoundary(t, s)); err != nil {
				t.Fatal(err)
			}
			m.truncate(testSegmentBoundary(t, s))
			step("truncated to a segment's base", 2)
			s.Close()
		})
	}
}

// testSegmentBoundary returns the base of the store's second segment.
func testSegmentBoundary(t *testing.T, s *Store) consensus.Position {
	t.Helper()
	if len(s.segs) < 2 {
		t.Fatalf("%d segments", len(s.segs))
	}
	return s.segs[1].base
}

// TestIndexSlotsRunOut: a segment rolls early when its index slots run out
// (many tiny batches), and the log reads back whole.
func TestIndexSlotsRunOut(t *testing.T) {
	fsys := archive.NewSimFS(3)
	cfg := testConfig(fsys, archive.FsyncData)
	s := mustOpen(t, cfg)
	m := newModel()
	gen := newEntryGen(4)
	slots := int(testSegmentLength / indexBytesPerSlot)
	for i := 0; i < slots+10; i++ {
		b := consensus.AppendEntry(nil, &consensus.LogEntry{Type: consensus.EntryTimer, CorrelationID: int64(i)})
		if i == 0 {
			b = gen.batch(1, 0, 1)
		}
		if err := s.Append(1, b); err != nil {
			t.Fatal(err)
		}
		m.append(1, b)
	}
	if len(s.segs) != 2 || s.segs[1].base >= testSegmentLength {
		t.Fatalf("segments %d, second at %d: want an early roll", len(s.segs), s.segs[len(s.segs)-1].base)
	}
	s.Sync()
	s.Close()
	s = mustOpen(t, cfg)
	checkAgainst(t, "reopened", s, m)
	s.Close()
}

// TestReadPurgedAndBounds: reads below Start fail with ErrPurged, reads out
// of range with ErrInvalid; both wrap consensus.ErrStore.
func TestReadErrors(t *testing.T) {
	s := mustOpen(t, testConfig(archive.NewSimFS(5), archive.FsyncNone))
	defer s.Close()
	gen := newEntryGen(5)
	if err := s.Append(1, gen.batch(4, 100, 1)); err != nil {
		t.Fatal(err)
	}
	s.start = 8 // as retention would leave it
	_, err := s.Read(0, 8, nil)
	if !errors.Is(err, ErrPurged) || !errors.Is(err, consensus.ErrStore) {
		t.Fatalf("read below start: %v", err)
	}
	if _, err := s.Read(8, s.End()+8, nil); !errors.Is(err, ErrInvalid) {
		t.Fatalf("read past end: %v", err)
	}
	if b, err := s.Read(16, 16, nil); err != nil || len(b) != 0 {
		t.Fatalf("empty read: %v %d", err, len(b))
	}
}

// TestReadOnly: OpenReadOnly sees the log, terms and hard state, and
// refuses changes; it writes nothing, even with a torn tail to trim.
func TestReadOnly(t *testing.T) {
	fsys := archive.NewSimFS(6)
	cfg := testConfig(fsys, archive.FsyncData)
	s := mustOpen(t, cfg)
	m := newModel()
	gen := newEntryGen(6)
	for i := range 30 {
		term := consensus.TermID(1 + i/10)
		lead := consensus.TermID(0)
		if i%10 == 0 {
			lead = term
		}
		b := gen.batch(10, 800, lead)
		if err := s.Append(term, b); err != nil {
			t.Fatal(err)
		}
		m.append(term, b)
	}
	if err := s.SaveHardState(consensus.HardState{Term: 3, Vote: 1}); err != nil {
		t.Fatal(err)
	}
	s.Sync()
	// Unsynced appends past the durable end, then a process crash (no
	// Close): the read-only view must not trim or sync anything.
	b := gen.batch(10, 800, 0)
	s.Append(3, b)
	s.flushNow()
	m.append(3, b)
	ro, err := OpenReadOnly(cfg.Dir, noWriteFS{fsys})
	if err != nil {
		t.Fatal(err)
	}
	checkAgainst(t, "read-only", ro, m)
	if hs, _ := ro.LoadHardState(); hs != (consensus.HardState{Term: 3, Vote: 1}) {
		t.Fatalf("hard state %+v", hs)
	}
	var n int
	var last consensus.Position
	err = ro.ScanEntries(0, ro.End(), func(p consensus.Position, e *consensus.LogEntry) bool {
		n++
		last = p
		return true
	})
	if err != nil || n != len(m.bounds)-1 || last != m.bounds[len(m.bounds)-2] {
		t.Fatalf("scan: %v, %d entries (want %d), last at %d", err, n, len(m.bounds)-1, last)
	}
	for name, err := range map[string]error{
		"append":   ro.Append(3, gen.batch(1, 10, 0)),
		"truncate": ro.Truncate(0),
		"sync":     ro.Sync(),
		"hs":       ro.SaveHardState(consensus.HardState{Term: 4}),
		"retain":   ro.Retain(1),
	} {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s: %v, want ErrReadOnly", name, err)
		}
	}
	if _, err := ro.CreateSnapshot(SnapshotMeta{}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("snapshot: %v", err)
	}
	ro.Close()
	s.Close()
}

func TestSegmentNames(t *testing.T) {
	for _, b := range []consensus.Position{0, 8, 1 << 40} {
		n := segmentName(b)
		if got, ok := parseSegmentName(n); !ok || got != b || !strings.HasPrefix(n, segmentPrefix) {
			t.Errorf("%d -> %q -> %d %t", b, n, got, ok)
		}
	}
	for _, n := range []string{"log-1.seg", "log--0000000000000000001.seg", "log-00000000000000000001.rec", "x"} {
		if _, ok := parseSegmentName(n); ok {
			t.Errorf("%q parsed", n)
		}
	}
	names := []string{segmentName(100), segmentName(9), segmentName(10)}
	slices.Sort(names)
	if !bytes.Equal([]byte(names[0]), []byte(segmentName(9))) {
		t.Errorf("names do not sort by base: %v", names)
	}
}

// noWriteFS fails every mutating operation: a read-only store must not
// need one.
type noWriteFS struct{ archive.FS }

var errWrite = errors.New("write on a read-only file system")

func (f noWriteFS) OpenFile(name string, create bool) (archive.File, error) {
	if create {
		return nil, errWrite
	}
	file, err := f.FS.OpenFile(name, false)
	if err != nil {
		return nil, err
	}
	return noWriteFile{file}, nil
}
func (noWriteFS) Rename(string, string) error { return errWrite }
func (noWriteFS) Remove(string) error         { return errWrite }
func (noWriteFS) SyncDir(string) error        { return errWrite }
func (noWriteFS) MkdirAll(string) error       { return errWrite }

type noWriteFile struct{ archive.File }

func (noWriteFile) WriteAt([]byte, int64) (int, error) { return 0, errWrite }
func (noWriteFile) SyncData() error                    { return errWrite }
func (noWriteFile) Sync() error                        { return errWrite }
func (noWriteFile) Truncate(int64) error               { return errWrite }
func (noWriteFile) Allocate(int64) error               { return errWrite }

// TestOpenLocked: a second Open of a directory in use fails with
// archive.ErrLocked before it writes anything; after Close it opens.
func TestOpenLocked(t *testing.T) {
	cfg := Config{Dir: t.TempDir(), Fsync: archive.FsyncData, SegmentLength: testSegmentLength}
	s := mustOpen(t, cfg)
	gen := newEntryGen(1)
	s.Append(1, gen.batch(5, 100, 1))
	if _, err := Open(cfg); !errors.Is(err, archive.ErrLocked) {
		t.Fatalf("second open: %v", err)
	}
	ro, err := OpenReadOnly(cfg.Dir, nil)
	if err != nil {
		t.Fatalf("read-only open beside a writer: %v", err)
	}
	ro.Close()
	s.Close()
	s = mustOpen(t, cfg)
	s.Close()
}

// TestRollsUnderTrafficFindTheirMirror: the mirror a roll takes is
// allocated when the store opens (and at a fresh store's first roll), never
// by a roll under traffic, whether the store is fresh or recovered.
func TestRollsUnderTrafficFindTheirMirror(t *testing.T) {
	fsys := archive.NewSimFS(11)
	cfg := testConfig(fsys, archive.FsyncNone)
	gen, m := newEntryGen(11), newModel()
	for _, phase := range []string{"fresh", "recovered"} {
		s := mustOpen(t, cfg)
		if int64(len(s.spare)) != s.cfg.SegmentLength {
			t.Fatalf("%s: opened with a %d-byte spare mirror, want %d", phase, len(s.spare), s.cfg.SegmentLength)
		}
		for n := len(s.segs); len(s.segs) < n+2; {
			appendNext(t, s, gen, m)
			if int64(len(s.spare)) != s.cfg.SegmentLength {
				t.Fatalf("%s: after a roll to segment %d no spare mirror is ready", phase, len(s.segs))
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestReadOnlyRacesPurge: a live member's purge removes a segment between
// OpenReadOnly's listing and its open of that segment. The open lists
// again; a segment that stays missing still fails, after a bounded number
// of listings.
func TestReadOnlyRacesPurge(t *testing.T) {
	fsys := archive.NewSimFS(7)
	cfg := testConfig(fsys, archive.FsyncData)
	s := mustOpen(t, cfg)
	defer s.Close()
	m := newModel()
	gen := newEntryGen(7)
	for i := range 10 {
		lead := consensus.TermID(0)
		if i == 0 {
			lead = 1
		}
		b := gen.batch(10, 800, lead)
		if err := s.Append(1, b); err != nil {
			t.Fatal(err)
		}
		m.append(1, b)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	for _, stale := range []int{1, openReadOnlyAttempts} {
		racy := &purgedFS{FS: fsys, gone: segmentName(0), stale: stale}
		ro, err := OpenReadOnly(cfg.Dir, racy)
		switch {
		case stale < openReadOnlyAttempts && err != nil:
			t.Fatalf("purged once: %v", err)
		case stale < openReadOnlyAttempts:
			checkAgainst(t, "after a racing purge", ro, m)
			ro.Close()
		case !errors.Is(err, fs.ErrNotExist):
			t.Fatalf("missing on every listing: %v, want fs.ErrNotExist", err)
		}
		if want := min(stale+1, openReadOnlyAttempts); racy.listings != want {
			t.Fatalf("stale %d: %d listings, want %d", stale, racy.listings, want)
		}
	}
}

// purgedFS fails the open of one listed segment for its first stale
// listings, as a purge between a listing and the open leaves it.
type purgedFS struct {
	archive.FS
	gone     string // the segment's file name
	stale    int
	listings int
}

func (f *purgedFS) ReadDir(dir string) ([]string, error) {
	f.listings++
	return f.FS.ReadDir(dir)
}

func (f *purgedFS) OpenFile(name string, create bool) (archive.File, error) {
	if strings.HasSuffix(name, f.gone) && f.listings <= f.stale {
		return nil, fmt.Errorf("open %s: %w", name, fs.ErrNotExist)
	}
	return f.FS.OpenFile(name, create)
}
