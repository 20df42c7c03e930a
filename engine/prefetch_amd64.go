package engine

import "unsafe"

// prefetch asks the CPU to bring the cache line holding p into its caches
// and returns at once: unlike a load, it never waits for the line. It
// changes no state and reads nothing the engine sees, so it cannot change
// what the engine does, only when its memory arrives.
//
//go:noescape
func prefetch(p unsafe.Pointer)
