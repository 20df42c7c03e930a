package fixgateway

import (
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"venue/transport"
)

// Waiting for quickfixgo's writer (see fixlog.go for why).
//
// quickfixgo v0.9.10's session goroutine hands each outbound message to
// the connection's writer goroutine without blocking and, when the writer
// is still writing the previous one, retries at once, holding a P, for as
// long as the writer takes: a write system call, or, when the writer
// cannot run (both Ps taken, or its thread descheduled on a loaded host),
// a whole scheduler time slice or more. Measured on 2 cores at 10 k
// orders/s, these spins were most of the scheduling delay (go tool trace
// -pprof=sched: sendQueued/selectnbsend and the yields after hand-offs)
// and about a third of the gateway's CPU at full load.
//
// The gateway cannot see the writer, but it can see the socket: TCP_INFO
// says how many bytes the kernel has accepted on the connection. After
// each hand-off (the session log's OnOutgoing, on the session goroutine)
// the gateway steps aside for the writer (see wireHandoffSleep), and then
// waits, yielding and then sleeping, until the kernel holds every byte
// handed to the writer so far. The writer is then back at its receive, so the next
// hand-off succeeds at once instead of spinning. The session goroutine
// holds quickfixgo's send lock meanwhile, so the senders calling
// SendToTarget park on it rather than queue more for a busy writer.
//
// Where the socket cannot be read (not Linux, TLS, a proxied listener) it
// only steps aside once.

// Wire-wait bounds.
const (
	// wireHandoffSleep is how the session goroutine steps aside after a
	// hand-off: a sleep this short rather than runtime.Gosched. The hand-off
	// made the writer this P's next goroutine, so either way the writer
	// runs first. A yielded goroutine then waits at the back of the global
	// run queue, behind every goroutine the process has runnable (the
	// cluster members', the agent, the other sessions'), while a timer
	// that expired during the writer's write makes the session goroutine
	// this P's next one again: on 2 cores it came back in a fraction of
	// the time. venue bench fix --store memory, 4 sessions, interleaved
	// runs on a loaded host: the report's wait in quickfixgo (fix_out p50)
	// 0.88-0.99 -> 0.37 ms in process at rate 0, 1.8-3.1 -> 0.39-0.43 ms
	// embedded at rate 0 (fsync data), 0.06-0.15 -> 0.03 ms embedded at
	// 10 k/s (fsync none), p99 there 1.6-35 -> 0.4-9.8 ms. It must stay well below a write
	// system call (several microseconds), or the timer could still be
	// pending when the P runs out of work and the runtime's poller rounds
	// the wait up to a millisecond.
	wireHandoffSleep = time.Microsecond
	// wireYieldsMax is how many times the session goroutine yields to the
	// writer before it starts sleeping between checks.
	wireYieldsMax = 8
	// wireSleep is one sleep between checks once yielding has not been
	// enough (the writer's thread is not running, or the socket is full).
	wireSleep = 50 * time.Microsecond
	// wireWaitMax bounds one wait. A writer still not done by then is
	// stuck on a client that does not read (the sender's slow-consumer
	// timeout drops it) or the count is off; either way the wait gives up
	// and takes the kernel's count as the new baseline.
	wireWaitMax = 20 * time.Millisecond
)

// wire is one connection's count of the bytes handed to quickfixgo's
// writer, against what the kernel has accepted. Owned by the session's
// quickfixgo goroutine (OnOutgoing); set up by the connection validator
// before the session goroutine sees the connection. A second connection
// for a session that is still connected replaces it, and quickfixgo then
// refuses and closes that connection: its socket can no longer be read,
// so the waits end at once (as a nil wire's) until the next reconnect.
type wire struct {
	// batch (the sender's) and corked (either's, under corkMu) coalesce a
	// batch's writes: see cork.go.
	batch  atomic.Bool
	corkMu sync.Mutex
	corked bool

	sock   tcpSocket
	handed uint64             // bytes handed to the writer on this connection
	off    bool               // the kernel does not count: only yield
	cut    *transport.Counter // waits given up after wireWaitMax
}

// newWire returns the watcher for c, counting waits cut short in cut, or
// nil where the socket's count cannot be read.
func newWire(c net.Conn, cut *transport.Counter) *wire {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return nil // TLS, a proxied connection: the kernel's count is not the messages'
	}
	sock, ok := newTCPSocket(tc)
	if !ok {
		return nil
	}
	return &wire{sock: sock, cut: cut}
}

// awaitWritten is called after n more bytes were handed to the writer: it
// returns once the kernel has accepted them all, or the wait is bounded
// out. A nil wire only steps aside.
func (w *wire) awaitWritten(n int) {
	time.Sleep(wireHandoffSleep) // the writer, just handed the bytes, runs first
	if w == nil || w.off {
		return
	}
	w.handed += uint64(n)
	var start time.Time
	for i := 0; ; i++ {
		written, ok := w.sock.written()
		if !ok || written >= w.handed {
			return
		}
		if i < wireYieldsMax {
			runtime.Gosched()
			continue
		}
		now := time.Now()
		if start.IsZero() {
			start = now
		} else if now.Sub(start) > wireWaitMax {
			w.cut.Increment()
			w.handed = written
			w.off = written == 0 // a kernel without the count (before Linux 4.19)
			return
		}
		time.Sleep(wireSleep)
	}
}
