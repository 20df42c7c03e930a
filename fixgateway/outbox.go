package fixgateway

import (
	"strconv"
	"time"

	"github.com/quickfixgo/quickfix"

	"venue/engine"
)

// Outbound bounds.
const (
	// OutboxBatchesMax bounds the batches of outbound messages waiting for
	// one session's sender goroutine. When it is full the agent waits: the
	// only thing that slows a sender is the FIX store (quickfixgo queues
	// without waiting for the network), so this is back pressure from the
	// disk, and it reaches the cluster as egress back pressure.
	OutboxBatchesMax = 64
	// outBatchBytesMax is when the agent starts a new batch for a session.
	outBatchBytesMax = 64 << 10
)

// outKind is what an outbound item carries.
type outKind uint8

const (
	// outReport: an engine report (ExecutionReport, CancelReject,
	// MassCancelReport, BusinessReject) to spell in FIX.
	outReport outKind = iota + 1
	// outUnavailable: the cluster did not take the command in time; the
	// client gets a BusinessMessageReject "application not available".
	outUnavailable
)

// outItem is one FIX message for a session, and the inbound message it
// answers, if any.
type outItem struct {
	kind    outKind
	off, n  int // the engine report in outBatch.buf
	answers bool
	slot    seqSlot
	refID   string      // outUnavailable: the ClOrdID
	refKind requestKind // outUnavailable: what was refused
	// answeredAt is when the agent polled the engine's answer to a FIX
	// message (zero for the rest), for Stages.Egress.
	answeredAt time.Time
}

// outBatch is what the agent hands a session's sender in one go.
type outBatch struct {
	buf   []byte
	items []outItem
}

func (b *outBatch) reset() {
	b.buf = b.buf[:0]
	clear(b.items)
	b.items = b.items[:0]
}

// report appends an engine report, answering c when c is not nil; now is
// the agent's duty cycle that polled it.
func (b *outBatch) report(msg []byte, c *command, now time.Time) {
	it := outItem{kind: outReport, off: len(b.buf), n: len(msg)}
	b.buf = append(b.buf, msg...)
	if c != nil && c.hasSlot {
		it.answers, it.slot, it.answeredAt = true, c.slot, now
	}
	b.items = append(b.items, it)
}

// unavailable appends the refusal of c.
func (b *outBatch) unavailable(c *command) {
	b.items = append(b.items, outItem{kind: outUnavailable, answers: c.hasSlot, slot: c.slot,
		refID: c.req.clOrdID, refKind: c.req.kind})
}

// runSender is a session's sender goroutine: it spells the agent's batches
// in FIX, hands them to quickfixgo (which persists each before it goes
// out), and then moves the session's inbound watermark past the messages
// they answer. One goroutine per configured session keeps each session's
// messages in order while store writes of different sessions overlap.
func (g *Gateway) runSender(s *fixSession) {
	defer g.senders.Done()
	wait := time.NewTimer(time.Hour)
	wait.Stop()
	m := quickfix.NewMessage() // reused: quickfixgo keeps the bytes, not the message
	var body wireBody          // reused likewise
	for b := range s.outbox {
		g.sendBatch(s, b, m, &body, wait)
		b.reset()
		select {
		case s.free <- b:
		default:
		}
	}
}

func (g *Gateway) sendBatch(s *fixSession, b *outBatch, reuse *quickfix.Message, body *wireBody, wait *time.Timer) {
	inst := g.instruments.Load()
	st := s.store.Load()
	// Several messages go out together (cork.go); a lone one at once.
	w := s.wire.Load()
	corked := s.loggedOn.Load() && w.beginBatch(len(b.items))
	for i := range b.items {
		it := &b.items[i]
		m := spell(reuse, body, it, b.buf, inst)
		if m == nil {
			if it.answers && st != nil {
				st.end(it.slot) // nothing to say (cannot happen: the agent decoded it)
			}
			continue
		}
		at, err := g.send(s, m, wait)
		if err != nil {
			// Not stored: the message stays unanswered, so a restart
			// asks the client for it again.
			g.ctr.sendFailures.Increment()
			continue
		}
		g.ctr.reportsOut.Increment()
		if !it.answeredAt.IsZero() {
			s.egressStage.record(at.Sub(it.answeredAt))
		}
		if it.answers && st != nil {
			st.end(it.slot)
		}
	}
	if corked {
		w.endBatch(s.handoff)
	}
	if st != nil {
		if err := st.flush(); err != nil {
			g.ctr.storeFailures.Increment()
		}
	}
}

// send hands m to quickfixgo once there is room in its queue for the
// session (see handoff). A session that is not logged on needs none:
// quickfixgo stores the message for the resend after the next logon and
// queues nothing.
//
// It returns when it called quickfix.SendToTarget (Stages.Egress ends and
// Stages.FIXOut starts there).
func (g *Gateway) send(s *fixSession, m *quickfix.Message, wait *time.Timer) (time.Time, error) {
	if s.loggedOn.Load() && !s.handoff.take() {
		wait.Reset(SlowConsumerTimeout)
		select {
		case s.handoff.queued <- struct{}{}:
			s.handoff.took()
		case <-wait.C:
			g.disconnectSlow(s)
		}
		wait.Stop()
	}
	// Timed before: quickfixgo may hand the message to the writer before
	// SendToTarget returns.
	at := time.Now()
	timed := s.loggedOn.Load()
	if timed {
		s.handoff.sent.push(at)
	}
	if err := quickfix.SendToTarget(m, s.cfg.ID); err != nil {
		if timed {
			s.handoff.sent.unpush()
		}
		s.handoff.release()
		return at, err
	}
	return at, nil
}

// spell turns one item into its FIX message, in m (an ExecutionReport's
// body in w: see wireBody).
func spell(m *quickfix.Message, w *wireBody, it *outItem, buf []byte, inst *instrumentTable) *quickfix.Message {
	if it.kind == outUnavailable {
		resetMessage(m, msgTypeBusinessReject)
		if mt := refMsgTypeOf(it.refKind); mt != "" {
			m.Body.SetString(tagRefMsgType, mt)
		}
		if it.refID != "" {
			m.Body.SetString(tagBusinessRejectRefID, it.refID)
		}
		setInt(m, tagBusinessRejectReason, bizRejApplicationUnavailable)
		m.Body.SetString(tagText, "Application not available at this time")
		return m
	}
	t, body, err := engine.Decode(buf[it.off : it.off+it.n])
	if err != nil {
		return nil
	}
	switch t {
	case engine.TemplateExecutionReport:
		return spellExecReportWire(m, engine.ExecutionReport(body), inst, w)
	case engine.TemplateCancelReject:
		return spellCancelReject(m, engine.CancelReject(body))
	case engine.TemplateMassCancelReport:
		return spellMassCancelReport(m, engine.MassCancelReport(body), inst)
	case engine.TemplateBusinessReject:
		return spellBusinessReject(m, engine.BusinessReject(body))
	}
	return nil
}

// refMsgTypeOf names the FIX message a request came from.
func refMsgTypeOf(k requestKind) string {
	switch k {
	case requestNewOrder:
		return msgTypeNewOrderSingle
	case requestCancel:
		return msgTypeOrderCancel
	case requestReplace:
		return msgTypeOrderCancelReplace
	case requestMassCancel:
		return msgTypeOrderMassCancel
	case requestStatus:
		return msgTypeOrderStatusRequest
	}
	return ""
}

// disconnectSlow drops the connection of a client that does not read what
// it is sent: its session's sender would otherwise wait on it, and the
// agent, and with it every other session, on the sender.
func (g *Gateway) disconnectSlow(s *fixSession) {
	if c := s.conn.Swap(nil); c != nil {
		g.ctr.slowConsumers.Increment()
		(*c).Close()
	}
	s.handoff.reset()
}

// gatewayExecID names a gateway-made ExecutionReport uniquely for the
// session: a per-session count and the time (the count restarts with the
// process).
func gatewayExecID(n int, now time.Time) string {
	return "GW-" + strconv.Itoa(n) + "-" + strconv.FormatInt(now.UnixNano(), 36)
}
