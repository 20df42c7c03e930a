package multihost

import (
	"context"
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"venue/cluster/client"
	"venue/cluster/consensus"
	"venue/transport"
)

// Client bounds. failover.Load does the same job on loopback, but its
// client answers on 127.0.0.1 (client.Config's default response endpoint),
// which a member on another host cannot reach; this one answers on the
// lab's root address.
const (
	clientRate = 1000 // messages per second
	// clientPayloadLength holds the sequence number and padding.
	clientPayloadLength = 32
	// clientBurstMax bounds messages offered in one step, so that a backlog
	// after an outage does not starve polling.
	clientBurstMax = 64
	// clientPollLimit bounds egress fragments per step.
	clientPollLimit = 256
	// clientIdleTimeout: an idle step parks in the poller at most this long.
	clientIdleTimeout = 100 * time.Microsecond
	// clientConnectTimeout bounds the session's opening.
	clientConnectTimeout = 20 * time.Second
	// clientCheckInterval is how often a wait re-checks its condition.
	clientCheckInterval = 5 * time.Millisecond
	// clientMessagesMax bounds the messages one tracker offers (a status
	// byte each): 10 minutes at clientRate, far beyond a test.
	clientMessagesMax = 600 * clientRate
	// reasonsMax bounds the distinct hand-back reasons a tracker counts.
	reasonsMax = 16
)

// Per-message status bits.
const (
	msgAcked uint8 = 1 << iota
	msgEchoed
	msgUnknown
)

// tracker is one cluster client offering numbered messages at clientRate
// and recording each message's fate: acknowledged (no longer outstanding
// and not handed back), echoed, or handed back (OnUnknownOutcome). Message
// seq (from 0) carries seq in its first 8 bytes and has correlation id
// seq+1. It also times a watch: the first message offered after watch(from)
// that is acknowledged or echoed. Used from the test goroutine only.
type tracker struct {
	d        *transport.Driver
	c        *client.Client
	idle     *transport.BlockingIdleStrategy
	payload  []byte
	nextNs   int64 // intended send time of the next message
	offering bool
	status   []uint8
	resolved int64 // messages below it are acknowledged or handed back
	sent     int64
	acked    int64
	echoed   int64
	unknown  int64
	leaders  int64
	// reasons counts hand-backs by reason (reasonsMax; later ones as
	// "other").
	reasons map[string]int64
	err     error
	// The watch: messages from watchSeq on; watchHitNs is the first
	// commit of one seen (0: none yet); watchEchoes counts their echoes.
	watchSeq    int64
	watchHitNs  int64
	watchEchoes int64
}

var _ client.Handler = (*tracker)(nil)

// newTracker opens a session with the members at ingress, answering on
// respond (port 0: any), and starts offering.
func newTracker(t *testing.T, ingress []string, respond netip.Addr, window int) *tracker {
	t.Helper()
	d, err := transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingInvoker})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), clientConnectTimeout)
	defer cancel()
	start := time.Now()
	c, err := client.Connect(ctx, client.Config{Driver: d, InvokeDriver: true, Members: ingress,
		ResponseEndpoint: netip.AddrPortFrom(respond, 0).String(), WindowMax: window})
	if err != nil {
		d.Close()
		t.Fatalf("connect from %v to %v: %v", respond, ingress, err)
	}
	t.Logf("client: session %d open from %v in %v", c.SessionID(), respond, time.Since(start).Round(time.Millisecond))
	tr := &tracker{d: d, c: c, idle: transport.NewBlockingIdleStrategy(d),
		payload: make([]byte, clientPayloadLength), watchSeq: -1, reasons: map[string]int64{}}
	tr.idle.Timeout = clientIdleTimeout
	t.Cleanup(tr.close)
	tr.offering, tr.nextNs = true, transport.MonotonicNanos()
	return tr
}

func (tr *tracker) close() {
	if tr.c != nil {
		tr.c.Close()
		tr.c = nil
	}
	if tr.d != nil {
		tr.d.Close()
		tr.d = nil
	}
}

// watch starts watching messages offered from now on.
func (tr *tracker) watch() {
	tr.watchSeq, tr.watchHitNs, tr.watchEchoes = tr.sent, 0, 0
}

// step offers the messages due and polls once; it returns the work done.
func (tr *tracker) step() int {
	work := 0
	now := transport.MonotonicNanos()
	for n := 0; tr.offering && tr.nextNs <= now && n < clientBurstMax && tr.err == nil; n++ {
		if !tr.offer() {
			break
		}
		tr.nextNs += int64(time.Second) / clientRate
		work++
	}
	work += tr.c.Poll(tr, clientPollLimit)
	tr.resolve()
	return work
}

func (tr *tracker) offer() bool {
	seq := tr.sent
	if seq >= clientMessagesMax {
		tr.err = fmt.Errorf("tracker: offered its maximum of %d messages", clientMessagesMax)
		return false
	}
	binary.LittleEndian.PutUint64(tr.payload, uint64(seq))
	corr, err := tr.c.Offer(tr.payload)
	if err != nil {
		return false // back pressure, no leader yet, window full: try again next step
	}
	if corr != seq+1 {
		tr.err = fmt.Errorf("tracker: message %d got correlation id %d", seq, corr)
		return false
	}
	tr.status = append(tr.status, 0)
	tr.sent++
	return true
}

// resolve marks acknowledged every message before the client's window of
// outstanding ones that was not handed back.
func (tr *tracker) resolve() {
	for upTo := tr.sent - int64(tr.c.Outstanding()); tr.resolved < upTo; tr.resolved++ {
		if tr.status[tr.resolved]&msgUnknown == 0 {
			tr.status[tr.resolved] |= msgAcked
			tr.acked++
			tr.hit(tr.resolved)
		}
	}
}

func (tr *tracker) hit(seq int64) {
	if tr.watchSeq >= 0 && seq >= tr.watchSeq && tr.watchHitNs == 0 {
		tr.watchHitNs = transport.MonotonicNanos()
	}
}

// OnMessage implements client.Handler: an echo.
func (tr *tracker) OnMessage(_, _ int64, p []byte) {
	if len(p) < 8 {
		return
	}
	seq := int64(binary.LittleEndian.Uint64(p))
	if seq < 0 || seq >= tr.sent || tr.status[seq]&msgEchoed != 0 {
		return
	}
	tr.status[seq] |= msgEchoed
	tr.echoed++
	if tr.watchSeq >= 0 && seq >= tr.watchSeq {
		tr.watchEchoes++
	}
	tr.hit(seq)
}

// OnNewLeader implements client.Handler.
func (tr *tracker) OnNewLeader(int32, int64) { tr.leaders++ }

// OnUnknownOutcome implements client.Handler: handed back, never offered
// again (so that the log audit can tell a duplicate from a retry).
func (tr *tracker) OnUnknownOutcome(corr int64, _ []byte, reason string) {
	if _, ok := tr.reasons[reason]; !ok && len(tr.reasons) >= reasonsMax {
		reason = "other"
	}
	tr.reasons[reason]++
	seq := corr - 1
	if seq < 0 || seq >= tr.sent || tr.status[seq]&msgUnknown != 0 {
		return
	}
	tr.status[seq] |= msgUnknown
	tr.unknown++
}

// runUntil steps until cond holds (checked every clientCheckInterval) or
// timeout passes.
func (tr *tracker) runUntil(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	next := time.Now()
	for tr.err == nil {
		if now := time.Now(); !now.Before(next) {
			if cond() {
				return nil
			}
			if now.After(deadline) {
				return fmt.Errorf("not within %v", timeout)
			}
			next = now.Add(clientCheckInterval)
		}
		tr.idle.Idle(tr.step())
	}
	return tr.err
}

// drain stops offering and steps until nothing is outstanding.
func (tr *tracker) drain(timeout time.Duration) error {
	tr.offering = false
	if err := tr.runUntil(timeout, func() bool { return tr.c.Outstanding() == 0 }); err != nil {
		return fmt.Errorf("drain: %d outstanding: %w", tr.c.Outstanding(), err)
	}
	return nil
}

func (tr *tracker) String() string {
	return fmt.Sprintf("sent %d acked %d echoed %d handed back %d %v new-leader events %d", tr.sent, tr.acked,
		tr.echoed, tr.unknown, tr.reasons, tr.leaders)
}

// sessionID returns the session as the log names it.
func (tr *tracker) sessionID() consensus.SessionID { return consensus.SessionID(tr.c.SessionID()) }
