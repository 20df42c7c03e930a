package orderbook

import "unsafe"

// prefetch asks the processor to start loading the cache line at p and
// returns at once; it never faults and changes nothing a program can see.
//
//go:noescape
func prefetch(p unsafe.Pointer)

// prefetch2 is prefetch of p and q in one call: a call costs about as much
// as the prefetch.
//
//go:noescape
func prefetch2(p, q unsafe.Pointer)

// prefetch3 is prefetch of p, q and r in one call.
//
//go:noescape
func prefetch3(p, q, r unsafe.Pointer)
