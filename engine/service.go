package engine

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ClusterRole is this member's role in the cluster. The engine's state
// never depends on it (every member applies the same log); it is kept for
// operators.
type ClusterRole uint8

// Cluster roles.
const (
	ClusterRoleFollower  ClusterRole = 0
	ClusterRoleCandidate ClusterRole = 1
	ClusterRoleLeader    ClusterRole = 2
)

// String returns the role's name.
func (r ClusterRole) String() string {
	switch r {
	case ClusterRoleFollower:
		return "follower"
	case ClusterRoleCandidate:
		return "candidate"
	case ClusterRoleLeader:
		return "leader"
	}
	return fmt.Sprintf("ClusterRole(%d)", uint8(r))
}

// The entry points below mirror a clustered service's callbacks. Each one
// applies one log entry (or the start), sends its reports through Egress,
// and ends with MarketDataSink.OnApplied at its log position.

// OnStart starts the engine from a snapshot (nil or empty: from the empty
// state New made). A snapshot that does not restore leaves the engine as
// it was and returns an error wrapping ErrSnapshot.
func (e *Engine) OnStart(snapshot []byte) error {
	if len(snapshot) == 0 {
		return nil
	}
	return e.Restore(snapshot)
}

// OnSessionMessage applies one command from the log: payload is the
// encoded message the session sent, logPosition and clusterTime the entry's.
// Bad input is answered with a reject and counted; it never panics.
func (e *Engine) OnSessionMessage(session SessionID, logPosition, clusterTime int64, payload []byte) {
	e.ctx.reset(session, logPosition, clusterTime)
	e.counters.Commands++
	e.dispatch(payload)
	e.md.OnApplied(logPosition, clusterTime)
}

// OnTimerEvent applies a cluster timer that fired: a scheduled
// trading-state change. An unknown correlation id (a timer cancelled after
// it was appended) is counted and ignored.
func (e *Engine) OnTimerEvent(correlationID int64, logPosition, clusterTime int64) {
	e.ctx.reset(0, logPosition, clusterTime)
	e.onTimer(correlationID)
	e.md.OnApplied(logPosition, clusterTime)
}

// OnRoleChange records the member's new role; it changes no state.
func (e *Engine) OnRoleChange(role ClusterRole) { e.role = role }

// Role returns the member's role as last reported.
func (e *Engine) Role() ClusterRole { return e.role }

// OnTakeSnapshot writes the engine's snapshot (AppendSnapshot) to w.
func (e *Engine) OnTakeSnapshot(w io.Writer) error {
	if _, err := w.Write(e.AppendSnapshot(nil)); err != nil {
		return fmt.Errorf("engine: writing snapshot: %w", err)
	}
	return nil
}

// dispatch decodes a command and hands it to its handler.
func (e *Engine) dispatch(payload []byte) {
	if e.dispatchOrderEntry(payload) {
		return
	}
	t, body, err := Decode(payload)
	if errors.Is(err, ErrShortBlock) {
		body, err = e.widenEarlier(t, payload, err)
	}
	if err != nil {
		e.decodeFailed(t, err)
		return
	}
	if !isCommand(t) {
		// A report, or a template this version knows but does not accept.
		e.counters.UnknownTemplate++
		e.businessReject(t, ReasonUnknownTemplate, nil, nil)
		return
	}
	if !EnumsValid(t, body) {
		e.counters.Malformed++
		e.businessReject(t, ReasonMalformed, nil, nil)
		return
	}
	sess := e.session(e.ctx.session)
	switch t {
	case TemplateNewOrder:
		e.onNewOrder(sess, NewOrder(body))
	case TemplateCancelOrder:
		e.onCancelOrder(sess, CancelOrder(body))
	case TemplateReplaceOrder:
		e.onReplaceOrder(sess, ReplaceOrder(body))
	case TemplateMassCancel:
		e.onMassCancel(sess, MassCancel(body))
	case TemplateOrderStatusRequest:
		e.onOrderStatusRequest(sess, OrderStatusRequest(body))
	case TemplateInstrumentListRequest:
		e.onInstrumentListRequest(sess, InstrumentListRequest(body))
	case TemplateSessionStatus:
		e.onSessionStatus(sess, SessionStatus(body))
	case TemplateAddInstrument:
		e.onAddInstrument(sess, AddInstrument(body))
	case TemplateSetTradingState:
		e.onSetTradingState(sess, SetTradingState(body))
	case TemplateSetAccount:
		e.onSetAccount(sess, SetAccount(body))
	case TemplateSetPrincipal:
		e.onSetPrincipal(sess, SetPrincipal(body))
	default:
		panic("engine: assertion failed: isCommand and dispatch disagree on " + t.String())
	}
}

// dispatchOrderEntry applies the commands that make up nearly all of the
// log (new, cancel, replace) when they are exactly what this version
// writes: the whole header compares as one word, so Decode's field-by-field
// checks and the template switch are skipped. It reports false, doing
// nothing, for anything else (which dispatch then decodes in full, with
// the same outcome for these templates).
func (e *Engine) dispatchOrderEntry(payload []byte) bool {
	if len(payload) < HeaderLength {
		return false
	}
	switch binary.LittleEndian.Uint64(payload) {
	case newOrderHeader:
		if len(payload) < NewOrderLength {
			return false
		}
		m := NewOrder(payload[HeaderLength:NewOrderLength])
		if !m.EnumsValid() {
			return false
		}
		e.onNewOrder(e.session(e.ctx.session), m)
	case cancelOrderHeader:
		if len(payload) < CancelOrderLength {
			return false
		}
		m := CancelOrder(payload[HeaderLength:CancelOrderLength])
		if !m.EnumsValid() {
			return false
		}
		e.onCancelOrder(e.session(e.ctx.session), m)
	case replaceOrderHeader:
		if len(payload) < ReplaceOrderLength {
			return false
		}
		m := ReplaceOrder(payload[HeaderLength:ReplaceOrderLength])
		if !m.EnumsValid() {
			return false
		}
		e.onReplaceOrder(e.session(e.ctx.session), m)
	default:
		return false
	}
	return true
}

// massCancelBlockLengthBeforeSide is MassCancel's block length, in bytes,
// before Side was appended. Logs written then hold MassCancels of this
// length: they must still apply (as Side 0, both sides), or replaying such a
// log would diverge from what was applied when it was written.
const massCancelBlockLengthBeforeSide = MassCancelBlockLength - 1

// widenEarlier returns the body of a command written before its last
// fields were appended, copied into a zeroed block of the present length
// (an appended field's 0 keeps the earlier meaning), or err if payload is
// not such a command. The copy lives in e.widened, reused.
func (e *Engine) widenEarlier(t TemplateID, payload []byte, err error) ([]byte, error) {
	bl := Header(payload).BlockLength()
	if t != TemplateMassCancel || bl != massCancelBlockLengthBeforeSide {
		return nil, err
	}
	if len(payload)-HeaderLength < bl {
		return nil, ErrTruncated
	}
	e.widened = [MassCancelBlockLength]byte{}
	copy(e.widened[:], payload[HeaderLength:HeaderLength+bl])
	return e.widened[:], nil
}

// isCommand reports whether t is a template the engine accepts from a
// session (templates 1..39 are commands; 40.. are reports).
func isCommand(t TemplateID) bool {
	switch t {
	case TemplateNewOrder, TemplateCancelOrder, TemplateReplaceOrder, TemplateMassCancel,
		TemplateOrderStatusRequest, TemplateInstrumentListRequest, TemplateSessionStatus,
		TemplateAddInstrument, TemplateSetTradingState, TemplateSetAccount, TemplateSetPrincipal:
		return true
	}
	return false
}

// decodeFailed answers a message Decode refused.
func (e *Engine) decodeFailed(t TemplateID, err error) {
	reason := ReasonMalformed
	switch {
	case errors.Is(err, ErrUnknownTemplate):
		reason = ReasonUnknownTemplate
		e.counters.UnknownTemplate++
	case errors.Is(err, ErrUnsupportedVersion):
		reason = ReasonUnsupportedVersion
		e.counters.NewerVersion++
	default:
		e.counters.Malformed++
	}
	e.businessReject(t, reason, nil, nil)
}
