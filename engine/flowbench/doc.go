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
package flowbench
