package archive

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"venue/transport"
)

// FsyncPolicy is when the archive forces recorded bytes to the disk, and so
// what the durable position means.
type FsyncPolicy uint8

const (
	// FsyncNone never syncs recorded data: the durable position follows the
	// recorded position as soon as the bytes are in the OS page cache. It
	// survives a process crash, not a power loss or kernel crash.
	FsyncNone FsyncPolicy = iota
	// FsyncData calls fdatasync after every write batch (every Append); the
	// durable position moves only when the sync returns.
	FsyncData
	// FsyncDataAndMetadata calls fsync after every write batch, also
	// forcing timestamps and other metadata the data does not need.
	FsyncDataAndMetadata
)

// String names the policy as the command line spells it.
func (p FsyncPolicy) String() string {
	switch p {
	case FsyncNone:
		return "none"
	case FsyncData:
		return "data"
	case FsyncDataAndMetadata:
		return "data+metadata"
	}
	return fmt.Sprintf("FsyncPolicy(%d)", uint8(p))
}

// ParseFsyncPolicy parses "none", "data" or "data+metadata".
func ParseFsyncPolicy(s string) (FsyncPolicy, error) {
	for p := FsyncNone; p <= FsyncDataAndMetadata; p++ {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("%w: fsync policy %q (want none, data or data+metadata)", ErrInvalidParams, s)
}

// Config configures an Archive.
type Config struct {
	// Dir is the archive's directory: the catalog and every segment file.
	Dir string
	// FS is the file layer; nil means OSFS.
	FS FS
	// Counters allocates the archive's counters; nil means a private
	// in-memory manager.
	Counters *transport.CountersManager
	// Fsync is the fsync policy for recorded data. Catalog updates and
	// directory changes are always synced.
	Fsync FsyncPolicy
	// SegmentLength is the length of new recordings' segment files: a power
	// of two, at least the term length. Zero means SegmentLengthDefault.
	SegmentLength int32
	// DisableChecksums stops new recordings from carrying a CRC32C per data
	// frame (see frameChecksum for why they are on by default).
	DisableChecksums bool
	// EpochClockNs returns wall-clock nanoseconds for the catalog's start
	// and stop timestamps; nil means the system clock. Positions, not time,
	// drive everything else.
	EpochClockNs func() int64
}

// liveState is what readers on other goroutines see of a recording.
type liveState struct {
	recorded atomic.Int64
	durable  atomic.Int64
	active   atomic.Bool
}

// Archive is a directory of recordings and their catalog. Its methods are
// safe for concurrent use; a Recording's Append and a Replay's Poll are each
// used by one goroutine at a time.
type Archive struct {
	cfg Config

	mu      sync.Mutex
	cat     *catalog
	active  map[int64]*Recording
	live    map[int64]*liveState
	readers map[int64]int // open replays per recording
	closed  bool
	lock    *dirLock // nil on a simulated file layer

	errorsCounter   *transport.Counter
	diskFullCounter *transport.Counter
	trimmedCounter  *transport.Counter
}

// Open opens (or creates) the archive in cfg.Dir and recovers it: torn
// tails are trimmed to the last whole valid frame and the catalog is
// reconciled with the segment files.
func Open(cfg Config) (*Archive, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	if err := cfg.FS.MkdirAll(cfg.Dir); err != nil {
		return nil, fmt.Errorf("archive: create directory %s: %w", cfg.Dir, err)
	}
	var lock *dirLock
	switch cfg.FS.(type) {
	case OSFS, *OSFS: // a simulated file layer has no directory to lock
		if lock, err = lockDir(cfg.Dir); err != nil {
			return nil, err
		}
	}
	cat, err := openCatalog(cfg.FS, cfg.Dir)
	if err != nil {
		lock.release()
		return nil, err
	}
	a := &Archive{cfg: cfg, cat: cat, active: map[int64]*Recording{},
		live: map[int64]*liveState{}, readers: map[int64]int{}, lock: lock}
	if err := a.allocateArchiveCounters(); err != nil {
		cat.close()
		lock.release()
		return nil, err
	}
	if err := a.recover(); err != nil {
		a.freeCounters()
		cat.close()
		lock.release()
		return nil, err
	}
	return a, nil
}

func withDefaults(cfg Config) (Config, error) {
	if cfg.FS == nil {
		cfg.FS = OSFS{}
	}
	if cfg.Counters == nil {
		cfg.Counters = transport.NewCountersManager(1024)
	}
	if cfg.SegmentLength == 0 {
		cfg.SegmentLength = SegmentLengthDefault
	}
	if cfg.EpochClockNs == nil {
		cfg.EpochClockNs = func() int64 { return time.Now().UnixNano() }
	}
	if cfg.Dir == "" {
		return cfg, fmt.Errorf("%w: no archive directory", ErrInvalidParams)
	}
	if !isPowerOfTwo(cfg.SegmentLength) || cfg.SegmentLength < termLengthMin || cfg.SegmentLength > segmentLengthMax {
		return cfg, fmt.Errorf("%w: segment length %d (a power of two in [%d, %d])",
			ErrInvalidParams, cfg.SegmentLength, termLengthMin, segmentLengthMax)
	}
	if cfg.Fsync > FsyncDataAndMetadata {
		return cfg, fmt.Errorf("%w: fsync policy %d", ErrInvalidParams, cfg.Fsync)
	}
	return cfg, nil
}

func (a *Archive) allocateArchiveCounters() error {
	var errs [3]error
	m := a.cfg.Counters
	a.errorsCounter, errs[0] = m.Allocate(CounterTypeErrors, "archive errors: "+a.cfg.Dir)
	a.diskFullCounter, errs[1] = m.Allocate(CounterTypeDiskFull, "archive disk full: "+a.cfg.Dir)
	a.trimmedCounter, errs[2] = m.Allocate(CounterTypeTailsTrimmed, "archive tails trimmed: "+a.cfg.Dir)
	if err := errors.Join(errs[:]...); err != nil {
		a.freeCounters()
		return fmt.Errorf("archive: open %s: %w", a.cfg.Dir, err)
	}
	return nil
}

// freeCounters frees the archive's counters (those allocated).
func (a *Archive) freeCounters() {
	for _, c := range []*transport.Counter{a.errorsCounter, a.diskFullCounter, a.trimmedCounter} {
		if c != nil {
			a.cfg.Counters.Free(c)
		}
	}
}

// Close stops every active recording and closes the catalog.
func (a *Archive) Close() error {
	a.mu.Lock()
	recs := make([]*Recording, 0, len(a.active))
	for _, r := range a.active {
		recs = append(recs, r)
	}
	a.mu.Unlock()
	var errs []error
	for _, r := range recs {
		errs = append(errs, r.Stop())
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return errors.Join(errs...)
	}
	a.closed = true
	errs = append(errs, a.cat.close())
	a.freeCounters()
	errs = append(errs, a.lock.release())
	return errors.Join(errs...)
}

// Dir returns the archive's directory.
func (a *Archive) Dir() string { return a.cfg.Dir }

// FsyncPolicy returns the archive's fsync policy.
func (a *Archive) FsyncPolicy() FsyncPolicy { return a.cfg.Fsync }

// ErrorCount returns the archive's error counter value.
func (a *Archive) ErrorCount() int64 { return a.errorsCounter.Get() }

// DiskFullCount returns how many appends were refused for a full disk.
func (a *Archive) DiskFullCount() int64 { return a.diskFullCounter.Get() }

// TailsTrimmed returns how many torn or garbage tails recovery trimmed.
func (a *Archive) TailsTrimmed() int64 { return a.trimmedCounter.Get() }

// Describe returns the descriptor of a recording. An active recording's
// StopPosition is NullPosition; see Recording for its live positions.
func (a *Archive) Describe(id int64) (Descriptor, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, err := a.entry(id)
	if err != nil {
		return Descriptor{}, err
	}
	return e.desc, nil
}

// RecordingPosition returns how far a recording has been recorded and made
// durable, and whether it is being recorded now. For a stopped recording
// both positions are its stop position.
func (a *Archive) RecordingPosition(id int64) (recorded, durable transport.Position, active bool, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	e, err := a.entry(id)
	if err != nil {
		return 0, 0, false, err
	}
	if r, ok := a.active[id]; ok {
		return r.RecordedPosition(), r.DurablePosition(), true, nil
	}
	return e.desc.StopPosition, e.desc.StopPosition, false, nil
}

// List returns up to count descriptors of recordings with ids from fromID
// on, deleted ones left out.
func (a *Archive) List(fromID int64, count int) []Descriptor {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []Descriptor
	for id := max(fromID, 0); id < a.cat.nextID() && len(out) < count; id++ {
		if e := a.cat.get(id); e != nil && e.desc.State != RecordingDeleted {
			out = append(out, e.desc)
		}
	}
	return out
}

// FindLastMatching returns the id of the newest valid recording with an id
// of at least minID, whose channel contains channelFragment and whose
// stream id is streamID; ok is false when there is none.
func (a *Archive) FindLastMatching(minID int64, channelFragment string, streamID int32) (id int64, ok bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id := a.cat.nextID() - 1; id >= max(minID, 0); id-- {
		e := a.cat.get(id)
		if e != nil && e.desc.State == RecordingValid && e.desc.StreamID == streamID &&
			strings.Contains(e.desc.Channel, channelFragment) {
			return id, true
		}
	}
	return 0, false
}

// entry returns the catalog entry of a valid or invalid recording.
func (a *Archive) entry(id int64) (*catalogEntry, error) {
	if a.closed {
		return nil, ErrClosed
	}
	e := a.cat.get(id)
	if e == nil || e.desc.State == RecordingDeleted {
		return nil, fmt.Errorf("%w: %d", ErrUnknownRecording, id)
	}
	return e, nil
}

// stoppedEntry returns the entry of a valid recording that is neither
// being recorded nor replayed, for operations that change its files.
func (a *Archive) stoppedEntry(id int64, op string) (*catalogEntry, error) {
	e, err := a.entry(id)
	if err != nil {
		return nil, err
	}
	if _, ok := a.active[id]; ok {
		return nil, fmt.Errorf("%w: %s recording %d while it is recorded", ErrRecordingActive, op, id)
	}
	if a.readers[id] > 0 {
		return nil, fmt.Errorf("%w: %s recording %d while %d replays read it", ErrRecordingActive, op, id, a.readers[id])
	}
	if e.desc.State != RecordingValid {
		return nil, fmt.Errorf("%w: %s recording %d in state %s", ErrInvalidParams, op, id, e.desc.State)
	}
	return e, nil
}

// liveOf returns the shared live state of a recording, made on first use.
func (a *Archive) liveOf(d *Descriptor) *liveState {
	l, ok := a.live[d.RecordingID]
	if !ok {
		l = &liveState{}
		a.live[d.RecordingID] = l
	}
	if d.StopPosition != NullPosition {
		l.recorded.Store(int64(d.StopPosition))
		l.durable.Store(int64(d.StopPosition))
	}
	return l
}

// segmentFiles lists the segment base positions of recording id, ascending.
func (a *Archive) segmentFiles(id int64) ([]transport.Position, error) {
	names, err := a.cfg.FS.ReadDir(a.cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("archive: list %s: %w", a.cfg.Dir, err)
	}
	var bases []transport.Position
	for _, n := range names {
		if rid, base, ok := parseSegmentFileName(n); ok && rid == id {
			bases = append(bases, base)
		}
	}
	sort.Slice(bases, func(i, j int) bool { return bases[i] < bases[j] })
	return bases, nil
}

func (a *Archive) segmentPath(id int64, base transport.Position) string {
	return joinPath(a.cfg.Dir, segmentFileName(id, base))
}

// removeSegments removes the listed segment files and syncs the directory.
func (a *Archive) removeSegments(id int64, bases []transport.Position) error {
	if len(bases) == 0 {
		return nil
	}
	for _, b := range bases {
		if err := a.cfg.FS.Remove(a.segmentPath(id, b)); err != nil {
			return fmt.Errorf("archive: remove segment %d-%d: %w", id, b, err)
		}
	}
	if err := a.cfg.FS.SyncDir(a.cfg.Dir); err != nil {
		return fmt.Errorf("archive: sync %s after removing segments: %w", a.cfg.Dir, err)
	}
	return nil
}
