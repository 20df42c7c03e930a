// Package fixgateway is the venue's FIX order-entry gateway: a quickfixgo
// acceptor whose sessions (FIX 4.4, or FIXT 1.1 with FIX 5.0 SP2) trade
// through one cluster client.
//
// It owns:
//   - the FIX sessions: quickfixgo's settings file (ports, TLS, heartbeats,
//     the FIX store: VenueFIXStore names the gateway's journal, one
//     append-only file per session and one write per message, bounded by
//     VenueJournalRetainBytes (journal.go, journalsegments.go),
//     quickfixgo's file store or its memory store) extended with Venue* keys that map
//     each SenderCompID to a principal, its accounts, its logon password
//     (tag 554) and cancel-on-disconnect (see Config);
//   - logon authentication, with unknown CompIDs and bad passwords refused
//     and counted;
//   - translation of NewOrderSingle (D), OrderCancelRequest (F),
//     OrderCancelReplaceRequest (G), OrderMassCancelRequest (q) and
//     OrderStatusRequest (H) into the engine's binary commands, with FIX
//     decimal prices converted exactly; the gateway itself rejects only what
//     is malformed or unsupported (session Reject 3 for missing, malformed or
//     out-of-range fields; BusinessMessageReject j for unsupported message
//     types, a full queue and an unreachable cluster; ExecutionReport,
//     OrderCancelReject or OrderMassCancelReport for unknown symbols, bad
//     quantities, unsupported order types and prices the instrument cannot
//     represent);
//   - translation of the engine's reports into ExecutionReport (8),
//     OrderCancelReject (9), OrderMassCancelReport (r) and
//     BusinessMessageReject (j);
//   - pipelining: FromApp validates, translates and queues a command for the
//     agent goroutine (the one owner of the cluster client) and returns at
//     once; the agent offers each session's commands in order, many in
//     flight, and hands the engine's reports, in order, to a sender
//     goroutine per session, which spells them in FIX and gives them to
//     quickfixgo;
//   - exactly-once delivery of commands: a FIX message's MsgSeqNum is the
//     command's SenderSeq; the gateway answers only with the engine's report
//     (never before the cluster committed the command); and the FIX store's
//     persisted inbound sequence number never passes a message whose answer
//     is not yet in the outbound store (seqStore), so a crash re-delivers
//     every unanswered message and the engine's SenderSeq dedupe answers
//     those it already applied as duplicates;
//   - resolving commands whose outcome the cluster client reports unknown
//     (a failover) or whose answer is overdue, oldest first per session,
//     with an OrderStatusRequest through the log, offering them again — with
//     their original SenderSeq — only if the log does not have them; none of
//     the session's later commands is offered meanwhile;
//   - the logon and logoff of each FIX session as a SessionStatus through
//     the log, whose acknowledgement by the engine lifts a barrier on the
//     session's later commands (a logon that restarts SenderSeq is in the
//     log before any order after it);
//   - the ClusterClient interface it needs from the cluster's client library
//     (see its ordering contract), and bounded queues between FIX sessions
//     and that client: a session's unanswered messages (SessionInFlightMax),
//     the agent's ingress (IngressQueueCapacity), each session's outbox
//     (OutboxBatchesMax) and quickfixgo's queue for a connection
//     (SessionQueuedMax; a client that leaves it full for
//     SlowConsumerTimeout is disconnected), each counted when full;
//   - the workaround for quickfixgo v0.9.10's spinning, unbounded send
//     path (see handoff, and wire for the wait after each hand-off), and
//     the coalescing of a batch's writes on the connection (cork.go).
//
// It does not match orders, decide whether an order is acceptable beyond its
// form (price bands, ticks, lots, trading states, ClOrdID uniqueness,
// authorization of accounts are the engine's), keep order state, or talk to
// cluster members itself. Package fakecluster is an in-process cluster
// running the engine, for tests and for running the gateway without a
// cluster; package clusterlink connects it to a real one.
package fixgateway
