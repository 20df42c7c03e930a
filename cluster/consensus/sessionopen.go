package consensus

import "fmt"

// A SessionOpen entry's payload records what every member needs to serve the
// session after a failover: where its egress goes and who it is.
//
//	0            4                6                 6+n
//	+------------+----------------+-----------------+-----------+
//	| stream id  | channel length | response channel| principal |
//	+------------+----------------+-----------------+-----------+
const (
	soStreamOffset        = 0
	soChannelLengthOffset = 4
	soHeaderLength        = 6
	// SessionChannelLengthMax bounds a session's response channel.
	SessionChannelLengthMax = 256
)

// SessionOpen is a decoded SessionOpen payload; byte fields alias it.
type SessionOpen struct {
	ResponseStreamID int32
	ResponseChannel  []byte
	Principal        []byte
}

// AppendSessionOpen appends the SessionOpen payload of s to dst.
func AppendSessionOpen(dst []byte, s *SessionOpen) []byte {
	assert(len(s.ResponseChannel) <= SessionChannelLengthMax, "channel %d > max", len(s.ResponseChannel))
	dst = le.AppendUint32(dst, uint32(s.ResponseStreamID))
	dst = le.AppendUint16(dst, uint16(len(s.ResponseChannel)))
	dst = append(dst, s.ResponseChannel...)
	return append(dst, s.Principal...)
}

// DecodeSessionOpen decodes a SessionOpen payload without allocating.
func DecodeSessionOpen(p []byte, s *SessionOpen) error {
	if len(p) < soHeaderLength {
		return fmt.Errorf("%w: session open payload of %d bytes", ErrBadEntry, len(p))
	}
	n := int(le.Uint16(p[soChannelLengthOffset:]))
	if n > SessionChannelLengthMax || len(p)-soHeaderLength < n {
		return fmt.Errorf("%w: session open channel length %d of %d", ErrBadEntry, n, len(p))
	}
	*s = SessionOpen{ResponseStreamID: int32(le.Uint32(p[soStreamOffset:])),
		ResponseChannel: p[soHeaderLength : soHeaderLength+n : soHeaderLength+n],
		Principal:       p[soHeaderLength+n:]}
	return nil
}
