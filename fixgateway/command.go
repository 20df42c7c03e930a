package fixgateway

import (
	"strconv"
	"time"
)

// phase is where a command is on its way through the cluster. The agent
// goroutine owns every transition:
//
//	queued     -> inFlight (offer accepted) | done (offer timeout: unavailable)
//	inFlight   -> done (its answer arrived) | resolving (outcome unknown, or no answer in time)
//	resolving  -> done (the status query found it: applied) | queued (not found: offered again,
//	              with its original SenderSeq, so the engine applies it at most once)
//	              | resolving (no answer to the query in time: asked again)
//	done: the waiting FIX session goroutine has been told.
type phase uint8

const (
	phaseQueued phase = iota + 1
	phaseInFlight
	phaseResolving
	phaseDone
)

// String names the phase.
func (p phase) String() string {
	switch p {
	case phaseQueued:
		return "queued"
	case phaseInFlight:
		return "inFlight"
	case phaseResolving:
		return "resolving"
	case phaseDone:
		return "done"
	}
	return "phase(" + strconv.Itoa(int(p)) + ")"
}

// outcome is what the agent tells a FIX session goroutine waiting on a
// command.
type outcome uint8

const (
	// outcomeAnswered: the engine's answer went out to the FIX client.
	outcomeAnswered outcome = iota + 1
	// outcomeUnavailable: the cluster did not take the command within
	// the offer timeout; it was never offered, so the client may retry.
	outcomeUnavailable
	// outcomeStopped: the gateway stopped before the answer came.
	outcomeStopped
)

// String names the outcome.
func (o outcome) String() string {
	switch o {
	case outcomeAnswered:
		return "answered"
	case outcomeUnavailable:
		return "unavailable"
	case outcomeStopped:
		return "stopped"
	}
	return "outcome(" + strconv.Itoa(int(o)) + ")"
}

// command is one engine command on its way through the agent. A FIX
// session has at most one order command outstanding (quickfixgo hands it
// one message at a time, and the gateway answers before taking the next),
// so per-principal order — which SenderSeq dedupe relies on — holds by
// construction.
type command struct {
	sess        *fixSession // nil for the gateway's own requests
	req         request
	origClOrdID string
	phase       phase
	// internal: the gateway's own request (a status query resolving
	// sess.pending, a SessionStatus, an instrument list request); nobody
	// waits on it and its answer is not forwarded unless it resolves.
	internal  bool
	done      chan outcome // the agent's one answer to the waiting goroutine; capacity 1
	queuedAt  time.Time    // when it (last) entered the offer queue
	offeredAt time.Time    // when the cluster client took it
}
