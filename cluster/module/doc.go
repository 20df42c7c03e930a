// Package module is the consensus module agent: the thin shell that drives a
// consensus.Node with real I/O, in Aeron's agent style. Each DoWork(nowNs)
// polls received consensus messages, ticks the node, carries out its Ready
// obligations in order (durable hard state, log flush request, send, apply to
// the service container), and proposes what the leader's container asked
// for (service messages, expired timers).
//
// It owns the wiring, not the I/O: the transport, the durability of hard
// state and log, and client ingress come in through small interfaces
// (Transport, Durability) and methods (Propose), so that the simulator drives
// this same agent with fakes and production drives it with the transport and
// archive packages.
//
// What it does not own: the protocol (consensus), the service (container),
// client sessions and authentication, threading (an idle strategy runs
// DoWork in a loop).
package module
