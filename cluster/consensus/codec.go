package consensus

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Wire format of consensus messages (member to member). Every message is a
// fixed-layout little-endian block after an 8-byte header, in the style of
// SBE and Aeron's flyweights:
//
//	0      2          4        6       8
//	+------+----------+--------+-------+----------------------+--------+
//	|block | template | schema |version| fixed block          | data   |
//	|length| id       | id     |       | (blockLength bytes)  | (opt.) |
//	+------+----------+--------+-------+----------------------+--------+
//
// A newer version may only append fields to a block, so a decoder accepts a
// newer version whose block is at least as long as the one it knows and skips
// the rest. Decoding never allocates: Message.Data aliases the input.
const (
	headerBlockLengthOffset = 0
	headerTemplateIDOffset  = 2
	headerSchemaIDOffset    = 4
	headerVersionOffset     = 6
	// HeaderLength is the size of the message header in bytes.
	HeaderLength = 8

	// SchemaID identifies venue's consensus and log schema.
	SchemaID uint16 = 0x5643 // "VC"
	// SchemaVersion is the version this code writes.
	SchemaVersion uint16 = 1
	// schemaVersionMin is the oldest version this code reads.
	schemaVersionMin uint16 = 1
)

// Field offsets within each template's fixed block, in bytes.
const (
	canvassLogTermOffset     = 0
	canvassLogPositionOffset = 8
	canvassTermOffset        = 16
	canvassMemberOffset      = 24
	canvassBlockLength       = 32

	voteReqLogTermOffset     = 0
	voteReqLogPositionOffset = 8
	voteReqTermOffset        = 16
	voteReqCandidateOffset   = 24
	voteReqBlockLength       = 32

	voteTermOffset        = 0
	voteLogTermOffset     = 8
	voteLogPositionOffset = 16
	voteCandidateOffset   = 24
	voteFollowerOffset    = 28
	voteGrantedOffset     = 32
	voteBlockLength       = 40

	nltTermOffset        = 0
	nltTermBaseOffset    = 8
	nltLogPositionOffset = 16
	nltCommitOffset      = 24
	nltLeaderOffset      = 32
	nltBlockLength       = 40

	// AppendPosition, CommitPosition and Termination share one layout:
	// term, position, member.
	posTermOffset     = 0
	posPositionOffset = 8
	posMemberOffset   = 16
	posBlockLength    = 24

	catchupTermOffset     = 0
	catchupPositionOffset = 8
	catchupLogTermOffset  = 16
	catchupTermBaseOffset = 24
	catchupMemberOffset   = 32
	catchupBlockLength    = 40

	stopTermOffset     = 0
	stopLeaderOffset   = 8
	stopFollowerOffset = 12
	stopBlockLength    = 16

	appendTermOffset       = 0
	appendPositionOffset   = 8
	appendPrevTermOffset   = 16
	appendLogTermOffset    = 24
	appendLeaderOffset     = 32
	appendDataLengthOffset = 36
	appendBlockLength      = 40

	// AppendDataLengthMax bounds the log bytes in one AppendLog message.
	AppendDataLengthMax = 1 << 20

	installTermOffset     = 0
	installPositionOffset = 8
	installLogTermOffset  = 16
	installTermBaseOffset = 24
	installLeaderOffset   = 32
	installFollowerOffset = 36
	installBlockLength    = 40

	chunkReqTermOffset     = 0
	chunkReqPositionOffset = 8
	chunkReqOffsetOffset   = 16
	chunkReqMemberOffset   = 24
	chunkReqBlockLength    = 32

	chunkTermOffset       = 0
	chunkPositionOffset   = 8
	chunkOffsetOffset     = 16
	chunkLengthOffset     = 24
	chunkChecksumOffset   = 32
	chunkMemberOffset     = 36
	chunkDataLengthOffset = 40
	chunkBlockLength      = 48

	// SnapshotChunkBytesMax bounds the snapshot bytes in one SnapshotChunk
	// message. It is below EntryLengthMax (which AppendBatchBytes, and so
	// the peer transport's largest message, is never below), so a chunk
	// always fits where an AppendLog batch fits.
	SnapshotChunkBytesMax = 16 << 10
	// SnapshotLengthMax bounds a transferred snapshot's whole length.
	SnapshotLengthMax = 4 << 30
)

// Decode errors. Every one is counted by DecodeCounters and means "drop the
// message"; none is fatal to the member.
var (
	ErrTruncated       = errors.New("consensus: message truncated")
	ErrForeignSchema   = errors.New("consensus: foreign schema id")
	ErrVersion         = errors.New("consensus: unsupported schema version")
	ErrUnknownTemplate = errors.New("consensus: unknown template id")
	ErrMalformed       = errors.New("consensus: malformed message")
)

var blockLengths = [msgTypeCount]int{
	MsgCanvassPosition:   canvassBlockLength,
	MsgRequestVote:       voteReqBlockLength,
	MsgVote:              voteBlockLength,
	MsgNewLeadershipTerm: nltBlockLength,
	MsgAppendPosition:    posBlockLength,
	MsgCommitPosition:    posBlockLength,
	MsgCatchupPosition:   catchupBlockLength,
	MsgStopCatchup:       stopBlockLength,
	MsgTermination:       posBlockLength,
	MsgAppendLog:         appendBlockLength,
	MsgInstallSnapshot:   installBlockLength,
	// The chunk messages are the member layer's, on the same channel.
	MsgSnapshotChunkRequest: chunkReqBlockLength,
	MsgSnapshotChunk:        chunkBlockLength,
}

// EncodedLength returns the number of bytes AppendMessage adds for m.
func EncodedLength(m *Message) int {
	assert(m.Type > MsgNone && m.Type < msgTypeCount, "encode of %v", m.Type)
	return HeaderLength + blockLengths[m.Type] + len(m.Data)
}

// AppendMessage appends the encoding of m to dst and returns the extended
// slice. It allocates only if dst lacks capacity.
func AppendMessage(dst []byte, m *Message) []byte {
	n := EncodedLength(m)
	start := len(dst)
	dst = grow(dst, n)
	b := dst[start : start+n]
	clear(b)
	putHeader(b, uint16(blockLengths[m.Type]), uint16(m.Type))
	encodeBlock(b[HeaderLength:], m)
	return dst
}

func grow(b []byte, n int) []byte {
	if cap(b)-len(b) < n {
		nb := make([]byte, len(b), 2*cap(b)+n)
		copy(nb, b)
		b = nb
	}
	return b[:len(b)+n]
}

func putHeader(b []byte, blockLength, template uint16) {
	le.PutUint16(b[headerBlockLengthOffset:], blockLength)
	le.PutUint16(b[headerTemplateIDOffset:], template)
	le.PutUint16(b[headerSchemaIDOffset:], SchemaID)
	le.PutUint16(b[headerVersionOffset:], SchemaVersion)
}

var le = binary.LittleEndian

func put64(b []byte, off int, v int64) { le.PutUint64(b[off:], uint64(v)) }
func put32(b []byte, off int, v int32) { le.PutUint32(b[off:], uint32(v)) }
func get64(b []byte, off int) int64    { return int64(le.Uint64(b[off:])) }
func get32(b []byte, off int) int32    { return int32(le.Uint32(b[off:])) }

func encodeBlock(b []byte, m *Message) {
	switch m.Type {
	case MsgCanvassPosition:
		put64(b, canvassLogTermOffset, int64(m.LogTerm))
		put64(b, canvassLogPositionOffset, int64(m.Position))
		put64(b, canvassTermOffset, int64(m.Term))
		put32(b, canvassMemberOffset, int32(m.From))
	case MsgRequestVote:
		put64(b, voteReqLogTermOffset, int64(m.LogTerm))
		put64(b, voteReqLogPositionOffset, int64(m.Position))
		put64(b, voteReqTermOffset, int64(m.Term))
		put32(b, voteReqCandidateOffset, int32(m.From))
	case MsgVote:
		put64(b, voteTermOffset, int64(m.Term))
		put64(b, voteLogTermOffset, int64(m.LogTerm))
		put64(b, voteLogPositionOffset, int64(m.Position))
		put32(b, voteCandidateOffset, int32(m.To))
		put32(b, voteFollowerOffset, int32(m.From))
		if m.Granted {
			b[voteGrantedOffset] = 1
		}
	case MsgNewLeadershipTerm:
		put64(b, nltTermOffset, int64(m.Term))
		put64(b, nltTermBaseOffset, int64(m.TermBase))
		put64(b, nltLogPositionOffset, int64(m.Position))
		put64(b, nltCommitOffset, int64(m.Commit))
		put32(b, nltLeaderOffset, int32(m.From))
	case MsgAppendPosition, MsgCommitPosition, MsgTermination:
		put64(b, posTermOffset, int64(m.Term))
		put64(b, posPositionOffset, int64(m.Position))
		put32(b, posMemberOffset, int32(m.From))
	case MsgCatchupPosition:
		put64(b, catchupTermOffset, int64(m.Term))
		put64(b, catchupPositionOffset, int64(m.Position))
		put64(b, catchupLogTermOffset, int64(m.LogTerm))
		put64(b, catchupTermBaseOffset, int64(m.TermBase))
		put32(b, catchupMemberOffset, int32(m.From))
	case MsgStopCatchup:
		put64(b, stopTermOffset, int64(m.Term))
		put32(b, stopLeaderOffset, int32(m.From))
		put32(b, stopFollowerOffset, int32(m.To))
	case MsgAppendLog:
		put64(b, appendTermOffset, int64(m.Term))
		put64(b, appendPositionOffset, int64(m.Position))
		put64(b, appendPrevTermOffset, int64(m.PrevLogTerm))
		put64(b, appendLogTermOffset, int64(m.LogTerm))
		put32(b, appendLeaderOffset, int32(m.From))
		put32(b, appendDataLengthOffset, int32(len(m.Data)))
		copy(b[appendBlockLength:], m.Data)
	case MsgInstallSnapshot:
		put64(b, installTermOffset, int64(m.Term))
		put64(b, installPositionOffset, int64(m.Position))
		put64(b, installLogTermOffset, int64(m.LogTerm))
		put64(b, installTermBaseOffset, int64(m.TermBase))
		put32(b, installLeaderOffset, int32(m.From))
		put32(b, installFollowerOffset, int32(m.To))
	case MsgSnapshotChunkRequest:
		put64(b, chunkReqTermOffset, int64(m.Term))
		put64(b, chunkReqPositionOffset, int64(m.Position))
		put64(b, chunkReqOffsetOffset, m.Offset)
		put32(b, chunkReqMemberOffset, int32(m.From))
	case MsgSnapshotChunk:
		put64(b, chunkTermOffset, int64(m.Term))
		put64(b, chunkPositionOffset, int64(m.Position))
		put64(b, chunkOffsetOffset, m.Offset)
		put64(b, chunkLengthOffset, m.Length)
		put32(b, chunkChecksumOffset, int32(m.Checksum))
		put32(b, chunkMemberOffset, int32(m.From))
		put32(b, chunkDataLengthOffset, int32(len(m.Data)))
		copy(b[chunkBlockLength:], m.Data)
	}
}

// DecodeMessage decodes buf into m without allocating; m.Data aliases buf.
// m.To is left as the caller set it (the transport knows the addressee). On
// error m is unspecified and the error is one of the package's decode errors,
// wrapped with detail.
func DecodeMessage(buf []byte, m *Message) error {
	if len(buf) < HeaderLength {
		return fmt.Errorf("%w: %d bytes, header needs %d", ErrTruncated, len(buf), HeaderLength)
	}
	blockLength := int(le.Uint16(buf[headerBlockLengthOffset:]))
	template := MsgType(le.Uint16(buf[headerTemplateIDOffset:]))
	if s := le.Uint16(buf[headerSchemaIDOffset:]); s != SchemaID {
		return fmt.Errorf("%w: %#x", ErrForeignSchema, s)
	}
	if v := le.Uint16(buf[headerVersionOffset:]); v < schemaVersionMin {
		return fmt.Errorf("%w: %d", ErrVersion, v)
	}
	if template == MsgNone || template >= msgTypeCount {
		return fmt.Errorf("%w: %d", ErrUnknownTemplate, uint16(template))
	}
	if blockLength < blockLengths[template] {
		return fmt.Errorf("%w: %v block %d < %d", ErrMalformed, template, blockLength, blockLengths[template])
	}
	body := buf[HeaderLength:]
	if len(body) < blockLength {
		return fmt.Errorf("%w: %v block %d, have %d", ErrTruncated, template, blockLength, len(body))
	}
	*m = Message{Type: template, To: m.To}
	decodeBlock(body, m)
	switch template {
	case MsgAppendLog:
		if err := decodeData(m, body, blockLength, appendDataLengthOffset, AppendDataLengthMax); err != nil {
			return err
		}
	case MsgSnapshotChunk:
		if err := decodeData(m, body, blockLength, chunkDataLengthOffset, SnapshotChunkBytesMax); err != nil {
			return err
		}
	}
	return validate(m, body)
}

// decodeData sets m.Data to the variable-length data after the block, whose
// length is at lengthOffset in the block and at most max bytes.
func decodeData(m *Message, body []byte, blockLength, lengthOffset, max int) error {
	n := int(get32(body, lengthOffset))
	if n < 0 || n > max {
		return fmt.Errorf("%w: %v data length %d", ErrMalformed, m.Type, n)
	}
	if len(body)-blockLength < n {
		return fmt.Errorf("%w: %v data %d, have %d", ErrTruncated, m.Type, n, len(body)-blockLength)
	}
	m.Data = body[blockLength : blockLength+n : blockLength+n]
	return nil
}

func decodeBlock(b []byte, m *Message) {
	switch m.Type {
	case MsgCanvassPosition:
		m.LogTerm = TermID(get64(b, canvassLogTermOffset))
		m.Position = Position(get64(b, canvassLogPositionOffset))
		m.Term = TermID(get64(b, canvassTermOffset))
		m.From = MemberID(get32(b, canvassMemberOffset))
	case MsgRequestVote:
		m.LogTerm = TermID(get64(b, voteReqLogTermOffset))
		m.Position = Position(get64(b, voteReqLogPositionOffset))
		m.Term = TermID(get64(b, voteReqTermOffset))
		m.From = MemberID(get32(b, voteReqCandidateOffset))
	case MsgVote:
		m.Term = TermID(get64(b, voteTermOffset))
		m.LogTerm = TermID(get64(b, voteLogTermOffset))
		m.Position = Position(get64(b, voteLogPositionOffset))
		m.To = MemberID(get32(b, voteCandidateOffset))
		m.From = MemberID(get32(b, voteFollowerOffset))
		m.Granted = b[voteGrantedOffset] == 1
	case MsgNewLeadershipTerm:
		m.Term = TermID(get64(b, nltTermOffset))
		m.TermBase = Position(get64(b, nltTermBaseOffset))
		m.Position = Position(get64(b, nltLogPositionOffset))
		m.Commit = Position(get64(b, nltCommitOffset))
		m.From = MemberID(get32(b, nltLeaderOffset))
	case MsgAppendPosition, MsgCommitPosition, MsgTermination:
		m.Term = TermID(get64(b, posTermOffset))
		m.Position = Position(get64(b, posPositionOffset))
		m.From = MemberID(get32(b, posMemberOffset))
	case MsgCatchupPosition:
		m.Term = TermID(get64(b, catchupTermOffset))
		m.Position = Position(get64(b, catchupPositionOffset))
		m.LogTerm = TermID(get64(b, catchupLogTermOffset))
		m.TermBase = Position(get64(b, catchupTermBaseOffset))
		m.From = MemberID(get32(b, catchupMemberOffset))
	case MsgStopCatchup:
		m.Term = TermID(get64(b, stopTermOffset))
		m.From = MemberID(get32(b, stopLeaderOffset))
		m.To = MemberID(get32(b, stopFollowerOffset))
	case MsgAppendLog:
		m.Term = TermID(get64(b, appendTermOffset))
		m.Position = Position(get64(b, appendPositionOffset))
		m.PrevLogTerm = TermID(get64(b, appendPrevTermOffset))
		m.LogTerm = TermID(get64(b, appendLogTermOffset))
		m.From = MemberID(get32(b, appendLeaderOffset))
	case MsgInstallSnapshot:
		m.Term = TermID(get64(b, installTermOffset))
		m.Position = Position(get64(b, installPositionOffset))
		m.LogTerm = TermID(get64(b, installLogTermOffset))
		m.TermBase = Position(get64(b, installTermBaseOffset))
		m.From = MemberID(get32(b, installLeaderOffset))
		m.To = MemberID(get32(b, installFollowerOffset))
	case MsgSnapshotChunkRequest:
		m.Term = TermID(get64(b, chunkReqTermOffset))
		m.Position = Position(get64(b, chunkReqPositionOffset))
		m.Offset = get64(b, chunkReqOffsetOffset)
		m.From = MemberID(get32(b, chunkReqMemberOffset))
	case MsgSnapshotChunk:
		m.Term = TermID(get64(b, chunkTermOffset))
		m.Position = Position(get64(b, chunkPositionOffset))
		m.Offset = get64(b, chunkOffsetOffset)
		m.Length = get64(b, chunkLengthOffset)
		m.Checksum = uint32(get32(b, chunkChecksumOffset))
		m.From = MemberID(get32(b, chunkMemberOffset))
	}
}

// validate checks the invariants every handler relies on, once, at the
// gateway: no negative position or term, no negative member id, a boolean
// that is 0 or 1, terms ordered as the protocol requires.
func validate(m *Message, body []byte) error {
	bad := m.Position < 0 || m.TermBase < 0 || m.Commit < 0 || m.Term < 0 || m.LogTerm < 0 ||
		m.PrevLogTerm < 0 || m.From < 0 || m.To < NoMember
	if m.Type == MsgVote && body[voteGrantedOffset] > 1 {
		bad = true
	}
	if m.Type == MsgAppendLog && (m.PrevLogTerm > m.LogTerm || m.LogTerm > m.Term || m.LogTerm == 0 ||
		m.Position > m.Position+Position(len(m.Data))) {
		bad = true
	}
	switch m.Type {
	case MsgInstallSnapshot:
		// A snapshot of an empty log is no snapshot; the byte before it
		// was written in a term that started at or before it.
		bad = bad || m.Position == 0 || m.LogTerm == 0 || m.LogTerm > m.Term || m.TermBase >= m.Position
	case MsgSnapshotChunkRequest:
		bad = bad || m.Offset < 0
	case MsgSnapshotChunk:
		bad = bad || m.Offset < 0 || m.Length < 0 || m.Length > SnapshotLengthMax ||
			m.Offset > m.Length-int64(len(m.Data))
	}
	if bad {
		return fmt.Errorf("%w: %v", ErrMalformed, m)
	}
	return nil
}

// DecodeCounters counts dropped messages by reason. The zero value is ready.
// It is not safe for concurrent use; one per receiving agent.
type DecodeCounters struct {
	Truncated, ForeignSchema, Version, UnknownTemplate, Malformed uint64
}

// Decode is DecodeMessage that also counts the failure reason.
func (c *DecodeCounters) Decode(buf []byte, m *Message) error {
	err := DecodeMessage(buf, m)
	switch {
	case err == nil:
	case errors.Is(err, ErrTruncated):
		c.Truncated++
	case errors.Is(err, ErrForeignSchema):
		c.ForeignSchema++
	case errors.Is(err, ErrVersion):
		c.Version++
	case errors.Is(err, ErrUnknownTemplate):
		c.UnknownTemplate++
	default:
		c.Malformed++
	}
	return err
}

// Total returns the number of messages dropped for any reason.
func (c *DecodeCounters) Total() uint64 {
	return c.Truncated + c.ForeignSchema + c.Version + c.UnknownTemplate + c.Malformed
}
