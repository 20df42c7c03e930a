package fixgateway

import (
	"bytes"
	"runtime"

	"github.com/quickfixgo/quickfix"
)

// quickfixgo v0.9.10's outbound path, and what the gateway does about it.
//
// quickfix.SendToTarget persists a message, appends it to the session's
// queue and signals the session goroutine, which hands queued messages one
// by one to the connection's writer goroutine over an unbuffered channel,
// without blocking (session.sendQueued(false)). When the writer is not
// receiving at that instant, the session goroutine signals itself again
// and retries at once: it spins. After a successful hand-off the writer is
// runnable on the session goroutine's own P (the scheduler's runnext slot)
// and cannot run until that goroutine blocks or is preempted, so with
// several messages queued the session goroutine spins against its own
// writer for up to a scheduler time slice (10 ms) per message whenever
// every other P is busy too — with more sessions than cores, all the time.
//
// The log's OnOutgoing is called on the session goroutine right after each
// hand-off. WriterYieldLogFactory's logs yield there, so the writer runs
// at once, writes, and is receiving again when the session goroutine hands
// it the next message: no spin. (A writer blocked on a full socket still
// makes quickfixgo spin; SessionOutboundBacklogMax bounds how long.)

// WriterYieldLogFactory wraps a quickfix.LogFactory (nil: no logging) so
// that every session log yields to the connection's writer goroutine after
// each outbound message: the workaround, described above, for quickfixgo
// v0.9.10's spinning send path. Initiators can use it too.
func WriterYieldLogFactory(inner quickfix.LogFactory) quickfix.LogFactory {
	if inner == nil {
		inner = quickfix.NewNullLogFactory()
	}
	return yieldLogFactory{inner: inner}
}

type yieldLogFactory struct {
	inner quickfix.LogFactory
	g     *Gateway // counts each session's hand-offs when set
}

// Create implements quickfix.LogFactory (the global log: no hand-offs).
func (f yieldLogFactory) Create() (quickfix.Log, error) { return f.inner.Create() }

// CreateSessionLog implements quickfix.LogFactory.
func (f yieldLogFactory) CreateSessionLog(id quickfix.SessionID) (quickfix.Log, error) {
	l, err := f.inner.CreateSessionLog(id)
	if err != nil {
		return nil, err
	}
	y := &yieldLog{Log: l}
	if f.g != nil {
		y.s = f.g.sessions[id]
	}
	return y, nil
}

// yieldLog is a session log that yields after each outbound message and
// counts the application messages the writer took, for the session's
// backlog.
type yieldLog struct {
	quickfix.Log
	s *fixSession
}

// OnOutgoing implements quickfix.Log.
func (l *yieldLog) OnOutgoing(msg []byte) {
	l.Log.OnOutgoing(msg)
	if l.s != nil && isFreshAppMessage(msg) {
		for b := l.s.backlog.Load(); b > 0 && !l.s.backlog.CompareAndSwap(b, b-1); b = l.s.backlog.Load() {
		}
	}
	runtime.Gosched()
}

// isFreshAppMessage reports whether msg is an application message sent
// for the first time (not an admin message, not a resend): what the
// session's sender counted in.
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
