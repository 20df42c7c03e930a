// Package loadgen is the venue's open-loop load generator: it sends an order
// mix to the venue at a fixed aggregate rate over several sessions and
// measures, per path, how long the venue took to answer, from each message's
// intended send time (so that coordinated omission cannot hide a stall).
//
// It owns:
//
//   - the schedule (Schedule): message i is due at start + i/rate, exactly;
//     a sender that falls behind sends at once and is charged the delay;
//   - what is sent: by default a mix of passive limit orders around each
//     instrument's reference price, marketable IOC and market orders, and
//     cancels and replaces of the session's own resting orders, on both
//     sides so that fills happen (mix.go); or an order-flow file in
//     ../shared/orderflow's OBSTRM01 format, replayed with its instruments,
//     prices and order ids mapped onto the venue's (flow.go);
//   - correlating each request with its answer by ClOrdID in a bounded
//     in-flight table per session, and giving up on unanswered ones after a
//     timeout (session.go);
//   - the run (Run): warm-up, progress line once a second, clean stop on
//     cancellation, drain, and the report directory;
//   - the Driver interface between that engine and a transport, and two
//     drivers. The FIX driver: quickfixgo initiators against the FIX
//     gateway, fed from a bounded outbox per session one message at a time
//     (fixdriver.go), the quickfixgo Application (fixapp.go), and the FIX
//     spelling of requests and reports (fixmsg.go, fixparse.go). The
//     cluster driver (--via cluster): one cluster session per load
//     generator session, as a trader principal, offering the engine's own
//     commands and reading its reports, skipping the gateway, so that
//     comparing the two shows what the gateway costs (clusterdriver.go,
//     clustercodec.go). Its commands whose outcome the cluster client
//     cannot vouch for (a leader change) are errors, never dropped.
//
// Paths and what is timed (from the message's intended send time):
//
//   - order→new: NewOrderSingle → ExecutionReport New (a reject is an error);
//   - order→fill: NewOrderSingle → its first fill, only for orders that
//     traded on arrival (the fill is part of the venue's answer to the order
//     itself). A resting order filled later by someone else waited for the
//     market, not for the venue: its fill is counted (Stats) but not timed;
//   - cancel→canceled: OrderCancelRequest → ExecutionReport Canceled
//     (OrderCancelReject is an error);
//   - replace→replaced: OrderCancelReplaceRequest → ExecutionReport Replaced
//     (OrderCancelReject is an error).
//
// Errors and timeouts stay in the percentiles: an error is recorded at its
// measured latency, and a request unanswered Timeout after its intended send
// time is given up on and recorded at no less than Timeout (package reports
// does the recording). order→fill has no timeout: no order is owed a fill.
//
// It does not draw charts or write histogram files (package reports), run a
// venue, or know FIX or the engine's codecs beyond what its drivers send and
// read.
package loadgen
