package consensus

import (
	"errors"
	"fmt"
)

// LAN defaults. A failed leader is detected after defaultLeaderHeartbeatTimeoutNs
// (8 missed heartbeats) and replaced after a canvass (two heartbeat intervals
// once a majority answered, at most defaultElectionTimeoutNs), a random
// nomination delay and a ballot round trip: about 300 ms in all (the
// simulator's 3-member leader-crash scenario: mean ~275 ms, worst 464 ms
// over 100 seeds).
const (
	defaultHeartbeatIntervalNs      = 25_000_000
	defaultLeaderHeartbeatTimeoutNs = 200_000_000
	defaultElectionTimeoutNs        = 100_000_000
	defaultNominationDelayMaxNs     = 40_000_000
	defaultRetransmitTimeoutNs      = 50_000_000
	defaultAppendWindowBytes        = 256 << 10
	defaultAppendBatchBytes         = 64 << 10
	defaultUncommittedBytesMax      = 8 << 20
	// defaultCommitBroadcastIntervalNs: under load the followers' services
	// apply up to this much later, and in return the leader spends about a
	// quarter fewer sends per client round trip (`venue bench cluster
	// --rate 100000` counted 8.4 sends per burst, 2 of them commits).
	defaultCommitBroadcastIntervalNs = 500_000
)

// RandomSource is the Node's only source of randomness (election delays). The
// caller injects it, seeded, so a run can be replayed.
type RandomSource interface {
	Uint64() uint64
}

// Config configures a Node. Durations are int64 nanoseconds; DefaultConfig
// fills them with LAN defaults.
type Config struct {
	// ID is this member's id, in [0, Members).
	ID MemberID
	// Members is the static cluster size (1..membersMax).
	Members int
	// HeartbeatIntervalNs: the leader sends CommitPosition and followers
	// send AppendPosition at least this often.
	HeartbeatIntervalNs int64
	// LeaderHeartbeatTimeoutNs: a follower that hears nothing from its leader
	// for this long starts an election; a leader that hears from no quorum for
	// this long steps down. Time this member itself stalled (was not
	// driven for over a heartbeat interval) does not count (stall.go).
	LeaderHeartbeatTimeoutNs int64
	// ElectionTimeoutNs bounds the canvass wait for a quorum and a ballot.
	ElectionTimeoutNs int64
	// NominationDelayMaxNs: a nominee waits a random delay in [0, this)
	// before it stands, so that two nominees rarely split the vote.
	NominationDelayMaxNs int64
	// RetransmitTimeoutNs: the leader resends log from a follower's last
	// acknowledged position when it has made no progress for this long.
	RetransmitTimeoutNs int64
	// AppendWindowBytes bounds the log bytes in flight to one follower.
	AppendWindowBytes int
	// AppendBatchBytes bounds one AppendLog message's data.
	AppendBatchBytes int
	// UncommittedBytesMax: Propose back-pressures when the leader's log is
	// this far ahead of its commit position.
	UncommittedBytesMax int
	// CommitBroadcastIntervalNs is how long an advance of the commit
	// position may wait for an AppendLog to ride with (0: none; it goes at
	// once). A held advance goes out with the next AppendLog to any
	// follower, or alone at the first flush this long after it was made.
	// A follower's service applies only what it knows is committed, so the
	// interval delays the followers' services by at most this much (plus
	// the time to the leader's next duty cycle); the leader's own service,
	// and so the clients, are not delayed. It saves the leader a send per
	// follower and each follower a receive and a wake-up per commit
	// advance, and keeps those off the clients' path. Heartbeats still go
	// every HeartbeatIntervalNs.
	CommitBroadcastIntervalNs int64
	// Rand is the injected random source.
	Rand RandomSource
}

// DefaultConfig returns a Config with LAN defaults.
func DefaultConfig(id MemberID, members int, rand RandomSource) Config {
	return Config{
		ID:                        id,
		Members:                   members,
		HeartbeatIntervalNs:       defaultHeartbeatIntervalNs,
		LeaderHeartbeatTimeoutNs:  defaultLeaderHeartbeatTimeoutNs,
		ElectionTimeoutNs:         defaultElectionTimeoutNs,
		NominationDelayMaxNs:      defaultNominationDelayMaxNs,
		RetransmitTimeoutNs:       defaultRetransmitTimeoutNs,
		AppendWindowBytes:         defaultAppendWindowBytes,
		AppendBatchBytes:          defaultAppendBatchBytes,
		UncommittedBytesMax:       defaultUncommittedBytesMax,
		CommitBroadcastIntervalNs: defaultCommitBroadcastIntervalNs,
		Rand:                      rand,
	}
}

// ErrConfig wraps every configuration error.
var ErrConfig = errors.New("consensus: config")

// Validate checks the config's bounds and the relationships between its
// timeouts that liveness depends on.
func (c *Config) Validate() error {
	switch {
	case c.Members < 1 || c.Members > membersMax:
		return fmt.Errorf("%w: members %d not in [1,%d]", ErrConfig, c.Members, membersMax)
	case c.ID < 0 || int(c.ID) >= c.Members:
		return fmt.Errorf("%w: id %d not in [0,%d)", ErrConfig, c.ID, c.Members)
	case c.HeartbeatIntervalNs <= 0 || c.LeaderHeartbeatTimeoutNs < 3*c.HeartbeatIntervalNs:
		return fmt.Errorf("%w: leader heartbeat timeout %d must be >= 3 heartbeat intervals %d",
			ErrConfig, c.LeaderHeartbeatTimeoutNs, c.HeartbeatIntervalNs)
	case c.ElectionTimeoutNs < 2*c.HeartbeatIntervalNs || c.NominationDelayMaxNs <= 0:
		return fmt.Errorf("%w: election timeout %d must be >= 2 heartbeat intervals, nomination delay > 0",
			ErrConfig, c.ElectionTimeoutNs)
	case c.RetransmitTimeoutNs < c.HeartbeatIntervalNs:
		return fmt.Errorf("%w: retransmit timeout %d < heartbeat interval", ErrConfig, c.RetransmitTimeoutNs)
	case c.AppendBatchBytes < EntryLengthMax || c.AppendBatchBytes > AppendDataLengthMax ||
		c.AppendWindowBytes < c.AppendBatchBytes:
		return fmt.Errorf("%w: need EntryLengthMax <= batch %d <= min(window %d, %d)",
			ErrConfig, c.AppendBatchBytes, c.AppendWindowBytes, AppendDataLengthMax)
	case c.CommitBroadcastIntervalNs < 0 || c.CommitBroadcastIntervalNs >= c.HeartbeatIntervalNs:
		return fmt.Errorf("%w: commit broadcast interval %d not in [0, heartbeat interval %d)",
			ErrConfig, c.CommitBroadcastIntervalNs, c.HeartbeatIntervalNs)
	case c.UncommittedBytesMax < c.AppendWindowBytes:
		return fmt.Errorf("%w: uncommitted max %d < window", ErrConfig, c.UncommittedBytesMax)
	case c.Rand == nil:
		return fmt.Errorf("%w: no random source", ErrConfig)
	}
	return nil
}
