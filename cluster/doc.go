// Package cluster is venue's replicated state machine runtime, built the way
// Aeron Cluster is built: a strong leader sequences client ingress into one
// timestamped log, every member records the log, and each member's copy of
// the service applies only what a majority holds durably.
//
// This package holds the contract between the cluster and the application
// it replicates: the ClusteredService interface (the callbacks a service
// implements) and the Cluster handle (what a service may ask of the cluster).
// The engine is written against these.
//
// Subpackages:
//
//   - consensus: the pure consensus core (elections, replication, commit),
//     the consensus and log codecs, and the LogStore seam for the archive.
//   - container: the service container that applies committed log to a
//     ClusteredService (sessions, timers, egress, service messages).
//   - module: the consensus module agent, DoWork(nowNs), wiring a node and a
//     container to a Transport and Durability.
//   - sim: the deterministic simulator and its checkers; it drives the same
//     agent over fake transport and disk.
//
// Not here yet (later sessions): the transport and archive implementations
// of module's interfaces, client sessions (authentication, keepalive,
// timeouts) and the client library, snapshots, the admin tool.
package cluster
