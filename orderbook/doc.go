// Package orderbook is one instrument's limit order book with price-time
// priority.
//
// It owns order types (limit GTC, DAY, IOC, FOK; market; post-only),
// matching, cancel, cancel/replace (Amend by total quantity as FIX states
// it, Replace by open quantity as feeds do), mass cancel, DAY expiry, self-trade
// prevention, validation with typed reject reasons, and a canonical
// snapshot, restore and digest of its state.
//
// It does not own I/O, time, goroutines or randomness: a Book is a pure
// state machine driven by method calls on one goroutine, and everything it
// decides is reported through a Listener, synchronously, before the call
// returns. The same calls in the same order produce the same events and the
// same Digest on every replica.
//
// Layout, for speed: resting orders live in an open-addressing hash table
// of 32-byte entries keyed by order id, so that finding an order by id is
// one load of the order (its queue links, in an array beside it, load in
// parallel), and each price level is an intrusive doubly-linked FIFO of
// orders addressed by their int32 slots. Each side keeps a
// window of levels addressed by price modulo its size, where nearly every
// level sits, so finding a price's level is one load of the level itself
// (neighbouring prices share cache lines); a level whose slot another price
// holds overflows elsewhere, found through a price table of the overflow
// levels. The price levels
// of each side are ordered in a google/btree BTreeG, but the btree is only
// touched when levels are purged, when the next best level is far from
// the emptied best, and when new levels enter it, a batch at a time: adding
// to an existing level is a hash lookup, the best level of each side is
// cached, a new level waits in a small array until the tree is needed in
// price order, and a level that empties stays in place for a while,
// because prices near the top of the book empty and refill all the time. A book
// makes room for Config.OrdersHint orders when it is made, btree nodes
// included, and one that stays within it (and within about 480 levels a
// side) never allocates. A caller that holds a queue of commands can hint
// a book about a command before applying it (Book.Prefetch), so that the
// command's cache misses overlap the work before it; within a command, the
// book prefetches what it will read later as soon as it knows where (the
// next maker while reporting a trade, the order table slot of an order
// that rests), so that independent misses overlap. A book's large arrays
// (orders, links, levels) come from memory mapped apart and advised for
// 2 MiB pages where the system allows (see bigmem.go), so that many books'
// arrays span a few TLB entries instead of thousands; placement changes
// nothing a book does.
package orderbook
