package clustertool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"

	"venue/transport"
)

// The counters file layout this package relies on to write one value in
// place. transport owns the format (transport/counters.go) and offers only
// a read-only reader, so these mirror its layout for countersVersion; a
// file of any other version is refused rather than written to blindly.
const (
	countersMagic          = "VNCNTR01"
	countersVersion        = 1
	countersVersionOffset  = 8
	countersCapacityOffset = 12
	countersHeaderLength   = 128
	counterValueLength     = 128
	counterMetadataLength  = 256
)

// errCountersFormat: a counters file this package cannot write to.
var errCountersFormat = errors.New("clustertool: unknown counters file format")

// countersLayout checks a counters file's header and returns its capacity.
func countersLayout(b []byte) (int, error) {
	if len(b) < countersHeaderLength || string(b[:len(countersMagic)]) != countersMagic {
		return 0, fmt.Errorf("%w: bad magic", errCountersFormat)
	}
	if v := binary.LittleEndian.Uint32(b[countersVersionOffset:]); v != countersVersion {
		return 0, fmt.Errorf("%w: version %d (this tool knows %d)", errCountersFormat, v, countersVersion)
	}
	capacity := int(binary.LittleEndian.Uint32(b[countersCapacityOffset:]))
	if capacity < 1 || capacity > transport.CountersCapacityMax ||
		countersHeaderLength+capacity*(counterValueLength+counterMetadataLength) > len(b) {
		return 0, fmt.Errorf("%w: capacity %d does not fit %d bytes", errCountersFormat, capacity, len(b))
	}
	return capacity, nil
}

// countersFile is one member's counters file, mapped read-only for the
// labels (transport's reader) and, when writable, read-write for the
// control toggle's compare-and-set.
type countersFile struct {
	path     string
	reader   *transport.CountersReader
	rw       []byte // nil unless writable
	capacity int
}

// openCountersFile maps the counters file at path.
func openCountersFile(path string, writable bool) (*countersFile, error) {
	r, err := transport.OpenCountersFile(path)
	if err != nil {
		return nil, err
	}
	cf := &countersFile{path: path, reader: r}
	if !writable {
		return cf, nil
	}
	if err := cf.mapWritable(); err != nil {
		r.Close()
		return nil, err
	}
	return cf, nil
}

func (cf *countersFile) mapWritable() error {
	f, err := os.OpenFile(cf.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("clustertool: open %s to write the control toggle: %w", cf.path, err)
	}
	defer f.Close() // the mapping outlives the descriptor
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("clustertool: stat %s: %w", cf.path, err)
	}
	if st.Size() < countersHeaderLength || st.Size() > int64(maxInt) {
		return fmt.Errorf("clustertool: %s: %w: %d bytes", cf.path, errCountersFormat, st.Size())
	}
	b, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("clustertool: map %s: %w", cf.path, err)
	}
	capacity, err := countersLayout(b)
	if err != nil {
		unix.Munmap(b)
		return fmt.Errorf("clustertool: %s: %w", cf.path, err)
	}
	cf.rw, cf.capacity = b, capacity
	return nil
}

const maxInt = int(^uint(0) >> 1)

// value returns counter id's value in the writable mapping.
func (cf *countersFile) value(id int32) (*int64, error) {
	if cf.rw == nil {
		return nil, errors.New("clustertool: counters file mapped read-only")
	}
	if id < 0 || int(id) >= cf.capacity {
		return nil, fmt.Errorf("clustertool: counter %d outside %s (%d counters)", id, cf.path, cf.capacity)
	}
	return (*int64)(unsafe.Pointer(&cf.rw[countersHeaderLength+int(id)*counterValueLength])), nil
}

// load reads counter id through the writable mapping.
func (cf *countersFile) load(id int32) (int64, error) {
	p, err := cf.value(id)
	if err != nil {
		return 0, err
	}
	return atomic.LoadInt64(p), nil
}

// compareAndSet sets counter id to new if it holds old.
func (cf *countersFile) compareAndSet(id int32, old, new int64) (bool, error) {
	p, err := cf.value(id)
	if err != nil {
		return false, err
	}
	return atomic.CompareAndSwapInt64(p, old, new), nil
}

func (cf *countersFile) close() error {
	err := cf.reader.Close()
	if cf.rw != nil {
		if uerr := unix.Munmap(cf.rw); err == nil {
			err = uerr
		}
		cf.rw = nil
	}
	return err
}
