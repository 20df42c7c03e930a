//go:build !linux

package marketdata

import (
	"time"

	"venue/transport"
)

// benchPacer waits with time.Sleep where there is no timerfd (see the Linux
// version for why that is imprecise under a millisecond).
type benchPacer struct{}

func newBenchPacer() (*benchPacer, error) { return &benchPacer{}, nil }

// waitUntil returns once the clock of transport.MonotonicNanos reaches dueNs.
func (p *benchPacer) waitUntil(dueNs int64) error {
	if wait := dueNs - transport.MonotonicNanos(); wait > 0 {
		time.Sleep(time.Duration(wait))
	}
	return nil
}

func (p *benchPacer) close() {}
