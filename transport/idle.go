package transport

import "time"

// Blocking idle bounds.
const (
	// blockingSpinsDefault is how many empty cycles spin before blocking.
	// Measured on the 2-core target, spinning before parking only adds
	// latency (each empty cycle costs a few syscalls and steals the core
	// the peer needs), so the default parks at once.
	blockingSpinsDefault = 0
	// blockingWaitMax bounds one wait so that timers (heartbeats, status
	// messages, NAK retries) still run on time.
	blockingWaitMax = time.Millisecond
)

// BlockingIdleStrategy spins briefly after work and then parks the goroutine
// in the Go network poller until a socket is readable (or a short timeout
// passes). Parked, it uses no CPU, and it wakes as soon as the kernel
// delivers a datagram, so on a shared 2-core machine it gives latency close
// to a blocking recvfrom. It is the default for network agents.
type BlockingIdleStrategy struct {
	// Waiter is what to wait on; the driver binds itself when nil.
	Waiter ReadWaiter
	// Timeout bounds one wait; 0 means blockingWaitMax.
	Timeout time.Duration
	// SpinsMax is how many empty cycles spin before blocking.
	SpinsMax int
	spins    int
}

// NewBlockingIdleStrategy returns a strategy waiting on w (nil: bound by the driver).
func NewBlockingIdleStrategy(w ReadWaiter) *BlockingIdleStrategy {
	return &BlockingIdleStrategy{Waiter: w, SpinsMax: blockingSpinsDefault}
}

// Idle spins, then blocks until readable.
func (s *BlockingIdleStrategy) Idle(workCount int) {
	if workCount > 0 {
		s.spins = 0
		return
	}
	if s.spins < s.SpinsMax {
		s.spins++
		return
	}
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = blockingWaitMax
	}
	if s.Waiter == nil || !s.Waiter.WaitReadable(timeout) {
		osYield()
	}
}

// Reset returns to spinning.
func (s *BlockingIdleStrategy) Reset() { s.spins = 0 }

// DefaultIdleStrategy returns the idle strategy network agents use by
// default: block in the network poller.
func DefaultIdleStrategy() IdleStrategy { return NewBlockingIdleStrategy(nil) }
