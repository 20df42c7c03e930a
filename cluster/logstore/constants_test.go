package logstore

import (
	"testing"

	"venue/archive"
	"venue/cluster/consensus"
)

// TestConstants checks the relationships the layouts and bounds rely on.
func TestConstants(t *testing.T) {
	const sector = 512
	checks := []struct {
		ok   bool
		what string
	}{
		{segmentLengthMin >= 2*consensus.EntryLengthMax, "a segment holds at least two of the largest entries"},
		{SegmentLengthDefault >= segmentLengthMin && SegmentLengthDefault <= segmentLengthMax, "default segment length in range"},
		{SegmentLengthDefault&(SegmentLengthDefault-1) == 0, "default segment length a power of two"},
		{segmentLengthMin/indexBytesPerSlot >= 1, "a segment has index slots"},
		{sector%slotLength == 0, "an index slot never straddles a sector"},
		{segHeaderRegion >= segHeaderLength && segHeaderRegion%sector == 0, "the header region holds the header, sector aligned"},
		{segHeaderRegion%8 == 0, "data region entry aligned"},
		{sector%rlRecordLength == 0 && rlHeaderLength%rlRecordLength == 0, "a recording-log record never straddles a sector"},
		{hsSlotLength <= hsSlotStride && hsSlotStride%sector == 0, "hard-state slots in separate sectors"},
		{hsFileLength == 2*hsSlotStride, "two hard-state slots"},
		{snapshotBufferLength <= archive.BlockLengthMax, "a snapshot buffer is one archive write batch at most"},
		{snapshotMTULength <= snapshotTermLengthDefault, "a snapshot frame fits a term"},
		{snapshotTermLengthDefault <= snapshotSegmentLengthDefault, "a snapshot term fits a segment"},
		{zeroChunkLength%slotLength == 0, "recovery zeroes whole slots"},
		{scanChunkLength >= 2*consensus.EntryLengthMax, "a scan chunk holds any entry"},
		{recoveryValidateSegments >= 2, "recovery validates the tail and the segment before it"},
	}
	for _, c := range checks {
		if !c.ok {
			t.Error(c.what)
		}
	}
}
