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
//   - sim: the deterministic simulator and its checkers.
//
// Not here yet (later sessions): the consensus module agent that wires the
// core to transport and archive, the service container, client sessions and
// the client library, timers, snapshots, the admin tool.
package cluster
