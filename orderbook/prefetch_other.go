//go:build !amd64

package orderbook

import "unsafe"

// prefetch is a no-op where no prefetch instruction is wired up.
func prefetch(unsafe.Pointer) {}

// prefetch2 is a no-op where no prefetch instruction is wired up.
func prefetch2(_, _ unsafe.Pointer) {}

// prefetch3 is a no-op where no prefetch instruction is wired up.
func prefetch3(_, _, _ unsafe.Pointer) {}
