package logstore

import (
	"bytes"
	"hash/crc32"
	"testing"

	"venue/archive"
	"venue/cluster/consensus"
)

// validSegment returns a segment's data and index regions holding a few
// real batches from base, and the header describing them.
func validSegment(base consensus.Position) (segHeader, []byte, []byte) {
	h := segHeader{base: base, dataLen: 4096, slots: 16}
	data := make([]byte, h.dataLen)
	idx := make([]byte, h.slots*slotLength)
	gen := newEntryGen(1)
	pos := base
	for i := range 3 {
		b := gen.batch(3, 200, consensus.TermID(i%2))
		copy(data[pos-base:], b)
		encodeSlot(idx[i*slotLength:], slot{start: pos, length: int64(len(b)), dataCRC: crc32.Checksum(b, castagnoli)})
		pos += consensus.Position(len(b))
	}
	return h, data, idx
}

// FuzzScanSlots: the recovery scan of a segment's index and data never
// panics, and what it accepts lies within the data and decodes.
func FuzzScanSlots(f *testing.F) {
	_, data, idx := validSegment(4096)
	f.Add(uint64(4096), data, idx)                  // three good batches
	f.Add(uint64(4096), data[:100], idx)            // data cut short
	f.Add(uint64(4096), data, idx[:40])             // index cut inside the second slot
	f.Add(uint64(0), data, idx)                     // base does not match the slots
	f.Add(uint64(4096), make([]byte, 64), []byte{}) // no slots
	f.Fuzz(func(t *testing.T, base uint64, data, idx []byte) {
		h := segHeader{base: consensus.Position(base % (1 << 40) &^ 7), dataLen: int64(len(data)), slots: len(idx)/slotLength + 1}
		n, end := scanSlots(&h, data, idx)
		if n < 0 || n > h.slots || end < h.base || int64(end-h.base) > int64(len(data)) {
			t.Fatalf("scan: %d slots to %d (base %d, %d bytes)", n, end, h.base, len(data))
		}
		var e consensus.LogEntry
		if !wholeEntries(data[:end-h.base], &e) {
			t.Fatalf("accepted bytes do not decode")
		}
	})
}

// FuzzDecodeSegHeader: a segment header decodes or is refused, never
// panics; what decodes is within bounds and re-encodes to itself.
func FuzzDecodeSegHeader(f *testing.F) {
	var b [segHeaderLength]byte
	h := newSegHeader(1<<20, SegmentLengthDefault)
	encodeSegHeader(b[:], &h)
	f.Add(b[:])             // a good header
	f.Add(b[:20])           // truncated
	f.Add(make([]byte, 64)) // zeros: a torn creation
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := decodeSegHeader(b)
		if err != nil {
			return
		}
		if h.dataLen < segmentLengthMin || h.dataLen > segmentLengthMax || h.slots < 1 || h.base < 0 {
			t.Fatalf("accepted %+v", h)
		}
		var out [segHeaderLength]byte
		encodeSegHeader(out[:], &h)
		if !bytes.Equal(out[:], b[:segHeaderLength]) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// FuzzDecodeRecordingLog: a recording-log file decodes or is refused,
// never panics; accepted term records are in order.
func FuzzDecodeRecordingLog(f *testing.F) {
	good := make([]byte, rlHeaderLength+3*rlRecordLength)
	encodeRLHeader(good)
	recs := []logRecord{
		{typ: recordTerm, valid: true, term: 1, position: 0},
		{typ: recordSnapshot, valid: true, term: 1, position: 64, recordingID: 3, length: 10},
		{typ: recordTerm, valid: true, term: 2, position: 128},
	}
	for i := range recs {
		encodeRecord(good[rlHeaderLength+i*rlRecordLength:], &recs[i])
	}
	f.Add(good)                            // header and three records
	f.Add(good[:rlHeaderLength])           // header only
	f.Add(good[:rlHeaderLength+100])       // a torn append
	f.Add(append(bytes.Clone(good), 1, 2)) // trailing bytes
	holed := bytes.Clone(good)
	holed[rlHeaderLength+rlRecordLength+7] ^= 1
	f.Add(holed)              // a hole between good records
	f.Add([]byte("VNRECLOG")) // magic only
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, valid, err := decodeRecordingLog(b)
		if err != nil {
			return
		}
		if valid > int64(len(b)) || valid != rlHeaderLength+int64(len(recs))*rlRecordLength {
			t.Fatalf("valid length %d of %d for %d records", valid, len(b), len(recs))
		}
		if err := checkTerms(recs); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzDecodeHardState: a hard-state file decodes to a valid state or
// ErrCorrupt, never panics.
func FuzzDecodeHardState(f *testing.F) {
	var b [hsFileLength]byte
	encodeHardStateSlot(b[:], hardStateSlot{seq: 2, hs: consensus.HardState{Term: 5, Vote: 1}})
	encodeHardStateSlot(b[hsSlotStride:], hardStateSlot{seq: 1, hs: consensus.HardState{Term: 4, Vote: -1}})
	f.Add(b[:])                       // both slots good
	f.Add(b[:hsSlotLength])           // second slot missing
	f.Add(make([]byte, hsFileLength)) // never saved
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeHardState(b)
		if err != nil {
			return
		}
		if s.hs.Term < 0 || s.hs.Vote < consensus.NoMember {
			t.Fatalf("accepted %+v", s.hs)
		}
	})
}

// FuzzOpenReadOnly: a directory with one segment file of arbitrary bytes
// (after a good or fuzzed header) opens read-only or fails with an error;
// it never panics, and what it opens reads back whole entries.
func FuzzOpenReadOnly(f *testing.F) {
	h, data, idx := validSegment(0)
	h.dataLen, h.slots = segmentLengthMin, int(segmentLengthMin/indexBytesPerSlot)
	var hdr [segHeaderLength]byte
	encodeSegHeader(hdr[:], &h)
	f.Add(hdr[:], data, idx, true)  // a good segment
	f.Add(hdr[:], data, idx, false) // no term records
	f.Add(hdr[:10], data, idx, true)
	f.Fuzz(func(t *testing.T, header, data, idx []byte, withTerm bool) {
		fsys := archive.NewSimFS(1)
		fsys.MkdirAll(testDir)
		file, _ := fsys.OpenFile(testDir+"/"+segmentName(0), true)
		file.WriteAt(header, 0)
		if hh, err := decodeSegHeader(header); err == nil && hh.fileLength() <= 2*segmentLengthMin {
			file.WriteAt(data, segHeaderRegion)
			file.WriteAt(idx, hh.indexOffset())
			file.Allocate(hh.fileLength())
		}
		if withTerm {
			l, _ := openRecordingLog(fsys, testDir, false)
			l.appendTerm(consensus.TermRecord{Term: 1, Base: 0}, 0)
			l.close()
		}
		s, err := OpenReadOnly(testDir, fsys)
		if err != nil {
			return
		}
		defer s.Close()
		b, err := s.Read(s.Start(), s.End(), nil)
		if err != nil {
			t.Fatal(err)
		}
		var e consensus.LogEntry
		if !wholeEntries(b, &e) {
			t.Fatal("opened log does not decode")
		}
	})
}

// FuzzDecodePreparedRecord: a spare's completion record decodes or is
// refused, never panics; what decodes re-encodes to itself.
func FuzzDecodePreparedRecord(f *testing.F) {
	var b [preparedRecordLength]byte
	h := newSegHeader(0, SegmentLengthDefault)
	encodePreparedRecord(b[:], h.fileLength())
	f.Add(b[:])                               // a complete spare's record
	f.Add(b[:12])                             // truncated
	f.Add(make([]byte, preparedRecordLength)) // zeros: preparation cut short
	f.Fuzz(func(t *testing.T, b []byte) {
		length, ok := decodePreparedRecord(b)
		if !ok {
			return
		}
		if length <= 0 {
			t.Fatalf("accepted length %d", length)
		}
		var out [preparedRecordLength]byte
		encodePreparedRecord(out[:], length)
		if !bytes.Equal(out[:], b[:preparedRecordLength]) {
			t.Fatalf("re-encoding differs")
		}
	})
}
