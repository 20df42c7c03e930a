// Package replay applies OBSTRM01 order-flow files (orderbook/orderflow) to
// order books, one orderbook.Book per instrument, following the semantics in
// ../shared/orderflow/README.md, and measures throughput and per-command
// latency for `venue bench orderbook`, optionally with where the slowest
// 1% of commands go (Options.TailClasses).
//
// It owns the mapping from records to book commands and the benchmark
// procedure. It does not own matching (orderbook) or decoding (orderflow).
// Measure reads the wall clock to time the books from outside; the books
// themselves never see it.
package replay
