package module

import (
	"encoding/binary"
	"errors"
	"fmt"

	"venue/cluster"
	"venue/cluster/consensus"
)

// ErrBadState: a session state in a snapshot did not decode.
var ErrBadState = errors.New("module: bad session state")

// Session state versions: 2 adds each session's principal; 1 (without it)
// is still read, its sessions taken as having none.
const (
	sessionStateVersion   = 2
	sessionStateVersionV1 = 1
)

// AppendState appends the replicated part of the session layer — every open
// session with its response channel, principal and last committed message, the highest
// session id, whether the cluster is suspended — to dst, in id order.
func (s *Sessions) AppendState(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, sessionStateVersion)
	dst = binary.AppendVarint(dst, int64(s.maxID))
	suspended := uint64(0)
	if s.suspended {
		suspended = 1
	}
	dst = binary.AppendUvarint(dst, suspended)
	dst = binary.AppendUvarint(dst, uint64(len(s.order)))
	for _, id := range s.order {
		ss := s.sessions[id]
		dst = binary.AppendVarint(dst, int64(ss.id))
		dst = binary.AppendVarint(dst, int64(ss.stream))
		dst = binary.AppendVarint(dst, ss.lastCorr)
		dst = binary.AppendUvarint(dst, uint64(len(ss.channel)))
		dst = append(dst, ss.channel...)
		dst = binary.AppendUvarint(dst, uint64(len(ss.principal)))
		dst = append(dst, ss.principal...)
	}
	return dst
}

// RestoreState loads what AppendState wrote, before the agent runs.
func (s *Sessions) RestoreState(b []byte, nowNs int64) error {
	fail := func(what string) error { return fmt.Errorf("%w: %s", ErrBadState, what) }
	uv := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	sv := func() (int64, bool) {
		v, n := binary.Varint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	version, ok := uv()
	if !ok || version != sessionStateVersion && version != sessionStateVersionV1 {
		return fail("version")
	}
	maxID, ok1 := sv()
	susp, ok2 := uv()
	n, ok3 := uv()
	if !ok1 || !ok2 || !ok3 || susp > 1 || n > SessionsMaxLimit {
		return fail("header")
	}
	s.maxID, s.suspended = cluster.SessionID(maxID), susp == 1
	for range n {
		id, ok1 := sv()
		stream, ok2 := sv()
		last, ok3 := sv()
		cl, ok4 := uv()
		if !ok1 || !ok2 || !ok3 || !ok4 || cl > consensus.SessionChannelLengthMax || cl > uint64(len(b)) {
			return fail("session")
		}
		ss := &session{id: cluster.SessionID(id), stream: int32(stream), lastCorr: last,
			channel: string(b[:cl]), lastActiveNs: nowNs}
		b = b[cl:]
		if len(s.order) > 0 && ss.id <= s.order[len(s.order)-1] {
			return fail("sessions not in increasing id order")
		}
		if version >= sessionStateVersion {
			pl, ok := uv()
			if !ok || pl > consensus.PayloadLengthMax || pl > uint64(len(b)) {
				return fail("session principal")
			}
			ss.principal = string(b[:pl])
			b = b[pl:]
		}
		s.sessions[ss.id] = ss
		s.order = append(s.order, ss.id)
	}
	if len(b) != 0 {
		return fail("trailing bytes")
	}
	s.nextID = max(s.nextID, s.maxID+1)
	return nil
}
