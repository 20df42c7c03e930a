package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"
)

// FS is the file layer the archive is written against. It is deliberately
// small so that a simulator can implement it and inject faults: lost unsynced
// writes on power loss, torn writes, ENOSPC, failed syncs. OSFS is the real
// implementation; SimFS is the simulated one.
//
// Names are slash-separated paths as filepath.Join builds them. The archive
// keeps every file of one archive in one flat directory.
type FS interface {
	// OpenFile opens name for reading and writing, creating it when create is
	// set. Opening a missing file without create fails with fs.ErrNotExist.
	OpenFile(name string, create bool) (File, error)
	// Rename atomically replaces newName with oldName.
	Rename(oldName, newName string) error
	// Remove deletes name.
	Remove(name string) error
	// ReadDir returns the names of the entries in dir, sorted.
	ReadDir(dir string) ([]string, error)
	// SyncDir makes dir's entries (creations, renames, removals) durable.
	SyncDir(dir string) error
	// MkdirAll creates dir and its parents.
	MkdirAll(dir string) error
}

// File is an open file. Reads and writes are positional, so one File may be
// read by replays while the recorder writes further on.
type File interface {
	// ReadAt reads len(p) bytes at off; at the end of the file it returns
	// fewer bytes and io.EOF, as os.File does.
	ReadAt(p []byte, off int64) (int, error)
	// WriteAt writes p at off, extending the file when needed.
	WriteAt(p []byte, off int64) (int, error)
	// SyncData makes the file's data, and the metadata needed to read it
	// back (its size), durable: fdatasync(2).
	SyncData() error
	// Sync makes the file's data and all its metadata durable: fsync(2).
	Sync() error
	// Truncate sets the file's size.
	Truncate(size int64) error
	// Allocate reserves disk blocks for [0, size) and extends the file to at
	// least size bytes, so later writes in that range cannot fail for lack
	// of space: fallocate(2).
	Allocate(size int64) error
	// Size returns the file's current size.
	Size() (int64, error)
	// Close releases the file.
	Close() error
}

// OSFS is the FS of the operating system.
type OSFS struct{}

var _ FS = OSFS{}

// OpenFile opens or creates name with mode 0644.
func (OSFS) OpenFile(name string, create bool) (File, error) {
	flag := os.O_RDWR
	if create {
		flag |= os.O_CREATE
	}
	f, err := os.OpenFile(name, flag, 0o644)
	if err != nil {
		return nil, err
	}
	return &osFile{f: f, fd: int(f.Fd())}, nil
}

// Rename renames oldName to newName.
func (OSFS) Rename(oldName, newName string) error { return os.Rename(oldName, newName) }

// Remove removes name.
func (OSFS) Remove(name string) error { return os.Remove(name) }

// ReadDir lists dir's entry names in sorted order.
func (OSFS) ReadDir(dir string) ([]string, error) {
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

// SyncDir fsyncs the directory itself.
func (OSFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}

// MkdirAll creates dir with mode 0755.
func (OSFS) MkdirAll(dir string) error { return os.MkdirAll(dir, 0o755) }

type osFile struct {
	f  *os.File
	fd int
}

func (o *osFile) ReadAt(p []byte, off int64) (int, error)  { return o.f.ReadAt(p, off) }
func (o *osFile) WriteAt(p []byte, off int64) (int, error) { return o.f.WriteAt(p, off) }
func (o *osFile) Sync() error                              { return o.f.Sync() }
func (o *osFile) Truncate(size int64) error                { return o.f.Truncate(size) }
func (o *osFile) Close() error                             { return o.f.Close() }

func (o *osFile) SyncData() error {
	for {
		err := unix.Fdatasync(o.fd)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &fs.PathError{Op: "fdatasync", Path: o.f.Name(), Err: err}
		}
		return nil
	}
}

// Allocate uses fallocate(2) and falls back to extending the file (sparse)
// on file systems that do not support it.
func (o *osFile) Allocate(size int64) error {
	for {
		err := unix.Fallocate(o.fd, 0, 0, size)
		switch {
		case err == unix.EINTR:
			continue
		case errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.ENOSYS):
			return o.extend(size)
		case err != nil:
			return &fs.PathError{Op: "fallocate", Path: o.f.Name(), Err: err}
		}
		return nil
	}
}

func (o *osFile) extend(size int64) error {
	cur, err := o.Size()
	if err != nil || cur >= size {
		return err
	}
	return o.f.Truncate(size)
}

func (o *osFile) Size() (int64, error) {
	st, err := o.f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// joinPath is filepath.Join, named for the archive's one flat directory.
func joinPath(dir, name string) string { return filepath.Join(dir, name) }
