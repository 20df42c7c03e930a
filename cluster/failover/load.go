package failover

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"time"

	"venue/cluster/client"
	"venue/cluster/consensus"
	"venue/transport"
)

// Load bounds.
const (
	// loadMessagesMax bounds the messages one Load offers (its per-message
	// status is a byte each).
	loadMessagesMax = 1 << 26
	// loadBurstMax bounds the messages offered in one Step, so that a
	// backlog after an outage does not starve polling.
	loadBurstMax = 64
	// loadPollLimit bounds egress fragments per Step.
	loadPollLimit = 256
	// loadPayloadMin holds the sequence number and the send time.
	loadPayloadMin = 16
	// connectTimeout bounds Connect.
	connectTimeout = 30 * time.Second
	// loadIdleTimeout: an idle Step parks in the poller at most this long.
	loadIdleTimeout = 100 * time.Microsecond
	// reasonsMax bounds the distinct hand-back reasons a Load counts.
	reasonsMax = 16
)

// Per-message status bits.
const (
	msgSent uint8 = 1 << iota
	msgAcked
	msgEchoed
	msgUnknown
)

// LoadConfig configures a Load.
type LoadConfig struct {
	// Ingress are the members' ingress endpoints by member id.
	Ingress []string
	// Rate is messages per second offered open loop.
	Rate float64
	// Size is the message size in bytes (at least 16).
	Size int
	// Window bounds messages offered but not acknowledged (the cluster's
	// session ingress limit is a good value: the leader then never refuses
	// for it).
	Window int
	// Trace, if set, receives a line per NewLeader event and per run of
	// messages handed back.
	Trace func(format string, args ...any)
}

// LoadStats count a Load's messages.
type LoadStats struct {
	Sent     int64 `json:"sent"`
	Acked    int64 `json:"acked"`
	Echoed   int64 `json:"echoed"`
	Unknown  int64 `json:"unknown_outcome"`
	Leaders  int64 `json:"new_leader_events"`
	Mismatch int64 `json:"corr_mismatch"` // a handed-back id that was not the message's
}

// Load is one cluster client offering numbered messages at a steady rate
// and recording each message's fate: acknowledged (an Ack covered it and it
// was not handed back), echoed (the service's echo came back) or handed back
// (OnUnknownOutcome). Message seq (from 0) carries seq and its send time in
// its first 16 bytes and has correlation id seq+1. Use it from one
// goroutine.
type Load struct {
	cfg      LoadConfig
	d        *transport.Driver
	c        *client.Client
	idle     *transport.BlockingIdleStrategy
	payload  []byte
	interval int64 // ns between messages
	next     int64 // intended send time of the next message
	offering bool
	status   []uint8
	resolved int64 // messages below it are acknowledged or handed back
	stats    LoadStats
	reasons  map[string]int64 // hand-back reasons (reasonsMax; later ones as "other")
	err      error
	// The watch: the first commit seen of a message offered after Watch.
	watchFrom  int64 // first seq of the watch; -1: none
	watchHitNs int64
	leaderAtNs int64 // first NewLeader event since Watch
}

var _ client.Handler = (*Load)(nil)

// NewLoad connects a client to the cluster. It does not offer until
// Start.
func NewLoad(cfg LoadConfig) (*Load, error) {
	if cfg.Size < loadPayloadMin || cfg.Size > consensus.PayloadLengthMax || cfg.Rate <= 0 || len(cfg.Ingress) == 0 ||
		cfg.Window < 1 || cfg.Window > client.WindowMaxLimit {
		return nil, fmt.Errorf("failover: bad load config %+v (size >= %d)", cfg, loadPayloadMin)
	}
	d, err := transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingInvoker})
	if err != nil {
		return nil, fmt.Errorf("failover: client transport: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	c, err := client.Connect(ctx, client.Config{Driver: d, InvokeDriver: true, Members: cfg.Ingress, WindowMax: cfg.Window})
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("failover: connect: %w", err)
	}
	l := &Load{cfg: cfg, d: d, c: c, idle: transport.NewBlockingIdleStrategy(d), payload: make([]byte, cfg.Size),
		interval: max(1, int64(1e9/cfg.Rate)), watchFrom: -1, reasons: map[string]int64{}}
	l.idle.Timeout = loadIdleTimeout
	return l, nil
}

// Close closes the session (through the log, best effort) and the client.
func (l *Load) Close() {
	if l.c != nil {
		l.c.Close()
		l.c = nil
	}
	if l.d != nil {
		l.d.Close()
		l.d = nil
	}
}

// SessionID returns the client's cluster session id.
func (l *Load) SessionID() int64 { return l.c.SessionID() }

// Leader returns the member the client follows.
func (l *Load) Leader() consensus.MemberID { return consensus.MemberID(l.c.Leader()) }

// Stats returns the counts so far.
func (l *Load) Stats() LoadStats { return l.stats }

// Err returns the error that stopped the load (the session closed, too
// many messages).
func (l *Load) Err() error { return l.err }

// Start starts offering at the configured rate from now.
func (l *Load) Start() {
	if !l.offering {
		l.offering, l.next = true, transport.MonotonicNanos()
	}
}

// Pause stops offering (what is in flight still resolves).
func (l *Load) Pause() { l.offering = false }

// Status returns message seq's status bits (0: never sent).
func (l *Load) Status(seq int64) uint8 {
	if seq < 0 || seq >= int64(len(l.status)) {
		return 0
	}
	return l.status[seq]
}

// Watch starts watching for the first commit of a message offered from now
// on (and the first NewLeader event).
func (l *Load) Watch() {
	l.watchFrom, l.watchHitNs, l.leaderAtNs = l.stats.Sent, 0, 0
}

// Watched returns when the watch saw its first commit and its first
// NewLeader event (0: not yet).
func (l *Load) Watched() (commitNs, newLeaderNs int64) { return l.watchHitNs, l.leaderAtNs }

// Step offers the messages due (at most loadBurstMax) and polls the
// client once. It returns the work done.
func (l *Load) Step() int {
	if l.err != nil {
		return 0
	}
	work := 0
	now := transport.MonotonicNanos()
	for n := 0; l.offering && l.next <= now && n < loadBurstMax; n++ {
		if !l.offer(now) {
			break
		}
		l.next += l.interval
		work++
	}
	work += l.c.Poll(l, loadPollLimit)
	l.resolve()
	return work
}

func (l *Load) offer(now int64) bool {
	seq := l.stats.Sent
	if seq >= loadMessagesMax {
		l.err = fmt.Errorf("failover: load offered its maximum of %d messages", loadMessagesMax)
		return false
	}
	binary.LittleEndian.PutUint64(l.payload, uint64(seq))
	binary.LittleEndian.PutUint64(l.payload[8:], uint64(now))
	corr, err := l.c.Offer(l.payload)
	if err != nil {
		if errors.Is(err, client.ErrClosed) || errors.Is(err, client.ErrTooLarge) {
			l.err = fmt.Errorf("failover: offer: %w", err)
		}
		return false // back pressure, no leader, window full: the intended time stays
	}
	if corr != seq+1 {
		l.err = fmt.Errorf("failover: message %d got correlation id %d, want %d", seq, corr, seq+1)
		return false
	}
	l.status = append(l.status, msgSent)
	l.stats.Sent++
	return true
}

// resolve marks acknowledged every message the client no longer holds that
// was not handed back. The client's window holds the last Outstanding()
// messages offered, so everything before them is resolved.
func (l *Load) resolve() {
	upTo := l.stats.Sent - int64(l.c.Outstanding())
	for ; l.resolved < upTo; l.resolved++ {
		s := &l.status[l.resolved]
		if *s&msgUnknown != 0 {
			continue
		}
		*s |= msgAcked
		l.stats.Acked++
		l.hit(l.resolved)
	}
}

func (l *Load) hit(seq int64) {
	if l.watchFrom >= 0 && seq >= l.watchFrom && l.watchHitNs == 0 {
		l.watchHitNs = transport.MonotonicNanos()
	}
}

// OnMessage implements client.Handler: an echo.
func (l *Load) OnMessage(_, _ int64, p []byte) {
	if len(p) < loadPayloadMin {
		return
	}
	seq := int64(binary.LittleEndian.Uint64(p))
	if seq < 0 || seq >= l.stats.Sent {
		return
	}
	if l.status[seq]&msgEchoed == 0 {
		l.status[seq] |= msgEchoed
		l.stats.Echoed++
	}
	l.hit(seq)
}

// OnNewLeader implements client.Handler.
func (l *Load) OnNewLeader(leader int32, term int64) {
	l.stats.Leaders++
	if l.cfg.Trace != nil {
		l.cfg.Trace("new leader %d in term %d: sent %d, resolved %d, outstanding %d", leader, term, l.stats.Sent,
			l.resolved, l.c.Outstanding())
	}
	if l.watchFrom >= 0 && l.leaderAtNs == 0 {
		l.leaderAtNs = transport.MonotonicNanos()
	}
}

// OnUnknownOutcome implements client.Handler: the message is handed back;
// the load does not offer it again (each message is offered once, so that
// the log audit can tell a duplicate from a retry).
func (l *Load) OnUnknownOutcome(corr int64, p []byte, reason string) {
	if _, ok := l.reasons[reason]; !ok && len(l.reasons) >= reasonsMax {
		reason = "other"
	}
	l.reasons[reason]++
	seq := corr - 1
	if len(p) < loadPayloadMin || int64(binary.LittleEndian.Uint64(p)) != seq || seq < 0 || seq >= l.stats.Sent {
		l.stats.Mismatch++
		return
	}
	if l.status[seq]&msgUnknown == 0 {
		l.status[seq] |= msgUnknown
		l.stats.Unknown++
	}
	if l.cfg.Trace != nil && (seq == 0 || l.status[seq-1]&msgUnknown == 0) {
		l.cfg.Trace("handed back from message %d (status %#x): %s", seq, l.status[seq], reason)
	}
}

// Reasons returns how many messages were handed back for each reason.
func (l *Load) Reasons() map[string]int64 { return maps.Clone(l.reasons) }

// RunFor steps for d.
func (l *Load) RunFor(d time.Duration) error {
	deadline := transport.MonotonicNanos() + int64(d)
	for transport.MonotonicNanos() < deadline && l.err == nil {
		l.idle.Idle(l.Step())
	}
	return l.err
}

// RunUntil steps until cond reports true (checked every PollInterval) or
// timeout passes (ErrTimeout).
func (l *Load) RunUntil(timeout time.Duration, cond func() bool) error {
	start := transport.MonotonicNanos()
	deadline := start + int64(timeout)
	nextCheck := start
	for l.err == nil {
		now := transport.MonotonicNanos()
		if now >= nextCheck {
			if cond() {
				return nil
			}
			nextCheck = now + int64(PollInterval)
		}
		if now >= deadline {
			return fmt.Errorf("%w after %v", ErrTimeout, timeout)
		}
		l.idle.Idle(l.Step())
	}
	return l.err
}

// Drain stops offering and steps until every message is resolved or
// timeout passes.
func (l *Load) Drain(timeout time.Duration) error {
	l.Pause()
	err := l.RunUntil(timeout, func() bool { return l.c.Outstanding() == 0 })
	if err != nil {
		return fmt.Errorf("failover: drain: %d messages unresolved: %w", l.c.Outstanding(), err)
	}
	return nil
}
