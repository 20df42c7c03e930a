package archive

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"syscall"
)

// simSectorLength is the unit in which the simulated disk tears a write on
// power loss: each 512-byte sector of an unsynced write survives or not on
// its own, the way a real disk's sectors do.
const simSectorLength = 512

// ErrPowerLost is returned by every operation on a SimFS file that was open
// when the simulated power failed; reopen the file after PowerLoss.
var ErrPowerLost = errors.New("archive: simulated power loss closed this file")

// SimFS is a simulated, in-memory FS for tests and the deterministic cluster
// simulator. It remembers, per file, which writes have been made durable by
// a sync and which have not. PowerLoss then forgets unsynced state the way a
// real machine can: each unsynced write is kept, dropped, or torn (a random
// subset of its sectors kept), chosen by the seeded random source; file
// creations, renames and removals not followed by SyncDir are undone. Faults
// can be injected: a space limit (ENOSPC) and failing syncs.
//
// Directories created by MkdirAll are durable at once (a simplification: the
// archive creates its directory once, before any data). SimFS is safe for
// concurrent use. The same seed and the same calls produce the same result.
type SimFS struct {
	mu  sync.Mutex
	rng *rand.Rand

	dirs map[string]*simDir
	gen  uint64 // power-loss generation; handles of older generations fail

	spaceLimit   int64 // bytes; 0 means unlimited
	used         int64 // bytes in live files
	syncFaults   int   // how many of the next syncs fail
	syncFaultErr error
	crashAfter   int // power fails at this many more mutating operations; 0: never
}

type simDir struct {
	live    map[string]*simInode
	durable map[string]*simInode
}

type simInode struct {
	data    []byte  // what reads see
	durable []byte  // what survives power loss
	pending []simOp // changes since the last sync, in order
}

type simOpKind uint8

const (
	simOpWrite simOpKind = iota
	simOpResize
)

type simOp struct {
	kind simOpKind
	off  int64
	data []byte
	size int64
}

var _ FS = (*SimFS)(nil)

// NewSimFS returns an empty simulated file system whose faults are drawn from
// a random source seeded with seed.
func NewSimFS(seed uint64) *SimFS {
	return &SimFS{
		rng:  rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		dirs: map[string]*simDir{},
	}
}

// SetSpaceLimit makes writes and allocations that would grow the live files
// beyond limit bytes in total fail with ENOSPC. Zero removes the limit.
func (s *SimFS) SetSpaceLimit(limit int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.spaceLimit = limit
}

// Used returns the bytes held by live files.
func (s *SimFS) Used() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.used
}

// FailSyncs makes the next n syncs (of files or directories) fail with err.
// Like Linux after a failed fsync, a file's unsynced writes stay readable
// but will not survive power loss.
func (s *SimFS) FailSyncs(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.syncFaults, s.syncFaultErr = n, err
}

// CrashAfter makes the power fail during the n-th mutating operation from
// now (write, sync, allocate, truncate, create, rename, remove, SyncDir):
// that operation does not happen and returns ErrPowerLost, as does every
// later one on files opened before. Zero disarms it.
func (s *SimFS) CrashAfter(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.crashAfter = n
}

// mutate counts a mutating operation and fails the power when CrashAfter
// says so. The caller holds s.mu.
func (s *SimFS) mutate(op, name string) error {
	if s.crashAfter == 0 {
		return nil
	}
	s.crashAfter--
	if s.crashAfter > 0 {
		return nil
	}
	s.powerLoss()
	return &fs.PathError{Op: op, Path: name, Err: ErrPowerLost}
}

// PowerLoss simulates the machine losing power and coming back: every open
// file handle becomes unusable, directory changes since their last SyncDir
// are undone, and every unsynced write is kept, dropped or torn.
func (s *SimFS) PowerLoss() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.powerLoss()
}

func (s *SimFS) powerLoss() {
	s.gen++
	seen := map[*simInode]bool{}
	for _, name := range sortedKeys(s.dirs) {
		d := s.dirs[name]
		d.live = cloneEntries(d.durable)
		for _, n := range sortedKeys(d.live) {
			ino := d.live[n]
			if !seen[ino] {
				seen[ino] = true
				ino.loseUnsynced(s.rng)
			}
		}
	}
	s.used = 0
	for ino := range seen {
		s.used += int64(len(ino.data))
	}
}

func (ino *simInode) loseUnsynced(rng *rand.Rand) {
	out := slices.Clone(ino.durable)
	for _, op := range ino.pending {
		switch rng.IntN(3) {
		case 0: // dropped
		case 1:
			out = op.apply(out)
		case 2:
			out = op.applyTorn(out, rng)
		}
	}
	ino.data, ino.durable, ino.pending = out, slices.Clone(out), nil
}

func (op simOp) apply(b []byte) []byte {
	if op.kind == simOpResize {
		return resize(b, op.size)
	}
	end := op.off + int64(len(op.data))
	if int64(len(b)) < end {
		b = resize(b, end)
	}
	copy(b[op.off:], op.data)
	return b
}

// applyTorn keeps a random subset of the write's sectors. A resize is atomic.
func (op simOp) applyTorn(b []byte, rng *rand.Rand) []byte {
	if op.kind == simOpResize {
		return op.apply(b)
	}
	for start := op.off; start < op.off+int64(len(op.data)); {
		end := min((start/simSectorLength+1)*simSectorLength, op.off+int64(len(op.data)))
		if rng.IntN(2) == 0 {
			part := simOp{kind: simOpWrite, off: start, data: op.data[start-op.off : end-op.off]}
			b = part.apply(b)
		}
		start = end
	}
	return b
}

func resize(b []byte, size int64) []byte {
	if int64(len(b)) >= size {
		return b[:size]
	}
	return append(b, make([]byte, size-int64(len(b)))...)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func cloneEntries(m map[string]*simInode) map[string]*simInode {
	out := make(map[string]*simInode, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *SimFS) lookupDir(dir string) (*simDir, error) {
	d, ok := s.dirs[filepath.Clean(dir)]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return d, nil
}

func (s *SimFS) split(name string) (*simDir, string, error) {
	name = filepath.Clean(name)
	d, err := s.lookupDir(filepath.Dir(name))
	return d, filepath.Base(name), err
}

// OpenFile opens or creates name.
func (s *SimFS) OpenFile(name string, create bool) (File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, base, err := s.split(name)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	ino, ok := d.live[base]
	if !ok {
		if !create {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		if err := s.mutate("create", name); err != nil {
			return nil, err
		}
		ino = &simInode{}
		d.live[base] = ino
	}
	return &simFile{fs: s, ino: ino, gen: s.gen, name: name}, nil
}

// Rename moves oldName to newName, replacing newName.
func (s *SimFS) Rename(oldName, newName string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	od, ob, err := s.split(oldName)
	if err != nil {
		return &fs.PathError{Op: "rename", Path: oldName, Err: err}
	}
	nd, nb, err := s.split(newName)
	if err != nil {
		return &fs.PathError{Op: "rename", Path: newName, Err: err}
	}
	ino, ok := od.live[ob]
	if !ok {
		return &fs.PathError{Op: "rename", Path: oldName, Err: fs.ErrNotExist}
	}
	if err := s.mutate("rename", oldName); err != nil {
		return err
	}
	if old, ok := nd.live[nb]; ok && old != ino {
		s.used -= int64(len(old.data))
	}
	delete(od.live, ob)
	nd.live[nb] = ino
	return nil
}

// Remove deletes name.
func (s *SimFS) Remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, base, err := s.split(name)
	if err != nil {
		return &fs.PathError{Op: "remove", Path: name, Err: err}
	}
	ino, ok := d.live[base]
	if !ok {
		return &fs.PathError{Op: "remove", Path: name, Err: fs.ErrNotExist}
	}
	if err := s.mutate("remove", name); err != nil {
		return err
	}
	s.used -= int64(len(ino.data))
	delete(d.live, base)
	return nil
}

// ReadDir lists the live entries of dir.
func (s *SimFS) ReadDir(dir string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.lookupDir(dir)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: dir, Err: err}
	}
	return sortedKeys(d.live), nil
}

// SyncDir makes dir's current entries durable.
func (s *SimFS) SyncDir(dir string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, err := s.lookupDir(dir)
	if err != nil {
		return &fs.PathError{Op: "syncdir", Path: dir, Err: err}
	}
	if err := s.mutate("syncdir", dir); err != nil {
		return err
	}
	if err := s.takeSyncFault(); err != nil {
		return &fs.PathError{Op: "syncdir", Path: dir, Err: err}
	}
	d.durable = cloneEntries(d.live)
	return nil
}

// MkdirAll creates dir and its parents, durably.
func (s *SimFS) MkdirAll(dir string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for dir = filepath.Clean(dir); ; dir = filepath.Dir(dir) {
		if _, ok := s.dirs[dir]; !ok {
			s.dirs[dir] = &simDir{live: map[string]*simInode{}, durable: map[string]*simInode{}}
		}
		if parent := filepath.Dir(dir); parent == dir {
			return nil
		}
	}
}

func (s *SimFS) takeSyncFault() error {
	if s.syncFaults == 0 {
		return nil
	}
	s.syncFaults--
	return s.syncFaultErr
}

// grow accounts for a file growing to size; it fails with ENOSPC beyond the
// space limit.
func (s *SimFS) grow(ino *simInode, size int64) error {
	delta := size - int64(len(ino.data))
	if delta <= 0 {
		return nil
	}
	if s.spaceLimit > 0 && s.used+delta > s.spaceLimit {
		return syscall.ENOSPC
	}
	s.used += delta
	return nil
}

type simFile struct {
	fs     *SimFS
	ino    *simInode
	gen    uint64
	name   string
	closed bool
}

func (f *simFile) check(op string) error {
	if f.closed {
		return &fs.PathError{Op: op, Path: f.name, Err: fs.ErrClosed}
	}
	if f.gen != f.fs.gen {
		return &fs.PathError{Op: op, Path: f.name, Err: ErrPowerLost}
	}
	return nil
}

func (f *simFile) ReadAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("read"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "read", Path: f.name, Err: fs.ErrInvalid}
	}
	if off >= int64(len(f.ino.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.ino.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *simFile) WriteAt(p []byte, off int64) (int, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("write"); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: fs.ErrInvalid}
	}
	if err := f.fs.mutate("write", f.name); err != nil {
		return 0, err
	}
	if err := f.fs.grow(f.ino, off+int64(len(p))); err != nil {
		return 0, &fs.PathError{Op: "write", Path: f.name, Err: err}
	}
	op := simOp{kind: simOpWrite, off: off, data: slices.Clone(p)}
	f.ino.data = op.apply(f.ino.data)
	f.ino.pending = append(f.ino.pending, op)
	return len(p), nil
}

func (f *simFile) sync(op string) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check(op); err != nil {
		return err
	}
	if err := f.fs.mutate(op, f.name); err != nil {
		return err
	}
	if err := f.fs.takeSyncFault(); err != nil {
		f.ino.pending = nil // the kernel marks the pages clean anyway
		return &fs.PathError{Op: op, Path: f.name, Err: err}
	}
	for _, p := range f.ino.pending {
		f.ino.durable = p.apply(f.ino.durable)
	}
	f.ino.pending = nil
	return nil
}

func (f *simFile) SyncData() error { return f.sync("fdatasync") }
func (f *simFile) Sync() error     { return f.sync("fsync") }

func (f *simFile) resize(op string, size int64, onlyGrow bool) error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check(op); err != nil {
		return err
	}
	if size < 0 {
		return &fs.PathError{Op: op, Path: f.name, Err: fs.ErrInvalid}
	}
	if onlyGrow && size <= int64(len(f.ino.data)) {
		return nil
	}
	if err := f.fs.mutate(op, f.name); err != nil {
		return err
	}
	if err := f.fs.grow(f.ino, size); err != nil {
		return &fs.PathError{Op: op, Path: f.name, Err: err}
	}
	if size < int64(len(f.ino.data)) {
		f.fs.used -= int64(len(f.ino.data)) - size
	}
	r := simOp{kind: simOpResize, size: size}
	f.ino.data = r.apply(f.ino.data)
	f.ino.pending = append(f.ino.pending, r)
	return nil
}

func (f *simFile) Truncate(size int64) error { return f.resize("truncate", size, false) }
func (f *simFile) Allocate(size int64) error { return f.resize("fallocate", size, true) }

func (f *simFile) Size() (int64, error) {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if err := f.check("stat"); err != nil {
		return 0, err
	}
	return int64(len(f.ino.data)), nil
}

func (f *simFile) Close() error {
	f.fs.mu.Lock()
	defer f.fs.mu.Unlock()
	if f.closed {
		return &fs.PathError{Op: "close", Path: f.name, Err: fs.ErrClosed}
	}
	f.closed = true
	return nil
}

// String describes the simulated file system for test failure messages.
func (s *SimFS) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("SimFS{dirs:%d used:%d gen:%d}", len(s.dirs), s.used, s.gen)
}
