// Package flowbench measures the engine on a reference order flow: the
// OBSTRM01 files of ../shared/orderflow (orderbook/orderflow), encoded as
// engine commands ahead of time and applied through Engine.OnSessionMessage
// (decode, validation, ownership, exactly-once, book, reports, market data)
// without the cluster; and the bare book (orderbook/replay) on the same flow
// in the same run, for `venue bench engine`.
//
// It owns the mapping from order-flow records to engine commands and the
// measurement. Users become Trader principals with one account each
// (named U<user>), carried by one gateway session as a FIX gateway would;
// instruments 0..n-1 have tick 1, lot 1 and no band. Orders are named by
// ClOrdID, cancels and replaces by OrigClOrdID, as FIX clients do.
//
// # Like with like
//
// The two paths are measured the same way, so that engine/book is the
// engine's own cost and nothing else:
//
//   - Input: each path reads its input from one contiguous buffer built
//     before timing, one record after another: the bare book the file's
//     32-byte records (decoding each in the timed loop), the engine the
//     encoded commands laid end to end as a cluster log lays its entries
//     (Flow.Log). Encoding happens before timing, as writing the file did.
//   - Books: the same configuration (tick 1, lot 1, no band, the same
//     OrdersHint; the engine's books have OrdersMax OrdersPerBookMax, a bound
//     the flows never reach) and the same flow of orders, prices and
//     quantities; both paths trade exactly the same trades and volume, which
//     Measure checks.
//   - Harness: one loop over the timed records calling one function per
//     record (Replayer.Apply) or per command (Engine.OnSessionMessage), the
//     same warm-up untimed, a GC before timing, the wall clock read around
//     the whole range; for latencies, around each record.
//   - Semantics: an AMEND the bare book applies as a book amend, or (same
//     price, quantity not up) as a cancel and a new order, looking the order
//     up in the timed loop. A FIX client cannot amend an order to the back of
//     the queue, so the engine receives what a client would send: a
//     ReplaceOrder, or an OrderCancelRequest and a NewOrderSingle (chosen
//     when encoding, from the bare book's state): s100 is 1,000,000 timed
//     records and 1,004,383 engine commands, and one op is one record on
//     both paths.
//
// With Options.Lookahead both paths hint each command ahead of applying
// it, inside the timed loop: the engine through Engine.Hint
// (engine.HintAhead commands ahead), the bare book through
// replay.Replayer.ApplyAhead. Without it neither does.
//
// What the engine does beyond the book is the point of the comparison:
// decoding and validating each command, the session and principal, the
// account and its owner, exactly-once, the ClOrdID index and the order
// records (live and recently finished), an ExecutionReport per event
// (about 1.4 per record on s100) handed to Egress, market-data calls.
package flowbench
