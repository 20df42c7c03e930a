package loadgen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quickfixgo/quickfix"
)

// FIX driver settings.
const (
	// fixLogonTimeout bounds waiting for every session's logon.
	fixLogonTimeout = 20 * time.Second
	// fixHeartBtIntSeconds is the sessions' heartbeat interval.
	fixHeartBtIntSeconds = 30
	// fixReconnectIntervalSeconds is how soon a dropped session reconnects.
	fixReconnectIntervalSeconds = 1
	// fixLogonPollInterval is how often Start looks at the logons.
	fixLogonPollInterval = 10 * time.Millisecond
	// seqRingSize is how many of a session's latest requests can be found
	// by MsgSeqNum, for the session and business rejects that name only
	// the RefSeqNum; a reject for an older one is unmatched and its
	// request times out (counted either way).
	seqRingSize = 8192
	// fixQueuedPerSessionMax bounds the application messages waiting in a
	// session's quickfixgo send queue for its writer goroutine. quickfixgo
	// v0.9.10 retries a queued message without blocking, in a loop, while
	// the writer is busy: with several messages queued per session and
	// more sessions than cores, those loops starve the writers (and the
	// venue, on the same machine) and a run collapses. One at a time, the
	// loop lasts at most one socket write.
	fixQueuedPerSessionMax = 1
	// fixHandoffTimeout bounds waiting for room in that queue: a session
	// whose writer takes nothing for this long fails the send.
	fixHandoffTimeout = time.Second
	// fixOutboxCapacity bounds each session's requests waiting for their
	// turn in that queue. The engine keeps at most InFlightPerSessionMax
	// requests unanswered per session, so the outbox never fills.
	fixOutboxCapacity = InFlightPerSessionMax
)

// Send's errors.
var (
	// ErrNotLoggedOn is Send's error while a session is not logged on.
	ErrNotLoggedOn = errors.New("loadgen: FIX session not logged on")
	// ErrHandoffTimeout is a send's failure when a session's writer took
	// nothing for fixHandoffTimeout.
	ErrHandoffTimeout = errors.New("loadgen: FIX session's writer is stuck")
	// ErrOutboxFull is Send's error when a session's outbox is full.
	ErrOutboxFull = errors.New("loadgen: FIX session's outbox is full")
	// ErrStopped is a send's failure once the driver stops.
	ErrStopped = errors.New("loadgen: FIX driver stopped")
)

// FIXDriver sends through the venue's FIX gateway: one quickfixgo FIX 4.4
// initiator session per CompID, with the password in the Logon's tag 554,
// sequence numbers reset at every logon (the gateway tells the engine) and
// messages kept in memory only: the load generator never resends, it counts
// what was lost as timeouts.
//
// Send puts a request in its session's outbox and returns; one goroutine
// per session hands the outbox to quickfixgo one message at a time (see
// fixQueuedPerSessionMax), so a session slow to take its messages delays
// only its own, and each by no more than the engine charges it anyway
// (latency runs from the intended send time).
type FIXDriver struct {
	cfg      Config
	ids      []quickfix.SessionID
	index    map[quickfix.SessionID]int
	sessions []*fixSession
	init     *quickfix.Initiator
	sink     Sink
	massSeq  atomic.Int64
	done     chan struct{} // closed by Stop
	stopOnce sync.Once
	writers  sync.WaitGroup
}

// fixSession is one initiator session's state.
type fixSession struct {
	loggedOn atomic.Bool
	// queued holds a token per application message quickfixgo has queued
	// and not yet handed to the writer (see fixQueuedPerSessionMax).
	queued chan struct{}
	// out holds the requests Send accepted that the session's goroutine
	// has not handed to quickfixgo yet.
	out  chan outbound
	mu   sync.Mutex
	ring [seqRingSize]seqEntry
	mass chan int64 // a mass cancel report's TotalAffectedOrders, or -1 for a refusal
}

// outbound is one request in a session's outbox.
type outbound struct {
	clOrdID string
	m       *quickfix.Message
}

// seqEntry remembers the ClOrdID sent under one MsgSeqNum.
type seqEntry struct {
	seq     int
	clOrdID string
}

// NewFIXDriver returns a driver for cfg's FIX sessions (cfg as Run
// completes it: Target, CompIDs, TargetCompID, Password, Instruments).
func NewFIXDriver(cfg Config) *FIXDriver {
	d := &FIXDriver{cfg: cfg, index: map[quickfix.SessionID]int{}, done: make(chan struct{})}
	for i := 0; i < cfg.Sessions && i < len(cfg.CompIDs); i++ {
		id := quickfix.SessionID{BeginString: quickfix.BeginStringFIX44, SenderCompID: cfg.CompIDs[i], TargetCompID: cfg.TargetCompID}
		d.ids = append(d.ids, id)
		d.index[id] = i
		d.sessions = append(d.sessions, &fixSession{mass: make(chan int64, 1),
			queued: make(chan struct{}, fixQueuedPerSessionMax), out: make(chan outbound, fixOutboxCapacity)})
	}
	return d
}

// settings is the initiator's quickfixgo settings file.
func (d *FIXDriver) settings() (string, error) {
	host, port, err := net.SplitHostPort(d.cfg.Target)
	if err != nil {
		return "", fmt.Errorf("target %q: %w", d.cfg.Target, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "[DEFAULT]\nConnectionType=initiator\nSocketConnectHost=%s\nSocketConnectPort=%s\n", host, port)
	fmt.Fprintf(&b, "HeartBtInt=%d\nReconnectInterval=%d\nResetOnLogon=Y\n", fixHeartBtIntSeconds, fixReconnectIntervalSeconds)
	for _, id := range d.ids {
		fmt.Fprintf(&b, "\n[SESSION]\nBeginString=%s\nSenderCompID=%s\nTargetCompID=%s\n", id.BeginString, id.SenderCompID, id.TargetCompID)
	}
	return b.String(), nil
}

// Start connects every session and waits for its logon.
func (d *FIXDriver) Start(ctx context.Context, sink Sink) error {
	if len(d.ids) == 0 {
		return fmt.Errorf("%w: no FIX sessions", ErrConfig)
	}
	d.sink = sink
	text, err := d.settings()
	if err != nil {
		return err
	}
	s, err := quickfix.ParseSettings(strings.NewReader(text))
	if err != nil {
		return fmt.Errorf("initiator settings: %w", err)
	}
	app := &fixApp{d: d}
	d.init, err = quickfix.NewInitiator(app, quickfix.NewMemoryStoreFactory(), s, fixLogFactory{d})
	if err != nil {
		return fmt.Errorf("initiator: %w", err)
	}
	if err := d.init.Start(); err != nil {
		return fmt.Errorf("initiator: %w", err)
	}
	for i := range d.sessions {
		d.writers.Add(1)
		go d.writer(i)
	}
	return d.awaitLogons(ctx)
}

func (d *FIXDriver) awaitLogons(ctx context.Context) error {
	deadline := time.NewTimer(fixLogonTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(fixLogonPollInterval)
	defer tick.Stop()
	for {
		var missing []string
		for i, s := range d.sessions {
			if !s.loggedOn.Load() {
				missing = append(missing, d.ids[i].SenderCompID)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return fmt.Errorf("FIX sessions %s did not log on to %s as TargetCompID %s within %v (is the gateway running there, and do it and the password accept these CompIDs?)",
				strings.Join(missing, ","), d.cfg.Target, d.cfg.TargetCompID, fixLogonTimeout)
		}
	}
}

// Stop ends the sessions' goroutines and logs the sessions out.
func (d *FIXDriver) Stop() {
	d.stopOnce.Do(func() { close(d.done) })
	d.writers.Wait()
	if d.init != nil {
		d.init.Stop()
	}
}

// Send puts req, spelt as a NewOrderSingle, OrderCancelRequest or
// OrderCancelReplaceRequest, in session s's outbox and returns. A failure to
// send it later goes to the sink's OnSendFailed.
func (d *FIXDriver) Send(s int, req *Request) error {
	if s < 0 || s >= len(d.sessions) {
		return fmt.Errorf("%w: session %d", ErrConfig, s)
	}
	m, err := d.message(req)
	if err != nil {
		return err
	}
	select {
	case d.sessions[s].out <- outbound{clOrdID: req.ClOrdID, m: m}:
		return nil
	default:
		return ErrOutboxFull
	}
}

// writer hands session s's outbox to quickfixgo until Stop.
func (d *FIXDriver) writer(s int) {
	defer d.writers.Done()
	fs := d.sessions[s]
	for {
		select {
		case <-d.done:
			return
		case o := <-fs.out:
			if err := d.send(s, o.m); err != nil {
				d.sink.OnSendFailed(s, o.clOrdID, err)
			}
		}
	}
}

// send hands m to quickfixgo once the session's previous message went to
// its writer (fixQueuedPerSessionMax).
func (d *FIXDriver) send(s int, m *quickfix.Message) error {
	fs := d.sessions[s]
	if !fs.loggedOn.Load() {
		return ErrNotLoggedOn
	}
	select {
	case fs.queued <- struct{}{}:
	default:
		t := time.NewTimer(fixHandoffTimeout)
		defer t.Stop()
		select {
		case fs.queued <- struct{}{}:
		case <-t.C:
			return ErrHandoffTimeout
		case <-d.done:
			return ErrStopped
		}
		// The token came back when quickfixgo handed the previous message
		// to its writer goroutine, which has not written it yet: it waits
		// on this P's run queue. Queuing the next message now would start
		// the session's retry loop ahead of it; yielding lets it write.
		runtime.Gosched()
	}
	if err := quickfix.SendToTarget(m, d.ids[s]); err != nil {
		fs.handedOff()
		return err
	}
	return nil
}

// handedOff returns the token of one queued application message.
func (s *fixSession) handedOff() {
	select {
	case <-s.queued:
	default:
	}
}

// reset forgets the queue's tokens: at a logon or logout quickfixgo drops
// what it had queued.
func (s *fixSession) reset() {
	for {
		select {
		case <-s.queued:
		default:
			return
		}
	}
}

// remember records the ClOrdID sent under seq.
func (s *fixSession) remember(seq int, clOrdID string) {
	s.mu.Lock()
	s.ring[seq%seqRingSize] = seqEntry{seq: seq, clOrdID: clOrdID}
	s.mu.Unlock()
}

// resolve returns the ClOrdID sent under seq, if it is still remembered.
func (s *fixSession) resolve(seq int) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.ring[seq%seqRingSize]; e.seq == seq {
		return e.clOrdID
	}
	return ""
}
