// Package consensus is the pure consensus core of a venue cluster member: the
// Raft state machine (roles, the canvass → nominate → ballot election, log
// replication by position, quorum commit), the consensus message codec, the
// log entry codec, and the LogStore interface with an in-memory implementation.
//
// It owns no goroutine, socket, clock, file or random source. A caller (the
// consensus module agent in production, the simulator in tests) drives a Node
// with Tick(nowNs), Step(msg) and Propose(...), and drains its output with
// Ready() / Advance(); see Ready for the caller's obligations and their order.
//
// What it does not own: moving bytes between members (transport), making the
// log durable on disk (archive, behind LogStore), client sessions and timers as
// service-visible state (the service container), snapshots, and configuration
// files. Positions are byte positions in the log stream; they only move
// forward except where Raft truncates an uncommitted tail.
package consensus
