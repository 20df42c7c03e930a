package marketdata

import (
	"testing"
	"time"

	"venue/transport"
)

// TestBenchPacerWaitsUntilDue checks that the pacer never returns before the
// due time, returns at once for a time already past, and can be re-armed.
func TestBenchPacerWaitsUntilDue(t *testing.T) {
	p, err := newBenchPacer()
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	for _, wait := range []time.Duration{-time.Millisecond, 0, 50 * time.Microsecond, 300 * time.Microsecond, 2 * time.Millisecond} {
		due := transport.MonotonicNanos() + int64(wait)
		if err := p.waitUntil(due); err != nil {
			t.Fatalf("wait %v: %v", wait, err)
		}
		if now := transport.MonotonicNanos(); now < due {
			t.Fatalf("wait %v: returned %d ns early", wait, due-now)
		}
	}
}
