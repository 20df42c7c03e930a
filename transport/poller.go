package transport

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Poller bounds.
const (
	// pollEventsMax bounds the events one readiness probe collects.
	pollEventsMax = 16
	// preciseTimerSlackNs is the timer slack, in nanoseconds, of a thread
	// making a precise wait (WaitReadablePrecise): the least Linux allows.
	preciseTimerSlackNs = 1
	// refreshGapNs is how long after a readiness snapshot (a refresh, or
	// a wait's probe handed over) the duty cycles of an agent that parks
	// through a probe take no new one. A datagram arriving in the gap is
	// read after the next snapshot or the park's probe, which returns at
	// once for it: tens of microseconds at most, as status messages and
	// NAKs already wait (controlPollIntervalNs), where a busy member runs
	// three or four cycles per wake-up and each snapshot costs an
	// epoll_wait.
	refreshGapNs = int64(20 * time.Microsecond)
	// refreshSkipsMax bounds the cycles in a row that skip their snapshot
	// for refreshGapNs, so that a loop driven by a clock that does not
	// advance (a test's, a simulator's) still reads its sockets.
	refreshSkipsMax = 4
)

// socketWaiter waits until any of a set of sockets is readable by parking
// the goroutine in the Go network poller: the sockets are registered
// (level-triggered) on a private epoll instance, and that epoll fd, being
// pollable itself, is handed to the runtime poller as an os.File. The
// readiness probe runs inside the raw read callback, after the runtime reset
// its readiness state, so a datagram that arrives between probe and park
// still wakes the goroutine.
//
// It also owns an eventfd that publications write to when they append while
// the sender is parked (parked > 0), so that an offer made on an
// application goroutine wakes a blocked sender at once instead of after the
// wait's timeout. The waiter only touches its own state under mu, so
// several goroutines may share one (they serialise on the fd).
type socketWaiter struct {
	mu      sync.Mutex
	epfd    int
	efd     int
	file    *os.File
	rc      syscall.RawConn
	events  [pollEventsMax]unix.EpollEvent
	ready   bool
	probeFn func(uintptr) bool
	drain   [8]byte

	// Readiness of the duty cycle (refresh): the sockets one non-blocking
	// epoll_wait found readable, so that a cycle reads only those instead
	// of calling recvmmsg on every socket (on a VM an empty recvmmsg costs
	// microseconds, and a member polls tens of sockets per cycle). readyAll
	// is set when the probe filled its event array: some readable socket
	// may be missing from the list, so every socket is read that cycle.
	readyFds [pollEventsMax]int32
	readyN   int
	readyAll bool
	cycle    [pollEventsMax]unix.EpollEvent

	// A wait that returns because its probe found events hands that
	// probe's result to the next refresh, which then needs no epoll_wait
	// of its own: the probe is the last thing the waiting goroutine did,
	// so its result is as recent as a refresh made at the cycle's start
	// would be. fresh says the handover is due (set under mu by probe,
	// cleared by refresh and at the start of every wait); probeN and
	// probeErr are the probe's epoll_wait result, its events in events.
	fresh    atomic.Bool
	probeN   int
	probeErr error

	// gated is set once a goroutine that runs this waiter's duty cycles
	// parks through a probe (an agentWaiter with gates): only then may a
	// cycle skip its snapshot within refreshGapNs of the last (snapNs),
	// since the park's probe finds what the skipped snapshot would have.
	// An agent that spins or sleeps instead keeps a snapshot per cycle.
	gated  atomic.Bool
	snapNs int64
	skips  int

	// parked counts goroutines inside a wait, which publications (new data
	// to send) and network images (consumption that may open the receiver
	// window) wake through the eventfd.
	parked atomic.Int32
}

// eventfdOne is the value written to wake a waiter.
var eventfdOne = [8]byte{1}

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
	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("transport: eventfd: %w", err)
	}
	w := &socketWaiter{epfd: fd, efd: efd, file: f, rc: rc}
	w.probeFn = w.probe
	if err := w.add(efd); err != nil {
		unix.Close(efd)
		f.Close()
		return nil, err
	}
	return w, nil
}

// wake makes the waiter readable (any goroutine, allocation-free).
func (w *socketWaiter) wake() {
	_, _ = unix.Write(w.efd, eventfdOne[:])
}

// add registers a socket fd for readability (epoll_ctl is safe while
// another goroutine waits).
func (w *socketWaiter) add(fd int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("transport: epoll add: %w", err)
	}
	return nil
}

// remove unregisters a socket fd (before it is closed).
func (w *socketWaiter) remove(fd int) {
	_ = unix.EpollCtl(w.epfd, unix.EPOLL_CTL_DEL, fd, nil)
}

// WaitReadable parks until a registered socket is readable or timeout passes.
func (w *socketWaiter) WaitReadable(timeout time.Duration) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fresh.Store(false)
	_ = w.file.SetReadDeadline(time.Now().Add(timeout))
	w.ready = false
	err := w.rc.Read(w.probeFn)
	return err == nil && w.ready
}

// probe is the readiness check run inside the raw read callback, bound once
// as probeFn so that waiting does not allocate. It consumes a wake-up.
// WaitReadablePrecise is WaitReadable for sub-millisecond deadlines: it
// blocks the calling thread in ppoll(2) on the epoll descriptor, whose
// timeout has nanosecond resolution, where the Go network poller rounds a
// wait up to a whole millisecond and, on a busy host, notices readiness
// only when a processor runs out of work. The goroutine keeps its thread for
// the call (the runtime hands its processor on), so use it for one timing-
// critical loop, not for every agent.
//
// Linux adds the thread's timer slack (50 µs by default) to every timed
// wait, so the call first sets the slack of the thread it runs on to
// preciseTimerSlackNs: without that, an open-loop load generator on the
// 2-core VM woke 86–93 µs late at the median, with it 31–34 µs late. The
// goroutine may run on another thread next time, hence a prctl per call.
func (w *socketWaiter) WaitReadablePrecise(timeout time.Duration) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fresh.Store(false)
	_ = unix.Prctl(unix.PR_SET_TIMERSLACK, preciseTimerSlackNs, 0, 0, 0)
	ts := unix.NsecToTimespec(int64(timeout))
	fds := [1]unix.PollFd{{Fd: int32(w.epfd), Events: unix.POLLIN}}
	n, err := unix.Ppoll(fds[:], &ts, nil)
	if err != nil || n == 0 {
		return false
	}
	return w.probe(uintptr(w.epfd))
}

func (w *socketWaiter) probe(fd uintptr) bool {
	n, e := unix.EpollWait(int(fd), w.events[:], 0)
	for i := 0; i < n; i++ {
		if int(w.events[i].Fd) == w.efd {
			_, _ = unix.Read(w.efd, w.drain[:])
		}
	}
	w.ready = n > 0 || (e != nil && e != unix.EINTR)
	w.probeN, w.probeErr = n, e
	w.fresh.Store(w.ready) // the last probe of a wait decides its result
	return w.ready
}

// refresh records which registered sockets are readable now, for the
// duty cycle that follows (mayRead). It runs on the goroutine that reads
// the sockets, once per cycle; the epoll set is level-triggered, so a
// socket left unread (or filled after the probe) shows up again at the
// next refresh, and a park (probe) returns at once while one is readable.
//
// After a wait that its probe ended, refresh takes that probe's result
// instead of calling epoll_wait again (see fresh). It takes it only if it
// gets mu at once: a goroutine parked in a wait holds mu, and its probe
// may be writing the events.
//
// Once gated, a cycle within refreshGapNs of the last snapshot (and
// fewer than refreshSkipsMax cycles after it) takes none and reads no
// socket: the cycles that follow a wake-up (sending what the first
// produced, then finding no work) would mostly pay an epoll_wait to learn
// nothing, and the probe before the agent parks stands in for them.
func (w *socketWaiter) refresh(nowNs int64) {
	if w.fresh.Load() && w.mu.TryLock() {
		handed := w.fresh.Swap(false)
		if handed {
			w.record(w.events[:max(w.probeN, 0)], w.probeErr)
		}
		w.mu.Unlock()
		if handed {
			w.snapNs, w.skips = nowNs, 0
			return
		}
	}
	if age := nowNs - w.snapNs; age >= 0 && age < refreshGapNs && w.skips < refreshSkipsMax && w.gated.Load() {
		w.readyN, w.readyAll = 0, false
		w.skips++
		return
	}
	n, err := unix.EpollWait(w.epfd, w.cycle[:], 0)
	w.record(w.cycle[:max(n, 0)], err)
	w.snapNs, w.skips = nowNs, 0
}

// record sets the cycle's readiness from one epoll_wait's result.
func (w *socketWaiter) record(events []unix.EpollEvent, err error) {
	if err != nil {
		w.readyN, w.readyAll = 0, true // unknown: read everything
		return
	}
	w.readyAll = len(events) == pollEventsMax
	w.readyN = 0
	for i := range events {
		if fd := events[i].Fd; int(fd) != w.efd {
			w.readyFds[w.readyN] = fd
			w.readyN++
		}
	}
}

// mayRead reports whether the last refresh found fd readable.
func (w *socketWaiter) mayRead(fd int32) bool {
	if w.readyAll {
		return true
	}
	for _, r := range w.readyFds[:w.readyN] {
		if r == fd {
			return true
		}
	}
	return false
}

func (w *socketWaiter) close() error {
	unix.Close(w.efd)
	return w.file.Close()
}

// agentWaiter is the ReadWaiter given to one agent's blocking idle
// strategy: it waits on that agent's sockets (nil: none, so it sleeps) and,
// for the agent that sends, first announces itself as parked and checks
// that no publication has data ready to send, closing the race with a
// publisher that appends just before the park (Dekker: the publisher
// stores the frame then loads parked; the waiter stores parked then loads
// the frame; with sequentially consistent atomics one of them sees the
// other).
//
// woken (Driver.Wake's flag, set on the application's waiter only) closes
// the same race for a Wake: Wake stores the flag then loads parked, the
// waiter stores parked then takes the flag.
//
// gates says that the goroutine parking here also runs the duty cycles
// that refresh w, so that they may skip snapshots (socketWaiter.gated).
type agentWaiter struct {
	d     *Driver
	w     *socketWaiter
	sends bool
	gates bool
	woken *atomic.Bool
}

// WaitReadable waits for a datagram, new data to send, or the timeout.
func (a *agentWaiter) WaitReadable(timeout time.Duration) bool {
	if a.d.stopping.Load() {
		return false
	}
	if a.w == nil {
		// No sockets (the conductor): sleep, but not past its next tick.
		time.Sleep(min(timeout, time.Duration(conductorIntervalNs)))
		return false
	}
	if a.gates && !a.w.gated.Load() {
		a.w.gated.Store(true)
	}
	a.w.parked.Add(1)
	defer a.w.parked.Add(-1)
	if a.woken != nil && a.woken.Swap(false) {
		return true
	}
	if a.sends && a.d.sendPending() {
		return true
	}
	ready := a.w.WaitReadable(timeout)
	if a.woken != nil {
		// A Wake during the wait is answered by the cycle that follows
		// it, which runs after this return: drop its flag so that the
		// next park does not return at once for it.
		a.woken.Store(false)
	}
	return ready
}

// fdConn is implemented by DatagramConns backed by a socket.
type fdConn interface {
	sysfd() int
	// gate makes ReadBatch skip the recvmmsg unless w's last refresh
	// found the socket readable (w registered it; nil: always read).
	gate(w *socketWaiter)
}

// gate binds the conn's reads to w's per-cycle readiness.
func (u *udpConn) gate(w *socketWaiter) {
	u.gateW, u.fd = w, int32(u.sysfd())
}

func (u *udpConn) sysfd() int {
	fd := -1
	_ = u.rc.Control(func(s uintptr) { fd = int(s) })
	return fd
}
