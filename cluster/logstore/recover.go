package logstore

import (
	"bytes"
	"fmt"
	"hash/crc32"

	"venue/archive"
	"venue/cluster/consensus"
)

// segScan is what a full scan of one segment found.
type segScan struct {
	data  []byte // the data region
	idx   []byte // the index region
	slots int    // valid slots, from the first
	end   consensus.Position
}

// scanSegment reads a segment's data and index regions and finds how far
// its log is intact (scanSlots).
func scanSegment(f archive.File, h *segHeader) (segScan, error) {
	return scanSegmentInto(f, h, nil)
}

// scanSegmentInto is scanSegment reading the data into buf when it has the
// capacity.
func scanSegmentInto(f archive.File, h *segHeader, buf []byte) (segScan, error) {
	if int64(cap(buf)) < h.dataLen {
		buf = make([]byte, h.dataLen)
	}
	sc := segScan{data: buf[:h.dataLen], idx: make([]byte, h.slots*slotLength)}
	if _, err := f.ReadAt(sc.data, segHeaderRegion); discard(err) != nil {
		return sc, fmt.Errorf("logstore: read segment %d: %w", h.base, err)
	}
	if _, err := f.ReadAt(sc.idx, h.indexOffset()); discard(err) != nil {
		return sc, fmt.Errorf("logstore: read segment %d index: %w", h.base, err)
	}
	sc.slots, sc.end = scanSlots(h, sc.data, sc.idx)
	return sc, nil
}

// scanSlots walks a segment's index slots from the first and returns how
// many describe intact log bytes, and the log end they reach. A slot counts
// when its own checksum holds, it starts where the previous one ended (the
// first at the segment's base), its bytes lie in the data region, their
// CRC32C matches, and they decode as whole entries. The first slot that
// fails ends the log: everything after it is a torn or stale write. It
// reads bytes from disk, so it never panics (FuzzScanSlots).
func scanSlots(h *segHeader, data, idx []byte) (int, consensus.Position) {
	var e consensus.LogEntry
	end := h.base
	limit := min(h.dataLen, int64(len(data)))
	n := 0
	for ; n < h.slots && (n+1)*slotLength <= len(idx); n++ {
		sl, ok := decodeSlot(idx[n*slotLength:])
		if !ok || sl.start != end || int64(sl.end()-h.base) > limit {
			break
		}
		b := data[sl.start-h.base : sl.end()-h.base]
		if crc32.Checksum(b, castagnoli) != sl.dataCRC || !wholeEntries(b, &e) {
			break
		}
		end = sl.end()
	}
	return n, end
}

// wholeEntries reports whether b is a sequence of entries DecodeEntry
// accepts, exactly.
func wholeEntries(b []byte, e *consensus.LogEntry) bool {
	for len(b) > 0 {
		n, err := consensus.DecodeEntry(b, e)
		if err != nil {
			return false
		}
		b = b[n:]
	}
	return true
}

// recoverSegments finds the log's segments and its end. Every segment but
// the last recoveryValidateSegments is trusted to run to the next one's
// base (its roll's syncs were paid before the next roll); those are
// scanned in full.
// The log ends at the first torn slot, or at a segment that does not start
// where the log so far ends (left by an interrupted Truncate) or whose
// header is torn (an interrupted roll: the last segment only, or any under
// FsyncNone, where rolls do not sync). Unless
// read-only, segments past the end are removed, the tail's stale index
// slots zeroed, and every kept segment synced: what survives is durable.
func (s *Store) recoverSegments() error {
	names, err := s.cfg.FS.ReadDir(s.cfg.Dir)
	if err != nil {
		return fmt.Errorf("logstore: list %s: %w", s.cfg.Dir, err)
	}
	var bases []consensus.Position
	for _, name := range names {
		if b, ok := parseSegmentName(name); ok {
			bases = append(bases, b)
		}
	}
	validateFrom := len(bases) - recoveryValidateSegments
	if s.cfg.Fsync == archive.FsyncNone && !s.readOnly {
		validateFrom = 0 // no roll was synced: any segment may have lost writes
	}
	var scratch []byte // data buffer reused for segments before the tail
	var tailScan segScan
	i := 0
	for ; i < len(bases); i++ {
		if tailScan.data != nil {
			// The previous segment's buffer: recoverSegment reads into it
			// only when this segment continues the log, so it is no
			// longer the tail's.
			scratch = tailScan.data
		}
		seg, sc, ok, err := s.recoverSegment(bases, i, i >= validateFrom, scratch)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		s.segs = append(s.segs, seg)
		s.end, tailScan = sc.end, sc
	}
	if err := s.dropSegments(bases[i:]); err != nil {
		return err
	}
	if len(s.segs) == 0 {
		return nil
	}
	s.start = s.segs[0].base
	tail := s.segs[len(s.segs)-1]
	if tailScan.data == nil { // trusted, not scanned (recoveryValidateSegments < 1)
		if tailScan, err = scanSegment(tail.file, &tail.segHeader); err != nil {
			return err
		}
		s.end = tailScan.end
	}
	if !s.readOnly {
		if err := s.settle(tail, &tailScan); err != nil {
			return err
		}
	}
	s.idx = tailScan.idx
	s.setTail(tail, tailScan.data, tailScan.slots)
	for _, seg := range s.segs[:len(s.segs)-1] {
		seg.file.Close()
		seg.file = nil
	}
	return nil
}

// recoverSegment opens segment i and decides whether the log continues
// through it (ok), validating it in full when validate is set.
func (s *Store) recoverSegment(bases []consensus.Position, i int, validate bool, scratch []byte) (*segment, segScan, bool, error) {
	base := bases[i]
	path := s.segmentPath(base)
	f, err := s.cfg.FS.OpenFile(path, false)
	if err != nil {
		return nil, segScan{}, false, fmt.Errorf("logstore: open segment %d: %w", base, err)
	}
	h, err := readSegHeader(f, base)
	switch {
	case err != nil && (i == len(bases)-1 || s.cfg.Fsync == archive.FsyncNone && !s.readOnly):
		// Created, crashed before its header was durable: the last
		// segment, or under FsyncNone any (no roll synced its segment, so
		// a power loss may take an older header and keep a newer one; the
		// log is cut there, as at any other lost write).
		f.Close()
		return nil, segScan{}, false, nil
	case err != nil:
		f.Close()
		return nil, segScan{}, false, err
	case i > 0 && base != s.end: // left behind by an interrupted Truncate
		f.Close()
		return nil, segScan{}, false, nil
	}
	seg := &segment{segHeader: h, path: path, file: f}
	if !validate {
		next := bases[i+1]
		if next <= base || int64(next-base) > h.dataLen {
			f.Close()
			return nil, segScan{}, false, fmt.Errorf("%w: segment %d (%d bytes) followed by segment %d",
				ErrCorrupt, base, h.dataLen, next)
		}
		return seg, segScan{end: next}, true, nil
	}
	sc, err := scanSegmentInto(f, &h, scratch)
	if err != nil {
		f.Close()
		return nil, segScan{}, false, err
	}
	return seg, sc, true, nil
}

// dropSegments removes the segment files at bases, past the log's end,
// last first, so that an interrupted recovery leaves a contiguous prefix.
func (s *Store) dropSegments(bases []consensus.Position) error {
	if s.readOnly {
		return nil
	}
	for j := len(bases) - 1; j >= 0; j-- {
		if err := s.cfg.FS.Remove(s.segmentPath(bases[j])); err != nil {
			return fmt.Errorf("logstore: remove segment %d past the log's end: %w", bases[j], err)
		}
		if err := s.cfg.FS.SyncDir(s.cfg.Dir); err != nil {
			return fmt.Errorf("logstore: sync %s: %w", s.cfg.Dir, err)
		}
	}
	return nil
}

// settle zeroes the tail's index slots past its valid ones where they are
// not already zero (a torn or stale slot there could otherwise be taken for
// a later batch's), then syncs every segment and the directory: bytes and
// segments that were only in the page cache are durable from here on.
func (s *Store) settle(t *segment, sc *segScan) error {
	for off := sc.slots * slotLength; off < len(sc.idx); {
		n := min(zeroChunkLength, len(sc.idx)-off)
		if chunk := sc.idx[off : off+n]; !isZero(chunk) {
			clear(chunk)
			if _, err := t.file.WriteAt(chunk, t.indexOffset()+int64(off)); err != nil {
				return fmt.Errorf("logstore: zero segment %d index: %w", t.base, err)
			}
		}
		off += n
	}
	for _, seg := range s.segs {
		if err := seg.file.SyncData(); err != nil {
			return fmt.Errorf("logstore: sync segment %d: %w", seg.base, err)
		}
	}
	// And their names: under FsyncNone segment creation syncs nothing.
	if err := s.cfg.FS.SyncDir(s.cfg.Dir); err != nil {
		return fmt.Errorf("logstore: sync %s: %w", s.cfg.Dir, err)
	}
	return nil
}

// isZero reports whether b holds only zero bytes.
func isZero(b []byte) bool { return len(bytes.TrimLeft(b, "\x00")) == 0 }
