package archive

import (
	"bytes"
	"errors"
	"testing"
)

// The catalog lists, finds and describes recordings, and survives restart.
func TestCatalogListFindDescribeAcrossRestart(t *testing.T) {
	sim := NewSimFS(12)
	a := openTestArchive(t, sim, "/arch", FsyncData)
	channels := []string{"aeron:udp?endpoint=a:1", "aeron:ipc", "aeron:udp?endpoint=a:1"}
	var ids []int64
	for i, ch := range channels {
		p := testParams()
		p.Channel, p.StreamID = ch, int32(10+i%2)
		rec, err := a.StartRecording(p)
		mustNotErr(t, err, "start")
		s := newStream(t, rec, uint64(i))
		s.record(t, rec, 2+i, 4)
		if i < 2 {
			mustNotErr(t, rec.Stop(), "stop")
		}
		ids = append(ids, rec.ID())
	}
	check := func(a *Archive, stage string) {
		t.Helper()
		list := a.List(0, 10)
		if len(list) != 3 || list[0].RecordingID != ids[0] || list[2].Channel != channels[2] {
			t.Fatalf("%s: list %+v", stage, list)
		}
		if got := a.List(1, 1); len(got) != 1 || got[0].RecordingID != ids[1] {
			t.Fatalf("%s: list from 1 count 1: %+v", stage, got)
		}
		if id, ok := a.FindLastMatching(0, "endpoint=a:1", 10); !ok || id != ids[2] {
			t.Fatalf("%s: find last: %d, %v; want %d", stage, id, ok, ids[2])
		}
		if _, ok := a.FindLastMatching(0, "nowhere", 10); ok {
			t.Fatalf("%s: found a recording on a channel nobody recorded", stage)
		}
		d, err := a.Describe(ids[1])
		if err != nil || d.StreamID != 11 || d.TermLength != testTermLength || d.MTULength != testMTU ||
			d.SegmentLength != testSegmentLength || d.InitialTermID != 100 || d.SessionID != 42 ||
			!d.Checksums || d.StopPosition <= 0 || d.StartTimestampNs == 0 || d.StopTimestampNs == 0 {
			t.Fatalf("%s: describe: %+v, %v", stage, d, err)
		}
		_, err = a.Describe(99)
		wantErr(t, err, ErrUnknownRecording, stage+": describe unknown")
	}
	check(a, "before restart")
	sim.PowerLoss() // recording 2 was still active
	a = openTestArchive(t, sim, "/arch", FsyncData)
	defer a.Close()
	check(a, "after restart")
}

// A torn write of a catalog update destroys only the version being written.
func TestCatalogTornUpdateKeepsPreviousVersion(t *testing.T) {
	sim := NewSimFS(13)
	a := openTestArchive(t, sim, "/arch", FsyncData)
	rec, _ := a.StartRecording(testParams())
	s := newStream(t, rec, 13)
	s.record(t, rec, 4, 4)
	mustNotErr(t, rec.Stop(), "stop") // version 2 (slot B): stopped
	stop := rec.RecordedPosition()
	a.Close()

	// Garbage over slot B, as if the stop's write had been torn.
	f, _ := sim.OpenFile("/arch/"+catalogFileName, false)
	f.WriteAt(bytes.Repeat([]byte{0x5a}, 100), catalogHeaderLength+catalogSlotLength+200)
	f.SyncData()
	f.Close()
	sim.PowerLoss()

	a = openTestArchive(t, sim, "/arch", FsyncData)
	defer a.Close()
	d, err := a.Describe(rec.ID())
	mustNotErr(t, err, "describe")
	// Version 1 said "active"; recovery scanned the files and found the stop.
	if d.StopPosition != stop || d.State != RecordingValid {
		t.Fatalf("after torn update: %+v, want valid with stop %d", d, stop)
	}
}

func TestCatalogRejectsForeignFile(t *testing.T) {
	sim := NewSimFS(14)
	sim.MkdirAll("/arch")
	f, _ := sim.OpenFile("/arch/"+catalogFileName, true)
	f.WriteAt([]byte("definitely not a catalog, but long enough to have a header of some sort....."), 0)
	f.Close()
	_, err := Open(Config{Dir: "/arch", FS: sim})
	wantErr(t, err, ErrCorruptCatalog, "open over a foreign file")
}

func testDescriptor(id int64) Descriptor {
	return Descriptor{RecordingID: id, State: RecordingValid, StartPosition: 1024, StopPosition: 4096,
		StartTimestampNs: 1, StopTimestampNs: 2, InitialTermID: -5, SessionID: 9, StreamID: 3,
		TermLength: 64 << 10, SegmentLength: 1 << 20, MTULength: 1408, Checksums: true, Channel: "aeron:ipc"}
}

// catalogImage builds catalog file bytes holding the given descriptors.
func catalogImage(descs ...Descriptor) []byte {
	img := make([]byte, catalogHeaderLength)
	encodeCatalogHeader(img)
	for _, d := range descs {
		rec := make([]byte, catalogRecordLength)
		descriptorSlot(rec[:catalogSlotLength]).encode(&d, 1)
		img = append(img, rec...)
	}
	return img
}

// FuzzCatalogParse feeds arbitrary bytes to the catalog loader: it must
// never panic, every descriptor it accepts must satisfy the invariants, and
// what it accepts must survive a write and reload unchanged.
func FuzzCatalogParse(f *testing.F) {
	valid := catalogImage(testDescriptor(0), testDescriptor(1))
	f.Add(valid)                                    // two valid records
	f.Add(valid[:catalogHeaderLength])              // header only: an empty catalog
	f.Add(valid[:catalogHeaderLength+300])          // a record torn mid-slot
	f.Add(valid[:len(valid)-1])                     // the last slot B cut by one byte
	f.Add(valid[:10])                               // a header cut short
	f.Add([]byte{})                                 // an empty file
	f.Add(append([]byte("VNARCAT2"), valid[8:]...)) // wrong magic
	flipped := bytes.Clone(valid)
	flipped[catalogHeaderLength+slotStopPositionOffset] ^= 1
	f.Add(flipped) // a flipped bit in a record: checksum mismatch
	f.Fuzz(func(t *testing.T, data []byte) {
		sim := NewSimFS(0)
		sim.MkdirAll("/c")
		file, _ := sim.OpenFile("/c/"+catalogFileName, true)
		file.WriteAt(data, 0)
		file.Close()
		c, err := openCatalog(sim, "/c")
		if err != nil {
			if !errors.Is(err, ErrCorruptCatalog) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		var accepted []Descriptor
		for id, e := range c.entries {
			if e == nil {
				continue
			}
			if err := e.desc.validate(); err != nil || e.desc.RecordingID != int64(id) {
				t.Fatalf("accepted invalid descriptor %+v: %v", e.desc, err)
			}
			accepted = append(accepted, e.desc)
			d := e.desc
			if err := c.put(&d); err != nil {
				t.Fatalf("rewrite %d: %v", id, err)
			}
		}
		c.close()
		c2, err := openCatalog(sim, "/c")
		if err != nil {
			t.Fatalf("reload after rewrite: %v", err)
		}
		for _, d := range accepted {
			if e := c2.get(d.RecordingID); e == nil || e.desc != d {
				t.Fatalf("descriptor %d changed across rewrite", d.RecordingID)
			}
		}
	})
}

func TestDescriptorSlotRoundTrip(t *testing.T) {
	d := testDescriptor(77)
	d.StopPosition = NullPosition
	slot := make([]byte, catalogSlotLength)
	descriptorSlot(slot).encode(&d, 9)
	got, seq, ok := descriptorSlot(slot).decode()
	if !ok || seq != 9 || got != d {
		t.Fatalf("round trip: %+v seq %d ok %v", got, seq, ok)
	}
	for i := range slot {
		torn := bytes.Clone(slot)
		torn[i] ^= 0x10
		if _, _, ok := descriptorSlot(torn).decode(); ok {
			t.Fatalf("slot with byte %d flipped still decodes", i)
		}
	}
}
