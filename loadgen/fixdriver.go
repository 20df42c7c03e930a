package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
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
)

// Send's errors.
var (
	// ErrNotLoggedOn is Send's error while a session is not logged on.
	ErrNotLoggedOn = errors.New("loadgen: FIX session not logged on")
	// ErrHandoffTimeout is Send's error when a session's writer took
	// nothing for fixHandoffTimeout.
	ErrHandoffTimeout = errors.New("loadgen: FIX session's writer is stuck")
)

// FIXDriver sends through the venue's FIX gateway: one quickfixgo FIX 4.4
// initiator session per CompID, with the password in the Logon's tag 554,
// sequence numbers reset at every logon (the gateway tells the engine) and
// messages kept in memory only: the load generator never resends, it counts
// what was lost as timeouts.
type FIXDriver struct {
	cfg      Config
	ids      []quickfix.SessionID
	index    map[quickfix.SessionID]int
	sessions []*fixSession
	init     *quickfix.Initiator
	sink     Sink
	massSeq  atomic.Int64
}

// fixSession is one initiator session's state.
type fixSession struct {
	loggedOn atomic.Bool
	// queued holds a token per application message quickfixgo has queued
	// and not yet handed to the writer (see fixQueuedPerSessionMax).
	queued chan struct{}
	mu     sync.Mutex
	ring   [seqRingSize]seqEntry
	mass   chan int64 // a mass cancel report's TotalAffectedOrders, or -1 for a refusal
}

// seqEntry remembers the ClOrdID sent under one MsgSeqNum.
type seqEntry struct {
	seq     int
	clOrdID string
}

// NewFIXDriver returns a driver for cfg's FIX sessions (cfg as Run
// completes it: Target, CompIDs, TargetCompID, Password, Instruments).
func NewFIXDriver(cfg Config) *FIXDriver {
	d := &FIXDriver{cfg: cfg, index: map[quickfix.SessionID]int{}}
	for i := 0; i < cfg.Sessions && i < len(cfg.CompIDs); i++ {
		id := quickfix.SessionID{BeginString: quickfix.BeginStringFIX44, SenderCompID: cfg.CompIDs[i], TargetCompID: cfg.TargetCompID}
		d.ids = append(d.ids, id)
		d.index[id] = i
		d.sessions = append(d.sessions, &fixSession{mass: make(chan int64, 1), queued: make(chan struct{}, fixQueuedPerSessionMax)})
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

// Stop logs the sessions out.
func (d *FIXDriver) Stop() {
	if d.init != nil {
		d.init.Stop()
	}
}

// Send sends req as a NewOrderSingle, OrderCancelRequest or
// OrderCancelReplaceRequest. It waits until the session's previous message
// went to its writer (fixQueuedPerSessionMax), then quickfixgo queues it and
// Send returns; the engine bounds how many are unanswered.
func (d *FIXDriver) Send(s int, req *Request) error {
	if s < 0 || s >= len(d.sessions) {
		return fmt.Errorf("%w: session %d", ErrConfig, s)
	}
	m, err := d.message(req)
	if err != nil {
		return err
	}
	return d.send(s, m)
}

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
		}
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

// message spells req in FIX 4.4.
func (d *FIXDriver) message(req *Request) (*quickfix.Message, error) {
	if req.Instrument < 0 || req.Instrument >= len(d.cfg.Instruments) {
		return nil, fmt.Errorf("%w: instrument %d", ErrConfig, req.Instrument)
	}
	in := d.cfg.Instruments[req.Instrument]
	m := quickfix.NewMessage()
	switch req.Kind {
	case RequestNew:
		m.Header.SetString(tagMsgType, msgTypeNewOrderSingle)
	case RequestCancel:
		m.Header.SetString(tagMsgType, msgTypeOrderCancel)
		m.Body.SetString(tagOrigClOrdID, req.OrigClOrdID)
	case RequestReplace:
		m.Header.SetString(tagMsgType, msgTypeOrderReplace)
		m.Body.SetString(tagOrigClOrdID, req.OrigClOrdID)
	default:
		return nil, fmt.Errorf("%w: request kind %v", ErrConfig, req.Kind)
	}
	m.Body.SetString(tagClOrdID, req.ClOrdID)
	m.Body.SetString(tagSymbol, in.Symbol)
	m.Body.SetString(tagSide, fixSide(req.Side))
	m.Body.SetField(tagTransactTime, quickfix.FIXUTCTimestamp{Time: time.Now().UTC(), Precision: quickfix.Micros})
	m.Body.SetString(tagOrderQty, strconv.FormatInt(req.Qty, 10))
	if req.Kind == RequestCancel {
		return m, nil
	}
	if req.OrdType == Market {
		m.Body.SetString(tagOrdType, "1")
	} else {
		m.Body.SetString(tagOrdType, "2")
		m.Body.SetString(tagPrice, formatPrice(req.Price, int(in.PriceDecimals)))
	}
	m.Body.SetString(tagTimeInForce, fixTIF(req.TIF))
	return m, nil
}

func fixSide(s Side) string {
	if s == Sell {
		return "2"
	}
	return "1"
}

func fixTIF(t TimeInForce) string {
	switch t {
	case GTC:
		return "1"
	case IOC:
		return "3"
	}
	return "0"
}

// formatPrice writes v units of 10^-decimals as a FIX decimal.
func formatPrice(v int64, decimals int) string {
	neg := v < 0
	u := uint64(v)
	if neg {
		u = -u
	}
	s := strconv.FormatUint(u, 10)
	if decimals > 0 {
		if len(s) <= decimals {
			s = strings.Repeat("0", decimals-len(s)+1) + s
		}
		s = s[:len(s)-decimals] + "." + s[len(s)-decimals:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// CancelAll sends every logged-on session an OrderMassCancelRequest for all
// its orders and waits for the reports.
func (d *FIXDriver) CancelAll(ctx context.Context) (int64, error) {
	var sent []int
	for i, s := range d.sessions {
		select {
		case <-s.mass: // a stale report
		default:
		}
		if !s.loggedOn.Load() {
			continue
		}
		m := quickfix.NewMessage()
		m.Header.SetString(tagMsgType, msgTypeMassCancel)
		m.Body.SetString(tagClOrdID, "LGMC."+strconv.FormatInt(d.massSeq.Add(1), 36)+"."+strconv.FormatInt(time.Now().UnixMilli(), 36))
		m.Body.SetString(tagMassCancelReqType, "7") // all orders
		m.Body.SetField(tagTransactTime, quickfix.FIXUTCTimestamp{Time: time.Now().UTC(), Precision: quickfix.Micros})
		if err := d.send(i, m); err != nil {
			return 0, fmt.Errorf("mass cancel on %s: %w", d.ids[i].SenderCompID, err)
		}
		sent = append(sent, i)
	}
	var total int64
	for _, i := range sent {
		select {
		case n := <-d.sessions[i].mass:
			if n < 0 {
				return total, fmt.Errorf("mass cancel on %s refused", d.ids[i].SenderCompID)
			}
			total += n
		case <-ctx.Done():
			return total, fmt.Errorf("mass cancel on %s: %w", d.ids[i].SenderCompID, ctx.Err())
		}
	}
	return total, nil
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

// fixApp is the quickfixgo Application of the driver's sessions.
type fixApp struct{ d *FIXDriver }

func (a *fixApp) session(id quickfix.SessionID) (int, *fixSession) {
	i, ok := a.d.index[id]
	if !ok {
		return -1, nil
	}
	return i, a.d.sessions[i]
}

// OnCreate implements quickfix.Application.
func (a *fixApp) OnCreate(quickfix.SessionID) {}

// OnLogon implements quickfix.Application.
func (a *fixApp) OnLogon(id quickfix.SessionID) {
	if _, s := a.session(id); s != nil {
		s.reset()
		s.loggedOn.Store(true)
	}
}

// OnLogout implements quickfix.Application.
func (a *fixApp) OnLogout(id quickfix.SessionID) {
	if _, s := a.session(id); s != nil {
		s.loggedOn.Store(false)
		s.reset()
	}
}

// ToAdmin puts the password on the Logon.
func (a *fixApp) ToAdmin(m *quickfix.Message, _ quickfix.SessionID) {
	if m.IsMsgTypeOf(msgTypeLogon) {
		m.Body.SetString(tagPassword, a.d.cfg.Password)
	}
}

// ToApp remembers the MsgSeqNum each request goes out under (quickfixgo
// calls it after numbering the message, before sending it).
func (a *fixApp) ToApp(m *quickfix.Message, id quickfix.SessionID) error {
	_, s := a.session(id)
	if s == nil {
		return nil
	}
	seq, err := m.Header.GetInt(tagMsgSeqNum)
	if err != nil {
		return nil
	}
	s.remember(seq, bodyString(m, tagClOrdID))
	return nil
}

// FromAdmin passes session rejects on.
func (a *fixApp) FromAdmin(m *quickfix.Message, id quickfix.SessionID) quickfix.MessageRejectError {
	if m.IsMsgTypeOf(msgTypeReject) {
		a.deliver(m, id)
	}
	return nil
}

// FromApp passes reports on, and mass cancel reports to CancelAll.
func (a *fixApp) FromApp(m *quickfix.Message, id quickfix.SessionID) quickfix.MessageRejectError {
	if m.IsMsgTypeOf(msgTypeMassCancelReport) {
		if _, s := a.session(id); s != nil {
			n, err := strconv.ParseInt(bodyString(m, tagTotalAffectedOrders), 10, 64)
			if err != nil || bodyString(m, tagMassCancelResponse) == "0" {
				n = -1
			}
			select {
			case s.mass <- n:
			default:
			}
		}
		return nil
	}
	a.deliver(m, id)
	return nil
}

func (a *fixApp) deliver(m *quickfix.Message, id quickfix.SessionID) {
	i, s := a.session(id)
	if s == nil || a.d.sink == nil {
		return
	}
	if r, ok := parseFIX(m, s.resolve); ok {
		a.d.sink.OnReport(i, &r)
	}
}

// fixLogFactory gives each session a quickfixgo Log that logs nothing and
// hands the queue token back when an application message reaches the
// writer (quickfixgo calls OnOutgoing right after the hand-off).
type fixLogFactory struct{ d *FIXDriver }

// Create implements quickfix.LogFactory.
func (f fixLogFactory) Create() (quickfix.Log, error) { return fixLog{}, nil }

// CreateSessionLog implements quickfix.LogFactory.
func (f fixLogFactory) CreateSessionLog(id quickfix.SessionID) (quickfix.Log, error) {
	i, ok := f.d.index[id]
	if !ok {
		return fixLog{}, nil
	}
	return fixLog{s: f.d.sessions[i]}, nil
}

type fixLog struct{ s *fixSession }

func (l fixLog) OnIncoming([]byte)               {}
func (l fixLog) OnEvent(string)                  {}
func (l fixLog) OnEventf(string, ...interface{}) {}

// OnOutgoing returns the token of an application message.
func (l fixLog) OnOutgoing(msg []byte) {
	if l.s != nil && isQueuedType(msg) {
		l.s.handedOff()
	}
}

// isQueuedType reports whether a raw FIX message is one the driver queues
// (D, F, G or q): its MsgType field, "35=", follows BeginString and
// BodyLength.
func isQueuedType(msg []byte) bool {
	i := bytes.Index(msg, []byte("\x0135="))
	if i < 0 || i+6 > len(msg) || msg[i+5] != '\x01' {
		return false
	}
	switch msg[i+4] {
	case 'D', 'F', 'G', 'q':
		return true
	}
	return false
}
