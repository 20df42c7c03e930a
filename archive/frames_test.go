package archive

import (
	"bytes"
	"testing"

	"venue/transport"
)

func scanTestDescriptor() Descriptor {
	return Descriptor{RecordingID: 0, State: RecordingValid, TermLength: testTermLength,
		SegmentLength: testSegmentLength, MTULength: testMTU, InitialTermID: 100, SessionID: 42,
		StreamID: 7, Checksums: true, StopPosition: NullPosition}
}

// scanSeedSegment is a segment image: frames of several sizes, with a pad
// frame at the end of the first term, then zeros.
func scanSeedSegment() []byte {
	d := scanTestDescriptor()
	b := newFrameBuilder(&d, 0)
	var seg []byte
	for i := 0; b.position < testTermLength+512; i++ {
		seg = b.appendMessage(seg, bytes.Repeat([]byte{byte(i)}, (i*97)%testMTU))
	}
	return append(seg, make([]byte, 256)...)
}

// FuzzSegmentScan scans arbitrary segment bytes: it must never panic, must
// end on a frame boundary made only of valid frames, and the recovery scan
// through a file must agree with the in-memory scan.
func FuzzSegmentScan(f *testing.F) {
	seg := scanSeedSegment()
	f.Add(seg, uint16(0))                            // valid frames, a pad, then zeros
	f.Add(seg[:transport.HeaderLength], uint16(0))   // a header only
	f.Add(seg[:transport.HeaderLength-1], uint16(0)) // a header cut short
	f.Add(seg[:700], uint16(0))                      // a frame cut in its payload
	f.Add([]byte{}, uint16(0))                       // nothing
	f.Add(seg, uint16(3))                            // start position 3*32: mid-frame
	garbage := bytes.Clone(seg)
	copy(garbage[1000:], bytes.Repeat([]byte{0xff}, 64))
	f.Add(garbage, uint16(0)) // garbage over a later frame
	d := scanTestDescriptor()
	geom := newFrameGeometry(&d)
	f.Fuzz(func(t *testing.T, data []byte, startFrames uint16) {
		pos := transport.Position(startFrames) * transport.FrameAlignment
		n := geom.scan(data, pos, 1<<40)
		if n%transport.FrameAlignment != 0 {
			t.Fatalf("scan ended at %d, not a frame boundary", n)
		}
		for off := 0; off < n; {
			k := geom.frameLengthAt(data[off:], pos+transport.Position(off), true)
			if k == 0 {
				t.Fatalf("scan passed an invalid frame at %d", off)
			}
			off += k
		}
		if n <= len(data) && geom.scan(data[:n], pos, 1<<40) != n {
			t.Fatalf("rescanning the valid prefix gives a different length")
		}
		if len(data) > testSegmentLength || int64(pos)%testSegmentLength+int64(len(data)) > testSegmentLength {
			return
		}
		base := segmentBase(pos, testSegmentLength)
		sim := NewSimFS(0)
		sim.MkdirAll("/s")
		file, _ := sim.OpenFile("/s/seg", true)
		file.Allocate(testSegmentLength)
		file.WriteAt(data, int64(pos-base))
		end, err := scanSegment(file, &geom, make([]byte, replayBufferLength), base, pos, base+testSegmentLength)
		if err != nil {
			t.Fatal(err)
		}
		// The file is zero past data, which can complete a cut frame.
		full := make([]byte, int64(base)+testSegmentLength-int64(pos))
		copy(full, data)
		if want := pos + transport.Position(geom.scan(full, pos, int64(len(full)))); end != want {
			t.Fatalf("file scan ended at %d, in-memory scan at %d", end, want)
		}
	})
}

func TestFrameChecksDetectEachField(t *testing.T) {
	d := scanTestDescriptor()
	geom := newFrameGeometry(&d)
	b := newFrameBuilder(&d, 0)
	frame := b.appendMessage(nil, []byte("payload"))
	if geom.frameLengthAt(frame, 0, true) != len(frame) {
		t.Fatal("a valid frame is rejected")
	}
	for name, corrupt := range map[string]func(h transport.FrameHeader){
		"length":      func(h transport.FrameHeader) { h.SetFrameLength(16) },
		"version":     func(h transport.FrameHeader) { h.SetVersion(9) },
		"type":        func(h transport.FrameHeader) { h.SetType(0x77) },
		"term offset": func(h transport.FrameHeader) { h.SetTermOffset(32) },
		"term id":     func(h transport.FrameHeader) { h.SetTermID(101) },
		"stream id":   func(h transport.FrameHeader) { h.SetStreamID(8) },
		"checksum":    func(h transport.FrameHeader) { h.SetReservedValue(1) },
		"payload":     func(h transport.FrameHeader) { h[transport.HeaderLength] ^= 1 },
	} {
		bad := bytes.Clone(frame)
		corrupt(transport.FrameHeader(bad))
		if geom.frameLengthAt(bad, 0, true) != 0 {
			t.Errorf("a frame with a bad %s is accepted", name)
		}
	}
}

// The recorder's fast validation agrees with the recovery scan's checks on
// every mutation of a valid block, field by field.
func TestStampBlockAgreesWithFrameChecks(t *testing.T) {
	d := scanTestDescriptor()
	d.Checksums = false // compare validation only; checksums are stamped, not checked
	geom := newFrameGeometry(&d)
	seg := scanSeedSegment()
	seg = seg[:len(seg)-256] // the frames only
	slow := func(b []byte, pos transport.Position) int {
		off := 0
		for off < len(b) {
			n := geom.frameLengthAt(b[off:], pos+transport.Position(off), false)
			if n == 0 || n > len(b)-off {
				break
			}
			off += n
		}
		return off
	}
	for i := 0; i < len(seg); i += 7 {
		for _, delta := range []byte{1, 0x80} {
			b := bytes.Clone(seg)
			b[i] ^= delta
			if fast, want := geom.stampBlock(bytes.Clone(b), 0), slow(b, 0); fast != want {
				t.Fatalf("byte %d ^ %#x: stampBlock stops at %d, frame checks at %d", i, delta, fast, want)
			}
		}
	}
}
