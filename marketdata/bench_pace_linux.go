//go:build linux

package marketdata

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"venue/transport"
)

// benchPacer wakes the bench's feed at a due time with microsecond
// precision and without spinning: a timerfd, non-blocking, read through the
// Go network poller. The goroutine parks like any network wait, and the
// thread that waits for the poller on the runtime's behalf is woken by the
// timer's expiry itself, so no timeout is rounded up to a millisecond and
// the timer slack of that thread does not apply (a timerfd's expiry is not a
// timed wait of a thread).
type benchPacer struct {
	fd  int
	f   *os.File
	buf [8]byte // the expiry count a read returns
}

func newBenchPacer() (*benchPacer, error) {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("marketdata: bench: timerfd: %w", err)
	}
	// A non-blocking descriptor handed to os.NewFile is registered with the
	// network poller, so Read parks the goroutine instead of a thread.
	return &benchPacer{fd: fd, f: os.NewFile(uintptr(fd), "md-bench-pacer")}, nil
}

// waitUntil returns once the clock of transport.MonotonicNanos reaches dueNs.
func (p *benchPacer) waitUntil(dueNs int64) error {
	wait := dueNs - transport.MonotonicNanos()
	if wait <= 0 {
		return nil
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(wait)}
	if err := unix.TimerfdSettime(p.fd, 0, &spec, nil); err != nil {
		return fmt.Errorf("marketdata: bench: arm timerfd: %w", err)
	}
	if _, err := p.f.Read(p.buf[:]); err != nil {
		return fmt.Errorf("marketdata: bench: wait on timerfd: %w", err)
	}
	return nil
}

func (p *benchPacer) close() { p.f.Close() }
