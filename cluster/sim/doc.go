// Package sim is the deterministic simulator for the consensus core, in the
// style of TigerBeetle's VOPR: a whole cluster (N members and a client) runs
// in one goroutine on a virtual clock, and a seed decides every fault —
// packet loss, duplication, reordering and delay, symmetric and one-way
// partitions, crashes that lose unsynced writes, restarts and pauses. The
// same seed replays the same run exactly.
//
// The fakes (network, disk via consensus.MemLogStore, client, service) are
// kept apart from the checkers (checker.go), which see only what members
// report: roles and terms, commit positions with the log bytes below them,
// applied entries, and client acknowledgements.
//
// What it does not own: the consensus protocol itself (package consensus)
// and the real transport and archive, which will plug in behind the same
// LogStore and message seams.
package sim
