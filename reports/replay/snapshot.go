package replay

import (
	"encoding/binary"
	"errors"
	"fmt"

	"venue/cluster/consensus"
)

// A member's snapshot (cluster/member/snapshot.go, "VNSNAP01") is one
// blob per snapshot position, recorded under service id 0: a header, the
// consensus module's session state, the container's state (cluster time,
// open sessions, pending timers) and the service's own snapshot (the
// engine's canonical one). Replay reads it to start from a snapshot — the
// container's section and the engine's, as a member's recovery does — and
// to audit one. The layout is the member's; another magic is refused.
//
//	0 magic  8 position  16 time ns  24 term  32 sessions length  36 container length  40 sections
const (
	memberSnapMagic        = "VNSNAP01"
	memberSnapHeaderBytes  = 40
	memberSnapPositionOff  = 8
	memberSnapTimeOff      = 16
	memberSnapTermOff      = 24
	memberSnapSessionsOff  = 32
	memberSnapContainerOff = 36
	// memberSnapServiceID is the recording log's service id for the blob.
	memberSnapServiceID = 0
	// moduleStateVersion is the session layer's state encoding the writer
	// produces (cluster/module/sessions_state.go).
	moduleStateVersion = 1
)

// ErrMemberSnapshot marks a snapshot blob replay cannot read.
var ErrMemberSnapshot = errors.New("replay: not a member snapshot")

// memberSnapshot is a decoded member snapshot; sections alias the blob.
type memberSnapshot struct {
	position  consensus.Position
	timeNs    int64
	term      consensus.TermID
	sessions  []byte // the consensus module's session state (replay does not run the module)
	container []byte // container.AppendState
	service   []byte // the engine's snapshot
}

// decodeMemberSnapshot splits a member snapshot into its sections. It
// never panics.
func decodeMemberSnapshot(b []byte) (memberSnapshot, error) {
	if len(b) < memberSnapHeaderBytes || string(b[:len(memberSnapMagic)]) != memberSnapMagic {
		return memberSnapshot{}, fmt.Errorf("%w: no %s header (%d bytes)", ErrMemberSnapshot, memberSnapMagic, len(b))
	}
	le := binary.LittleEndian
	ms := memberSnapshot{position: consensus.Position(le.Uint64(b[memberSnapPositionOff:])),
		timeNs: int64(le.Uint64(b[memberSnapTimeOff:])), term: consensus.TermID(le.Uint64(b[memberSnapTermOff:]))}
	ns, nc := uint64(le.Uint32(b[memberSnapSessionsOff:])), uint64(le.Uint32(b[memberSnapContainerOff:]))
	body := b[memberSnapHeaderBytes:]
	if ns+nc > uint64(len(body)) {
		return memberSnapshot{}, fmt.Errorf("%w: sections of %d and %d bytes in %d", ErrMemberSnapshot, ns, nc, len(body))
	}
	ms.sessions, ms.container, ms.service = body[:ns:ns], body[ns:ns+nc:ns+nc], body[ns+nc:]
	return ms, nil
}

// appendMemberSnapshot appends a member snapshot blob to dst.
func appendMemberSnapshot(dst []byte, ms *memberSnapshot) []byte {
	le := binary.LittleEndian
	dst = append(dst, memberSnapMagic...)
	dst = le.AppendUint64(dst, uint64(ms.position))
	dst = le.AppendUint64(dst, uint64(ms.timeNs))
	dst = le.AppendUint64(dst, uint64(ms.term))
	dst = le.AppendUint32(dst, uint32(len(ms.sessions)))
	dst = le.AppendUint32(dst, uint32(len(ms.container)))
	dst = append(dst, ms.sessions...)
	dst = append(dst, ms.container...)
	return append(dst, ms.service...)
}

// moduleSession is an open session as the consensus module's state
// records it.
type moduleSession struct {
	id      consensus.SessionID
	channel string
}

// appendModuleState appends a session layer state with the given open
// sessions (by id), none suspended and no message acknowledged, so that
// a member can start from the writer's snapshots.
func appendModuleState(dst []byte, maxID consensus.SessionID, open []moduleSession) []byte {
	dst = binary.AppendUvarint(dst, moduleStateVersion)
	dst = binary.AppendVarint(dst, int64(maxID))
	dst = binary.AppendUvarint(dst, 0) // not suspended
	dst = binary.AppendUvarint(dst, uint64(len(open)))
	for _, s := range open {
		dst = binary.AppendVarint(dst, int64(s.id))
		dst = binary.AppendVarint(dst, 0) // response stream
		dst = binary.AppendVarint(dst, 0) // last committed correlation id
		dst = binary.AppendUvarint(dst, uint64(len(s.channel)))
		dst = append(dst, s.channel...)
	}
	return dst
}
