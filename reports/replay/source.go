package replay

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"

	"venue/archive"
	"venue/cluster/consensus"
	"venue/cluster/logstore"
)

// Names in a member's data directory that replay reads (logstore owns
// them; see its package doc).
const (
	recordingLogName  = "recording.log"
	snapshotArchiveIn = "archive"
)

// ErrReadOnly is what every write through the source's file layer fails
// with: replay never changes the directory it reads.
var ErrReadOnly = errors.New("replay: the source directory is read-only to replay")

// Source is a member's data directory (or a copy of one) opened for
// replay: the log, its recording log and its snapshots, read without
// writing a byte (every file is opened O_RDONLY).
//
// Snapshot bytes live in an archive that logstore will only open for
// writing (it takes a lock and recovers it), so ReadSnapshot first copies
// the recording log and the snapshot archive to a temporary directory,
// once, and reads them there; Close removes the copy.
type Source struct {
	dir     string
	store   *logstore.Store
	tempDir string // parent of the snapshot copy ("": os.TempDir)
	copyDir string // the snapshot copy, once made
	copy    *logstore.Store
}

// Open opens a member's data directory read-only. tempDir is where a copy
// of its snapshots is made if one is read ("": the system's).
func Open(dir, tempDir string) (*Source, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("replay: data directory: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("replay: data directory %s is not a directory", dir)
	}
	store, err := logstore.OpenReadOnly(dir, readOnlyFS{})
	if err != nil {
		return nil, fmt.Errorf("replay: open the log in %s: %w", dir, err)
	}
	return &Source{dir: dir, store: store, tempDir: tempDir}, nil
}

// Dir returns the data directory.
func (s *Source) Dir() string { return s.dir }

// Store returns the read-only log store.
func (s *Source) Store() *logstore.Store { return s.store }

// Start returns the first readable log position (0 unless retention
// purged the log's beginning).
func (s *Source) Start() consensus.Position { return s.store.Start() }

// End returns the end of the intact log.
func (s *Source) End() consensus.Position { return s.store.End() }

// Snapshots returns the valid snapshot records of serviceID by position,
// one per position (the last recorded there).
func (s *Source) Snapshots(serviceID int32) []logstore.SnapshotRecord {
	var out []logstore.SnapshotRecord
	for _, r := range s.store.RecordingLog().Snapshots() {
		if r.ServiceID == serviceID {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Position < out[j].Position })
	dedup := out[:0]
	for i, r := range out {
		if i+1 < len(out) && out[i+1].Position == r.Position {
			continue
		}
		dedup = append(dedup, r)
	}
	return slices.Clip(dedup)
}

// ReadSnapshot opens a snapshot's bytes. The reader checks them against
// the record's length and CRC32C and fails at the end if they differ.
func (s *Source) ReadSnapshot(rec logstore.SnapshotRecord) (io.ReadCloser, error) {
	if s.copy == nil {
		if err := s.copySnapshots(); err != nil {
			return nil, err
		}
	}
	r, err := s.copy.OpenSnapshot(rec)
	if err != nil {
		return nil, fmt.Errorf("replay: snapshot %d at position %d: %w", rec.RecordingID, rec.Position, err)
	}
	return r, nil
}

// copySnapshots copies the recording log and the snapshot archive into a
// new temporary directory and opens a store there.
func (s *Source) copySnapshots() error {
	if _, err := os.Stat(filepath.Join(s.dir, snapshotArchiveIn)); err != nil {
		return fmt.Errorf("replay: no snapshot archive in %s: %w", s.dir, err)
	}
	tmp, err := os.MkdirTemp(s.tempDir, "venue-replay-snapshots-")
	if err != nil {
		return fmt.Errorf("replay: directory for the snapshot copy: %w", err)
	}
	s.copyDir = tmp
	if err := copyFile(filepath.Join(s.dir, recordingLogName), filepath.Join(tmp, recordingLogName)); err != nil {
		return err
	}
	if err := copyTree(filepath.Join(s.dir, snapshotArchiveIn), filepath.Join(tmp, snapshotArchiveIn)); err != nil {
		return err
	}
	c, err := logstore.Open(logstore.Config{Dir: tmp, Fsync: archive.FsyncNone})
	if err != nil {
		return fmt.Errorf("replay: open the snapshot copy in %s: %w", tmp, err)
	}
	s.copy = c
	return nil
}

// Close closes the log and removes the snapshot copy.
func (s *Source) Close() error {
	errs := []error{s.store.Close()}
	if s.copy != nil {
		errs = append(errs, s.copy.Close())
	}
	if s.copyDir != "" {
		errs = append(errs, os.RemoveAll(s.copyDir))
	}
	return errors.Join(errs...)
}

func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("replay: copy snapshots: %w", err)
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return fmt.Errorf("replay: copy snapshots: %w", err)
		}
		dst := filepath.Join(to, rel)
		switch {
		case d.IsDir():
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return fmt.Errorf("replay: copy snapshots: %w", err)
			}
		case d.Type().IsRegular():
			return copyFile(path, dst)
		}
		return nil
	})
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("replay: copy %s: %w", from, err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return fmt.Errorf("replay: copy to %s: %w", to, err)
	}
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("replay: copy %s: %w", from, err)
	}
	return nil
}

// readOnlyFS is an archive.FS that opens files O_RDONLY and fails every
// change with ErrReadOnly: whatever logstore does in read-only mode, the
// source directory cannot change through it (and a directory on a
// read-only mount or without write permission can be replayed).
type readOnlyFS struct{}

var _ archive.FS = readOnlyFS{}

func (readOnlyFS) OpenFile(name string, create bool) (archive.File, error) {
	if create {
		return nil, fmt.Errorf("create %s: %w", name, ErrReadOnly)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	return readOnlyFile{f}, nil
}

func (readOnlyFS) Rename(o, n string) error {
	return fmt.Errorf("rename %s: %w", o, ErrReadOnly)
}
func (readOnlyFS) Remove(name string) error { return fmt.Errorf("remove %s: %w", name, ErrReadOnly) }
func (readOnlyFS) SyncDir(string) error     { return nil } // nothing was changed: nothing to sync
func (readOnlyFS) MkdirAll(dir string) error {
	return fmt.Errorf("mkdir %s: %w", dir, ErrReadOnly)
}

func (readOnlyFS) ReadDir(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names, nil
}

// readOnlyFile is an O_RDONLY file as an archive.File.
type readOnlyFile struct{ f *os.File }

func (r readOnlyFile) ReadAt(p []byte, off int64) (int, error) { return r.f.ReadAt(p, off) }
func (r readOnlyFile) WriteAt([]byte, int64) (int, error) {
	return 0, fmt.Errorf("write %s: %w", r.f.Name(), ErrReadOnly)
}
func (r readOnlyFile) SyncData() error { return nil }
func (r readOnlyFile) Sync() error     { return nil }
func (r readOnlyFile) Truncate(int64) error {
	return fmt.Errorf("truncate %s: %w", r.f.Name(), ErrReadOnly)
}
func (r readOnlyFile) Allocate(int64) error {
	return fmt.Errorf("allocate %s: %w", r.f.Name(), ErrReadOnly)
}
func (r readOnlyFile) Close() error { return r.f.Close() }

func (r readOnlyFile) Size() (int64, error) {
	st, err := r.f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}
