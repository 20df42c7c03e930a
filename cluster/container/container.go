package container

import (
	"errors"
	"fmt"
	"io"
	"slices"

	"venue/cluster"
	"venue/cluster/consensus"
)

// Bounds.
const (
	// outboxMax bounds requests queued for the log between two drains.
	outboxMax = 4096
	// timersMax bounds pending timers.
	timersMax = 1 << 20
	// hintDistanceMax bounds how far ahead a MessageHinter is hinted.
	hintDistanceMax = 64
)

// Errors.
var (
	// ErrBadLog: a committed entry did not decode; the log is corrupt.
	ErrBadLog = errors.New("container: bad committed log")
	// ErrNotContiguous: Apply was given log that does not continue the last.
	ErrNotContiguous = errors.New("container: log not contiguous")
	// ErrTooManyTimers: the timer bound was reached.
	ErrTooManyTimers = errors.New("container: too many timers")
)

// Egress sends a session's egress to its client. The container calls it only
// while this member leads.
type Egress interface {
	Send(session cluster.SessionID, payload []byte) cluster.OfferStatus
}

// Container applies committed log to one ClusteredService.
type Container struct {
	member   cluster.MemberID
	service  cluster.ClusteredService
	egress   Egress
	role     cluster.Role
	position cluster.Position
	timeNs   int64
	sessions map[cluster.SessionID]*session
	timers   timerQueue
	due      []Timer // DueTimers' reused result
	outbox   []consensus.LogEntry
	started  bool
	// hinter is the service as a MessageHinter (nil if it is not one),
	// hinted hintDistance session messages ahead.
	hinter       cluster.MessageHinter
	hintDistance int
	observe      func(e *consensus.LogEntry, end cluster.Position)
	snapshot     func(position cluster.Position, timeNs int64)
	// shutdownAt is the position after the last shutdown action applied.
	shutdownAt cluster.Position
	// Counters.
	UnknownSession uint64 // messages or closes for sessions not open
	StaleTimer     uint64 // timer entries for timers no longer pending
	BadSessionOpen uint64 // session opens whose payload did not decode
}

// New returns a container for service on member.
func New(member cluster.MemberID, service cluster.ClusteredService, egress Egress) *Container {
	return &Container{member: member, service: service, egress: egress, role: consensus.RoleFollower,
		sessions: map[cluster.SessionID]*session{}, timers: newTimerQueue()}
}

// Start starts the service from snapshot (nil: empty) at log position from.
// A role set before Start reaches the service just after OnStart (OnStart
// comes first).
func (c *Container) Start(snapshot io.Reader, from cluster.Position) error {
	c.position, c.started = from, true
	if h, ok := c.service.(cluster.MessageHinter); ok {
		if d := min(h.HintDistance(), hintDistanceMax); d > 0 {
			c.hinter, c.hintDistance = h, d
		}
	}
	if err := c.service.OnStart(c, snapshot); err != nil {
		return fmt.Errorf("container: service start: %w", err)
	}
	if c.role != consensus.RoleFollower {
		c.service.OnRoleChange(c.role)
	}
	return nil
}

// Started reports whether Start has run.
func (c *Container) Started() bool { return c.started }

// Observe registers f to see every committed entry just before the service
// does, with the log position after it (the consensus module's session
// layer follows the log this way, interleaved with the service).
func (c *Container) Observe(f func(e *consensus.LogEntry, end cluster.Position)) { c.observe = f }

// SetRole tells the service about a role change.
func (c *Container) SetRole(r cluster.Role) {
	if r != c.role {
		c.role = r
		if c.started { // else Start tells the service
			c.service.OnRoleChange(r)
		}
	}
}

// Apply applies the committed entries b, which start at log position from
// (a consensus.Ready's Committed and CommittedFrom).
func (c *Container) Apply(from cluster.Position, b []byte) error {
	if !c.started || from != c.position {
		return fmt.Errorf("%w: at %d, given %d", ErrNotContiguous, c.position, from)
	}
	var e consensus.LogEntry
	var h hintCursor
	if c.hinter != nil {
		h = hintCursor{hinter: c.hinter, rest: b}
		for range c.hintDistance {
			h.next()
		}
	}
	for len(b) > 0 {
		l, err := consensus.DecodeEntry(b, &e)
		if err != nil {
			return fmt.Errorf("%w at %d: %w", ErrBadLog, c.position, err)
		}
		c.position += cluster.Position(l)
		c.timeNs = max(c.timeNs, e.Timestamp)
		if c.observe != nil {
			c.observe(&e, c.position)
		}
		if h.hinter != nil && e.Type == consensus.EntrySessionMessage {
			h.next()
		}
		c.dispatch(&e)
		b = b[l:]
	}
	return nil
}

// hintCursor walks a committed batch ahead of Apply, handing each session
// message to the service's MessageHinter (see cluster.MessageHinter).
type hintCursor struct {
	hinter cluster.MessageHinter
	rest   []byte // the batch after the last message hinted
	e      consensus.LogEntry
}

// next hints the next session message in the batch, if there is one. An
// entry that does not decode ends the hints; Apply reports it when it
// gets there.
func (h *hintCursor) next() {
	for len(h.rest) > 0 {
		l, err := consensus.DecodeEntry(h.rest, &h.e)
		if err != nil {
			h.rest = nil
			return
		}
		h.rest = h.rest[l:]
		if h.e.Type == consensus.EntrySessionMessage {
			h.hinter.HintSessionMessage(h.e.Payload)
			return
		}
	}
}

func (c *Container) dispatch(e *consensus.LogEntry) {
	switch e.Type {
	case consensus.EntrySessionOpen:
		if _, ok := c.sessions[e.SessionID]; !ok {
			var open consensus.SessionOpen
			if consensus.DecodeSessionOpen(e.Payload, &open) != nil {
				c.BadSessionOpen++ // opened all the same, on every member alike
			}
			s := &session{id: e.SessionID, principal: slices.Clone(open.Principal), c: c}
			c.sessions[e.SessionID] = s
			c.service.OnSessionOpen(s, e.Timestamp)
		}
	case consensus.EntrySessionClose:
		if s, ok := c.sessions[e.SessionID]; ok {
			delete(c.sessions, e.SessionID)
			c.service.OnSessionClose(s, e.Timestamp, e.Reason)
		} else {
			c.UnknownSession++
		}
	case consensus.EntrySessionMessage:
		c.onSessionMessage(e)
	case consensus.EntryTimer:
		if c.timers.cancel(e.CorrelationID) {
			c.service.OnTimerEvent(e.CorrelationID, e.Timestamp)
		} else {
			c.StaleTimer++ // cancelled, or expired twice across a leader change
		}
	case consensus.EntryClusterAction:
		switch e.Action {
		case consensus.ActionShutdown:
			c.shutdownAt = c.position
			c.service.OnTerminate(c)
		case consensus.ActionSnapshot:
			if c.snapshot != nil {
				c.snapshot(c.position, e.Timestamp)
			}
		}
	}
}

// serviceSession is the session id of service messages (Cluster.Offer).
const serviceSession cluster.SessionID = 0

func (c *Container) onSessionMessage(e *consensus.LogEntry) {
	if e.SessionID == serviceSession {
		c.service.OnSessionMessage(nil, e.Timestamp, c.position, e.Payload)
		return
	}
	s, ok := c.sessions[e.SessionID]
	if !ok {
		c.UnknownSession++
		return
	}
	c.service.OnSessionMessage(s, e.Timestamp, c.position, e.Payload)
}

// Outbox returns the entries the service asked to append (service messages,
// session closes) and empties it. The leader's consensus module proposes
// them; other members discard them (the leader's copy is the one that
// counts, and comes back through the log).
func (c *Container) Outbox() []consensus.LogEntry {
	out := c.outbox
	c.outbox = nil
	return out
}

// DueTimers returns, in deadline then correlation order, the pending timers
// due at cluster time nowNs. The leader proposes a timer entry for each. The
// slice is reused by the next call.
func (c *Container) DueTimers(nowNs int64) []Timer {
	c.due = c.timers.appendDue(c.due[:0], nowNs)
	return c.due
}

// ShutdownAt returns the log position just after the last shutdown action
// the service applied (0: none).
func (c *Container) ShutdownAt() cluster.Position { return c.shutdownAt }

// TimerDeadline returns a pending timer's deadline.
func (c *Container) TimerDeadline(corr int64) (int64, bool) { return c.timers.deadline(corr) }

// PendingTimers returns the number of pending timers.
func (c *Container) PendingTimers() int { return c.timers.len() }

// Position returns the log position after the last applied entry.
func (c *Container) Position() cluster.Position { return c.position }
