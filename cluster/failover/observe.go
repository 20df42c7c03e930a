package failover

import (
	"fmt"
	"path/filepath"

	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/cluster/member"
	"venue/transport"
)

// MemberView is one member as its counters file shows it (member's control
// plane, published every millisecond and at once on a role change).
type MemberView struct {
	ID      consensus.MemberID
	PID     int
	Role    consensus.Role
	Term    consensus.TermID
	Leader  consensus.MemberID
	Commit  consensus.Position
	Applied consensus.Position
	LogEnd  consensus.Position
	// SnapshotsTaken and LastSnapshot: snapshots written since start and the
	// position of the newest one taken or recovered from (0: none).
	SnapshotsTaken int64
	LastSnapshot   consensus.Position
	// EchoApplied and EchoDigest are CountingEcho's state; HasEcho is false
	// when the member runs another service.
	EchoApplied int64
	EchoDigest  uint64
	HasEcho     bool
}

// CountersPath returns where member id of c keeps its counters file (what
// `venue node` creates and `venue stat` reads).
func CountersPath(c config.Cluster, id consensus.MemberID) string {
	return filepath.Join(member.DataDir(c, id), transport.CountersFileName)
}

// ReadMemberView reads member id's counters file at path. It fails while
// the file is missing or not yet initialised (a member starting) or when it
// holds no member counters (a member stopped frees them).
func ReadMemberView(path string, id consensus.MemberID) (MemberView, error) {
	r, err := transport.OpenCountersFile(path)
	if err != nil {
		return MemberView{}, err
	}
	defer r.Close()
	v := MemberView{ID: id, PID: r.OwnerPID(), Leader: consensus.NoMember}
	seen := 0
	r.ForEach(func(c transport.CounterInfo) {
		if name, cid, ok := member.LabelMember(c.Label); !ok || cid != id || name == "" {
			return
		}
		seen++
		switch c.TypeID {
		case int32(member.CounterRole):
			v.Role = consensus.Role(c.Value)
		case int32(member.CounterTerm):
			v.Term = consensus.TermID(c.Value)
		case int32(member.CounterLeader):
			v.Leader = consensus.MemberID(c.Value)
		case int32(member.CounterCommitPosition):
			v.Commit = consensus.Position(c.Value)
		case int32(member.CounterAppliedPosition):
			v.Applied = consensus.Position(c.Value)
		case int32(member.CounterLogEndPosition):
			v.LogEnd = consensus.Position(c.Value)
		case int32(member.CounterSnapshotsTaken):
			v.SnapshotsTaken = c.Value
		case int32(member.CounterLastSnapshotPosition):
			v.LastSnapshot = consensus.Position(c.Value)
		case CounterEchoApplied:
			v.EchoApplied, v.HasEcho = c.Value, true
		case CounterEchoDigest:
			v.EchoDigest = uint64(c.Value)
		}
	})
	if seen == 0 {
		return v, fmt.Errorf("failover: %s holds no counters of member %d", path, id)
	}
	return v, nil
}
