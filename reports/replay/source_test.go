package replay

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"venue/cluster/consensus"
	"venue/reports/surveil"
)

// Nothing replay does changes the directory it reads: the tree's names,
// modes, times and contents are the same before and after every command,
// snapshot reads included.
func TestNeverWritesTheSource(t *testing.T) {
	dir, _ := smallDay(t)
	before := treeDigest(t, dir)
	if _, err := Audit(dir, AuditConfig{}); err != nil {
		t.Fatal(err)
	}
	src := mustOpen(t, dir)
	if _, err := BookAt(src, BookConfig{Start: Start{FromSnapshot: true}, Symbol: "ALPHA", Orders: true}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := WriteEvents(src, io.Discard, EventsConfig{Account: "MM1", Format: surveil.FormatJSONL}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Surveil(src, SurveilConfig{Start: Start{FromSnapshot: true}, Rules: surveil.DefaultRules()}); err != nil {
		t.Fatal(err)
	}
	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if after := treeDigest(t, dir); after != before {
		t.Fatal("the source directory changed")
	}
}

// The file layer replay reads through refuses every change.
func TestReadOnlyFS(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, []byte("abc"), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys := readOnlyFS{}
	if _, err := fsys.OpenFile(filepath.Join(dir, "new"), true); !errors.Is(err, ErrReadOnly) {
		t.Fatalf("create: %v", err)
	}
	f, err := fsys.OpenFile(p, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, err := range map[string]error{
		"remove":   fsys.Remove(p),
		"rename":   fsys.Rename(p, p+"2"),
		"mkdir":    fsys.MkdirAll(filepath.Join(dir, "d")),
		"truncate": f.Truncate(0),
		"allocate": f.Allocate(10),
	} {
		if !errors.Is(err, ErrReadOnly) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := f.WriteAt([]byte("x"), 0); !errors.Is(err, ErrReadOnly) {
		t.Errorf("write: %v", err)
	}
	if n, err := f.Size(); n != 3 || err != nil {
		t.Errorf("size %d %v", n, err)
	}
	if b, _ := os.ReadFile(p); string(b) != "abc" {
		t.Fatalf("the file changed: %q", b)
	}
}

func TestParsePoint(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Point
		err  bool
	}{
		{"", Point{}, false},
		{"@0", AtPosition(0), false},
		{"@123456", AtPosition(123456), false},
		{"@-1", Point{}, true},
		{"@", Point{}, true},
		{"@12x", Point{}, true},
		{"1709310600000000000", AtTime(1709310600000000000), false},
		{"2024-03-01T16:30:00Z", AtTime(1709310600000000000), false},
		{"2024-03-01T17:30:00.5+01:00", AtTime(1709310600500000000), false},
		{"yesterday", Point{}, true},
	} {
		got, err := ParsePoint(c.in)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("ParsePoint(%q) = %v, %v; want %v (error %v)", c.in, got, err, c.want, c.err)
		}
		if err == nil && !got.IsZero() {
			if back, err := ParsePoint(got.String()); err != nil || back != got {
				t.Errorf("%q: String %q reads back as %v, %v", c.in, got.String(), back, err)
			}
		}
	}
}

func TestPointBounds(t *testing.T) {
	p, ts := AtPosition(100), AtTime(50)
	switch {
	case !p.covers(100, 0) || p.covers(101, 0) || !p.admits(101, 0) || p.admits(100, 0):
		t.Error("position bounds")
	case !ts.covers(0, 50) || ts.covers(0, 51) || !ts.admits(0, 50) || ts.admits(0, 49):
		t.Error("time bounds")
	case !(Point{}).covers(1<<62, 1<<62) || !(Point{}).admits(0, 0):
		t.Error("no bound")
	}
}

// The bounds' relationships that the code relies on.
func TestConstants(t *testing.T) {
	switch {
	case readChunkBytes < 2*consensus.EntryLengthMax:
		t.Error("a read chunk must hold whole entries, so that a decode failure at its start is corruption")
	case verifyIndexChunk%slotBytes != 0 || verifyDataChunk <= 0:
		t.Error("the index is read in whole slots")
	case writeBatchBytes < consensus.EntryLengthMax:
		t.Error("a write batch holds at least one entry")
	case snapOrderBytes != 91 || bookOrderBytes != 40 || bookHeaderBytes != 48:
		t.Error("snapshot record sizes are the engine's and the book's (version 1)")
	}
}
