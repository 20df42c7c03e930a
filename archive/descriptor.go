package archive

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"

	"venue/transport"
)

// RecordingState is a recording's state in the catalog.
//
// Transitions: valid -> deleted (Delete); valid -> invalid (recovery finds
// its files unusable). Deleted and invalid are final.
type RecordingState uint8

const (
	// RecordingValid recordings can be replayed, extended, truncated.
	RecordingValid RecordingState = 1
	// RecordingInvalid recordings lost files they need; they are kept in the
	// catalog for inspection but cannot be replayed or extended.
	RecordingInvalid RecordingState = 2
	// RecordingDeleted recordings have had their files removed; the id is
	// never reused.
	RecordingDeleted RecordingState = 3
)

// String names the state.
func (s RecordingState) String() string {
	switch s {
	case RecordingValid:
		return "valid"
	case RecordingInvalid:
		return "invalid"
	case RecordingDeleted:
		return "deleted"
	}
	return fmt.Sprintf("RecordingState(%d)", uint8(s))
}

// Descriptor describes one recording: the catalog's record.
type Descriptor struct {
	RecordingID int64
	State       RecordingState
	// StartPosition is the first recorded position (raised by Purge).
	StartPosition transport.Position
	// StopPosition is where the recording ends; NullPosition while it is
	// being recorded (recovery then finds the end by scanning).
	StopPosition     transport.Position
	StartTimestampNs int64 // wall clock, from the archive's injected clock
	StopTimestampNs  int64
	InitialTermID    int32
	SessionID        int32
	StreamID         int32
	TermLength       int32
	SegmentLength    int32
	MTULength        int32
	// Checksums says whether data frames carry a CRC32C in their reserved value.
	Checksums bool
	Channel   string
}

// Catalog slot layout: one version of one descriptor, little-endian, with a
// CRC32C over everything after the checksum field. Each recording owns two
// slots and updates alternate between them with a rising sequence number, so
// a write torn by power loss destroys at most the version being written.
const (
	slotChecksumOffset      = 0
	slotMagicOffset         = 4
	slotSequenceOffset      = 8
	slotRecordingIDOffset   = 16
	slotStateOffset         = 24
	slotFlagsOffset         = 25
	slotStartPositionOffset = 32
	slotStopPositionOffset  = 40
	slotStartTimeOffset     = 48
	slotStopTimeOffset      = 56
	slotInitialTermIDOffset = 64
	slotSessionIDOffset     = 68
	slotStreamIDOffset      = 72
	slotTermLengthOffset    = 76
	slotSegmentLengthOffset = 80
	slotMTULengthOffset     = 84
	slotChannelLengthOffset = 88
	slotChannelOffset       = 90

	// catalogSlotLength divides the 4 KiB page, so a slot never straddles two.
	catalogSlotLength = 512
	slotMagic         = 0x52435356 // "VSCR"
	slotFlagChecksums = 0x01
)

// descriptorSlot is a flyweight over one catalog slot.
type descriptorSlot []byte

// encode writes d with sequence into the slot, checksum last.
func (s descriptorSlot) encode(d *Descriptor, sequence uint64) {
	assert(len(s) == catalogSlotLength, "slot length %d", len(s))
	assert(len(d.Channel) <= ChannelLengthMax, "channel length %d", len(d.Channel))
	clear(s)
	le := binary.LittleEndian
	le.PutUint32(s[slotMagicOffset:], slotMagic)
	le.PutUint64(s[slotSequenceOffset:], sequence)
	le.PutUint64(s[slotRecordingIDOffset:], uint64(d.RecordingID))
	s[slotStateOffset] = byte(d.State)
	if d.Checksums {
		s[slotFlagsOffset] = slotFlagChecksums
	}
	le.PutUint64(s[slotStartPositionOffset:], uint64(d.StartPosition))
	le.PutUint64(s[slotStopPositionOffset:], uint64(d.StopPosition))
	le.PutUint64(s[slotStartTimeOffset:], uint64(d.StartTimestampNs))
	le.PutUint64(s[slotStopTimeOffset:], uint64(d.StopTimestampNs))
	le.PutUint32(s[slotInitialTermIDOffset:], uint32(d.InitialTermID))
	le.PutUint32(s[slotSessionIDOffset:], uint32(d.SessionID))
	le.PutUint32(s[slotStreamIDOffset:], uint32(d.StreamID))
	le.PutUint32(s[slotTermLengthOffset:], uint32(d.TermLength))
	le.PutUint32(s[slotSegmentLengthOffset:], uint32(d.SegmentLength))
	le.PutUint32(s[slotMTULengthOffset:], uint32(d.MTULength))
	le.PutUint16(s[slotChannelLengthOffset:], uint16(len(d.Channel)))
	copy(s[slotChannelOffset:], d.Channel)
	le.PutUint32(s[slotChecksumOffset:], crc32.Checksum(s[slotMagicOffset:], castagnoli))
}

// decode reads the slot. ok is false for an empty, torn or corrupt slot.
func (s descriptorSlot) decode() (d Descriptor, sequence uint64, ok bool) {
	le := binary.LittleEndian
	if len(s) != catalogSlotLength || le.Uint32(s[slotMagicOffset:]) != slotMagic ||
		le.Uint32(s[slotChecksumOffset:]) != crc32.Checksum(s[slotMagicOffset:], castagnoli) {
		return Descriptor{}, 0, false
	}
	channelLength := int(le.Uint16(s[slotChannelLengthOffset:]))
	if channelLength > ChannelLengthMax {
		return Descriptor{}, 0, false
	}
	d = Descriptor{
		RecordingID:      int64(le.Uint64(s[slotRecordingIDOffset:])),
		State:            RecordingState(s[slotStateOffset]),
		StartPosition:    transport.Position(le.Uint64(s[slotStartPositionOffset:])),
		StopPosition:     transport.Position(le.Uint64(s[slotStopPositionOffset:])),
		StartTimestampNs: int64(le.Uint64(s[slotStartTimeOffset:])),
		StopTimestampNs:  int64(le.Uint64(s[slotStopTimeOffset:])),
		InitialTermID:    int32(le.Uint32(s[slotInitialTermIDOffset:])),
		SessionID:        int32(le.Uint32(s[slotSessionIDOffset:])),
		StreamID:         int32(le.Uint32(s[slotStreamIDOffset:])),
		TermLength:       int32(le.Uint32(s[slotTermLengthOffset:])),
		SegmentLength:    int32(le.Uint32(s[slotSegmentLengthOffset:])),
		MTULength:        int32(le.Uint32(s[slotMTULengthOffset:])),
		Checksums:        s[slotFlagsOffset]&slotFlagChecksums != 0,
		Channel:          string(s[slotChannelOffset : slotChannelOffset+channelLength]),
	}
	if d.validate() != nil {
		return Descriptor{}, 0, false
	}
	return d, le.Uint64(s[slotSequenceOffset:]), true
}

// validate checks the invariants every stored descriptor satisfies, so that
// code past the catalog can trust a descriptor without rechecking.
func (d *Descriptor) validate() error {
	switch {
	case d.RecordingID < 0:
		return fmt.Errorf("%w: recording id %d", ErrInvalidParams, d.RecordingID)
	case d.State < RecordingValid || d.State > RecordingDeleted:
		return fmt.Errorf("%w: state %d", ErrInvalidParams, d.State)
	case !isPowerOfTwo(d.TermLength) || d.TermLength < termLengthMin || d.TermLength > termLengthMax:
		return fmt.Errorf("%w: term length %d", ErrInvalidParams, d.TermLength)
	case !isPowerOfTwo(d.SegmentLength) || d.SegmentLength < d.TermLength || d.SegmentLength > segmentLengthMax:
		return fmt.Errorf("%w: segment length %d (term length %d)", ErrInvalidParams, d.SegmentLength, d.TermLength)
	case d.MTULength < transport.HeaderLength || d.MTULength > mtuLengthMax || d.MTULength%transport.FrameAlignment != 0:
		return fmt.Errorf("%w: mtu length %d", ErrInvalidParams, d.MTULength)
	case d.StartPosition < 0 || d.StartPosition%transport.FrameAlignment != 0:
		return fmt.Errorf("%w: start position %d", ErrInvalidParams, d.StartPosition)
	case d.StopPosition != NullPosition && (d.StopPosition < d.StartPosition || d.StopPosition%transport.FrameAlignment != 0):
		return fmt.Errorf("%w: stop position %d (start %d)", ErrInvalidParams, d.StopPosition, d.StartPosition)
	case len(d.Channel) > ChannelLengthMax:
		return fmt.Errorf("%w: channel longer than %d bytes", ErrInvalidParams, ChannelLengthMax)
	}
	return nil
}

func isPowerOfTwo(n int32) bool { return n > 0 && n&(n-1) == 0 }
