package engine

import (
	"encoding/binary"
	"errors"
)

// Message header layout: four little-endian u16s before every body.
const (
	headerBlockLengthOffset = 0
	headerTemplateIDOffset  = 2
	headerSchemaIDOffset    = 4
	headerVersionOffset     = 6

	// HeaderLength is the size of the message header in bytes.
	HeaderLength = 8
)

// TemplateID identifies a message type within the schema.
type TemplateID uint16

// Decode errors. They are sentinels so that the hot path never allocates on
// bad input; the engine answers each with a business reject.
var (
	ErrTruncated          = errors.New("engine: message truncated")
	ErrForeignSchema      = errors.New("engine: message of another schema")
	ErrUnknownTemplate    = errors.New("engine: unknown template")
	ErrUnsupportedVersion = errors.New("engine: newer schema version")
	ErrShortBlock         = errors.New("engine: block shorter than the template's")
)

// Header is a flyweight over a message header.
type Header []byte

// BlockLength returns the body length field.
func (h Header) BlockLength() int {
	return int(binary.LittleEndian.Uint16(h[headerBlockLengthOffset:]))
}

// TemplateID returns the template id field.
func (h Header) TemplateID() TemplateID {
	return TemplateID(binary.LittleEndian.Uint16(h[headerTemplateIDOffset:]))
}

// SchemaID returns the schema id field.
func (h Header) SchemaID() uint16 { return binary.LittleEndian.Uint16(h[headerSchemaIDOffset:]) }

// Version returns the schema version field.
func (h Header) Version() uint16 { return binary.LittleEndian.Uint16(h[headerVersionOffset:]) }

// PeekTemplate returns the template id of msg without validating anything
// else, and false when msg is too short to hold a header.
func PeekTemplate(msg []byte) (TemplateID, bool) {
	if len(msg) < HeaderLength {
		return 0, false
	}
	return Header(msg).TemplateID(), true
}

// Decode validates msg's header and returns its template and body. The body
// aliases msg and is at least the template's block length, so the
// template's flyweight can wrap it directly. A newer version is refused (a
// business reject), never guessed at.
func Decode(msg []byte) (TemplateID, []byte, error) {
	if len(msg) < HeaderLength {
		return 0, nil, ErrTruncated
	}
	h := Header(msg)
	if h.SchemaID() != SchemaID {
		return h.TemplateID(), nil, ErrForeignSchema
	}
	if h.Version() > SchemaVersion {
		return h.TemplateID(), nil, ErrUnsupportedVersion
	}
	t := h.TemplateID()
	known := knownBlockLength(t)
	if known == 0 {
		return t, nil, ErrUnknownTemplate
	}
	bl := h.BlockLength()
	if bl < known {
		return t, nil, ErrShortBlock
	}
	if len(msg)-HeaderLength < bl {
		return t, nil, ErrTruncated
	}
	return t, msg[HeaderLength : HeaderLength+bl], nil
}

// growMessage extends dst by n bytes, growing it only when its capacity is
// short, and returns the extended slice and its last n bytes (not zeroed:
// the generated Append functions zero and fill them).
func growMessage(dst []byte, n int) ([]byte, []byte) {
	start := len(dst)
	if cap(dst)-start < n {
		grown := make([]byte, start, max(start+n, 2*cap(dst)))
		copy(grown, dst)
		dst = grown
	}
	dst = dst[:start+n]
	return dst, dst[start:]
}

// chars returns b up to its first NUL.
func chars(b []byte) []byte {
	for i, c := range b {
		if c == 0 {
			return b[:i]
		}
	}
	return b
}

func putChars(dst []byte, s string) bool {
	if len(s) > len(dst) {
		return false
	}
	clear(dst[copy(dst, s):])
	return true
}

func putCharBytes(dst []byte, b []byte) bool {
	if len(b) > len(dst) {
		return false
	}
	clear(dst[copy(dst, b):])
	return true
}

// ValidChars reports whether b is a usable identifier: 1 or more printable
// ASCII characters with no spaces. Identifiers (client order ids, accounts,
// principals, symbols) are checked with it once, where they enter.
func ValidChars(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if c <= ' ' || c > '~' {
			return false
		}
	}
	return true
}
