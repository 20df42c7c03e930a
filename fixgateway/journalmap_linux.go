package fixgateway

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapJournalWindow reserves the file's blocks for [off, off+n) — growing
// the file to cover them — and maps that range shared and writable. The
// reservation is what makes stores into the mapping safe: a store into a
// page the file system has no block for would raise SIGBUS when the disk
// is full, where a reservation fails here with an error instead.
func mapJournalWindow(f *os.File, off int64, n int) ([]byte, error) {
	fd := int(f.Fd())
	if err := unix.Fallocate(fd, 0, off, int64(n)); err != nil {
		return nil, err
	}
	return unix.Mmap(fd, off, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
}

// unmapJournalWindow undoes mapJournalWindow's mapping.
func unmapJournalWindow(b []byte) error { return unix.Munmap(b) }

// journalPageBytes is the alignment of a mapping's file offset.
var journalPageBytes = int64(os.Getpagesize())
