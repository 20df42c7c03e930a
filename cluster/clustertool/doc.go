// Package clustertool is the operator's tool for a running cluster (`venue
// cluster`), Aeron's ClusterTool: it works from outside the members'
// processes, on one host, through files only.
//
// # What it owns
//
//   - Reading each member's counters file (<member data dir>/counters.dat,
//     written by cluster/member's control plane): role, term, positions,
//     sessions, drops, errors, and whether the member is running at all
//     (Status).
//   - The cluster control toggle protocol from the tool's side (Request,
//     LeaderAction): a compare-and-set on the member's toggle counter, a
//     wait for its answer, a retry on the new leader when leadership moved,
//     a cancel when the member does not answer. The member's side and the
//     values are documented in cluster/member (control.go).
//   - The commands: describe, list-members, is-leader, snapshot, suspend,
//     resume, shutdown, abort, purge, errors (counters and the toggle), and
//     recovery-plan, recording-log (each member's log store, opened
//     read-only with cluster/logstore; they work on stopped members too).
//
// # What it does not own
//
// The counters file's format (transport; this package maps the file
// read-write to compare-and-set one value, and refuses a file whose header
// it does not know), the control plane (cluster/member), the log store
// (cluster/logstore), or flag parsing (cmd/venue).
//
// Every wait is bounded by the caller's context and polls the counters
// file at pollInterval; nothing here retries without a deadline.
package clustertool
