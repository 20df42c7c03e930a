package orderbook

import "unsafe"

// prefetch asks the processor to start loading the cache line at p and
// returns at once; it never faults and changes nothing a program can see.
//
//go:noescape
func prefetch(p unsafe.Pointer)
