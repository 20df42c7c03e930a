package archive

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"syscall"
	"testing"
)

// Both file systems honour the same contract for the calls the archive makes.
func TestFSContract(t *testing.T) {
	for name, fsys := range map[string]FS{"os": OSFS{}, "sim": NewSimFS(1)} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := fsys.MkdirAll(dir); err != nil {
				t.Fatal(err)
			}
			if _, err := fsys.OpenFile(joinPath(dir, "missing"), false); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("open missing: %v, want ErrNotExist", err)
			}
			f, err := fsys.OpenFile(joinPath(dir, "a"), true)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Allocate(4096); err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt([]byte("hello"), 100); err != nil {
				t.Fatal(err)
			}
			if size, _ := f.Size(); size != 4096 {
				t.Fatalf("size %d after allocate, want 4096", size)
			}
			buf := make([]byte, 5)
			if _, err := f.ReadAt(buf, 100); err != nil || string(buf) != "hello" {
				t.Fatalf("read %q, %v", buf, err)
			}
			if n, err := f.ReadAt(buf, 4094); n != 2 || err != io.EOF {
				t.Fatalf("read at end: %d, %v; want 2, EOF", n, err)
			}
			if err := f.SyncData(); err != nil {
				t.Fatal(err)
			}
			if err := f.Truncate(10); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if err := fsys.Rename(joinPath(dir, "a"), joinPath(dir, "b")); err != nil {
				t.Fatal(err)
			}
			if err := fsys.SyncDir(dir); err != nil {
				t.Fatal(err)
			}
			names, err := fsys.ReadDir(dir)
			if err != nil || len(names) != 1 || names[0] != "b" {
				t.Fatalf("readdir %v, %v; want [b]", names, err)
			}
			if err := fsys.Remove(joinPath(dir, "b")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Power loss keeps every synced byte and forgets unsynced files.
func TestSimFSPowerLossKeepsSynced(t *testing.T) {
	for seed := uint64(0); seed < 50; seed++ {
		s := NewSimFS(seed)
		s.MkdirAll("/d")
		f, _ := s.OpenFile("/d/f", true)
		synced := bytes.Repeat([]byte{0xAB}, 3000)
		f.WriteAt(synced, 0)
		f.SyncData()
		s.SyncDir("/d")
		f.WriteAt(bytes.Repeat([]byte{0xCD}, 3000), 1500) // unsynced, overlapping
		g, _ := s.OpenFile("/d/unsynced-entry", true)
		g.WriteAt([]byte("x"), 0)
		g.SyncData()
		s.PowerLoss()

		if _, err := f.ReadAt(make([]byte, 1), 0); !errors.Is(err, ErrPowerLost) {
			t.Fatalf("seed %d: old handle still works: %v", seed, err)
		}
		if _, err := s.OpenFile("/d/unsynced-entry", false); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("seed %d: file created without SyncDir survived power loss", seed)
		}
		f, _ = s.OpenFile("/d/f", false)
		got := make([]byte, 1500)
		f.ReadAt(got, 0)
		if !bytes.Equal(got, synced[:1500]) {
			t.Fatalf("seed %d: synced bytes lost", seed)
		}
	}
}

// Across seeds, unsynced writes are sometimes kept, sometimes dropped and
// sometimes torn: the faults the recovery code must handle all occur.
func TestSimFSPowerLossOutcomesVary(t *testing.T) {
	outcomes := map[string]bool{}
	for seed := uint64(0); seed < 64; seed++ {
		s := NewSimFS(seed)
		s.MkdirAll("/d")
		f, _ := s.OpenFile("/d/f", true)
		f.SyncData()
		s.SyncDir("/d")
		f.WriteAt(bytes.Repeat([]byte{1}, 4*simSectorLength), 0)
		s.PowerLoss()
		f, _ = s.OpenFile("/d/f", false)
		size, _ := f.Size()
		buf := make([]byte, size)
		f.ReadAt(buf, 0)
		switch ones := bytes.Count(buf, []byte{1}); {
		case ones == 0:
			outcomes["dropped"] = true
		case ones == 4*simSectorLength:
			outcomes["kept"] = true
		default:
			outcomes["torn"] = true
		}
	}
	if len(outcomes) != 3 {
		t.Fatalf("outcomes %v, want dropped, kept and torn", outcomes)
	}
}

func TestSimFSSpaceLimitAndSyncFaults(t *testing.T) {
	s := NewSimFS(7)
	s.MkdirAll("/d")
	s.SetSpaceLimit(1000)
	f, _ := s.OpenFile("/d/f", true)
	if err := f.Allocate(800); err != nil {
		t.Fatal(err)
	}
	if err := f.Allocate(1200); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("allocate past the limit: %v, want ENOSPC", err)
	}
	if _, err := f.WriteAt(make([]byte, 300), 800); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write past the limit: %v, want ENOSPC", err)
	}
	if _, err := f.WriteAt(make([]byte, 100), 700); err != nil {
		t.Fatalf("write inside the allocation: %v", err)
	}
	s.SetSpaceLimit(0)
	if err := f.Allocate(1200); err != nil {
		t.Fatalf("allocate after space returned: %v", err)
	}
	s.FailSyncs(1, syscall.EIO)
	if err := f.SyncData(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("sync: %v, want EIO", err)
	}
	if err := f.SyncData(); err != nil {
		t.Fatalf("second sync: %v", err)
	}
}
