// Package fakecluster is an in-process stand-in for the venue's cluster, for
// testing the FIX gateway (and running it) before the real cluster client
// library exists: one log sequenced under a mutex, clients that implement
// fixgateway.ClusterClient, and controls to simulate a slow quorum (Hold,
// Release), a leader failover with messages of unknown outcome (Failover),
// and back pressure (SetBackPressure).
//
// It runs a StandIn engine, a deliberately naive implementation of the
// engine's wire schema and documented rules, until the engine service can
// be driven in its place through the same Service callbacks. It owns
// nothing of the real venue: no consensus, no durability, no network.
package fakecluster
