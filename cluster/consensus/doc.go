// Package consensus is the pure consensus core of a venue cluster member: the
// Raft state machine (roles, the canvass → nominate → ballot election, log
// replication by position, quorum commit), the consensus message codec, the
// log entry codec, and the LogStore interface with an in-memory implementation.
//
// It owns no goroutine, socket, clock, file or random source. A caller (the
// consensus module agent in production, the simulator in tests) drives a Node
// with Tick(nowNs), Step(nowNs, msg) and Propose(nowNs, entry), and drains its
// output with Ready() / Advance(); see Ready for the caller's obligations and
// their order.
//
// What it does not own: moving bytes between members (transport), making the
// log durable on disk (archive, behind LogStore), client sessions and timers as
// service-visible state (the service container), snapshots, and configuration
// files.
//
// # Protocol in brief
//
// The log is a byte stream of entries (logentry.go) addressed by Position.
// Every term starts with a new-leadership-term entry at the term's base
// position (where its leader's log ended when elected), and a member's
// LogStore keeps term records (term → base), as Aeron's RecordingLog does.
// Two logs that hold the same term at some position are identical up to it
// (log matching), so a follower checks each AppendLog against the term of the
// byte before it and the leader finds where logs agree from a follower's
// CatchupPosition (its log end, last term and that term's base) in at most
// one probe per term of divergence. Followers acknowledge with
// AppendPosition = min(durable position, position verified against this
// leader); the leader commits the quorum of those and its own durable
// position once that covers a byte of its own term (Raft's figure-8 rule).
//
// A follower that needs log the leader's retention purged is offered the
// leader's snapshot instead (snapshot.go, MsgInstallSnapshot): its caller
// fetches it (MsgSnapshotChunkRequest / MsgSnapshotChunk, which the Node
// does not handle), resets its LogStore to start at the snapshot's
// position and calls SnapshotInstalled; it then catches up from there.
//
// A ballot that splits (candidates that each voted for themselves, none
// able to win from the members heard in the canvass) is resolved at once:
// the candidate with the most complete log (ties: lowest id) stands again
// in the next term and the others step aside (election.go, checkBallot),
// instead of every candidate waiting out the election timeout.
//
// # Integration seams (transport, archive)
//
//   - Positions here count log entry bytes only. The transport carries
//     consensus messages, AppendLog included, as opaque payloads; transport
//     stream positions are its own and never mix with log positions. A
//     leader's AppendLog stream to a follower may ride a reliable publication
//     (live log) or an archive replay (catch-up); the core tolerates loss,
//     duplication and reordering of every message either way.
//   - The transport must set Message.From only from an authenticated source
//     (a configured member); Step drops ids outside the membership.
//   - The archive implements LogStore: DurablePosition is its recorded,
//     fsynced position and must fall on an entry boundary (it records whole
//     AppendLog data chunks); Truncate is durable when it returns; a term
//     record must be durable no later than the first byte of its term.
//   - HardState (term, vote) must be durable before any message of the same
//     Ready is sent and before log bytes of that term become durable.
package consensus
