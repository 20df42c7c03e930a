package consensus

import "fmt"

// ElectionState is a member's position in Aeron's election and replication
// state machine. Each state has one tick method on Node (tick<State>) and the
// transitions listed in allowedTransitions; any other transition panics.
//
// Aeron's Election.java has more states because it also drives the archive
// and transport (log replication, replay, log init/await). Here those steps
// are the caller's I/O, so they fold into fewer states: Aeron's
// LEADER_LOG_REPLICATION .. LEADER_READY are StateLeaderReady (the leader
// serves at once and commits when a majority holds its term's first entry);
// FOLLOWER_LOG_REPLICATION .. FOLLOWER_CATCHUP are StateFollowerCatchup;
// FOLLOWER_LOG_INIT .. FOLLOWER_READY are StateFollowerReady.
type ElectionState uint8

// Election states.
const (
	// StateCanvass: exchange log positions with the others; nominate self
	// if at least as complete as a majority. Entered on start and whenever
	// the leader is lost.
	StateCanvass ElectionState = iota
	// StateNominate: waiting out a random delay before standing.
	StateNominate
	// StateCandidateBallot: requested votes in a new term; waiting for a
	// majority.
	StateCandidateBallot
	// StateFollowerBallot: voted for a candidate; waiting for it to lead.
	StateFollowerBallot
	// StateLeaderReady: leading the term; sequencing and replicating.
	StateLeaderReady
	// StateFollowerCatchup: following a leader whose log this member does not
	// yet hold up to the term's base (replay from the leader's archive).
	StateFollowerCatchup
	// StateFollowerReady: following on the live log of the term.
	StateFollowerReady
	// StateClosed: terminated; the Node does nothing more.
	StateClosed

	electionStateCount
)

// String returns the ElectionState's name, as used in traces and counters.
func (s ElectionState) String() string {
	switch s {
	case StateCanvass:
		return "canvass"
	case StateNominate:
		return "nominate"
	case StateCandidateBallot:
		return "candidate-ballot"
	case StateFollowerBallot:
		return "follower-ballot"
	case StateLeaderReady:
		return "leader-ready"
	case StateFollowerCatchup:
		return "follower-catchup"
	case StateFollowerReady:
		return "follower-ready"
	case StateClosed:
		return "closed"
	}
	return fmt.Sprintf("ElectionState(%d)", uint8(s))
}

// Role returns the Raft role a member has in state s.
func (s ElectionState) Role() Role {
	switch s {
	case StateCandidateBallot:
		return RoleCandidate
	case StateLeaderReady:
		return RoleLeader
	}
	return RoleFollower
}

// follows returns the states a member may move to from each state. Every
// state may move to StateClosed. Losing the leader or seeing a higher term
// leads back to canvass; a granted vote leads to follower ballot; hearing a
// leader of the current or a higher term leads to follower catch-up; a
// candidate whose ballot split stands again through nominate.
var allowedTransitions = [electionStateCount][]ElectionState{
	StateCanvass:         {StateCanvass, StateNominate, StateFollowerBallot, StateFollowerCatchup},
	StateNominate:        {StateCanvass, StateCandidateBallot, StateFollowerBallot, StateFollowerCatchup},
	StateCandidateBallot: {StateCanvass, StateNominate, StateLeaderReady, StateFollowerBallot, StateFollowerCatchup},
	StateFollowerBallot:  {StateCanvass, StateFollowerBallot, StateFollowerCatchup},
	StateLeaderReady:     {StateCanvass, StateFollowerBallot, StateFollowerCatchup},
	StateFollowerCatchup: {StateCanvass, StateFollowerBallot, StateFollowerCatchup, StateFollowerReady},
	StateFollowerReady:   {StateCanvass, StateFollowerBallot, StateFollowerCatchup},
	StateClosed:          {},
}

func transitionAllowed(from, to ElectionState) bool {
	if to == StateClosed {
		return from != StateClosed
	}
	for _, s := range allowedTransitions[from] {
		if s == to {
			return true
		}
	}
	return false
}
