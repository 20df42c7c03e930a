package archive

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lockFileName is the file in an archive directory that the process holding
// the archive keeps locked (flock) and writes its pid into.
const lockFileName = "archive.lock"

// lockPidLengthMax bounds how much of a lock file is read for the holder's pid.
const lockPidLengthMax = 32

// ErrLocked: another Archive, in this process or another, holds the directory.
var ErrLocked = errors.New("archive: directory locked")

// dirLock is an exclusive flock on an archive directory's lock file. Two
// writers on one directory would interleave catalog updates and segment
// writes and corrupt both; the lock turns that into a clear error at Open.
// flock belongs to the open file description, so a second Open in the same
// process is refused too, and the kernel releases it when the process dies:
// a crashed holder never leaves a stale lock.
type dirLock struct {
	f *os.File
}

// lockDir takes the lock on dir or explains who holds it.
func lockDir(dir string) (*dirLock, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("archive: open lock file %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := readLockHolder(f)
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is in use by process %s (lock file %s)", ErrLocked, dir, holder, path)
		}
		return nil, fmt.Errorf("archive: lock %s: %w", path, err)
	}
	pid := strconv.Itoa(os.Getpid()) + "\n"
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(pid), 0)
	}
	// The pid is only for the error message: a failure to write it is not a
	// failure to lock.
	return &dirLock{f: f}, nil
}

// readLockHolder returns the pid written in the lock file, or "unknown".
func readLockHolder(f *os.File) string {
	buf := make([]byte, lockPidLengthMax)
	n, _ := f.ReadAt(buf, 0)
	pid := strings.TrimSpace(string(buf[:n]))
	if _, err := strconv.Atoi(pid); err != nil {
		return "unknown"
	}
	return pid
}

// release drops the lock. The file stays: removing it would race with a
// process that has just opened it and is about to lock it.
func (l *dirLock) release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close() // closing the last descriptor releases the flock
	l.f = nil
	return err
}
