// Package failover measures and tests what a venue cluster survives when
// its members are real processes: kill -9 of the leader under load, a
// follower's restart, a whole-cluster restart with and without snapshots, a
// wiped data directory, a member several terms behind, a crash in the middle
// of a snapshot. It also measures how fast one member recovers its service
// from its log (and from a snapshot plus the log after it).
//
// # What failover owns
//
//   - Procs: a cluster's members as child processes (`venue node`, or a test
//     binary re-executed as a member): start, kill -9, stop (SIGTERM), restart,
//     and a view of each member read from its counters file (role, term,
//     leader, commit and applied positions, snapshots, and the counting echo
//     service's state when it runs one).
//   - Load: one in-process cluster client offering numbered messages at a
//     steady rate, recording which were acknowledged, echoed or handed back.
//   - AuditLogs: after the members stop, every member's log store read
//     read-only: the committed prefix must be identical on every member and
//     hold every acknowledged message exactly once.
//   - Run: `venue bench failover` — repeated kill -9 of the leader, timing
//     each kill to the first commit under the new leader.
//   - RunRecovery: `venue bench recovery` — a log of N session messages
//     written straight into a log store, then the time one member takes to
//     apply it all.
//   - CountingEcho: an echo service that counts and digests what it applies
//     (and snapshots both), so that members' states can be compared.
//
// It does not start members in-process (clusterbench does), own any part of
// the member (cluster/member) or the client library (cluster/client), or
// decide what is committed: it reads what the members publish.
//
// # Timing: kill to first commit
//
// The clock starts just before kill(2) sends SIGKILL to the leader's process.
// It stops at the first moment the client learns that a message it offered
// after that instant is committed: its echo arrives (the new leader's service
// applied it, which it does only once it is committed), or an Ack covers it
// (the leader acknowledges committed messages). Messages offered after the
// kill but before the client moved to the new leader went to the dead
// process and come back through Handler.OnUnknownOutcome; they do not stop
// the clock. So the interval covers failure detection, the election, the
// new leader's first entry, the client's switch (the NewLeader event) and
// one commit round trip.
package failover
