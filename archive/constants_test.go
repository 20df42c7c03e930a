package archive

import (
	"testing"

	"venue/transport"
)

// The bounds depend on each other; this says how, and fails if an edit to
// one breaks another.
func TestConstantRelationships(t *testing.T) {
	const page = 4096
	checks := []struct {
		name string
		ok   bool
	}{
		{"a replay buffer holds any data frame", mtuLengthMax <= replayBufferLength},
		{"a recovery scan re-reads a frame cut by its buffer", mtuLengthMax < replayBufferLength},
		{"a block holds any data frame", mtuLengthMax <= BlockLengthMax},
		{"the recorder's batch fits Append's bound", recorderBlockLengthDefault <= BlockLengthMax},
		{"the replayer's batch holds any data frame", mtuLengthMax <= replayerBlockLengthDefault},
		{"zeroing reuses the scan buffer", zeroChunkLength <= replayBufferLength},
		{"the default segment is a power of two in bounds", isPowerOfTwo(SegmentLengthDefault) && SegmentLengthDefault <= segmentLengthMax},
		{"a segment offset fits an int32", segmentLengthMax <= 1<<30},
		{"terms fit segments", termLengthMin <= termLengthMax && termLengthMax <= segmentLengthMax},
		{"a catalog slot never straddles a page", page%catalogSlotLength == 0},
		{"a descriptor with the longest channel fits a slot", slotChannelOffset+ChannelLengthMax <= catalogSlotLength},
		{"the catalog header is one slot", catalogHeaderLength == catalogSlotLength},
		{"a descriptor response with the longest channel fits a control message",
			MessageHeaderLength+descBlockLength+varLengthFieldLength+ChannelLengthMax <= ControlMessageLengthMax},
		{"a start request with the longest channel fits a control message",
			MessageHeaderLength+startBlockLength+varLengthFieldLength+ChannelLengthMax <= ControlMessageLengthMax},
		{"frames are aligned as the transport aligns them", transport.FrameAlignment == 32 && transport.HeaderLength == 32},
		{"the benchmark term is a valid term", isPowerOfTwo(benchTermLength) && benchTermLength <= termLengthMax},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("constants: %s: does not hold", c.name)
		}
	}
}
