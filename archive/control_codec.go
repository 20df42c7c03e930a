package archive

import (
	"encoding/binary"
	"errors"
	"fmt"

	"venue/transport"
)

// Control protocol codec: fixed-layout little-endian messages, SBE style.
// Every message is an 8-byte header (block length, template id, schema id,
// version), a fixed block whose first field is the correlation id, then at
// most one variable-length string (a uint16 length and the bytes). Decoding
// finds the string after BlockLength bytes, so a newer sender's longer block
// is read correctly by older code, which ignores the fields it does not
// know (the Replay block grew this way: v1 clients send 40 bytes and name
// no destination). The same bytes travel in process and over the transport.
const (
	headerBlockLengthOffset = 0
	headerTemplateIDOffset  = 2
	headerSchemaIDOffset    = 4
	headerVersionOffset     = 6
	// MessageHeaderLength is the length of the control message header.
	MessageHeaderLength = 8
	// ControlSchemaID identifies the archive control schema.
	ControlSchemaID = 101
	// ControlSchemaVersion is the version this code writes.
	ControlSchemaVersion = 1

	varLengthFieldLength = 2
	// ControlMessageLengthMax bounds one control message.
	ControlMessageLengthMax = 1024

	correlationIDOffset = 0
)

// TemplateID identifies a control message type.
type TemplateID uint16

// Control message templates. Requests are below 20, responses from 20.
const (
	TemplateStartRecording   TemplateID = 1
	TemplateExtendRecording  TemplateID = 2
	TemplateStopRecording    TemplateID = 3
	TemplateDescribe         TemplateID = 4
	TemplateDeleteRecording  TemplateID = 5
	TemplateTruncate         TemplateID = 6
	TemplatePurgeSegments    TemplateID = 7
	TemplateListRecordings   TemplateID = 8
	TemplateFindLastMatching TemplateID = 9
	TemplateReplay           TemplateID = 10
	TemplateStopReplay       TemplateID = 11
	// TemplateRecordingPosition asks for a recording's durable position
	// (NullPosition in the response's relevant id when it is not active).
	TemplateRecordingPosition TemplateID = 12
	// TemplateConnect opens a remote control session: it names the channel
	// and stream the client receives responses on. Over the transport it is
	// the first request of each client publication; in process it is a no-op.
	TemplateConnect TemplateID = 13
	// TemplateReplicate asks a destination archive's ControlServer to
	// replicate a recording from a source archive, which the server reaches
	// as a remote client; the response's relevant id is the replication id.
	TemplateReplicate TemplateID = 14
	// TemplateStopReplication stops a replication started by Replicate.
	TemplateStopReplication TemplateID = 15

	TemplateControlResponse     TemplateID = 20
	TemplateRecordingDescriptor TemplateID = 21
)

var templateNames = map[TemplateID]string{
	TemplateStartRecording: "StartRecording", TemplateExtendRecording: "ExtendRecording",
	TemplateStopRecording: "StopRecording", TemplateDescribe: "DescribeRecording",
	TemplateDeleteRecording: "DeleteRecording", TemplateTruncate: "TruncateRecording",
	TemplatePurgeSegments: "PurgeSegments", TemplateListRecordings: "ListRecordings",
	TemplateFindLastMatching: "FindLastMatching", TemplateReplay: "Replay",
	TemplateStopReplay: "StopReplay", TemplateRecordingPosition: "RecordingPosition",
	TemplateConnect: "Connect", TemplateReplicate: "Replicate",
	TemplateStopReplication:     "StopReplication",
	TemplateControlResponse:     "ControlResponse",
	TemplateRecordingDescriptor: "RecordingDescriptor",
}

// String names the template.
func (t TemplateID) String() string {
	if n, ok := templateNames[t]; ok {
		return n
	}
	return fmt.Sprintf("TemplateID(%d)", uint16(t))
}

// Block layouts: a named offset per field, and each template's block length.
const (
	// StartRecording
	startPositionOffset      = 8
	startStreamIDOffset      = 16
	startSessionIDOffset     = 20
	startInitialTermIDOffset = 24
	startTermLengthOffset    = 28
	startMTULengthOffset     = 32
	startBlockLength         = 40

	// ExtendRecording, StopRecording, DescribeRecording, DeleteRecording,
	// RecordingPosition, StopReplay (whose id is a replay session id)
	recordingIDOffset      = 8
	recordingIDBlockLength = 16

	// TruncateRecording, PurgeSegments
	positionOffset      = 16
	positionBlockLength = 24

	// ListRecordings
	listFromIDOffset = 8
	listCountOffset  = 16
	listBlockLength  = 24

	// FindLastMatching (channel fragment in the var field)
	findMinIDOffset    = 8
	findStreamIDOffset = 16
	findBlockLength    = 24

	// Replay
	replayRecordingIDOffset  = 8
	replayPositionOffset     = 16
	replayLengthOffset       = 24
	replayLimitCounterOffset = 32
	replayFlagsOffset        = 36
	// Appended in the network half: the stream to replay to (the channel
	// is the var field). A 40-byte block from an older client names none.
	replayStreamIDOffset = 40
	replayBlockLengthV1  = 40
	replayBlockLength    = 48
	// ReplayFlagFollow asks the replay to follow a live recording.
	ReplayFlagFollow = 0x1
	// NoLimitCounter in a replay request means an unbounded replay.
	NoLimitCounter = -1

	// Replicate. The var field holds three channels back to back: the
	// source's request channel, the live channel (may be empty) and the
	// replay channel; the block gives the first two lengths, the replay
	// channel is the rest.
	replicateSourceRecordingIDOffset = 8
	replicateDestRecordingIDOffset   = 16
	replicateSourceStreamIDOffset    = 24
	replicateFlagsOffset             = 28
	replicateSourceChannelLenOffset  = 32
	replicateLiveChannelLenOffset    = 36
	replicateBlockLength             = 40
	// ReplicateFlagFollow asks a replication to follow a live source
	// recording until it stops.
	ReplicateFlagFollow = 0x1

	// Connect (response channel in the var field)
	connectStreamIDOffset = 8
	connectBlockLength    = 16

	// ControlResponse (error message in the var field)
	responseRelevantIDOffset = 8
	responseCodeOffset       = 16
	responseErrorCodeOffset  = 20
	responseBlockLength      = 24

	// RecordingDescriptor (channel in the var field)
	descRecordingIDOffset   = 8
	descStartPositionOffset = 16
	descStopPositionOffset  = 24
	descStartTimeOffset     = 32
	descStopTimeOffset      = 40
	descInitialTermIDOffset = 48
	descSessionIDOffset     = 52
	descStreamIDOffset      = 56
	descTermLengthOffset    = 60
	descSegmentLengthOffset = 64
	descMTULengthOffset     = 68
	descStateOffset         = 72
	descFlagsOffset         = 73
	descBlockLength         = 80
)

// blockLengthMin is the shortest block each template may have.
var blockLengthMin = map[TemplateID]int{
	TemplateStartRecording: startBlockLength, TemplateExtendRecording: recordingIDBlockLength,
	TemplateStopRecording: recordingIDBlockLength, TemplateDescribe: recordingIDBlockLength,
	TemplateDeleteRecording: recordingIDBlockLength, TemplateTruncate: positionBlockLength,
	TemplatePurgeSegments: positionBlockLength, TemplateListRecordings: listBlockLength,
	TemplateFindLastMatching: findBlockLength, TemplateReplay: replayBlockLengthV1,
	TemplateStopReplay: recordingIDBlockLength, TemplateRecordingPosition: recordingIDBlockLength,
	TemplateConnect: connectBlockLength, TemplateReplicate: replicateBlockLength,
	TemplateStopReplication:     recordingIDBlockLength,
	TemplateControlResponse:     responseBlockLength,
	TemplateRecordingDescriptor: descBlockLength,
}

// Codec errors.
var (
	// ErrMalformed: the bytes are not a whole control message.
	ErrMalformed = errors.New("archive: malformed control message")
	// ErrUnknownTemplate: a well-formed message of a template this code
	// does not know (from a newer peer); it is answered, not crashed on.
	ErrUnknownTemplate = errors.New("archive: unknown control template")
)

// ControlMessage is a flyweight over one validated control message. Its
// accessors read the buffer in place; the field offsets are those of the
// message's template.
type ControlMessage []byte

// DecodeControlMessage validates b as one control message and returns the
// flyweight over it. It checks everything the accessors rely on.
func DecodeControlMessage(b []byte) (ControlMessage, error) {
	if len(b) < MessageHeaderLength || len(b) > ControlMessageLengthMax {
		return nil, fmt.Errorf("%w: length %d", ErrMalformed, len(b))
	}
	m := ControlMessage(b)
	if s := binary.LittleEndian.Uint16(b[headerSchemaIDOffset:]); s != ControlSchemaID {
		return nil, fmt.Errorf("%w: schema id %d", ErrMalformed, s)
	}
	block := m.BlockLength()
	if MessageHeaderLength+block+varLengthFieldLength > len(b) || block < correlationIDOffset+8 {
		return nil, fmt.Errorf("%w: block length %d in %d bytes", ErrMalformed, block, len(b))
	}
	varLen := int(binary.LittleEndian.Uint16(b[MessageHeaderLength+block:]))
	if MessageHeaderLength+block+varLengthFieldLength+varLen != len(b) {
		return nil, fmt.Errorf("%w: string of %d bytes in %d", ErrMalformed, varLen, len(b))
	}
	want, known := blockLengthMin[m.TemplateID()]
	if !known {
		return m, fmt.Errorf("%w: %d", ErrUnknownTemplate, m.TemplateID())
	}
	if block < want {
		return nil, fmt.Errorf("%w: %s block of %d bytes, want at least %d", ErrMalformed, m.TemplateID(), block, want)
	}
	if m.TemplateID() == TemplateReplicate {
		src, live := int(m.int32(replicateSourceChannelLenOffset)), int(m.int32(replicateLiveChannelLenOffset))
		if src < 0 || live < 0 || src+live > varLen {
			return nil, fmt.Errorf("%w: Replicate channels of %d and %d bytes in %d", ErrMalformed, src, live, varLen)
		}
	}
	return m, nil
}

// BlockLength returns the length of the fixed block.
func (m ControlMessage) BlockLength() int {
	return int(binary.LittleEndian.Uint16(m[headerBlockLengthOffset:]))
}

// TemplateID returns the message's template.
func (m ControlMessage) TemplateID() TemplateID {
	return TemplateID(binary.LittleEndian.Uint16(m[headerTemplateIDOffset:]))
}

// Version returns the schema version the sender wrote.
func (m ControlMessage) Version() uint16 { return binary.LittleEndian.Uint16(m[headerVersionOffset:]) }

// CorrelationID returns the id that pairs a response with its request.
func (m ControlMessage) CorrelationID() int64 { return m.int64(correlationIDOffset) }

// VarData returns the message's variable-length field (channel, channel
// fragment or error message), aliasing the buffer.
func (m ControlMessage) VarData() []byte {
	return m[MessageHeaderLength+m.BlockLength()+varLengthFieldLength:]
}

func (m ControlMessage) int64(off int) int64 {
	return int64(binary.LittleEndian.Uint64(m[MessageHeaderLength+off:]))
}

func (m ControlMessage) int32(off int) int32 {
	return int32(binary.LittleEndian.Uint32(m[MessageHeaderLength+off:]))
}

// messageEncoder appends one message to a buffer without allocating when
// the buffer has room.
type messageEncoder struct {
	buf   []byte
	start int
}

func beginMessage(dst []byte, t TemplateID, blockLength int, correlationID int64) messageEncoder {
	start := len(dst)
	dst = grow(dst, MessageHeaderLength+blockLength)
	h := dst[start:]
	binary.LittleEndian.PutUint16(h[headerBlockLengthOffset:], uint16(blockLength))
	binary.LittleEndian.PutUint16(h[headerTemplateIDOffset:], uint16(t))
	binary.LittleEndian.PutUint16(h[headerSchemaIDOffset:], ControlSchemaID)
	binary.LittleEndian.PutUint16(h[headerVersionOffset:], ControlSchemaVersion)
	e := messageEncoder{buf: dst, start: start}
	e.putInt64(correlationIDOffset, correlationID)
	return e
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		b = b[:len(b)+n]
		clear(b[len(b)-n:])
		return b
	}
	return append(b, make([]byte, n)...)
}

func (e *messageEncoder) putInt64(off int, v int64) {
	binary.LittleEndian.PutUint64(e.buf[e.start+MessageHeaderLength+off:], uint64(v))
}

func (e *messageEncoder) putInt32(off int, v int32) {
	binary.LittleEndian.PutUint32(e.buf[e.start+MessageHeaderLength+off:], uint32(v))
}

// finish appends the variable-length field (cut to fit the message bound).
func (e *messageEncoder) finish(s string) []byte {
	room := ControlMessageLengthMax - (len(e.buf) - e.start) - varLengthFieldLength
	s = s[:min(len(s), room)]
	n := len(e.buf)
	e.buf = grow(e.buf, varLengthFieldLength+len(s))
	binary.LittleEndian.PutUint16(e.buf[n:], uint16(len(s)))
	copy(e.buf[n+varLengthFieldLength:], s)
	return e.buf
}

// AppendStartRecording appends a StartRecording request.
func AppendStartRecording(dst []byte, correlationID int64, p RecordingParams) []byte {
	e := beginMessage(dst, TemplateStartRecording, startBlockLength, correlationID)
	e.putInt64(startPositionOffset, int64(p.StartPosition))
	e.putInt32(startStreamIDOffset, p.StreamID)
	e.putInt32(startSessionIDOffset, p.SessionID)
	e.putInt32(startInitialTermIDOffset, p.InitialTermID)
	e.putInt32(startTermLengthOffset, p.TermLength)
	e.putInt32(startMTULengthOffset, p.MTULength)
	return e.finish(p.Channel)
}

// AppendRecordingIDRequest appends an ExtendRecording, StopRecording,
// DescribeRecording, DeleteRecording or RecordingPosition request, or a
// StopReplay (id is then the replay session id) or a StopReplication (id
// is then the replication id).
func AppendRecordingIDRequest(dst []byte, t TemplateID, correlationID, id int64) []byte {
	assert(t == TemplateExtendRecording || t == TemplateStopRecording || t == TemplateDescribe ||
		t == TemplateDeleteRecording || t == TemplateRecordingPosition || t == TemplateStopReplay ||
		t == TemplateStopReplication,
		"template %s takes no recording id", t)
	e := beginMessage(dst, t, recordingIDBlockLength, correlationID)
	e.putInt64(recordingIDOffset, id)
	return e.finish("")
}

// AppendPositionRequest appends a TruncateRecording or PurgeSegments request.
func AppendPositionRequest(dst []byte, t TemplateID, correlationID, id int64, pos transport.Position) []byte {
	assert(t == TemplateTruncate || t == TemplatePurgeSegments, "template %s takes no position", t)
	e := beginMessage(dst, t, positionBlockLength, correlationID)
	e.putInt64(recordingIDOffset, id)
	e.putInt64(positionOffset, int64(pos))
	return e.finish("")
}

// AppendListRecordings appends a ListRecordings request.
func AppendListRecordings(dst []byte, correlationID, fromID int64, count int32) []byte {
	e := beginMessage(dst, TemplateListRecordings, listBlockLength, correlationID)
	e.putInt64(listFromIDOffset, fromID)
	e.putInt32(listCountOffset, count)
	return e.finish("")
}

// AppendFindLastMatching appends a FindLastMatching request.
func AppendFindLastMatching(dst []byte, correlationID, minID int64, channelFragment string, streamID int32) []byte {
	e := beginMessage(dst, TemplateFindLastMatching, findBlockLength, correlationID)
	e.putInt64(findMinIDOffset, minID)
	e.putInt32(findStreamIDOffset, streamID)
	return e.finish(channelFragment)
}

// AppendReplay appends a Replay request. limitCounterID names a counter the
// server resolves (NoLimitCounter for none).
func AppendReplay(dst []byte, correlationID int64, p ReplayParams, limitCounterID int32) []byte {
	return AppendReplayTo(dst, correlationID, p, limitCounterID, "", 0)
}

// AppendReplayTo appends a Replay request to a remote archive that replays
// to channel and streamID (a remote server publishes the replay there; an
// empty channel means none, for in-process use).
func AppendReplayTo(dst []byte, correlationID int64, p ReplayParams, limitCounterID int32, channel string, streamID int32) []byte {
	e := beginMessage(dst, TemplateReplay, replayBlockLength, correlationID)
	e.putInt32(replayStreamIDOffset, streamID)
	e.putInt64(replayRecordingIDOffset, p.RecordingID)
	e.putInt64(replayPositionOffset, int64(p.Position))
	e.putInt64(replayLengthOffset, p.Length)
	e.putInt32(replayLimitCounterOffset, limitCounterID)
	if p.Follow {
		e.putInt32(replayFlagsOffset, ReplayFlagFollow)
	}
	return e.finish(channel)
}

// ReplicateRequest is what a Replicate request asks of a destination
// archive's ControlServer.
type ReplicateRequest struct {
	// SourceChannel and SourceStreamID are the source archive's control
	// request channel and stream, e.g. "udp?endpoint=10.0.0.1:8010".
	SourceChannel  string
	SourceStreamID int32
	// SourceRecordingID is the recording to copy.
	SourceRecordingID int64
	// DestinationRecordingID is a stopped recording of the destination to
	// extend, or NullRecordingID for a new recording.
	DestinationRecordingID int64
	// Follow keeps replicating a live source recording until it stops.
	Follow bool
	// LiveChannel, optional, is a channel on the destination host where the
	// live stream arrives, for a hand-off from the replay (implies Follow).
	LiveChannel string
	// ReplayChannel is a channel on the destination host where the source
	// replays to; the source's control responses come there too, on stream
	// ReplicationResponseStreamID.
	ReplayChannel string
}

// AppendReplicate appends a Replicate request. The three channels share
// the var field, cut (the replay channel first, then the live one, then
// the source's) to fit ControlMessageLengthMax; RemoteArchive.Replicate
// refuses channels that do not fit.
func AppendReplicate(dst []byte, correlationID int64, p ReplicateRequest) []byte {
	e := beginMessage(dst, TemplateReplicate, replicateBlockLength, correlationID)
	e.putInt64(replicateSourceRecordingIDOffset, p.SourceRecordingID)
	e.putInt64(replicateDestRecordingIDOffset, p.DestinationRecordingID)
	e.putInt32(replicateSourceStreamIDOffset, p.SourceStreamID)
	if p.Follow {
		e.putInt32(replicateFlagsOffset, ReplicateFlagFollow)
	}
	room := replicateChannelsLengthMax
	src := p.SourceChannel[:min(len(p.SourceChannel), room)]
	live := p.LiveChannel[:min(len(p.LiveChannel), room-len(src))]
	replay := p.ReplayChannel[:min(len(p.ReplayChannel), room-len(src)-len(live))]
	e.putInt32(replicateSourceChannelLenOffset, int32(len(src)))
	e.putInt32(replicateLiveChannelLenOffset, int32(len(live)))
	return e.finish(src + live + replay)
}

// replicateChannelsLengthMax bounds the three channels of a Replicate
// request together, in bytes: what the message bound leaves for them.
const replicateChannelsLengthMax = ControlMessageLengthMax - MessageHeaderLength - replicateBlockLength - varLengthFieldLength

// ReplicateRequest decodes a Replicate request.
func (m ControlMessage) ReplicateRequest() ReplicateRequest {
	v := m.VarData()
	src, live := int(m.int32(replicateSourceChannelLenOffset)), int(m.int32(replicateLiveChannelLenOffset))
	return ReplicateRequest{
		SourceChannel:          string(v[:src]),
		SourceStreamID:         m.int32(replicateSourceStreamIDOffset),
		SourceRecordingID:      m.int64(replicateSourceRecordingIDOffset),
		DestinationRecordingID: m.int64(replicateDestRecordingIDOffset),
		Follow:                 m.int32(replicateFlagsOffset)&ReplicateFlagFollow != 0,
		LiveChannel:            string(v[src : src+live]),
		ReplayChannel:          string(v[src+live:]),
	}
}

// AppendConnect appends a Connect request: responses go to responseChannel
// and responseStreamID.
func AppendConnect(dst []byte, correlationID int64, responseChannel string, responseStreamID int32) []byte {
	e := beginMessage(dst, TemplateConnect, connectBlockLength, correlationID)
	e.putInt32(connectStreamIDOffset, responseStreamID)
	return e.finish(responseChannel)
}

// ConnectParams decodes a Connect request.
func (m ControlMessage) ConnectParams() (responseChannel string, responseStreamID int32) {
	return string(m.VarData()), m.int32(connectStreamIDOffset)
}

// ReplayDestination decodes where a Replay request asks to replay to: an
// empty channel when it names none (an in-process or older request).
func (m ControlMessage) ReplayDestination() (channel string, streamID int32) {
	if m.BlockLength() < replayBlockLength {
		return "", 0
	}
	return string(m.VarData()), m.int32(replayStreamIDOffset)
}

// AppendControlResponse appends a ControlResponse: code ErrorNone with a
// relevant id (a recording id, a position, a count), or an error.
func AppendControlResponse(dst []byte, correlationID, relevantID int64, code ErrorCode, message string) []byte {
	e := beginMessage(dst, TemplateControlResponse, responseBlockLength, correlationID)
	e.putInt64(responseRelevantIDOffset, relevantID)
	ok := int32(0)
	if code != ErrorNone {
		ok = 1
	}
	e.putInt32(responseCodeOffset, ok)
	e.putInt32(responseErrorCodeOffset, int32(code))
	return e.finish(message)
}

// AppendRecordingDescriptor appends a RecordingDescriptor response.
func AppendRecordingDescriptor(dst []byte, correlationID int64, d *Descriptor) []byte {
	e := beginMessage(dst, TemplateRecordingDescriptor, descBlockLength, correlationID)
	e.putInt64(descRecordingIDOffset, d.RecordingID)
	e.putInt64(descStartPositionOffset, int64(d.StartPosition))
	e.putInt64(descStopPositionOffset, int64(d.StopPosition))
	e.putInt64(descStartTimeOffset, d.StartTimestampNs)
	e.putInt64(descStopTimeOffset, d.StopTimestampNs)
	e.putInt32(descInitialTermIDOffset, d.InitialTermID)
	e.putInt32(descSessionIDOffset, d.SessionID)
	e.putInt32(descStreamIDOffset, d.StreamID)
	e.putInt32(descTermLengthOffset, d.TermLength)
	e.putInt32(descSegmentLengthOffset, d.SegmentLength)
	e.putInt32(descMTULengthOffset, d.MTULength)
	e.buf[e.start+MessageHeaderLength+descStateOffset] = byte(d.State)
	if d.Checksums {
		e.buf[e.start+MessageHeaderLength+descFlagsOffset] = slotFlagChecksums
	}
	return e.finish(d.Channel)
}

// RecordingParams decodes a StartRecording request.
func (m ControlMessage) RecordingParams() RecordingParams {
	return RecordingParams{
		Channel:       string(m.VarData()),
		StreamID:      m.int32(startStreamIDOffset),
		SessionID:     m.int32(startSessionIDOffset),
		InitialTermID: m.int32(startInitialTermIDOffset),
		TermLength:    m.int32(startTermLengthOffset),
		MTULength:     m.int32(startMTULengthOffset),
		StartPosition: transport.Position(m.int64(startPositionOffset)),
	}
}

// RecordingID returns the id field of a request that names a recording (or
// a replay session, for StopReplay).
func (m ControlMessage) RecordingID() int64 { return m.int64(recordingIDOffset) }

// Position returns the position field of a Truncate or Purge request.
func (m ControlMessage) Position() transport.Position {
	return transport.Position(m.int64(positionOffset))
}

// ListParams decodes a ListRecordings request.
func (m ControlMessage) ListParams() (fromID int64, count int32) {
	return m.int64(listFromIDOffset), m.int32(listCountOffset)
}

// FindParams decodes a FindLastMatching request.
func (m ControlMessage) FindParams() (minID int64, channelFragment string, streamID int32) {
	return m.int64(findMinIDOffset), string(m.VarData()), m.int32(findStreamIDOffset)
}

// ReplayParams decodes a Replay request; the limit counter id is returned
// apart, for the server to resolve.
func (m ControlMessage) ReplayParams() (p ReplayParams, limitCounterID int32) {
	return ReplayParams{
		RecordingID: m.int64(replayRecordingIDOffset),
		Position:    transport.Position(m.int64(replayPositionOffset)),
		Length:      m.int64(replayLengthOffset),
		Follow:      m.int32(replayFlagsOffset)&ReplayFlagFollow != 0,
	}, m.int32(replayLimitCounterOffset)
}

// RelevantID returns a ControlResponse's relevant id.
func (m ControlMessage) RelevantID() int64 { return m.int64(responseRelevantIDOffset) }

// ErrorCode returns a ControlResponse's error code (ErrorNone on success).
func (m ControlMessage) ErrorCode() ErrorCode { return ErrorCode(m.int32(responseErrorCodeOffset)) }

// Err returns a ControlResponse's error: nil on success, else a
// *ControlError that errors.Is matches against the archive's sentinels.
func (m ControlMessage) Err() error {
	if m.int32(responseCodeOffset) == 0 {
		return nil
	}
	return &ControlError{Code: m.ErrorCode(), Message: string(m.VarData())}
}

// Descriptor decodes a RecordingDescriptor response.
func (m ControlMessage) Descriptor() Descriptor {
	return Descriptor{
		RecordingID:      m.int64(descRecordingIDOffset),
		State:            RecordingState(m[MessageHeaderLength+descStateOffset]),
		StartPosition:    transport.Position(m.int64(descStartPositionOffset)),
		StopPosition:     transport.Position(m.int64(descStopPositionOffset)),
		StartTimestampNs: m.int64(descStartTimeOffset),
		StopTimestampNs:  m.int64(descStopTimeOffset),
		InitialTermID:    m.int32(descInitialTermIDOffset),
		SessionID:        m.int32(descSessionIDOffset),
		StreamID:         m.int32(descStreamIDOffset),
		TermLength:       m.int32(descTermLengthOffset),
		SegmentLength:    m.int32(descSegmentLengthOffset),
		MTULength:        m.int32(descMTULengthOffset),
		Checksums:        m[MessageHeaderLength+descFlagsOffset]&slotFlagChecksums != 0,
		Channel:          string(m.VarData()),
	}
}
