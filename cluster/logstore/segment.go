package logstore

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"strconv"
	"strings"

	"venue/archive"
	"venue/cluster/consensus"
)

// Segment file layout (see the package doc for why):
//
//	[0, segHeaderRegion)                       header: magic, version, base, capacities, CRC32C
//	[segHeaderRegion, +dataLength)             the log bytes from base, entries never split
//	[segHeaderRegion+dataLength, +slots*32)    index: one slot per Append batch
//
// The file is preallocated to its full length when created, so writes never
// change its size and fdatasync has no metadata to force.
const (
	segHeaderRegion = 4096 // keeps the data region page aligned
	segHeaderLength = 64
	segMagic        = "VNLOGSEG"
	segVersion      = 1

	segVersionOffset   = 8
	segSlotLenOffset   = 12
	segBaseOffset      = 16
	segDataLenOffset   = 24
	segSlotsOffset     = 32
	segChecksumOffset  = 60
	segChecksummedSize = 60

	// slotLength is one index slot. 512 is a multiple, so a slot never
	// straddles a disk sector.
	slotLength         = 32
	slotStartOffset    = 0
	slotLengthOffset   = 8
	slotDataCRCOffset  = 12
	slotReservedOffset = 16
	slotChecksumOffset = 28
)

var le = binary.LittleEndian

// segHeader is a segment file's fixed description.
type segHeader struct {
	base    consensus.Position
	dataLen int64
	slots   int
}

func (h *segHeader) fileLength() int64 {
	return segHeaderRegion + h.dataLen + int64(h.slots)*slotLength
}

func (h *segHeader) indexOffset() int64 { return segHeaderRegion + h.dataLen }

func newSegHeader(base consensus.Position, dataLen int64) segHeader {
	return segHeader{base: base, dataLen: dataLen, slots: int(dataLen / indexBytesPerSlot)}
}

func encodeSegHeader(b []byte, h *segHeader) {
	clear(b[:segHeaderLength])
	copy(b, segMagic)
	le.PutUint32(b[segVersionOffset:], segVersion)
	le.PutUint32(b[segSlotLenOffset:], slotLength)
	le.PutUint64(b[segBaseOffset:], uint64(h.base))
	le.PutUint64(b[segDataLenOffset:], uint64(h.dataLen))
	le.PutUint32(b[segSlotsOffset:], uint32(h.slots))
	le.PutUint32(b[segChecksumOffset:], crc32.Checksum(b[:segChecksummedSize], castagnoli))
}

// decodeSegHeader validates and decodes a segment header; it never panics.
func decodeSegHeader(b []byte) (segHeader, error) {
	if len(b) < segHeaderLength {
		return segHeader{}, fmt.Errorf("%w: segment header of %d bytes", ErrCorrupt, len(b))
	}
	if string(b[:len(segMagic)]) != segMagic ||
		le.Uint32(b[segChecksumOffset:]) != crc32.Checksum(b[:segChecksummedSize], castagnoli) {
		return segHeader{}, fmt.Errorf("%w: segment header magic or checksum", ErrCorrupt)
	}
	h := segHeader{
		base:    consensus.Position(le.Uint64(b[segBaseOffset:])),
		dataLen: int64(le.Uint64(b[segDataLenOffset:])),
		slots:   int(le.Uint32(b[segSlotsOffset:])),
	}
	switch {
	case le.Uint32(b[segVersionOffset:]) != segVersion:
		return h, fmt.Errorf("%w: segment version %d", ErrCorrupt, le.Uint32(b[segVersionOffset:]))
	case le.Uint32(b[segSlotLenOffset:]) != slotLength:
		return h, fmt.Errorf("%w: segment slot length %d", ErrCorrupt, le.Uint32(b[segSlotLenOffset:]))
	case h.base < 0 || h.base%8 != 0:
		return h, fmt.Errorf("%w: segment base %d", ErrCorrupt, h.base)
	case h.dataLen < segmentLengthMin || h.dataLen > segmentLengthMax || h.dataLen%8 != 0:
		return h, fmt.Errorf("%w: segment data length %d", ErrCorrupt, h.dataLen)
	case h.slots < 1 || int64(h.slots) > h.dataLen/consensus.EntryHeaderLength:
		return h, fmt.Errorf("%w: segment index slots %d", ErrCorrupt, h.slots)
	}
	return h, nil
}

// slot is one index record: the batch [start, start+length) of log bytes,
// all in this segment, has CRC32C dataCRC.
type slot struct {
	start   consensus.Position
	length  int64
	dataCRC uint32
}

func (s slot) end() consensus.Position { return s.start + consensus.Position(s.length) }

func encodeSlot(b []byte, s slot) {
	b = b[:slotLength]
	clear(b)
	le.PutUint64(b[slotStartOffset:], uint64(s.start))
	le.PutUint32(b[slotLengthOffset:], uint32(s.length))
	le.PutUint32(b[slotDataCRCOffset:], s.dataCRC)
	le.PutUint32(b[slotChecksumOffset:], crc32.Checksum(b[:slotChecksumOffset], castagnoli))
}

// decodeSlot returns the slot in b and whether it is a well-formed record
// (a zero, torn or garbage slot is not). It never panics.
func decodeSlot(b []byte) (slot, bool) {
	if len(b) < slotLength {
		return slot{}, false
	}
	if le.Uint32(b[slotChecksumOffset:]) != crc32.Checksum(b[:slotChecksumOffset], castagnoli) {
		return slot{}, false
	}
	for _, c := range b[slotReservedOffset:slotChecksumOffset] {
		if c != 0 {
			return slot{}, false
		}
	}
	s := slot{
		start:   consensus.Position(le.Uint64(b[slotStartOffset:])),
		length:  int64(le.Uint32(b[slotLengthOffset:])),
		dataCRC: le.Uint32(b[slotDataCRCOffset:]),
	}
	if s.start < 0 || s.length <= 0 || s.length%8 != 0 || s.start%8 != 0 {
		return slot{}, false
	}
	return s, true
}

// segmentName is the file name of the segment at base: fixed width, so
// names sort by base.
func segmentName(base consensus.Position) string {
	return fmt.Sprintf("%s%020d%s", segmentPrefix, base, segmentSuffix)
}

// parseSegmentName is the inverse of segmentName.
func parseSegmentName(name string) (consensus.Position, bool) {
	stem, ok := strings.CutPrefix(name, segmentPrefix)
	if !ok {
		return 0, false
	}
	if stem, ok = strings.CutSuffix(stem, segmentSuffix); !ok {
		return 0, false
	}
	b, err := strconv.ParseInt(stem, 10, 64)
	if err != nil || b < 0 || segmentName(consensus.Position(b)) != name {
		return 0, false
	}
	return consensus.Position(b), true
}

// segment is the in-memory handle of one segment file.
type segment struct {
	segHeader
	path string
	file archive.File // nil while closed (older segments, see openSegmentsMax)
	// prepared: made from a zero-filled spare (prepare.go), so syncs of
	// its appends write no metadata. False when unknown (recovered).
	prepared bool
}

func (s *Store) segmentPath(base consensus.Position) string {
	return filepath.Join(s.cfg.Dir, segmentName(base))
}

// createSegment makes a new, preallocated segment file at base. It uses
// the prepared spare when one is ready (prepare.go), else fallocates. With
// syncNow the header is synced before the directory entry is, so that a
// segment whose name survives a crash has a readable header; without, the
// roll's owed syncs do the same later (pendingRoll), and a crash before
// them can leave a torn header on the last segment, which recovery drops.
func (s *Store) createSegment(base consensus.Position, syncNow bool) (*segment, error) {
	if s.preparing() {
		if f := s.takeSpare(); f != nil {
			return s.installSpare(f, base, syncNow)
		}
	}
	h := newSegHeader(base, s.cfg.SegmentLength)
	path := s.segmentPath(base)
	f, err := s.cfg.FS.OpenFile(path, true)
	if err != nil {
		return nil, fmt.Errorf("logstore: create segment %d: %w", base, err)
	}
	var hdr [segHeaderLength]byte
	encodeSegHeader(hdr[:], &h)
	// A leftover file of the same name (impossible unless someone copied
	// files in) is emptied first: its old index slots must not survive.
	err = f.Truncate(0)
	if err == nil {
		err = f.Allocate(h.fileLength())
	}
	if err == nil {
		_, err = f.WriteAt(hdr[:], 0)
	}
	// FsyncNone promises nothing across a power loss, so the new segment is
	// not synced: an fdatasync here waits for the disk's whole write cache,
	// which the page-cache writes of FsyncNone keep full (26-432 ms measured
	// under load, all on the member's duty cycle, long enough for its peers
	// to time it out). A process crash keeps the page cache; after a power
	// loss recovery drops a segment whose header did not reach the disk.
	if err == nil && syncNow {
		err = f.SyncData()
		if err == nil {
			err = s.cfg.FS.SyncDir(s.cfg.Dir)
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("logstore: create segment %d: %w", base, err)
	}
	return &segment{segHeader: h, path: path, file: f}, nil
}

// readSegHeader reads and checks the header of the file at path, which must
// be named for base.
func readSegHeader(f archive.File, base consensus.Position) (segHeader, error) {
	var b [segHeaderLength]byte
	if _, err := f.ReadAt(b[:], 0); err != nil {
		return segHeader{}, fmt.Errorf("%w: segment %d header: %w", ErrCorrupt, base, err)
	}
	h, err := decodeSegHeader(b[:])
	if err != nil {
		return h, fmt.Errorf("segment %d: %w", base, err)
	}
	if h.base != base {
		return h, fmt.Errorf("%w: segment named %d has base %d", ErrCorrupt, base, h.base)
	}
	if size, err := f.Size(); err != nil || size < h.fileLength() {
		return h, fmt.Errorf("%w: segment %d is %d bytes, want %d (%v)", ErrCorrupt, base, size, h.fileLength(), err)
	}
	return h, nil
}
