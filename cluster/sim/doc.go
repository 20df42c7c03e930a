// Package sim is the deterministic simulator for the consensus core and the
// service container, in the style of TigerBeetle's VOPR: a whole cluster (3
// or 5 members and a client) runs in one goroutine on a virtual clock, and a
// seed decides every fault. The same seed replays the same run exactly.
//
// A run (Run) has two phases. The safety phase (safetyPhaseNs) draws faults
// every faultIntervalNs with per-seed integer-ratio probabilities: packet
// loss, duplication, reordering and delay, symmetric and one-way partitions
// and isolation, crashes that lose every unsynced write, restarts (a new
// clock offset each time), and pauses. The liveness phase heals everything
// and requires the cluster to elect a leader, commit a new client message
// and bring every member's service to the leader's log end within
// livenessBudgetNs.
//
// The fakes (network.go, client.go, member.go's disk via
// consensus.MemLogStore, service.go) are kept apart from the checkers
// (checker.go), which see only what members report. Checked on every seed:
// at most one leader per term; a leader holds every entry committed in an
// earlier term; a committed entry never changes; every member's applied
// entries and service state are a prefix of one sequence (digests by
// position); no well-formed message is ever impossible (Counters.Invalid);
// timers fire once; and, at the end, every log equals the committed log,
// every acknowledged client message is in it exactly once and cluster time
// never goes back. Failures are classified safety, liveness or crash.
//
// Run more seeds and print a summary:
//
//	go test ./cluster/sim -run 'TestSimulator$' -v -timeout 0 -sim.seeds=N [-sim.start=S]
//
// Replay one seed (with -sim.trace for every fault and role change):
//
//	go test ./cluster/sim -run 'TestSimulator$' -v -sim.seed=N [-sim.trace]
//
// What it does not own: the consensus protocol (package consensus) and the
// real transport and archive, which plug in behind the same message and
// LogStore seams.
package sim
