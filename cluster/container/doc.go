// Package container is the service container: it applies committed log
// entries to a cluster.ClusteredService on one goroutine, in log order, and
// implements the cluster.Cluster and cluster.ClientSession handles the
// service uses — sessions, timers, egress and service messages.
//
// Everything the service sees comes from the log, so every member's
// container makes the same calls with the same arguments. The container
// decides nothing that must be agreed: requests that change the cluster
// (service messages, session closes, timer expiries) are queued for the
// leader's consensus module to append to the log (Outbox, DueTimers), and
// take effect when they come back as committed entries.
//
// What it does not own: the consensus core, the transport for egress (an
// Egress interface), snapshot storage, and session liveness (timeouts are
// decided by the consensus module and arrive as session-close entries).
package container
