// Package marketdata publishes the venue's public market data — per-instrument
// book depth and a cumulative trade summary — from the cluster leader over UDP
// multicast (or unicast), and gives subscribers a library that rebuilds those
// books.
//
// It owns:
//
//   - the packet codec (codec.go): flyweights over little-endian datagrams, many
//     messages per datagram up to an MTU;
//   - the Publisher (publisher.go), an engine.MarketDataSink on every cluster
//     member. The sink side runs on the service goroutine, keeps each
//     instrument's full book and trade summary, and at the end of every
//     command hands the instrument's top N levels to the publishing agent
//     through a wait-free triple buffer (handoff.go). That is structural
//     conflation: at most one update per instrument is ever pending, however
//     many changes arrive between two sends. The agent (a transport.Agent)
//     sends changed instruments, a periodic full snapshot and heartbeats, but
//     only while SetLeader(true);
//   - the Subscriber (subscriber.go): applies snapshots and updates, detects
//     gaps by channel sequence number, recovers from the next snapshot, and
//     never moves an instrument backwards in log position, across a leader
//     failover (new publisher session) too;
//   - a small datagram Conn interface (conn.go) with a UDP implementation on
//     golang.org/x/net/ipv4 (conn_udp.go) and a seeded in-memory FakeNetwork
//     that loses, reorders and duplicates datagrams (conn_fake.go);
//   - the `venue bench md` measurement (bench.go) and the `venue md listen`
//     rendering (listen.go).
//
// It does not own: matching or book semantics (engine/ and orderbook/ decide
// what a level is; the publisher only mirrors the engine's OnLevel aggregates),
// leader election (the integrator calls SetLeader from the cluster's role
// changes), or retransmission: market data is best-effort, and a gap is healed
// from the next snapshot rather than by a NAK. It never blocks the service: the
// sink calls do bounded work on private state and never wait on the agent.
package marketdata
