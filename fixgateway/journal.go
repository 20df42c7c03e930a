package fixgateway

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/config"

	"venue/transport"
)

// The journal: the gateway's own FIX message store (VenueFIXStore=journal).
//
// quickfixgo's file store spends six system calls and a formatted print on
// every outbound message (seek and write the body, seek and write an index
// line, seek and write the sender sequence number as text), about a seventh
// of the gateway's CPU at full load. The journal is one append-only file
// per session (a run of segment files, see below) written with
// positioned writes (pwrite, no seeks):
//
//   - an outbound message is one record (its MsgSeqNum, the next sender
//     sequence number after it, the message) written in one pwrite, which
//     also persists the sender sequence number;
//   - the sequence numbers live in a fixed header of two slots written
//     alternately, each with a generation and a CRC, so a torn header
//     write leaves the other slot; one pwrite updates them.
//
// Durability is the file store's: FileStoreSync=N puts every write in the
// page cache before quickfixgo sends the message (it survives a gateway
// crash, not a host crash); FileStoreSync=Y (quickfixgo's default) adds an
// fdatasync after each write. Opening recovers: the newest valid header
// slot gives the target sequence number (and the sender's unless records
// follow it), records are read up to the first torn or corrupt one
// (length, CRC), and the file is cut there.
//
// Without fsync the records are not written with a system call each: the
// journal maps a window of the file past its records (journalMapBytes,
// its blocks reserved first) and copies each record into it, which puts
// the record in the page cache just as a pwrite would — the same
// durability — for a copy instead of a system call (the pwrite was about
// 2 µs, a fifteenth of the process's CPU per order under venue bench fix),
// at the cost of up to journalMapBytes of disk reserved per open session.
// The file then ends in zeros past the last record until the journal is
// closed; recovery stops at the first one, as at any torn record. Where
// the window cannot be mapped (no reservation on this file system, not
// Linux) the journal falls back to pwrite. A store into the window that
// faults (the file cut from outside, a disk error: SIGBUS) is an error,
// not the end of the process: the journal drops the window, repairs its
// file and goes on with pwrite (journalfault.go, CounterJournalFaults).
//
// The journal is bounded (journalsegments.go): its records are cut into
// segment files, and past KeyJournalRetainBytes (256 MiB unless set) the
// oldest segments are deleted; a resend of their messages is answered
// with a gap fill. Resend requests (IterateMessages) read the records
// back from the files with a sparse index in memory, one entry (24
// bytes) every journalIndexStride records of a segment, deleted with its
// segment. Reset empties the journal.
//
// File layout of each segment (little-endian):
//
//	[0, 64)    header slot 0   magic u32 | crc u32 | generation u64 |
//	[64, 128)  header slot 1   next sender u64 | next target u64 |
//	                           records end u64 | creation time ns i64 | 0...
//	[128, ...) records         body length u32 | crc u32 | seq u64 |
//	                           next sender u64 | body
//
// A slot's CRC covers its bytes after the CRC field; a record's covers its
// header without the CRC field, then its body. Both are CRC-32C.

// Journal layout constants.
const (
	journalMagic        uint32 = 0x4a58_4656 // "VFXJ" read little-endian
	journalSlotBytes           = 64
	journalSlots               = 2
	journalRecordsStart        = journalSlotBytes * journalSlots
	// slot field offsets
	slotMagicOffset    = 0
	slotCRCOffset      = 4
	slotGenOffset      = 8
	slotSenderOffset   = 16
	slotTargetOffset   = 24
	slotEndOffset      = 32
	slotCreationOffset = 40
	slotPayloadEnd     = 48
	// record field offsets
	recordLengthOffset = 0
	recordCRCOffset    = 4
	recordSeqOffset    = 8
	recordNextOffset   = 16
	recordHeaderBytes  = 24
	// recordBodyBytesMax bounds one stored message: a longer one is refused
	// (quickfixgo then does not send it), and a record header claiming more
	// ends recovery there.
	recordBodyBytesMax = 1 << 20
	// journalIndexStride is how many records one sparse index entry covers.
	journalIndexStride = 64
	// journalReadBufferBytes is the read buffer of recovery and resends.
	journalReadBufferBytes = 64 << 10
	// journalMapBytes is the window of the file a journal without fsync
	// maps for its next records (about 3,800 execution reports): disk
	// reserved ahead of the records for each open session, and a remap
	// (fallocate, mmap, munmap: tens of microseconds) every window. A
	// record that does not fit moves the window on.
	journalMapBytes = 1 << 20
	// journalFileSuffix names a session's journal file.
	journalFileSuffix = ".journal"
	// fileStoreSeqNumBytesMax bounds a quickfixgo file store sequence
	// number file read when adopting its numbering (it writes 19 digits).
	fileStoreSeqNumBytesMax = 64
)

// ErrJournal marks a journal that cannot be used: its file cannot be read
// or written, or a message is too long for it.
var ErrJournal = errors.New("fixgateway: journal")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// journalHeader is what a header slot holds.
type journalHeader struct {
	gen        uint64
	nextSender uint64
	nextTarget uint64
	end        uint64 // where the records ended when the slot was written
	creation   int64  // unix ns
}

func encodeSlot(b *[journalSlotBytes]byte, h journalHeader) {
	clear(b[:])
	binary.LittleEndian.PutUint32(b[slotMagicOffset:], journalMagic)
	binary.LittleEndian.PutUint64(b[slotGenOffset:], h.gen)
	binary.LittleEndian.PutUint64(b[slotSenderOffset:], h.nextSender)
	binary.LittleEndian.PutUint64(b[slotTargetOffset:], h.nextTarget)
	binary.LittleEndian.PutUint64(b[slotEndOffset:], h.end)
	binary.LittleEndian.PutUint64(b[slotCreationOffset:], uint64(h.creation))
	binary.LittleEndian.PutUint32(b[slotCRCOffset:], crc32.Checksum(b[slotGenOffset:slotPayloadEnd], castagnoli))
}

// decodeSlot reads a header slot; ok is false for a torn, foreign or
// never-written one.
func decodeSlot(b []byte) (h journalHeader, ok bool) {
	if len(b) < journalSlotBytes || binary.LittleEndian.Uint32(b[slotMagicOffset:]) != journalMagic ||
		binary.LittleEndian.Uint32(b[slotCRCOffset:]) != crc32.Checksum(b[slotGenOffset:slotPayloadEnd], castagnoli) {
		return h, false
	}
	h = journalHeader{
		gen:        binary.LittleEndian.Uint64(b[slotGenOffset:]),
		nextSender: binary.LittleEndian.Uint64(b[slotSenderOffset:]),
		nextTarget: binary.LittleEndian.Uint64(b[slotTargetOffset:]),
		end:        binary.LittleEndian.Uint64(b[slotEndOffset:]),
		creation:   int64(binary.LittleEndian.Uint64(b[slotCreationOffset:])),
	}
	if h.nextSender == 0 || h.nextTarget == 0 {
		return h, false // a sequence number starts at 1
	}
	return h, true
}

// journalRecord is one stored outbound message.
type journalRecord struct {
	seq, next uint64
	body      []byte
}

// appendRecord appends r in its file form to b.
func appendRecord(b []byte, r journalRecord) []byte {
	start := len(b)
	b = append(b, make([]byte, recordHeaderBytes+len(r.body))...)
	putRecord(b[start:], r)
	return b
}

// putRecord writes r in its file form at the start of dst, which has room
// for it (recordHeaderBytes and the body).
func putRecord(dst []byte, r journalRecord) {
	h := dst[:recordHeaderBytes]
	binary.LittleEndian.PutUint32(h[recordLengthOffset:], uint32(len(r.body)))
	binary.LittleEndian.PutUint64(h[recordSeqOffset:], r.seq)
	binary.LittleEndian.PutUint64(h[recordNextOffset:], r.next)
	copy(dst[recordHeaderBytes:recordHeaderBytes+len(r.body)], r.body)
	binary.LittleEndian.PutUint32(h[recordCRCOffset:], recordCRC(h, r.body))
}

func recordCRC(header, body []byte) uint32 {
	c := crc32.Update(0, castagnoli, header[recordLengthOffset:recordCRCOffset])
	c = crc32.Update(c, castagnoli, header[recordSeqOffset:recordHeaderBytes])
	return crc32.Update(c, castagnoli, body)
}

// recordBodyLength reads a record header's body length; ok is false when
// it cannot start a record (too long).
func recordBodyLength(header []byte) (int, bool) {
	n := binary.LittleEndian.Uint32(header[recordLengthOffset:])
	return int(n), n <= recordBodyBytesMax
}

// decodeRecord checks a whole record (header and body as read) and returns
// it; body aliases b. ok is false for a torn or corrupt record.
func decodeRecord(header, body []byte) (journalRecord, bool) {
	if len(header) != recordHeaderBytes {
		return journalRecord{}, false
	}
	n, ok := recordBodyLength(header)
	if !ok || n != len(body) || binary.LittleEndian.Uint32(header[recordCRCOffset:]) != recordCRC(header, body) {
		return journalRecord{}, false
	}
	r := journalRecord{seq: binary.LittleEndian.Uint64(header[recordSeqOffset:]),
		next: binary.LittleEndian.Uint64(header[recordNextOffset:]), body: body}
	if r.seq == 0 || r.next == 0 {
		return journalRecord{}, false
	}
	return r, true
}

// recordScanner reads records in order from a file section.
type recordScanner struct {
	r      *bufio.Reader
	off    int64 // where the next record starts
	header [recordHeaderBytes]byte
	body   []byte // reused
}

func newRecordScanner(f io.ReaderAt, from, to int64) *recordScanner {
	return &recordScanner{r: bufio.NewReaderSize(io.NewSectionReader(f, from, to-from), journalReadBufferBytes), off: from}
}

// next returns the next whole record (its body valid until the next call),
// or ok false at the end or at the first torn or corrupt record.
func (s *recordScanner) next() (journalRecord, bool) {
	if _, err := io.ReadFull(s.r, s.header[:]); err != nil {
		return journalRecord{}, false
	}
	n, ok := recordBodyLength(s.header[:])
	if !ok {
		return journalRecord{}, false
	}
	if cap(s.body) < n {
		s.body = make([]byte, n)
	}
	s.body = s.body[:n]
	if _, err := io.ReadFull(s.r, s.body); err != nil {
		return journalRecord{}, false
	}
	r, ok := decodeRecord(s.header[:], s.body)
	if !ok {
		return journalRecord{}, false
	}
	s.off += int64(recordHeaderBytes + n)
	return r, true
}

// journalIndexEntry locates one record of every journalIndexStride of a
// segment.
type journalIndexEntry struct {
	seq uint64
	seg uint64 // the segment's number
	off int64
}

// journal is a quickfix.MessageStore over one file (see above). Safe for
// concurrent use: quickfixgo calls it from the session goroutine and from
// the goroutines sending through the session.
type journal struct {
	base        string // segment 0's file (journalsegments.go)
	sync        bool
	retainBytes int64 // records kept, all segments (KeyJournalRetainBytes)
	segBytes    int64 // a segment's records before the next starts another

	mu            sync.Mutex
	path          string // the active segment's file
	f             *os.File
	active        uint64           // the active segment's number
	segs          []journalSegment // the older segments, oldest first
	activeRecords uint64           // records in the active segment
	hdr           journalHeader    // the newest slot written
	end           int64            // where the next record goes
	records       uint64           // records in all segments
	lastSeq       uint64           // the last record's seq
	ordered       bool             // every record's seq is above the one before
	index         []journalIndexEntry
	buf           []byte // encoding buffer
	// win maps the file from winOff (page-aligned) for the records
	// without fsync; nil when none is mapped. noMap: mapping failed once,
	// records are written with pwrite from then on.
	win    []byte
	winOff int64
	noMap  bool
	// mapFaults counts faults on the window (journalfault.go); faults, if
	// set, is the gateway's counter of them.
	mapFaults uint64
	faults    *transport.Counter
}

// openJournal opens (creating if needed) the journal whose segment 0 is
// path, keeping journalRetainBytesDefault, and recovers it. fsync asks
// for an fdatasync after every write.
func openJournal(path string, fsync bool) (*journal, error) {
	return openJournalRetain(path, fsync, journalRetainBytesDefault)
}

// openJournalRetain is openJournal keeping retainBytes of records.
func openJournalRetain(path string, fsync bool, retainBytes int64) (*journal, error) {
	j := &journal{base: path, path: path, sync: fsync, retainBytes: retainBytes,
		segBytes: max(retainBytes/journalSegmentsPerRetain, 1)}
	if err := j.recover(); err != nil {
		if j.f != nil {
			j.f.Close()
		}
		return nil, err
	}
	return j, nil
}

// recover reads the segments (journalsegments.go), then the active one:
// header, records, and cuts a torn tail; then deletes segments beyond the
// bound.
func (j *journal) recover() error {
	if err := j.unmapLocked(); err != nil { // the file may be cut below
		return err
	}
	j.hdr, j.end, j.records, j.lastSeq, j.ordered, j.index = journalHeader{}, journalRecordsStart, 0, 0, true, j.index[:0]
	j.segs, j.activeRecords = j.segs[:0], 0
	older, err := j.pickActiveLocked()
	if err != nil {
		return err
	}
	for _, n := range older {
		if err := j.scanOlderLocked(n); err != nil {
			return err
		}
	}
	if err := j.recoverActive(); err != nil {
		return err
	}
	return j.trimLocked()
}

// recoverActive reads the active segment: header, records, and cuts a
// torn tail.
func (j *journal) recoverActive() error {
	var slots [journalRecordsStart]byte
	n, err := j.f.ReadAt(slots[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: read header of %s: %w", ErrJournal, j.path, err)
	}
	found := false
	for i := range journalSlots {
		if n < (i+1)*journalSlotBytes {
			break
		}
		if h, ok := decodeSlot(slots[i*journalSlotBytes:]); ok && (!found || h.gen > j.hdr.gen) {
			j.hdr, found = h, true
		}
	}
	if !found {
		return j.fresh(time.Now())
	}
	st, err := j.f.Stat()
	if err != nil {
		return fmt.Errorf("%w: size of %s: %w", ErrJournal, j.path, err)
	}
	size := st.Size()
	var last journalRecord
	s := newRecordScanner(j.f, journalRecordsStart, max(size, journalRecordsStart))
	for {
		r, ok := s.next()
		if !ok {
			break
		}
		j.noteRecord(r.seq, j.active, s.off-int64(recordHeaderBytes+len(r.body)), j.activeRecords)
		j.activeRecords++
		last = r
	}
	j.end = s.off
	if j.end < size {
		// A torn or corrupt tail: cut it, so the next record follows the
		// last whole one.
		if err := j.f.Truncate(j.end); err != nil {
			return fmt.Errorf("%w: cut %s at %d: %w", ErrJournal, j.path, j.end, err)
		}
	}
	switch {
	case j.activeRecords > 0 && uint64(j.end) > j.hdr.end:
		// Records written after the header: the last one says what the
		// next sender sequence number became.
		j.hdr.nextSender = last.next
	case uint64(j.end) < j.hdr.end:
		// Records the header had seen are lost (a host crash without
		// fsync). Its sender number stands (the client may have seen
		// those messages); the header must now say where the records
		// end, or the next ones would not count as after it.
		return j.writeHeaderLocked()
	}
	return nil
}

// fresh makes the journal empty (the older segments deleted, the active
// one emptied) at sequence numbers 1.
func (j *journal) fresh(now time.Time) error {
	if err := j.unmapLocked(); err != nil {
		return err
	}
	if err := j.removeOlderLocked(); err != nil {
		return err
	}
	if err := j.f.Truncate(0); err != nil {
		return fmt.Errorf("%w: empty %s: %w", ErrJournal, j.path, err)
	}
	j.end, j.records, j.lastSeq, j.ordered, j.index = journalRecordsStart, 0, 0, true, j.index[:0]
	j.activeRecords = 0
	gen := j.hdr.gen
	j.hdr = journalHeader{gen: gen, nextSender: 1, nextTarget: 1, creation: now.UnixNano()}
	// Both slots, so that neither holds the old numbering.
	if err := j.writeHeaderLocked(); err != nil {
		return err
	}
	return j.writeHeaderLocked()
}

// noteRecord counts a record at off of segment seg, the nth of its
// segment (in the index every stride of a segment, from its first).
func (j *journal) noteRecord(seq, seg uint64, off int64, nth uint64) {
	if j.records > 0 && seq <= j.lastSeq {
		j.ordered = false // a sequence reset downwards: resends scan it all
	}
	if nth%journalIndexStride == 0 {
		j.index = append(j.index, journalIndexEntry{seq: seq, seg: seg, off: off})
	}
	j.records++
	j.lastSeq = seq
}

// writeHeaderLocked writes j.hdr (with the next generation and the records'
// end) into the slot after the newest.
func (j *journal) writeHeaderLocked() error {
	h := j.hdr
	h.gen++
	h.end = uint64(j.end)
	var b [journalSlotBytes]byte
	encodeSlot(&b, h)
	if _, err := j.f.WriteAt(b[:], int64(h.gen%journalSlots)*journalSlotBytes); err != nil {
		return fmt.Errorf("%w: write header of %s: %w", ErrJournal, j.path, err)
	}
	if err := j.syncLocked(); err != nil {
		return err
	}
	j.hdr = h
	return nil
}

func (j *journal) syncLocked() error {
	if !j.sync {
		return nil
	}
	if err := j.f.Sync(); err != nil { // fdatasync where the runtime has it
		return fmt.Errorf("%w: sync %s: %w", ErrJournal, j.path, err)
	}
	return nil
}

// appendLocked writes one record; next is the next sender sequence number
// it persists.
func (j *journal) appendLocked(seq int, msg []byte, next uint64) error {
	if len(msg) > recordBodyBytesMax {
		return fmt.Errorf("%w: message %d of %d bytes is over %d", ErrJournal, seq, len(msg), recordBodyBytesMax)
	}
	if seq <= 0 {
		return fmt.Errorf("%w: message sequence number %d", ErrJournal, seq)
	}
	r := journalRecord{seq: uint64(seq), next: next, body: msg}
	n := recordHeaderBytes + len(msg)
	if j.end-journalRecordsStart >= j.segBytes {
		if err := j.rollLocked(); err != nil {
			return err
		}
	}
	if dst := j.windowLocked(n); dst != nil {
		// A store into the page cache; a crash halfway leaves a torn
		// record past j.end, which the next one overwrites and recovery
		// cuts.
		if err := putRecordMapped(dst, r); err != nil {
			// The file lost the window's pages (cut from outside, a disk
			// error): no record was stored. Write it with pwrite into
			// the file as repaired, or fail the save.
			if err := j.afterFaultLocked(fmt.Errorf("%w %s: mapped write at %d: %w", ErrJournal, j.path, j.end, err)); err != nil {
				return err
			}
			if err := j.pwriteLocked(r); err != nil {
				return err
			}
		}
	} else if err := j.pwriteLocked(r); err != nil {
		return err
	}
	j.noteRecord(uint64(seq), j.active, j.end, j.activeRecords)
	j.activeRecords++
	j.end += int64(n)
	j.hdr.nextSender = next
	return nil
}

// pwriteLocked writes r at j.end with a positioned write.
func (j *journal) pwriteLocked(r journalRecord) error {
	j.buf = appendRecord(j.buf[:0], r)
	if _, err := j.f.WriteAt(j.buf, j.end); err != nil {
		// A partial record stays past j.end: the next one overwrites
		// it, and recovery cuts it.
		return fmt.Errorf("%w: write message %d to %s: %w", ErrJournal, r.seq, j.path, err)
	}
	return j.syncLocked()
}

// windowLocked returns the mapped bytes for an n-byte record at j.end,
// mapping the next window of the file when the current one ends before;
// nil when records are written with pwrite (fsync asked for, or mapping
// failed).
func (j *journal) windowLocked(n int) []byte {
	if j.sync || j.noMap {
		return nil
	}
	at := j.end - j.winOff
	if j.win != nil && at >= 0 && at+int64(n) <= int64(len(j.win)) {
		return j.win[at : at+int64(n) : at+int64(n)]
	}
	if err := j.unmapLocked(); err != nil {
		j.noMap = true
		return nil
	}
	off := j.end &^ (journalPageBytes - 1)
	size := max(journalMapBytes, int(j.end-off)+n)
	win, err := mapJournalWindow(j.f, off, size)
	if err != nil {
		j.noMap = true
		return nil
	}
	j.win, j.winOff = win, off
	at = j.end - off
	return j.win[at : at+int64(n) : at+int64(n)]
}

// unmapLocked drops the mapped window, if any.
func (j *journal) unmapLocked() error {
	if j.win == nil {
		return nil
	}
	err := unmapJournalWindow(j.win)
	j.win, j.winOff = nil, 0
	if err != nil {
		return fmt.Errorf("%w: unmap %s: %w", ErrJournal, j.path, err)
	}
	return nil
}

// NextSenderMsgSeqNum implements quickfix.MessageStore.
func (j *journal) NextSenderMsgSeqNum() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return int(j.hdr.nextSender)
}

// NextTargetMsgSeqNum implements quickfix.MessageStore.
func (j *journal) NextTargetMsgSeqNum() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return int(j.hdr.nextTarget)
}

// IncrNextSenderMsgSeqNum implements quickfix.MessageStore.
func (j *journal) IncrNextSenderMsgSeqNum() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.setLocked(j.hdr.nextSender+1, j.hdr.nextTarget)
}

// IncrNextTargetMsgSeqNum implements quickfix.MessageStore.
func (j *journal) IncrNextTargetMsgSeqNum() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.setLocked(j.hdr.nextSender, j.hdr.nextTarget+1)
}

// SetNextSenderMsgSeqNum implements quickfix.MessageStore.
func (j *journal) SetNextSenderMsgSeqNum(next int) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if next <= 0 {
		return fmt.Errorf("%w: next sender sequence number %d", ErrJournal, next)
	}
	return j.setLocked(uint64(next), j.hdr.nextTarget)
}

// SetNextTargetMsgSeqNum implements quickfix.MessageStore.
func (j *journal) SetNextTargetMsgSeqNum(next int) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if next <= 0 {
		return fmt.Errorf("%w: next target sequence number %d", ErrJournal, next)
	}
	return j.setLocked(j.hdr.nextSender, uint64(next))
}

// setLocked persists both sequence numbers in the header.
func (j *journal) setLocked(sender, target uint64) error {
	old := j.hdr
	j.hdr.nextSender, j.hdr.nextTarget = sender, target
	if err := j.writeHeaderLocked(); err != nil {
		j.hdr = old
		return err
	}
	return nil
}

// CreationTime implements quickfix.MessageStore.
func (j *journal) CreationTime() time.Time {
	j.mu.Lock()
	defer j.mu.Unlock()
	return time.Unix(0, j.hdr.creation)
}

// SetCreationTime implements quickfix.MessageStore. Like quickfixgo's file
// store, the journal keeps the time it was created or last reset.
func (j *journal) SetCreationTime(time.Time) {}

// SaveMessage implements quickfix.MessageStore: the record persists the
// sender sequence number unchanged.
func (j *journal) SaveMessage(seqNum int, msg []byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.appendLocked(seqNum, msg, j.hdr.nextSender)
}

// SaveMessageAndIncrNextSenderMsgSeqNum implements quickfix.MessageStore:
// one record, one write.
func (j *journal) SaveMessageAndIncrNextSenderMsgSeqNum(seqNum int, msg []byte) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.appendLocked(seqNum, msg, j.hdr.nextSender+1)
}

// GetMessages implements quickfix.MessageStore.
func (j *journal) GetMessages(beginSeqNum, endSeqNum int) ([][]byte, error) {
	var msgs [][]byte
	err := j.IterateMessages(beginSeqNum, endSeqNum, func(m []byte) error {
		msgs = append(msgs, m)
		return nil
	})
	return msgs, err
}

// IterateMessages implements quickfix.MessageStore: the stored messages
// numbered beginSeqNum..endSeqNum, in order, each a fresh slice. It holds
// no lock while cb runs (quickfixgo sends from cb, and its senders store
// messages meanwhile): it reads the records that were in the file when
// it began. A message stored more than once under one number (after a
// sequence reset downwards) is given as last stored.
func (j *journal) IterateMessages(beginSeqNum, endSeqNum int, cb func([]byte) error) error {
	if endSeqNum < beginSeqNum || endSeqNum <= 0 {
		return nil
	}
	begin, end := uint64(max(beginSeqNum, 1)), uint64(endSeqNum)
	j.mu.Lock()
	plan, ordered := j.readPlanLocked(begin), j.ordered
	j.mu.Unlock()
	if !ordered {
		return j.iterateUnordered(plan, begin, end, cb)
	}
	return j.eachRecord(plan, func(r journalRecord) (bool, error) {
		if r.seq > end {
			return false, nil
		}
		if r.seq >= begin {
			return true, cb(append([]byte(nil), r.body...))
		}
		return true, nil
	})
}

// eachRecord reads the records plan names, in order, each segment with a
// file of its own (a roll may close the journal's meanwhile), until fn
// says stop or fails. A segment deleted meanwhile (the journal went past
// its bound) is skipped: its messages are no longer kept.
func (j *journal) eachRecord(plan []segmentRange, fn func(journalRecord) (more bool, err error)) error {
	for _, p := range plan {
		f, err := os.Open(p.path)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("%w: open %s for a resend: %w", ErrJournal, p.path, err)
		}
		more, err := j.eachRecordOf(f, p, fn)
		f.Close()
		if err != nil || !more {
			return err
		}
	}
	return nil
}

func (j *journal) eachRecordOf(f *os.File, p segmentRange, fn func(journalRecord) (bool, error)) (bool, error) {
	s := newRecordScanner(f, p.from, p.to)
	for s.off < p.to {
		r, ok := s.next()
		if !ok {
			return false, fmt.Errorf("%w: read record at %d of %s", ErrJournal, s.off, p.path)
		}
		if more, err := fn(r); err != nil || !more {
			return false, err
		}
	}
	return true, nil
}

// iterateUnordered serves a resend from a journal whose numbering went
// backwards: the last record of each number in range, in number order.
func (j *journal) iterateUnordered(plan []segmentRange, begin, end uint64, cb func([]byte) error) error {
	byNum := map[uint64][]byte{}
	err := j.eachRecord(plan, func(r journalRecord) (bool, error) {
		if r.seq >= begin && r.seq <= end {
			byNum[r.seq] = append([]byte(nil), r.body...)
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	nums := make([]uint64, 0, len(byNum))
	for n := range byNum {
		nums = append(nums, n)
	}
	sort.Slice(nums, func(a, b int) bool { return nums[a] < nums[b] })
	for _, n := range nums {
		if err := cb(byNum[n]); err != nil {
			return err
		}
	}
	return nil
}

// Refresh implements quickfix.MessageStore: read the file again.
func (j *journal) Refresh() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.recover()
}

// Reset implements quickfix.MessageStore: no messages, sequence numbers
// back to 1, a new creation time.
func (j *journal) Reset() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.fresh(time.Now())
}

// Close implements quickfix.MessageStore.
func (j *journal) Close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.win != nil {
		// The zeros past the records go with the window (recovery would
		// cut them too).
		err := j.unmapLocked()
		if err == nil {
			err = j.f.Truncate(j.end)
		}
		if err != nil {
			j.f.Close()
			return fmt.Errorf("%w: close %s: %w", ErrJournal, j.path, err)
		}
	}
	if err := j.f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("%w: close %s: %w", ErrJournal, j.path, err)
	}
	return nil
}

// journalFactory creates each session's journal in its FileStorePath.
// faults, if set, counts faults on the journals' mapped windows.
type journalFactory struct {
	settings *quickfix.Settings
	faults   *transport.Counter
}

// NewJournalStoreFactory returns the journal's quickfix.MessageStoreFactory
// (VenueFIXStore=journal): each session's journal is
// FileStorePath/<BeginString>-<SenderCompID>-<TargetCompID>.journal, with
// an fdatasync after every write unless FileStoreSync=N, as quickfixgo's
// file store, and later segments .journal.1, .journal.2, ... keeping
// KeyJournalRetainBytes of messages.
func NewJournalStoreFactory(settings *quickfix.Settings) quickfix.MessageStoreFactory {
	return journalFactory{settings: settings}
}

// Create implements quickfix.MessageStoreFactory.
func (f journalFactory) Create(id quickfix.SessionID) (quickfix.MessageStore, error) {
	s, ok := f.settings.SessionSettings()[id]
	if !ok {
		s = f.settings.GlobalSettings()
	}
	dir, err := s.Setting(config.FileStorePath)
	if err != nil {
		return nil, fmt.Errorf("%w: session %v: %w", ErrJournal, id, err)
	}
	fsync := true // quickfixgo's default
	if s.HasSetting(config.FileStoreSync) {
		if fsync, err = s.BoolSetting(config.FileStoreSync); err != nil {
			return nil, fmt.Errorf("%w: session %v: %w", ErrJournal, id, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w: session %v: %w", ErrJournal, id, err)
	}
	retain, err := journalRetainBytesOf(s)
	if err != nil {
		return nil, fmt.Errorf("%w: session %v: %w", ErrJournal, id, err)
	}
	path := filepath.Join(dir, journalFileName(id))
	jt, existed, err := journalModTime(path)
	if err != nil {
		return nil, err
	}
	ft, fok := fileStoreModTime(dir, id) // storeswitch.go
	j, err := openJournalRetain(path, fsync, retain)
	if err != nil {
		return nil, err
	}
	j.faults = f.faults
	if fok && (!existed || ft.After(jt)) {
		if err := j.adoptFileStore(dir, id); err != nil {
			j.Close()
			return nil, err
		}
	}
	return j, nil
}

// adoptFileStore gives the journal the sequence numbers quickfixgo's file
// store left in dir for the session, if it did, emptying it first: a
// gateway moved from the file store to the journal (the first time, or
// back after the file store was used since: storeswitch.go) keeps its
// sessions' numbering, so its clients need no reset. (The file store's
// messages stay behind: a resend of one of them is answered with a gap
// fill.)
func (j *journal) adoptFileStore(dir string, id quickfix.SessionID) error {
	prefix := fileStorePrefix(dir, id)
	sender, okS := readFileStoreSeqNum(prefix + ".senderseqnums")
	target, okT := readFileStoreSeqNum(prefix + ".targetseqnums")
	if !okS && !okT {
		return nil
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if err := j.fresh(time.Now()); err != nil {
		return err
	}
	if okS {
		j.hdr.nextSender = sender
	}
	if okT {
		j.hdr.nextTarget = target
	}
	return j.writeHeaderLocked()
}

// readFileStoreSeqNum reads one of quickfixgo's file store sequence number
// files (a decimal number); ok is false when there is none.
func readFileStoreSeqNum(path string) (uint64, bool) {
	b, err := os.ReadFile(path)
	if err != nil || len(b) > fileStoreSeqNumBytesMax {
		return 0, false
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 63)
	if err != nil || n == 0 {
		return 0, false
	}
	return n, true
}

// journalFileName names a session's journal as quickfixgo's file store
// names its files.
func journalFileName(s quickfix.SessionID) string {
	join := func(parts ...string) string {
		var out []string
		for _, p := range parts {
			if p != "" {
				out = append(out, p)
			}
		}
		return strings.Join(out, "_")
	}
	name := []string{s.BeginString, join(s.SenderCompID, s.SenderSubID, s.SenderLocationID),
		join(s.TargetCompID, s.TargetSubID, s.TargetLocationID)}
	if s.Qualifier != "" {
		name = append(name, s.Qualifier)
	}
	return strings.Join(name, "-") + journalFileSuffix
}
