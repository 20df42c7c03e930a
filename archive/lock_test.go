package archive

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
)

// A second Open of a directory in use fails with ErrLocked, naming the
// directory and the holder's pid; Close releases the lock.
func TestDirectoryLock(t *testing.T) {
	dir := t.TempDir()
	a, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(Config{Dir: dir})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if msg := err.Error(); !strings.Contains(msg, dir) || !strings.Contains(msg, "process "+strconv.Itoa(os.Getpid())) {
		t.Fatalf("the error does not name the directory and the holder: %q", msg)
	}
	if _, err := Open(Config{Dir: dir, FS: &OSFS{}}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open through *OSFS: %v, want ErrLocked", err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := Open(Config{Dir: dir})
	if err != nil {
		t.Fatalf("open after close: %v", err)
	}
	b.Close()
}

// A simulated file layer has no directory to lock.
func TestSimFSIsNotLocked(t *testing.T) {
	fs := NewSimFS(0)
	a, err := Open(Config{Dir: "/arch", FS: fs, SegmentLength: testSegmentLength})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if a.lock != nil {
		t.Fatal("a lock on a simulated directory")
	}
}
