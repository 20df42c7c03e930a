// Package fixgateway is the venue's FIX 4.4 order-entry gateway: a
// quickfixgo acceptor whose sessions trade through one cluster client.
//
// It owns:
//   - the FIX sessions: quickfixgo's settings file (ports, TLS, heartbeats,
//     the durable file store for sequence numbers and resends) extended with
//     Venue* keys that map each SenderCompID to a principal, its accounts,
//     its logon password (tag 554) and cancel-on-disconnect (see Config);
//   - logon authentication, with unknown CompIDs and bad passwords refused
//     and counted;
//   - translation of NewOrderSingle (D), OrderCancelRequest (F),
//     OrderCancelReplaceRequest (G), OrderMassCancelRequest (q) and
//     OrderStatusRequest (H) into the engine's binary commands, with FIX
//     decimal prices converted exactly; the gateway itself rejects only what
//     is malformed or unsupported (session Reject 3 for missing, malformed or
//     out-of-range fields; BusinessMessageReject j for unsupported message
//     types and an unreachable cluster; ExecutionReport, OrderCancelReject
//     or OrderMassCancelReport for unknown symbols, bad quantities,
//     unsupported order types and prices the instrument cannot represent);
//   - translation of the engine's reports into ExecutionReport (8),
//     OrderCancelReject (9), OrderMassCancelReport (r) and
//     BusinessMessageReject (j);
//   - exactly-once delivery of commands: a FIX message's MsgSeqNum is the
//     command's SenderSeq, the gateway answers only with the engine's report
//     (never before the cluster committed the command), and FromApp returns —
//     letting quickfixgo store the inbound sequence number — only once the
//     answer is out, so a crash re-delivers the message and the engine's
//     SenderSeq dedupe answers it as a duplicate;
//   - resolving commands whose outcome the cluster client reports unknown
//     (a failover) with an OrderStatusRequest through the log, offering them
//     again — with their original SenderSeq — only if the log does not have
//     them;
//   - the ClusterClient interface it needs from the cluster's client library,
//     and bounded queues between FIX sessions and that client, so that back
//     pressure slows FIX reading instead of buffering.
//
// It does not match orders, decide whether an order is acceptable beyond its
// form (price bands, ticks, lots, trading states, ClOrdID uniqueness,
// authorization of accounts are the engine's), keep order state, or talk to
// cluster members itself. Package fakecluster is an in-process cluster
// running the engine, for tests and for running the gateway before the real
// client library exists.
package fixgateway
