package transport

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// pollEventsMax bounds the events one readiness probe collects.
const pollEventsMax = 16

// socketWaiter waits until any of a set of sockets is readable by parking
// the goroutine in the Go network poller: the sockets are registered
// (level-triggered) on a private epoll instance, and that epoll fd, being
// pollable itself, is handed to the runtime poller as an os.File. The
// readiness probe runs inside the raw read callback, after the runtime reset
// its readiness state, so a datagram that arrives between probe and park
// still wakes the goroutine.
type socketWaiter struct {
	mu      sync.Mutex
	epfd    int
	file    *os.File
	rc      syscall.RawConn
	events  [pollEventsMax]unix.EpollEvent
	n       int
	ready   bool
	probeFn func(uintptr) bool
}

func newSocketWaiter() (*socketWaiter, error) {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("transport: epoll_create: %w", err)
	}
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("transport: epoll nonblock: %w", err)
	}
	f := os.NewFile(uintptr(fd), "transport-epoll")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("transport: epoll raw conn: %w", err)
	}
	w := &socketWaiter{epfd: fd, file: f, rc: rc}
	w.probeFn = w.probe
	return w, nil
}

// add registers a socket fd for readability.
func (w *socketWaiter) add(fd int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("transport: epoll add: %w", err)
	}
	w.n++
	return nil
}

// remove unregisters a socket fd (before it is closed).
func (w *socketWaiter) remove(fd int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, fd, nil) == nil {
		w.n--
	}
}

// WaitReadable parks until a registered socket is readable or timeout passes.
func (w *socketWaiter) WaitReadable(timeout time.Duration) bool {
	_ = w.file.SetReadDeadline(time.Now().Add(timeout))
	w.ready = false
	err := w.rc.Read(w.probeFn)
	return err == nil && w.ready
}

// probe is the readiness check run inside the raw read callback, bound once
// as probeFn so that waiting does not allocate.
func (w *socketWaiter) probe(fd uintptr) bool {
	n, e := unix.EpollWait(int(fd), w.events[:], 0)
	w.ready = n > 0 || (e != nil && e != unix.EINTR)
	return w.ready
}

func (w *socketWaiter) close() error { return w.file.Close() }

// fdConn is implemented by DatagramConns backed by a socket.
type fdConn interface {
	sysfd() int
}

func (u *udpConn) sysfd() int {
	fd := -1
	_ = u.rc.Control(func(s uintptr) { fd = int(s) })
	return fd
}
