// Package marketdata publishes the venue's public market data — per-instrument
// book depth and a cumulative trade summary — from the cluster leader over UDP
// multicast (or unicast), and gives subscribers a library that rebuilds those
// books.
//
// It owns:
//
//   - the packet codec (codec.go, packet.go): flyweights over little-endian
//     datagrams with a named offset per field, many messages per datagram up
//     to an MTU (MTUDefault 1408). A packet carries the publisher's session id
//     and a channel sequence number; an InstrumentUpdate carries an
//     instrument's whole published state (top N levels per side, last trade,
//     cumulative volume and trade count, trading state) with the log position
//     and cluster time of that state;
//   - the Publisher (publisher.go, publisher_agent.go), an
//     engine.MarketDataSink on every cluster member. The sink side runs on
//     the service goroutine, keeps each instrument's full book and trade
//     summary, and at the end of every command (OnApplied) hands the touched
//     instruments' top of book to the publishing agent through a wait-free
//     triple buffer and a bounded dirty list (handoff.go). That is structural
//     conflation: at most one update per instrument is ever pending, however
//     many changes arrive between two sends. The agent (a transport.Agent)
//     sends changed instruments as fast as the channel allows or at
//     MaxUpdatesPerSec, a full snapshot every SnapshotInterval (and at once on
//     becoming leader), heartbeats when idle, and optionally every trade on a
//     separate channel — but only while SetLeader(true, session);
//   - the Subscriber (subscriber.go): applies snapshots and updates, detects
//     gaps by channel sequence number, marks books stale and recovers from the
//     next snapshot that begins after the gap, drops malformed, late and
//     duplicate packets (counted), and never moves an instrument backwards in
//     log position, so books stay monotonic across a leader failover (a new
//     publisher session whose sequence restarts);
//   - a small datagram Conn interface (conn.go) with a UDP implementation on
//     golang.org/x/net/ipv4 (conn_udp.go; on Linux a batch is sent as UDP GSO
//     sends of zero-padded packets, conn_gso_linux.go, or by sendmmsg, and
//     received by recvmmsg)
//     and a seeded in-memory FakeNetwork that loses, reorders and duplicates
//     datagrams (conn_fake.go). It may later move onto transport's datagram
//     layer without the publisher or subscriber changing;
//   - the `venue md listen` body (listen.go) and the `venue bench md`
//     measurement (bench.go).
//
// It does not own: what a level is (the engine's OnLevel aggregates are
// mirrored as given), leader election (the integrator calls SetLeader from the
// cluster's role changes), or retransmission: market data is best-effort, and
// a gap is healed from the next snapshot rather than by a NAK. It never
// blocks the service: sink calls do bounded work on private state and never
// wait on the agent or the network.
//
// # Wiring it into a cluster member
//
//	conn, err := marketdata.DialUDP(marketdata.DefaultUDPConfig()) // 239.255.10.1:40101 on lo
//	pub, err := marketdata.NewPublisher(marketdata.PublisherConfig{Conn: conn, Counters: memberCounters})
//	// pass pub to the engine as its engine.MarketDataSink
//	runner := transport.NewAgentRunner(pub, pub.IdleStrategy(), nil) // followers' agents sleep
//	runner.Start()
//	// on every role change of the member:
//	pub.SetLeader(role == leader, uint32(term)<<8|uint32(memberID))
//
// Every member runs a publisher on the same channel; only the leader's sends.
// The session id must differ per leadership term and member, so that
// subscribers treat a failover as a new session.
//
// # Counters
//
// Publisher counters use type ids 300..311 and subscriber counters 320..332
// (see CounterType), within transport.CounterTypeVenueBase's range.
package marketdata
