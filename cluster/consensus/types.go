package consensus

import "fmt"

// Position is a byte position in the replicated log stream. It is the same
// quantity as transport.Position (the log is one stream); it is kept a
// distinct type here so that the consensus core compiles without the
// transport package. Convert explicitly at the seam:
// transport.Position(p) and consensus.Position(tp).
type Position int64

// TermID is a leadership term. Term 0 means "no term": an empty log has last
// term 0, and the first elected leader has term 1.
type TermID int64

// MemberID identifies a cluster member in the static membership (0..n-1).
type MemberID int32

// NoMember is the MemberID used for "none" (no vote, no known leader).
const NoMember MemberID = -1

// SessionID is a cluster session id, assigned by the leader through the log.
type SessionID int64

// Role is a member's Raft role.
type Role uint8

// Roles.
const (
	RoleFollower Role = iota
	RoleCandidate
	RoleLeader
)

// String returns the Role's name, as used in traces and counters.
func (r Role) String() string {
	switch r {
	case RoleFollower:
		return "follower"
	case RoleCandidate:
		return "candidate"
	case RoleLeader:
		return "leader"
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// assert panics with a formatted message when cond is false. Assertions stay
// on in production: a broken invariant in consensus must stop the member
// rather than corrupt the replicated log.
func assert(cond bool, format string, args ...any) {
	if !cond {
		panic(fmt.Sprintf("consensus: assertion failed: "+format, args...))
	}
}
