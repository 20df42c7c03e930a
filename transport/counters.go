package transport

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Counters file layout. One file per component instance (for example one per
// cluster member), memory-mapped so that another process (venue stat) can
// read live values without asking the owner:
//
//	header   countersHeaderLength bytes: magic, version, capacity, owner pid, start time
//	values   capacity × counterValueLength bytes: an int64 at the start of each record
//	metadata capacity × counterMetadataLength bytes: state, type id, label
//
// Each value has a 128-byte record of its own so that two counters updated by
// different goroutines never share a cache line (nor the adjacent line the
// hardware prefetcher pairs with it).
const (
	countersMagic        = "VNCNTR01"
	countersVersion      = 1
	countersHeaderLength = 128

	counterValueLength    = 128
	counterMetadataLength = 256

	metaStateOffset       = 0
	metaTypeIDOffset      = 4
	metaLabelLengthOffset = 8
	metaLabelOffset       = 12

	// CounterLabelLengthMax is the longest label a counter keeps; longer
	// labels are cut.
	CounterLabelLengthMax = counterMetadataLength - metaLabelOffset

	// CountersCapacityMax bounds one counters file.
	CountersCapacityMax = 1 << 16

	// CountersFileName is the name of the counters file in a component's directory.
	CountersFileName = "counters.dat"
)

// Counter record states.
const (
	counterStateUnused    int32 = 0
	counterStateAllocated int32 = 1
	counterStateReclaimed int32 = 2
)

// Counter type ids are stable across releases; each component owns a range.
const (
	CounterTypeTransportBase = 0   // transport: 0..99
	CounterTypeArchiveBase   = 100 // archive: 100..199
	CounterTypeClusterBase   = 200 // cluster: 200..299
	CounterTypeVenueBase     = 300 // engine, gateway, market data: 300..
)

// ErrCountersFull is returned when every counter record is in use.
var ErrCountersFull = errors.New("transport: counters file full")

// Counter is one live 64-bit value in a counters file. Its methods are safe
// for concurrent use; they never allocate.
type Counter struct {
	id    int32
	value *int64
}

// ID returns the counter's id: its record index in the file.
func (c *Counter) ID() int32 { return c.id }

// Get loads the value.
func (c *Counter) Get() int64 { return atomic.LoadInt64(c.value) }

// Set stores v.
func (c *Counter) Set(v int64) { atomic.StoreInt64(c.value, v) }

// Add adds delta and returns the new value.
func (c *Counter) Add(delta int64) int64 { return atomic.AddInt64(c.value, delta) }

// Increment adds one.
func (c *Counter) Increment() { atomic.AddInt64(c.value, 1) }

// ProposeMax raises the value to v if v is larger, for positions that only
// move forward.
func (c *Counter) ProposeMax(v int64) {
	for {
		cur := atomic.LoadInt64(c.value)
		if v <= cur || atomic.CompareAndSwapInt64(c.value, cur, v) {
			return
		}
	}
}

// CountersManager allocates counters in a counters buffer, in memory or in a
// memory-mapped file.
type CountersManager struct {
	mu       sync.Mutex
	buf      []byte
	capacity int
	free     []int32 // reclaimed ids, reused first
	next     int32   // next never-used id
	file     *os.File
}

// NewCountersManager returns a manager over process memory, for tests and the
// simulator.
func NewCountersManager(capacity int) *CountersManager {
	capacity = clampCapacity(capacity)
	words := make([]uint64, countersFileLength(capacity)/8) // 8-byte aligned for atomics
	buf := unsafe.Slice((*byte)(unsafe.Pointer(&words[0])), len(words)*8)
	initCountersHeader(buf, capacity)
	return &CountersManager{buf: buf, capacity: capacity}
}

// CreateCountersFile creates (or replaces) a counters file at path with room
// for capacity counters and maps it into memory.
func CreateCountersFile(path string, capacity int) (*CountersManager, error) {
	capacity = clampCapacity(capacity)
	length := countersFileLength(capacity)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("transport: create counters file: %w", err)
	}
	if err := f.Truncate(int64(length)); err != nil {
		f.Close()
		return nil, fmt.Errorf("transport: size counters file %s: %w", path, err)
	}
	buf, err := unix.Mmap(int(f.Fd()), 0, length, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("transport: map counters file %s: %w", path, err)
	}
	initCountersHeader(buf, capacity)
	return &CountersManager{buf: buf, capacity: capacity, file: f}, nil
}

func clampCapacity(c int) int {
	return min(max(c, 1), CountersCapacityMax)
}

func countersFileLength(capacity int) int {
	return countersHeaderLength + capacity*(counterValueLength+counterMetadataLength)
}

func initCountersHeader(buf []byte, capacity int) {
	copy(buf, countersMagic)
	binary.LittleEndian.PutUint32(buf[8:], countersVersion)
	binary.LittleEndian.PutUint32(buf[12:], uint32(capacity))
	binary.LittleEndian.PutUint64(buf[16:], uint64(os.Getpid()))
}

// Allocate returns a new counter of typeID with label, starting at zero.
func (m *CountersManager) Allocate(typeID int32, label string) (*Counter, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.buf == nil {
		return nil, errors.New("transport: counters manager closed")
	}
	var id int32
	switch {
	case len(m.free) > 0:
		id = m.free[len(m.free)-1]
		m.free = m.free[:len(m.free)-1]
	case int(m.next) < m.capacity:
		id = m.next
		m.next++
	default:
		return nil, fmt.Errorf("%w (%d counters)", ErrCountersFull, m.capacity)
	}
	c := &Counter{id: id, value: valuePtr(m.buf, id)}
	c.Set(0)
	meta := metadataRecord(m.buf, m.capacity, id)
	binary.LittleEndian.PutUint32(meta[metaTypeIDOffset:], uint32(typeID))
	n := copy(meta[metaLabelOffset:], label)
	binary.LittleEndian.PutUint32(meta[metaLabelLengthOffset:], uint32(n))
	// The state is stored last so that a concurrent reader never sees a
	// half-written label.
	atomic.StoreInt32(statePtr(meta), counterStateAllocated)
	return c, nil
}

// MustAllocate is Allocate for fixed catalogues sized at construction, where
// running out is a programming error.
func (m *CountersManager) MustAllocate(typeID int32, label string) *Counter {
	c, err := m.Allocate(typeID, label)
	if err != nil {
		panic(err)
	}
	return c
}

// Free returns c's record for reuse. c must not be used afterwards.
func (m *CountersManager) Free(c *Counter) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.buf == nil {
		return
	}
	meta := metadataRecord(m.buf, m.capacity, c.id)
	atomic.StoreInt32(statePtr(meta), counterStateReclaimed)
	m.free = append(m.free, c.id)
}

// Reader returns a reader over this manager's buffer.
func (m *CountersManager) Reader() *CountersReader {
	return &CountersReader{buf: m.buf, capacity: m.capacity}
}

// Close unmaps and closes the file (if any). Counters must not be used after.
func (m *CountersManager) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.file == nil {
		m.buf = nil
		return nil
	}
	err := unix.Munmap(m.buf)
	m.buf = nil
	if cerr := m.file.Close(); err == nil {
		err = cerr
	}
	m.file = nil
	return err
}

// CountersReader reads counters, from this process or from another one's
// mapped file.
type CountersReader struct {
	buf      []byte
	capacity int
	unmap    bool
}

// OpenCountersFile maps an existing counters file read-only.
func OpenCountersFile(path string) (*CountersReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("transport: open counters file: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("transport: stat counters file %s: %w", path, err)
	}
	if st.Size() < countersHeaderLength {
		return nil, fmt.Errorf("transport: counters file %s: too short (%d bytes)", path, st.Size())
	}
	buf, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("transport: map counters file %s: %w", path, err)
	}
	r, err := newCountersReader(buf)
	if err != nil {
		unix.Munmap(buf)
		return nil, fmt.Errorf("transport: counters file %s: %w", path, err)
	}
	r.unmap = true
	return r, nil
}

func newCountersReader(buf []byte) (*CountersReader, error) {
	if len(buf) < countersHeaderLength || string(buf[:8]) != countersMagic {
		return nil, errors.New("not a counters file (bad magic)")
	}
	if v := binary.LittleEndian.Uint32(buf[8:]); v != countersVersion {
		return nil, fmt.Errorf("unsupported counters version %d", v)
	}
	capacity := int(binary.LittleEndian.Uint32(buf[12:]))
	if capacity < 1 || capacity > CountersCapacityMax || countersFileLength(capacity) > len(buf) {
		return nil, fmt.Errorf("capacity %d does not fit %d bytes", capacity, len(buf))
	}
	return &CountersReader{buf: buf, capacity: capacity}, nil
}

// OwnerPID returns the process id that created the counters.
func (r *CountersReader) OwnerPID() int { return int(binary.LittleEndian.Uint64(r.buf[16:])) }

// CounterInfo describes one allocated counter as a reader sees it.
type CounterInfo struct {
	ID     int32
	TypeID int32
	Label  string
	Value  int64
}

// ForEach calls fn for every allocated counter in id order.
func (r *CountersReader) ForEach(fn func(CounterInfo)) {
	for id := int32(0); int(id) < r.capacity; id++ {
		meta := metadataRecord(r.buf, r.capacity, id)
		state := atomic.LoadInt32(statePtr(meta))
		if state == counterStateUnused {
			return // records are used in order; the first unused ends the list
		}
		if state != counterStateAllocated {
			continue
		}
		n := int(binary.LittleEndian.Uint32(meta[metaLabelLengthOffset:]))
		n = min(max(n, 0), CounterLabelLengthMax)
		fn(CounterInfo{
			ID:     id,
			TypeID: int32(binary.LittleEndian.Uint32(meta[metaTypeIDOffset:])),
			Label:  string(meta[metaLabelOffset : metaLabelOffset+n]),
			Value:  atomic.LoadInt64(valuePtr(r.buf, id)),
		})
	}
}

// Close unmaps a reader opened with OpenCountersFile.
func (r *CountersReader) Close() error {
	if !r.unmap || r.buf == nil {
		return nil
	}
	err := unix.Munmap(r.buf)
	r.buf = nil
	return err
}

func valuePtr(buf []byte, id int32) *int64 {
	off := countersHeaderLength + int(id)*counterValueLength
	return (*int64)(unsafe.Pointer(&buf[off]))
}

func metadataRecord(buf []byte, capacity int, id int32) []byte {
	off := countersHeaderLength + capacity*counterValueLength + int(id)*counterMetadataLength
	return buf[off : off+counterMetadataLength]
}

func statePtr(meta []byte) *int32 {
	return (*int32)(unsafe.Pointer(&meta[metaStateOffset]))
}
