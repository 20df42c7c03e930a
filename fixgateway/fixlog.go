package fixgateway

import (
	"bytes"
	"sync/atomic"
	"time"

	"github.com/quickfixgo/quickfix"
)

// quickfixgo v0.9.10's outbound path, and what the gateway does about it.
//
// quickfix.SendToTarget persists a message, appends it to the session's
// queue and signals the session goroutine, which hands queued messages one
// by one to the connection's writer goroutine over an unbuffered channel,
// without blocking (session.sendQueued(false)). When the writer is not
// receiving at that instant, the session goroutine signals itself again
// and retries at once: it spins, holding a P, until the writer is back.
// Right after a hand-off the writer is runnable on the session goroutine's
// own P (the scheduler's runnext slot) and cannot run until that goroutine
// blocks or is preempted, so with several messages queued and every other
// P busy the session goroutine spins against its own writer for up to a
// scheduler time slice (10 ms) per message. quickfixgo's queue is also
// unbounded: a client that does not read makes it grow.
//
// The session log's OnOutgoing is called on the session goroutine right
// after each hand-off. The gateway's session logs wait there until the
// kernel has the bytes (wire.go), so the writer is receiving again when
// the session goroutine hands it the next message. (Only quickfixgo can
// fix the spin itself, with a blocking hand-off or a buffered channel.)
//
// The log also gives back the session's queue token (handoff): a session's
// sender takes one before each quickfix.SendToTarget, so the gateway never
// has more than SessionQueuedMax messages in quickfixgo's queue for one
// connection. A sender that finds no token for SlowConsumerTimeout (the
// client does not read, its socket is full) has the connection dropped
// (CounterSlowConsumers); the messages stay in the FIX store for the resend
// after the client's next logon.

// Outbound queue bounds.
const (
	// SessionQueuedMax bounds a session's messages in quickfixgo's queue,
	// not yet handed to the connection's writer.
	SessionQueuedMax = 1024
	// SlowConsumerTimeout is how long a session's sender waits for room in
	// quickfixgo's queue before the gateway drops the connection.
	SlowConsumerTimeout = time.Second
)

// handoff is one session's queue tokens: one per message of the gateway's
// in quickfixgo's queue, not yet handed to the writer.
type handoff struct {
	queued chan struct{}
	// n counts the tokens taken, for cork.go (which must read it in order
	// with its own atomics).
	n *atomic.Int64
	// sent holds when quickfixgo took each of them (Stages.FIXOut).
	sent *sendTimes
}

func newHandoff() handoff {
	return handoff{queued: make(chan struct{}, SessionQueuedMax), n: &atomic.Int64{}, sent: &sendTimes{}}
}

// take takes a token if there is room.
func (h handoff) take() bool {
	select {
	case h.queued <- struct{}{}:
		h.n.Add(1)
		return true
	default:
		return false
	}
}

// took counts a token the caller put into queued itself.
func (h handoff) took() { h.n.Add(1) }

// queuedNow is how many of the gateway's messages are in quickfixgo's
// queue.
func (h handoff) queuedNow() int64 { return h.n.Load() }

// release gives a token back (quickfixgo handed a message to the writer).
func (h handoff) release() {
	select {
	case <-h.queued:
		h.n.Add(-1)
	default:
	}
}

// reset gives every token back (quickfixgo dropped its queue: a logon or
// logoff).
func (h handoff) reset() {
	h.sent.reset()
	for {
		select {
		case <-h.queued:
			h.n.Add(-1)
		default:
			return
		}
	}
}

// logFactory wraps the configured quickfix.LogFactory so that each
// session's log gives the session's handoff token back.
type logFactory struct {
	inner quickfix.LogFactory
	g     *Gateway
}

// Create implements quickfix.LogFactory (the global log).
func (f logFactory) Create() (quickfix.Log, error) { return f.inner.Create() }

// CreateSessionLog implements quickfix.LogFactory.
func (f logFactory) CreateSessionLog(id quickfix.SessionID) (quickfix.Log, error) {
	l, err := f.inner.CreateSessionLog(id)
	if err != nil {
		return nil, err
	}
	s := f.g.sessions[id]
	if s == nil {
		return l, nil
	}
	return &sessionLog{Log: l, s: s}, nil
}

// sessionLog is a session log that gives a queue token back when an
// application message reaches the writer, and then waits for the writer
// to have written it (see wire.go).
type sessionLog struct {
	quickfix.Log
	s *fixSession
}

// OnOutgoing implements quickfix.Log.
func (l *sessionLog) OnOutgoing(msg []byte) {
	l.Log.OnOutgoing(msg)
	if isFreshAppMessage(msg) {
		l.s.handoff.release()
		if at, ok := l.s.handoff.sent.pop(); ok {
			l.s.fixOutStage.record(time.Since(at))
		}
	}
	w := l.s.wire.Load()
	w.awaitWritten(len(msg))
	w.handedOver(l.s.handoff)
}

// isFreshAppMessage reports whether msg is an application message sent
// for the first time (not an admin message, not a resend): what a
// session's sender queues.
func isFreshAppMessage(msg []byte) bool {
	i := bytes.Index(msg, []byte("\x0135="))
	if i < 0 || i+5 >= len(msg) || msg[i+5] != '\x01' {
		return false // a multi-character MsgType: not one the gateway sends
	}
	switch msg[i+4] {
	case '0', '1', '2', '3', '4', '5', 'A':
		return false
	}
	return !bytes.Contains(msg, []byte("\x0143=Y\x01"))
}
