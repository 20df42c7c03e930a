package fixgateway

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/quickfixgo/quickfix"
)

// Segments: the bounded journal.
//
// A session's journal is a run of segment files, each laid out as the
// whole journal once was (two header slots, then records): segment 0 is
// FileStorePath/<session>.journal (the single file of a journal from
// before segments), segment n>0 is that name with ".n" appended. The
// newest segment is the active one: records go there, and its header
// holds the sequence numbers (older segments' headers are stale).
//
// When the active segment's records reach segBytes (the retained bytes,
// KeyJournalRetainBytes, over journalSegmentsPerRetain), the next record
// starts a new segment: its header is written with the numbers (both
// slots) and synced, with the directory, before any record goes in, so a
// segment with records always has a valid header. Then the oldest
// segments are deleted while the older segments hold more than the
// retained bytes less one segment: the journal keeps between about
// (journalSegmentsPerRetain-2)/journalSegmentsPerRetain of the retained
// bytes and all of them, the newest messages.
//
// Recovery lists the segments. A newest segment with neither a valid
// header nor a whole first record is a new segment cut short by a crash
// (before its header was synced): it is deleted and the one before is the
// active one. A crash between creating a segment and deleting the old
// ones leaves too many: recovery deletes them as a roll would. Older
// segments are read for the sparse index (one entry every
// journalIndexStride records of each segment, deleted with it, so the
// index is bounded by the retained bytes: at most 24 bytes per 64
// records of at least 24 bytes each, a 64th of them).
//
// A resend for messages no longer kept gets the ones still kept, after a
// gap fill for the rest (quickfixgo fills the gap before the first one it
// resends; resendgap.go covers a range of which nothing is kept).

// Retention bounds (KeyJournalRetainBytes).
const (
	// journalRetainBytesDefault keeps about 900,000 execution reports of
	// ~300 bytes per session.
	journalRetainBytesDefault = 256 << 20
	// journalRetainBytesMin keeps segments of 8 KiB: small enough for a
	// test, the cost a segment creation (two fsyncs) every few dozen
	// messages.
	journalRetainBytesMin = 64 << 10
	// journalRetainBytesMax bounds the disk and the index (a 64th of it
	// at worst) one session may hold.
	journalRetainBytesMax = 16 << 30
	// journalSegmentsPerRetain is how many segments the retained bytes
	// are cut into: the finer, the closer the journal stays to the bound
	// (it deletes a segment at a time), the more often it creates one.
	journalSegmentsPerRetain = 8
)

// journalSegment is an older (not active) segment.
type journalSegment struct {
	n       uint64 // its number (file name)
	end     int64  // where its records end
	records uint64
}

// segmentPath is segment n's file: base for 0 (the file of a journal from
// before segments), base.n after.
func segmentPath(base string, n uint64) string {
	if n == 0 {
		return base
	}
	return base + "." + strconv.FormatUint(n, 10)
}

// listSegments returns the numbers of base's segment files, ascending.
func listSegments(base string) ([]uint64, error) {
	dir, name := filepath.Split(base)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil // no directory yet: no journal
	}
	if err != nil {
		return nil, fmt.Errorf("%w: list segments of %s: %w", ErrJournal, base, err)
	}
	var nums []uint64
	for _, e := range entries {
		if e.Name() == name {
			nums = append(nums, 0)
			continue
		}
		rest, ok := strings.CutPrefix(e.Name(), name+".")
		if !ok {
			continue
		}
		// Only the canonical form: "01" or "+1" is someone else's file.
		if v, err := strconv.ParseUint(rest, 10, 64); err == nil && v > 0 && strconv.FormatUint(v, 10) == rest {
			nums = append(nums, v)
		}
	}
	slices.Sort(nums)
	return nums, nil
}

// segmentInUse reports whether the segment file at path was ever written
// to: a valid header slot or a whole first record.
func segmentInUse(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("%w: open %s: %w", ErrJournal, path, err)
	}
	defer f.Close()
	var slots [journalRecordsStart]byte
	n, _ := f.ReadAt(slots[:], 0) // a short file is a torn one
	for i := range journalSlots {
		if n >= (i+1)*journalSlotBytes {
			if _, ok := decodeSlot(slots[i*journalSlotBytes:]); ok {
				return true, nil
			}
		}
	}
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("%w: size of %s: %w", ErrJournal, path, err)
	}
	_, ok := newRecordScanner(f, journalRecordsStart, max(st.Size(), journalRecordsStart)).next()
	return ok, nil
}

// pickActiveLocked lists the segments, deletes newest ones cut short by a
// crash while being created, and opens the newest left as j.f (creating
// segment 0 when there is none). It returns the older segments' numbers.
func (j *journal) pickActiveLocked() ([]uint64, error) {
	nums, err := listSegments(j.base)
	if err != nil {
		return nil, err
	}
	for len(nums) > 1 {
		p := segmentPath(j.base, nums[len(nums)-1])
		used, err := segmentInUse(p)
		if err != nil {
			return nil, err
		}
		if used {
			break
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: delete unused segment %s: %w", ErrJournal, p, err)
		}
		nums = nums[:len(nums)-1]
	}
	active := uint64(0)
	if len(nums) > 0 {
		active = nums[len(nums)-1]
		nums = nums[:len(nums)-1]
	}
	if j.f == nil || active != j.active {
		p := segmentPath(j.base, active)
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o660)
		if err != nil {
			return nil, fmt.Errorf("%w: open %s: %w", ErrJournal, p, err)
		}
		if j.f != nil {
			j.f.Close()
		}
		j.f, j.path, j.active = f, p, active
	}
	return nums, nil
}

// scanOlderLocked reads older segment n's records into the index.
func (j *journal) scanOlderLocked(n uint64) error {
	p := segmentPath(j.base, n)
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("%w: open %s: %w", ErrJournal, p, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("%w: size of %s: %w", ErrJournal, p, err)
	}
	seg := journalSegment{n: n}
	// An older segment may end in the zeros of a window (a crash before
	// the roll cut it at its records): the scan stops there, as at any
	// torn record.
	s := newRecordScanner(f, journalRecordsStart, max(st.Size(), journalRecordsStart))
	for {
		r, ok := s.next()
		if !ok {
			break
		}
		j.noteRecord(r.seq, n, s.off-int64(recordHeaderBytes+len(r.body)), seg.records)
		seg.records++
	}
	seg.end = s.off
	j.segs = append(j.segs, seg)
	return nil
}

// rollLocked starts a new active segment after the current one (see
// above) and deletes the oldest beyond the bound. It fails, changing
// nothing, when the new segment cannot be made ready.
func (j *journal) rollLocked() error {
	n := j.active + 1
	p := segmentPath(j.base, n)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o660)
	if err != nil {
		return fmt.Errorf("%w: new segment %s: %w", ErrJournal, p, err)
	}
	h := j.hdr
	h.end = journalRecordsStart
	var slots [journalRecordsStart]byte
	for range journalSlots { // both slots: neither may hold another numbering
		h.gen++
		encodeSlot((*[journalSlotBytes]byte)(slots[(h.gen%journalSlots)*journalSlotBytes:]), h)
	}
	if _, err = f.WriteAt(slots[:], 0); err == nil {
		// Synced even without FileStoreSync: the roll must not be lost
		// while records written after it survive (see above).
		if err = f.Sync(); err == nil {
			err = syncDir(filepath.Dir(p))
		}
	}
	if err != nil {
		f.Close()
		os.Remove(p)
		return fmt.Errorf("%w: new segment %s: %w", ErrJournal, p, err)
	}
	// The old active segment ends at its records (without the zeros of
	// its window). Not being able to cut them costs nothing: a scan stops
	// at the first zero.
	_ = j.unmapLocked()
	_ = j.f.Truncate(j.end)
	j.f.Close()
	j.segs = append(j.segs, journalSegment{n: j.active, end: j.end, records: j.activeRecords})
	j.f, j.path, j.active, j.end, j.activeRecords, j.hdr = f, p, n, journalRecordsStart, 0, h
	return j.trimLocked()
}

// trimLocked deletes the oldest segments while the older ones hold more
// than the retained bytes less one segment (the active one's room).
func (j *journal) trimLocked() error {
	var held int64
	for _, s := range j.segs {
		held += s.end - journalRecordsStart
	}
	drop := 0
	var err error
	for drop < len(j.segs) && held > j.retainBytes-j.segBytes {
		s := j.segs[drop]
		p := segmentPath(j.base, s.n)
		if e := os.Remove(p); e != nil && !errors.Is(e, os.ErrNotExist) {
			err = fmt.Errorf("%w: delete old segment %s: %w", ErrJournal, p, e)
			break
		}
		held -= s.end - journalRecordsStart
		j.records -= s.records
		drop++
	}
	if drop == 0 {
		return err
	}
	gone := j.segs[drop-1].n
	i := sort.Search(len(j.index), func(i int) bool { return j.index[i].seg > gone })
	// Copied down, so that the arrays do not keep growing at the front.
	j.index = append(j.index[:0], j.index[i:]...)
	j.segs = append(j.segs[:0], j.segs[drop:]...)
	return err
}

// removeOlderLocked deletes every older segment (a Reset).
func (j *journal) removeOlderLocked() error {
	for len(j.segs) > 0 {
		p := segmentPath(j.base, j.segs[0].n)
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("%w: delete segment %s: %w", ErrJournal, p, err)
		}
		j.records -= j.segs[0].records
		j.segs = j.segs[1:]
	}
	j.segs = nil
	return nil
}

// syncDir makes a file's creation in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// segmentRange is one segment's records a resend reads.
type segmentRange struct {
	n        uint64
	path     string
	from, to int64
}

// readPlanLocked lists what a resend from begin reads: every segment's
// records, from the last indexed record at or below begin when the
// numbering is ordered.
func (j *journal) readPlanLocked(begin uint64) []segmentRange {
	plan := make([]segmentRange, 0, len(j.segs)+1)
	for _, s := range j.segs {
		plan = append(plan, segmentRange{n: s.n, path: segmentPath(j.base, s.n), from: journalRecordsStart, to: s.end})
	}
	plan = append(plan, segmentRange{n: j.active, path: j.path, from: journalRecordsStart, to: j.end})
	if !j.ordered {
		return plan
	}
	i := sort.Search(len(j.index), func(i int) bool { return j.index[i].seq > begin })
	if i == 0 {
		return plan
	}
	e := j.index[i-1]
	for k := range plan {
		if plan[k].n == e.seg {
			plan = plan[k:]
			plan[0].from = e.off
			break
		}
	}
	return plan
}

// KeyJournalRetainBytes' value for a session: the bytes of records its
// journal keeps (journalRetainBytesDefault when absent).
func journalRetainBytesOf(s *quickfix.SessionSettings) (int64, error) {
	if !s.HasSetting(KeyJournalRetainBytes) {
		return journalRetainBytesDefault, nil
	}
	v, err := s.IntSetting(KeyJournalRetainBytes)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", KeyJournalRetainBytes, err)
	}
	if v < journalRetainBytesMin || int64(v) > journalRetainBytesMax {
		return 0, fmt.Errorf("%s=%d: want %d to %d bytes", KeyJournalRetainBytes, v, journalRetainBytesMin, int64(journalRetainBytesMax))
	}
	return int64(v), nil
}
