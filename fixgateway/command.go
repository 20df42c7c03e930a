package fixgateway

import (
	"strconv"
	"time"
)

// phase is where a command is on its way through the cluster. The agent
// goroutine owns every transition:
//
//	queued    -> inFlight (offer accepted) | done (offer timeout: answered "unavailable")
//	inFlight  -> done (its answer arrived) | unknown (the client lost track of it,
//	             or no answer within the answer timeout)
//	unknown   -> probing (an order: its status is asked for through the log)
//	             | reoffer (anything else: offered again as it was)
//	probing   -> done (the log has it: the status report is the answer)
//	             | reoffer (the log does not have it)
//	reoffer   -> inFlight (offered again, with its original SenderSeq, so that
//	             the engine applies it at most once)
//
// Only the oldest offered command of a session leaves unknown; the rest
// wait their turn, so that a session's commands are resolved, and offered
// again, in their original order.
type phase uint8

const (
	phaseQueued phase = iota + 1
	phaseInFlight
	phaseUnknown
	phaseProbing
	phaseReoffer
	phaseDone
)

// String names the phase.
func (p phase) String() string {
	switch p {
	case phaseQueued:
		return "queued"
	case phaseInFlight:
		return "inFlight"
	case phaseUnknown:
		return "unknown"
	case phaseProbing:
		return "probing"
	case phaseReoffer:
		return "reoffer"
	case phaseDone:
		return "done"
	}
	return "phase(" + strconv.Itoa(int(p)) + ")"
}

// unsettled reports whether a command in this phase holds back the
// session's later commands: its outcome is being resolved.
func (p phase) unsettled() bool {
	return p == phaseUnknown || p == phaseProbing || p == phaseReoffer
}

// command is one engine command on its way through the agent.
//
// FromApp returns as soon as a FIX message's command is queued (the
// session pipelines: up to SessionInFlightMax unanswered messages). Per
// session, commands are offered in the order the FIX messages arrived —
// which SenderSeq dedupe relies on — and the agent keeps them in that
// order while they are in flight, so it can tell which one a report
// answers and resolve unknown outcomes oldest first.
type command struct {
	sess        *fixSession // nil for the instrument list request
	req         request
	origClOrdID string
	phase       phase
	// internal: the gateway's own request (a SessionStatus, a status
	// query resolving a command, an instrument list request); no FIX
	// message waits on it.
	internal bool
	// slot is the FIX message's place in its session's seqStore; ended
	// once the answer is in the outbound store.
	slot     seqSlot
	hasSlot  bool
	position int64 // where the cluster client took it (Offer's result)

	receivedAt  time.Time // when quickfixgo read its FIX message off the socket (zero: not known)
	submittedAt time.Time // when FromApp queued it for the agent (FIX messages)
	queuedAt    time.Time // when it (last) entered the offer queue
	offeredAt   time.Time // when the cluster client (last) took it
}

// barrier reports whether c, while in flight, holds back its session's
// later commands: a SessionStatus until the engine acknowledges it (a
// logon that restarts SenderSeq must be in the log before any order after
// it, and offering it again must stay harmless), and any command whose
// outcome is being resolved.
func (c *command) barrier() bool {
	return c.req.kind == requestSessionStatus || c.phase.unsettled()
}
