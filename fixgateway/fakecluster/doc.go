// Package fakecluster is an in-process stand-in for the venue's cluster, for
// testing the FIX gateway (and running it) before the real cluster client
// library exists: one log sequenced under a mutex and applied by the
// venue's engine (engine.Engine, through EngineService), clients that
// implement fixgateway.ClusterClient, and controls to simulate a slow
// quorum (Hold, Release), a leader failover with messages of unknown
// outcome (Failover, with the held messages either committed with their
// egress lost, or lost), and back pressure (SetBackPressure).
//
// It owns nothing of the real cluster: no consensus, no replication, no
// durability, no network, no timers.
package fakecluster
