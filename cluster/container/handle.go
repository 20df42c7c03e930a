package container

import (
	"venue/cluster"
	"venue/cluster/consensus"
)

// MemberID implements cluster.Cluster.
func (c *Container) MemberID() cluster.MemberID { return c.member }

// Role implements cluster.Cluster.
func (c *Container) Role() cluster.Role { return c.role }

// TimeNs implements cluster.Cluster.
func (c *Container) TimeNs() int64 { return c.timeNs }

// LogPosition implements cluster.Cluster.
func (c *Container) LogPosition() cluster.Position { return c.position }

// ScheduleTimer implements cluster.Cluster.
func (c *Container) ScheduleTimer(correlationID int64, deadlineNs int64) error {
	if _, ok := c.timers.deadline(correlationID); !ok && c.timers.len() >= timersMax {
		return ErrTooManyTimers
	}
	c.timers.schedule(correlationID, deadlineNs)
	return nil
}

// CancelTimer implements cluster.Cluster.
func (c *Container) CancelTimer(correlationID int64) bool {
	return c.timers.cancel(correlationID)
}

// Session implements cluster.Cluster.
func (c *Container) Session(id cluster.SessionID) (cluster.ClientSession, bool) {
	s, ok := c.sessions[id]
	if !ok {
		return nil, false
	}
	return s, true
}

// CloseSession implements cluster.Cluster: the close goes through the log.
func (c *Container) CloseSession(id cluster.SessionID) bool {
	if _, ok := c.sessions[id]; !ok {
		return false
	}
	return c.enqueue(consensus.LogEntry{Type: consensus.EntrySessionClose, SessionID: id,
		Reason: consensus.CloseService}) == cluster.OfferOK
}

// Offer implements cluster.Cluster: a service message into the log.
func (c *Container) Offer(payload []byte) (cluster.Position, cluster.OfferStatus) {
	if len(payload) > consensus.PayloadLengthMax {
		return 0, cluster.OfferTooLarge
	}
	e := consensus.LogEntry{Type: consensus.EntrySessionMessage, SessionID: serviceSession,
		Payload: append([]byte(nil), payload...)}
	return c.position, c.enqueue(e)
}

func (c *Container) enqueue(e consensus.LogEntry) cluster.OfferStatus {
	if len(c.outbox) >= outboxMax {
		return cluster.OfferBackPressured
	}
	c.outbox = append(c.outbox, e)
	return cluster.OfferOK
}

// session implements cluster.ClientSession.
type session struct {
	id        cluster.SessionID
	principal []byte
	c         *Container
}

func (s *session) ID() cluster.SessionID { return s.id }
func (s *session) Principal() []byte     { return s.principal }

// Offer sends egress from the leader; on a follower it is a no-op that
// reports success, so the service behaves the same on every member.
func (s *session) Offer(payload []byte) cluster.OfferStatus {
	if s.c.role != consensus.RoleLeader || s.c.egress == nil {
		return cluster.OfferOK
	}
	return s.c.egress.Send(s.id, payload)
}
