package consensus

import (
	"errors"
	"fmt"
)

// Log entry format. The log is a byte stream addressed by Position; it is a
// sequence of entries, each starting on an entryAlignment boundary:
//
//	0              4           8                    16             16+block
//	+--------------+-----------+--------------------+--------------+---------+-----+
//	| frame length | reserved  | header (as message)| fixed block  | payload | pad |
//	+--------------+-----------+--------------------+--------------+---------+-----+
//
// Frame length counts everything but the padding. Reserved is zero (room for
// a checksum). Entries never span an AppendLog message, so a receiver can
// check framing per message.
const (
	entryFrameLengthOffset = 0
	entryReservedOffset    = 4
	entryHeaderOffset      = 8
	// EntryHeaderLength is the bytes before an entry's fixed block.
	EntryHeaderLength = entryHeaderOffset + HeaderLength
	// entryAlignment is the alignment of every entry start, in bytes.
	entryAlignment = 8
	// PayloadLengthMax bounds a session message or session open payload.
	PayloadLengthMax = 16 << 10
	// EntryLengthMax bounds one aligned entry in bytes.
	EntryLengthMax = 1 << 15
)

// EntryType names a log entry. The values are wire template ids.
type EntryType uint16

// Log entry types.
const (
	EntryNone EntryType = iota + 100
	// EntrySessionMessage: a client's message, sequenced and stamped.
	EntrySessionMessage
	// EntrySessionOpen: a client session was opened (payload: principal).
	EntrySessionOpen
	// EntrySessionClose: a session was closed, with a CloseReason.
	EntrySessionClose
	// EntryTimer: a timer with CorrelationID expired.
	EntryTimer
	// EntryClusterAction: snapshot, suspend, resume or shutdown.
	EntryClusterAction
	// EntryNewLeadershipTerm: the first entry of every term.
	EntryNewLeadershipTerm

	entryTypeEnd
)

// String returns the EntryType's name, as used in traces and counters.
func (t EntryType) String() string {
	switch t {
	case EntrySessionMessage:
		return "SessionMessage"
	case EntrySessionOpen:
		return "SessionOpen"
	case EntrySessionClose:
		return "SessionClose"
	case EntryTimer:
		return "Timer"
	case EntryClusterAction:
		return "ClusterAction"
	case EntryNewLeadershipTerm:
		return "NewLeadershipTerm"
	}
	return fmt.Sprintf("EntryType(%d)", uint16(t))
}

// CloseReason says why a session was closed.
type CloseReason int32

// Close reasons.
const (
	CloseClient CloseReason = iota + 1
	CloseService
	CloseTimeout
)

// String returns the CloseReason's name, as used in traces and counters.
func (r CloseReason) String() string {
	switch r {
	case CloseClient:
		return "client"
	case CloseService:
		return "service"
	case CloseTimeout:
		return "timeout"
	}
	return fmt.Sprintf("CloseReason(%d)", int32(r))
}

// ClusterAction is an administrative action taken at a log position.
type ClusterAction int32

// Cluster actions.
const (
	ActionSnapshot ClusterAction = iota + 1
	ActionSuspend
	ActionResume
	ActionShutdown
)

// String returns the ClusterAction's name, as used in traces and counters.
func (a ClusterAction) String() string {
	switch a {
	case ActionSnapshot:
		return "snapshot"
	case ActionSuspend:
		return "suspend"
	case ActionResume:
		return "resume"
	case ActionShutdown:
		return "shutdown"
	}
	return fmt.Sprintf("ClusterAction(%d)", int32(a))
}

// Fixed block offsets per entry type.
const (
	smSessionOffset     = 0
	smCorrelationOffset = 8
	smTimestampOffset   = 16
	smBlockLength       = 24 // also SessionOpen

	scSessionOffset   = 0
	scTimestampOffset = 8
	scReasonOffset    = 16
	scBlockLength     = 24

	timerCorrelationOffset = 0
	timerTimestampOffset   = 8
	timerBlockLength       = 16

	actionTimestampOffset = 0
	actionActionOffset    = 8
	actionBlockLength     = 16

	nlteTermOffset      = 0
	nlteTermBaseOffset  = 8
	nlteTimestampOffset = 16
	nlteLeaderOffset    = 24
	nlteBlockLength     = 32
)

var entryBlockLengths = [entryTypeEnd - EntryNone]int{
	EntrySessionMessage - EntryNone:    smBlockLength,
	EntrySessionOpen - EntryNone:       smBlockLength,
	EntrySessionClose - EntryNone:      scBlockLength,
	EntryTimer - EntryNone:             timerBlockLength,
	EntryClusterAction - EntryNone:     actionBlockLength,
	EntryNewLeadershipTerm - EntryNone: nlteBlockLength,
}

// ErrBadEntry is returned (wrapped) for a log entry that cannot be decoded.
var ErrBadEntry = errors.New("consensus: bad log entry")

// LogEntry is one decoded log entry as plain data. Fields not used by Type are
// zero. Timestamp is cluster time in nanoseconds, stamped by the leader.
type LogEntry struct {
	Type          EntryType
	SessionID     SessionID
	CorrelationID int64
	Timestamp     int64
	Reason        CloseReason
	Action        ClusterAction
	TermID        TermID
	TermBase      Position
	LeaderID      MemberID
	// Payload aliases the decoded buffer (SessionMessage, SessionOpen).
	Payload []byte
}

func hasPayload(t EntryType) bool { return t == EntrySessionMessage || t == EntrySessionOpen }

func alignUp(n int) int { return (n + entryAlignment - 1) &^ (entryAlignment - 1) }

// EntryLength returns the aligned length in bytes that AppendEntry adds for e.
func EntryLength(e *LogEntry) int {
	n := EntryHeaderLength + entryBlockLengths[e.Type-EntryNone]
	if hasPayload(e.Type) {
		n += len(e.Payload)
	}
	return alignUp(n)
}

// AppendEntry appends the encoding of e (with padding) to dst.
func AppendEntry(dst []byte, e *LogEntry) []byte {
	assert(e.Type > EntryNone && e.Type < entryTypeEnd, "append of %v", e.Type)
	assert(len(e.Payload) <= PayloadLengthMax, "payload %d > max", len(e.Payload))
	block := entryBlockLengths[e.Type-EntryNone]
	frame := EntryHeaderLength + block
	if hasPayload(e.Type) {
		frame += len(e.Payload)
	}
	start := len(dst)
	dst = grow(dst, alignUp(frame))
	b := dst[start:]
	clear(b)
	put32(b, entryFrameLengthOffset, int32(frame))
	putHeader(b[entryHeaderOffset:], uint16(block), uint16(e.Type))
	encodeEntryBlock(b[EntryHeaderLength:], e)
	if hasPayload(e.Type) {
		copy(b[EntryHeaderLength+block:], e.Payload)
	}
	return dst
}

func encodeEntryBlock(b []byte, e *LogEntry) {
	switch e.Type {
	case EntrySessionMessage, EntrySessionOpen:
		put64(b, smSessionOffset, int64(e.SessionID))
		put64(b, smCorrelationOffset, e.CorrelationID)
		put64(b, smTimestampOffset, e.Timestamp)
	case EntrySessionClose:
		put64(b, scSessionOffset, int64(e.SessionID))
		put64(b, scTimestampOffset, e.Timestamp)
		put32(b, scReasonOffset, int32(e.Reason))
	case EntryTimer:
		put64(b, timerCorrelationOffset, e.CorrelationID)
		put64(b, timerTimestampOffset, e.Timestamp)
	case EntryClusterAction:
		put64(b, actionTimestampOffset, e.Timestamp)
		put32(b, actionActionOffset, int32(e.Action))
	case EntryNewLeadershipTerm:
		put64(b, nlteTermOffset, int64(e.TermID))
		put64(b, nlteTermBaseOffset, int64(e.TermBase))
		put64(b, nlteTimestampOffset, e.Timestamp)
		put32(b, nlteLeaderOffset, int32(e.LeaderID))
	}
}

// EntryFrameLength returns the aligned length of the entry at the start of
// buf after checking only its framing (not its content). Used to cut the log
// at entry boundaries.
func EntryFrameLength(buf []byte) (int, error) {
	if len(buf) < EntryHeaderLength {
		return 0, fmt.Errorf("%w: %d bytes, header needs %d", ErrBadEntry, len(buf), EntryHeaderLength)
	}
	frame := int(get32(buf, entryFrameLengthOffset))
	if frame < EntryHeaderLength || alignUp(frame) > EntryLengthMax || alignUp(frame) > len(buf) {
		return 0, fmt.Errorf("%w: frame length %d of %d", ErrBadEntry, frame, len(buf))
	}
	return alignUp(frame), nil
}

// DecodeEntry decodes the entry at the start of buf into e without
// allocating (e.Payload aliases buf) and returns its aligned length.
func DecodeEntry(buf []byte, e *LogEntry) (int, error) {
	n, err := EntryFrameLength(buf)
	if err != nil {
		return 0, err
	}
	frame := int(get32(buf, entryFrameLengthOffset))
	h := buf[entryHeaderOffset:]
	block := int(le.Uint16(h[headerBlockLengthOffset:]))
	t := EntryType(le.Uint16(h[headerTemplateIDOffset:]))
	switch {
	case le.Uint16(h[headerSchemaIDOffset:]) != SchemaID:
		return 0, fmt.Errorf("%w: %w", ErrBadEntry, ErrForeignSchema)
	case le.Uint16(h[headerVersionOffset:]) < schemaVersionMin:
		return 0, fmt.Errorf("%w: %w", ErrBadEntry, ErrVersion)
	case t <= EntryNone || t >= entryTypeEnd:
		return 0, fmt.Errorf("%w: %w: %d", ErrBadEntry, ErrUnknownTemplate, uint16(t))
	case block < entryBlockLengths[t-EntryNone] || EntryHeaderLength+block > frame:
		return 0, fmt.Errorf("%w: %v block %d in frame %d", ErrBadEntry, t, block, frame)
	}
	*e = LogEntry{Type: t}
	decodeEntryBlock(buf[EntryHeaderLength:], e)
	if hasPayload(t) {
		p := buf[EntryHeaderLength+block : frame : frame]
		if len(p) > PayloadLengthMax {
			return 0, fmt.Errorf("%w: payload %d", ErrBadEntry, len(p))
		}
		e.Payload = p
	} else if frame != EntryHeaderLength+block {
		return 0, fmt.Errorf("%w: %v has %d trailing bytes", ErrBadEntry, t, frame-EntryHeaderLength-block)
	}
	return n, nil
}

func decodeEntryBlock(b []byte, e *LogEntry) {
	switch e.Type {
	case EntrySessionMessage, EntrySessionOpen:
		e.SessionID = SessionID(get64(b, smSessionOffset))
		e.CorrelationID = get64(b, smCorrelationOffset)
		e.Timestamp = get64(b, smTimestampOffset)
	case EntrySessionClose:
		e.SessionID = SessionID(get64(b, scSessionOffset))
		e.Timestamp = get64(b, scTimestampOffset)
		e.Reason = CloseReason(get32(b, scReasonOffset))
	case EntryTimer:
		e.CorrelationID = get64(b, timerCorrelationOffset)
		e.Timestamp = get64(b, timerTimestampOffset)
	case EntryClusterAction:
		e.Timestamp = get64(b, actionTimestampOffset)
		e.Action = ClusterAction(get32(b, actionActionOffset))
	case EntryNewLeadershipTerm:
		e.TermID = TermID(get64(b, nlteTermOffset))
		e.TermBase = Position(get64(b, nlteTermBaseOffset))
		e.Timestamp = get64(b, nlteTimestampOffset)
		e.LeaderID = MemberID(get32(b, nlteLeaderOffset))
	}
}
