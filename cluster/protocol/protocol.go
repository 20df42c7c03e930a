// Package protocol is the wire format between cluster clients and members:
// ingress (client to member: connect, session messages, keepalives, close,
// challenge responses, admin requests) and egress (member to client: session
// events, new leader events, service egress, challenges, commit
// acknowledgements and admin responses).
//
// Every message is a fixed-layout little-endian block after an 8-byte header
// (block length, template id, schema id, version), as in the consensus codec
// and SBE. Variable-length fields follow the block, each with a 16-bit length;
// a payload (session message, egress) is the rest of the message. Decoding
// never allocates: byte fields alias the input.
package protocol

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Header layout and schema identity.
const (
	headerBlockLengthOffset = 0
	headerTemplateIDOffset  = 2
	headerSchemaIDOffset    = 4
	headerVersionOffset     = 6
	// HeaderLength is the size of the message header in bytes.
	HeaderLength = 8

	// SchemaID identifies the client protocol ("VI": venue ingress).
	SchemaID uint16 = 0x5649
	// SchemaVersion is the version this code writes.
	SchemaVersion uint16 = 1
	// schemaVersionMin is the oldest version this code reads.
	schemaVersionMin uint16 = 1
)

// Bounds, in bytes.
const (
	// ChannelLengthMax bounds a response channel string.
	ChannelLengthMax = 256
	// CredentialsLengthMax bounds credentials, challenges and responses.
	CredentialsLengthMax = 1024
	// DetailLengthMax bounds an event's human-readable detail.
	DetailLengthMax = 256
)

// Template names a message. The values are wire template ids; never
// renumber them.
type Template uint16

// Ingress templates (client to member).
const (
	TemplateNone Template = iota
	// Connect asks for a new session; the answer goes to ResponseChannel /
	// StreamID (a SessionEvent, or a Challenge).
	Connect
	// SessionMessage carries a client payload for the service. CorrelationID
	// is the client's message sequence: strictly increasing per session.
	SessionMessage
	// KeepAlive says the session is alive; the leader answers with an Ack.
	KeepAlive
	// CloseSession closes the session through the log.
	CloseSession
	// ChallengeResponse answers a Challenge with Credentials.
	ChallengeResponse
	// AdminRequest asks the leader, for an open session whose principal
	// may, to carry out Request through the log (a snapshot). It is
	// answered with an AdminResponse of the same CorrelationID, which
	// counts on its own: admin requests are not session messages.
	AdminRequest
	ingressEnd
)

// Egress templates (member to client).
const (
	// SessionEvent answers a connect or reports an error, a redirect or a
	// rejection (Code), for the message CorrelationID where one applies.
	SessionEvent Template = iota + 101
	// NewLeader tells a session that Leader now leads term Term, and the last
	// of its messages the log holds (CorrelationID): later ones were lost.
	NewLeader
	// Egress carries a service's payload for the session.
	Egress
	// Challenge asks a connecting client to answer with Credentials.
	Challenge
	// Ack says the log committed the session's messages up to CorrelationID.
	Ack
	// AdminResponse answers the AdminRequest CorrelationID: Code is
	// EventOK when the request's action is in the leader's log (at
	// Position), else why not (Detail).
	AdminResponse
	egressEnd
)

// String returns the template's name, as used in traces and counters.
func (t Template) String() string {
	switch t {
	case Connect:
		return "Connect"
	case SessionMessage:
		return "SessionMessage"
	case KeepAlive:
		return "KeepAlive"
	case CloseSession:
		return "CloseSession"
	case ChallengeResponse:
		return "ChallengeResponse"
	case AdminRequest:
		return "AdminRequest"
	case SessionEvent:
		return "SessionEvent"
	case NewLeader:
		return "NewLeader"
	case Egress:
		return "Egress"
	case Challenge:
		return "Challenge"
	case Ack:
		return "Ack"
	case AdminResponse:
		return "AdminResponse"
	}
	return fmt.Sprintf("Template(%d)", uint16(t))
}

// IsIngress reports whether t travels from a client to a member.
func (t Template) IsIngress() bool { return t > TemplateNone && t < ingressEnd }

// IsEgress reports whether t travels from a member to a client.
func (t Template) IsEgress() bool { return t >= SessionEvent && t < egressEnd }

// EventCode is a SessionEvent's outcome.
type EventCode int32

// Event codes.
const (
	// EventOK: the session is open (answer to Connect).
	EventOK EventCode = iota + 1
	// EventRedirect: this member does not lead; Leader does (or NoLeader).
	EventRedirect
	// EventAuthRejected: the authenticator refused the credentials.
	EventAuthRejected
	// EventSessionLimit: the cluster holds its maximum number of sessions.
	EventSessionLimit
	// EventIngressLimit: the message CorrelationID was refused because the
	// session has too many messages not yet committed; it is not in the log.
	EventIngressLimit
	// EventTooLarge: the message CorrelationID exceeds the maximum size; it
	// is not in the log.
	EventTooLarge
	// EventClosed: the session is closed (reason in Detail).
	EventClosed
	// EventError: anything else (Detail says what).
	EventError
	// EventBackPressure: the leader's log is full; the message
	// CorrelationID is not in the log; retry later.
	EventBackPressure
)

// String returns the code's name.
func (c EventCode) String() string {
	switch c {
	case EventOK:
		return "ok"
	case EventRedirect:
		return "redirect"
	case EventAuthRejected:
		return "auth-rejected"
	case EventSessionLimit:
		return "session-limit"
	case EventIngressLimit:
		return "ingress-limit"
	case EventTooLarge:
		return "too-large"
	case EventClosed:
		return "closed"
	case EventError:
		return "error"
	case EventBackPressure:
		return "back-pressure"
	}
	return fmt.Sprintf("EventCode(%d)", int32(c))
}

// AdminRequestType names what an AdminRequest asks for.
type AdminRequestType int32

// Admin requests.
const (
	// AdminSnapshot: every member snapshots at the position of a snapshot
	// action the leader appends to the log.
	AdminSnapshot AdminRequestType = iota + 1
)

// String returns the request's name.
func (r AdminRequestType) String() string {
	if r == AdminSnapshot {
		return "snapshot"
	}
	return fmt.Sprintf("AdminRequestType(%d)", int32(r))
}

// Default stream ids.
const (
	// IngressStreamID is the stream clients send to on a member's ingress
	// endpoint.
	IngressStreamID int32 = 101
	// ResponseStreamID is the stream members answer clients on.
	ResponseStreamID int32 = 102
)

// NoLeader is the Leader of a redirect from a member that knows no leader.
const NoLeader int32 = -1

// Message is one decoded message as plain data; fields a template does not
// carry are zero. Byte fields alias the decoded buffer.
type Message struct {
	Type          Template
	SessionID     int64
	CorrelationID int64
	// Term is a leadership term (NewLeader).
	Term int64
	// TimestampNs is cluster time (Egress).
	TimestampNs int64
	// Position is a log position (Ack, Egress).
	Position int64
	// Leader is a member id (SessionEvent, NewLeader).
	Leader int32
	// Code is an outcome (SessionEvent, AdminResponse).
	Code EventCode
	// Request is what an AdminRequest asks for (and its AdminResponse
	// answers).
	Request AdminRequestType
	// StreamID is the response stream (Connect).
	StreamID int32
	// Channel is the response channel (Connect).
	Channel []byte
	// Credentials: Connect, ChallengeResponse and Challenge (the challenge).
	Credentials []byte
	// Detail is a SessionEvent's or AdminResponse's human-readable reason.
	Detail []byte
	// Payload: SessionMessage and Egress.
	Payload []byte
}

// Field layouts, in bytes from the start of the block.
const (
	connCorrelationOffset = 0
	connStreamOffset      = 8
	connBlockLength       = 16 // + channel, credentials

	smSessionOffset     = 0
	smCorrelationOffset = 8
	smBlockLength       = 16 // + payload (KeepAlive: no payload)

	closeSessionOffset = 0
	closeBlockLength   = 8

	crCorrelationOffset = 0
	crSessionOffset     = 8
	crBlockLength       = 16 // + credentials (Challenge: the same)

	evCorrelationOffset = 0
	evSessionOffset     = 8
	evLeaderOffset      = 16
	evCodeOffset        = 20
	evBlockLength       = 24 // + detail

	nlSessionOffset     = 0
	nlTermOffset        = 8
	nlCorrelationOffset = 16
	nlLeaderOffset      = 24
	nlBlockLength       = 32

	egSessionOffset   = 0
	egTimestampOffset = 8
	egPositionOffset  = 16
	egBlockLength     = 24 // + payload

	ackSessionOffset     = 0
	ackCorrelationOffset = 8
	ackPositionOffset    = 16
	ackBlockLength       = 24

	arSessionOffset     = 0
	arCorrelationOffset = 8
	arRequestOffset     = 16
	arBlockLength       = 24

	aresSessionOffset     = 0
	aresCorrelationOffset = 8
	aresPositionOffset    = 16
	aresRequestOffset     = 24
	aresCodeOffset        = 28
	aresBlockLength       = 32 // + detail
)

func blockLength(t Template) int {
	switch t {
	case Connect:
		return connBlockLength
	case SessionMessage, KeepAlive:
		return smBlockLength
	case CloseSession:
		return closeBlockLength
	case ChallengeResponse, Challenge:
		return crBlockLength
	case SessionEvent:
		return evBlockLength
	case NewLeader:
		return nlBlockLength
	case Egress:
		return egBlockLength
	case Ack:
		return ackBlockLength
	case AdminRequest:
		return arBlockLength
	case AdminResponse:
		return aresBlockLength
	}
	return -1
}

// Decode errors; each means "count and drop the message".
var (
	ErrTruncated       = errors.New("protocol: message truncated")
	ErrForeignSchema   = errors.New("protocol: foreign schema id")
	ErrVersion         = errors.New("protocol: unsupported schema version")
	ErrUnknownTemplate = errors.New("protocol: unknown template id")
	ErrMalformed       = errors.New("protocol: malformed message")
)

var le = binary.LittleEndian

// Length returns the encoded length of m in bytes.
func Length(m *Message) int {
	n := HeaderLength + blockLength(m.Type)
	switch m.Type {
	case Connect:
		n += 4 + len(m.Channel) + len(m.Credentials)
	case ChallengeResponse, Challenge:
		n += 2 + len(m.Credentials)
	case SessionEvent, AdminResponse:
		n += 2 + len(m.Detail)
	case SessionMessage, Egress:
		n += len(m.Payload)
	}
	return n
}

// Append appends the encoding of m to dst. Oversized variable fields are an
// encoding error (the caller built a bad message), reported, not truncated.
func Append(dst []byte, m *Message) ([]byte, error) {
	bl := blockLength(m.Type)
	if bl < 0 {
		return dst, fmt.Errorf("%w: encode %v", ErrUnknownTemplate, m.Type)
	}
	if len(m.Channel) > ChannelLengthMax || len(m.Credentials) > CredentialsLengthMax || len(m.Detail) > DetailLengthMax {
		return dst, fmt.Errorf("%w: %v field too long", ErrMalformed, m.Type)
	}
	dst, b := appendHeader(dst, m.Type, bl)
	put64 := func(off int, v int64) { le.PutUint64(b[off:], uint64(v)) }
	put32 := func(off int, v int32) { le.PutUint32(b[off:], uint32(v)) }
	switch m.Type {
	case Connect:
		put64(connCorrelationOffset, m.CorrelationID)
		put32(connStreamOffset, m.StreamID)
		dst = appendVar(appendVar(dst, m.Channel), m.Credentials)
	case SessionMessage, KeepAlive:
		put64(smSessionOffset, m.SessionID)
		put64(smCorrelationOffset, m.CorrelationID)
		if m.Type == SessionMessage {
			dst = append(dst, m.Payload...)
		}
	case CloseSession:
		put64(closeSessionOffset, m.SessionID)
	case ChallengeResponse, Challenge:
		put64(crCorrelationOffset, m.CorrelationID)
		put64(crSessionOffset, m.SessionID)
		dst = appendVar(dst, m.Credentials)
	case SessionEvent:
		put64(evCorrelationOffset, m.CorrelationID)
		put64(evSessionOffset, m.SessionID)
		put32(evLeaderOffset, m.Leader)
		put32(evCodeOffset, int32(m.Code))
		dst = appendVar(dst, m.Detail)
	case NewLeader:
		put64(nlSessionOffset, m.SessionID)
		put64(nlTermOffset, m.Term)
		put64(nlCorrelationOffset, m.CorrelationID)
		put32(nlLeaderOffset, m.Leader)
	case Egress:
		put64(egSessionOffset, m.SessionID)
		put64(egTimestampOffset, m.TimestampNs)
		put64(egPositionOffset, m.Position)
		dst = append(dst, m.Payload...)
	case Ack:
		put64(ackSessionOffset, m.SessionID)
		put64(ackCorrelationOffset, m.CorrelationID)
		put64(ackPositionOffset, m.Position)
	case AdminRequest:
		put64(arSessionOffset, m.SessionID)
		put64(arCorrelationOffset, m.CorrelationID)
		put32(arRequestOffset, int32(m.Request))
	case AdminResponse:
		put64(aresSessionOffset, m.SessionID)
		put64(aresCorrelationOffset, m.CorrelationID)
		put64(aresPositionOffset, m.Position)
		put32(aresRequestOffset, int32(m.Request))
		put32(aresCodeOffset, int32(m.Code))
		dst = appendVar(dst, m.Detail)
	}
	return dst, nil
}

func appendVar(dst, v []byte) []byte {
	dst = le.AppendUint16(dst, uint16(len(v)))
	return append(dst, v...)
}

// AppendEgressHeader appends the header and block of an Egress message whose
// payload the caller writes next (so a member can offer header and payload
// as a vector without copying the payload).
func AppendEgressHeader(dst []byte, sessionID, timestampNs, position int64) []byte {
	dst, b := appendHeader(dst, Egress, egBlockLength)
	le.PutUint64(b[egSessionOffset:], uint64(sessionID))
	le.PutUint64(b[egTimestampOffset:], uint64(timestampNs))
	le.PutUint64(b[egPositionOffset:], uint64(position))
	return dst
}

// AppendSessionMessageHeader appends the header and block of a
// SessionMessage whose payload the caller writes next.
func AppendSessionMessageHeader(dst []byte, sessionID, correlationID int64) []byte {
	dst, b := appendHeader(dst, SessionMessage, smBlockLength)
	le.PutUint64(b[smSessionOffset:], uint64(sessionID))
	le.PutUint64(b[smCorrelationOffset:], uint64(correlationID))
	return dst
}

// appendHeader appends a message header and a zeroed block of blockLength
// bytes, and returns the extended slice and the block.
func appendHeader(dst []byte, t Template, blockLength int) ([]byte, []byte) {
	start := len(dst)
	dst = append(dst, make([]byte, HeaderLength+blockLength)...)
	h := dst[start:]
	le.PutUint16(h[headerBlockLengthOffset:], uint16(blockLength))
	le.PutUint16(h[headerTemplateIDOffset:], uint16(t))
	le.PutUint16(h[headerSchemaIDOffset:], SchemaID)
	le.PutUint16(h[headerVersionOffset:], SchemaVersion)
	return dst, h[HeaderLength:]
}

// Decode decodes buf into m without allocating. A newer version whose block
// is longer than this code knows is accepted; the extra bytes are skipped.
func Decode(buf []byte, m *Message) error {
	if len(buf) < HeaderLength {
		return fmt.Errorf("%w: %d bytes", ErrTruncated, len(buf))
	}
	bl := int(le.Uint16(buf[headerBlockLengthOffset:]))
	t := Template(le.Uint16(buf[headerTemplateIDOffset:]))
	if s := le.Uint16(buf[headerSchemaIDOffset:]); s != SchemaID {
		return fmt.Errorf("%w: %#x", ErrForeignSchema, s)
	}
	if v := le.Uint16(buf[headerVersionOffset:]); v < schemaVersionMin {
		return fmt.Errorf("%w: %d", ErrVersion, v)
	}
	known := blockLength(t)
	if known < 0 {
		return fmt.Errorf("%w: %d", ErrUnknownTemplate, uint16(t))
	}
	if bl < known {
		return fmt.Errorf("%w: %v block %d < %d", ErrMalformed, t, bl, known)
	}
	body := buf[HeaderLength:]
	if len(body) < bl {
		return fmt.Errorf("%w: %v block %d, have %d", ErrTruncated, t, bl, len(body))
	}
	b, rest := body[:bl], body[bl:]
	get64 := func(off int) int64 { return int64(le.Uint64(b[off:])) }
	get32 := func(off int) int32 { return int32(le.Uint32(b[off:])) }
	*m = Message{Type: t}
	var err error
	switch t {
	case Connect:
		m.CorrelationID = get64(connCorrelationOffset)
		m.StreamID = get32(connStreamOffset)
		if m.Channel, rest, err = readVar(rest, ChannelLengthMax); err == nil {
			m.Credentials, rest, err = readVar(rest, CredentialsLengthMax)
		}
	case SessionMessage, KeepAlive:
		m.SessionID = get64(smSessionOffset)
		m.CorrelationID = get64(smCorrelationOffset)
		if t == SessionMessage {
			m.Payload, rest = rest[:len(rest):len(rest)], nil
		}
	case CloseSession:
		m.SessionID = get64(closeSessionOffset)
	case ChallengeResponse, Challenge:
		m.CorrelationID = get64(crCorrelationOffset)
		m.SessionID = get64(crSessionOffset)
		m.Credentials, rest, err = readVar(rest, CredentialsLengthMax)
	case SessionEvent:
		m.CorrelationID = get64(evCorrelationOffset)
		m.SessionID = get64(evSessionOffset)
		m.Leader = get32(evLeaderOffset)
		m.Code = EventCode(get32(evCodeOffset))
		m.Detail, rest, err = readVar(rest, DetailLengthMax)
	case NewLeader:
		m.SessionID = get64(nlSessionOffset)
		m.Term = get64(nlTermOffset)
		m.CorrelationID = get64(nlCorrelationOffset)
		m.Leader = get32(nlLeaderOffset)
	case Egress:
		m.SessionID = get64(egSessionOffset)
		m.TimestampNs = get64(egTimestampOffset)
		m.Position = get64(egPositionOffset)
		m.Payload, rest = rest[:len(rest):len(rest)], nil
	case Ack:
		m.SessionID = get64(ackSessionOffset)
		m.CorrelationID = get64(ackCorrelationOffset)
		m.Position = get64(ackPositionOffset)
	case AdminRequest:
		m.SessionID = get64(arSessionOffset)
		m.CorrelationID = get64(arCorrelationOffset)
		m.Request = AdminRequestType(get32(arRequestOffset))
	case AdminResponse:
		m.SessionID = get64(aresSessionOffset)
		m.CorrelationID = get64(aresCorrelationOffset)
		m.Position = get64(aresPositionOffset)
		m.Request = AdminRequestType(get32(aresRequestOffset))
		m.Code = EventCode(get32(aresCodeOffset))
		m.Detail, rest, err = readVar(rest, DetailLengthMax)
	}
	if err != nil {
		return fmt.Errorf("%v: %w", t, err)
	}
	if len(rest) != 0 {
		return fmt.Errorf("%w: %v has %d trailing bytes", ErrMalformed, t, len(rest))
	}
	return nil
}

func readVar(b []byte, max int) (v, rest []byte, err error) {
	if len(b) < 2 {
		return nil, b, ErrTruncated
	}
	n := int(le.Uint16(b))
	if n > max {
		return nil, b, fmt.Errorf("%w: field of %d bytes > %d", ErrMalformed, n, max)
	}
	if len(b)-2 < n {
		return nil, b, ErrTruncated
	}
	return b[2 : 2+n : 2+n], b[2+n:], nil
}

// DecodeCounters counts dropped messages by reason; the zero value is ready.
// Not safe for concurrent use: one per receiving agent.
type DecodeCounters struct {
	Truncated, ForeignSchema, Version, UnknownTemplate, Malformed uint64
}

// Decode is the package's Decode that also counts the failure reason.
func (c *DecodeCounters) Decode(buf []byte, m *Message) error {
	err := Decode(buf, m)
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
