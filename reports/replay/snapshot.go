package replay

import (
	"encoding/binary"

	"venue/cluster/consensus"
	"venue/cluster/member"
)

// A member's snapshot (cluster/member: SnapshotBlob, "VNSNAP01") is one
// blob per snapshot position, recorded under service id 0: the consensus
// module's session state, the container's state (cluster time, open
// sessions, pending timers) and the service's own snapshot (the engine's
// canonical one). Replay reads it to start from a snapshot — the
// container's section and the engine's, as a member's recovery does — and
// to audit one.
const (
	// memberSnapServiceID is the recording log's service id for the blob.
	memberSnapServiceID = 0
	// moduleStateVersion is the session layer's state encoding the writer
	// produces (cluster/module/sessions_state.go).
	moduleStateVersion = 1
)

// ErrMemberSnapshot marks a snapshot blob replay cannot read.
var ErrMemberSnapshot = member.ErrBadSnapshot

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
