// Package clustered runs the engine as a cluster's replicated service: it
// adapts engine.Engine's entry points to cluster.ClusteredService, delivers
// reports through the sessions' egress and schedules the engine's timers
// on the cluster.
//
// It owns only the translation. The engine stays free of the cluster (so
// that offline replay runs it without one); the cluster stays free of the
// venue.
package clustered

import (
	"fmt"
	"io"

	"venue/cluster"
	"venue/engine"
)

// SnapshotBytesMax bounds the snapshot OnStart reads: far above the
// largest state the engine's limits allow in practice, and a stop to a
// corrupt source that never ends.
const SnapshotBytesMax int64 = 4 << 30

// Service is an engine.Engine as a cluster.ClusteredService.
type Service struct {
	e *engine.Engine
	c cluster.Cluster
}

var (
	_ cluster.ClusteredService = (*Service)(nil)
	_ cluster.MessageHinter    = (*Service)(nil)
)

// New returns a service around a new engine configured by cfg; its Egress
// and Timers are replaced by the cluster's (cfg.MarketData is kept).
func New(cfg engine.Config) (*Service, error) {
	s := &Service{}
	cfg.Egress = egress{s}
	cfg.Timers = timers{s}
	e, err := engine.New(cfg)
	if err != nil {
		return nil, err
	}
	s.e = e
	return s, nil
}

// Engine returns the engine, for digests and counters. Call it only from
// the service goroutine.
func (s *Service) Engine() *engine.Engine { return s.e }

// OnStart loads the snapshot, if any, and schedules the engine's pending
// timers again: the container does not keep timers across a restart, and
// scheduling a pending timer twice is harmless (it replaces).
func (s *Service) OnStart(c cluster.Cluster, snapshot io.Reader) error {
	s.c = c
	if snapshot != nil {
		data, err := io.ReadAll(io.LimitReader(snapshot, SnapshotBytesMax+1))
		if err != nil {
			return fmt.Errorf("clustered: reading snapshot: %w", err)
		}
		if int64(len(data)) > SnapshotBytesMax {
			return fmt.Errorf("clustered: snapshot larger than %d bytes", SnapshotBytesMax)
		}
		if err := s.e.OnStart(data); err != nil {
			return fmt.Errorf("clustered: %w", err)
		}
		// Market data hears only of changes: give it the restored books.
		s.e.RepublishMarketData(int64(c.LogPosition()), c.TimeNs())
	}
	ids, deadlines := s.e.PendingTimers()
	for i, id := range ids {
		if err := c.ScheduleTimer(id, deadlines[i]); err != nil {
			return fmt.Errorf("clustered: rescheduling timer %d: %w", id, err)
		}
	}
	return nil
}

// OnSessionOpen registers the session as its authenticated principal.
func (s *Service) OnSessionOpen(cs cluster.ClientSession, timestampNs int64) {
	s.e.OnSessionOpen(engine.SessionID(cs.ID()), cs.Principal(), int64(s.c.LogPosition()), timestampNs)
}

// OnSessionClose closes the session (cancel on disconnect).
func (s *Service) OnSessionClose(cs cluster.ClientSession, timestampNs int64, reason cluster.CloseReason) {
	s.e.OnSessionClose(engine.SessionID(cs.ID()), engine.CloseReason(reason), int64(s.c.LogPosition()), timestampNs)
}

// OnSessionMessage applies a command. A service message (no session; the
// engine offers none) is applied as from session 0, which may do nothing.
func (s *Service) OnSessionMessage(cs cluster.ClientSession, timestampNs int64, position cluster.Position, payload []byte) {
	var id engine.SessionID
	if cs != nil {
		id = engine.SessionID(cs.ID())
	}
	s.e.OnSessionMessage(id, int64(position), timestampNs, payload)
}

// HintDistance asks the container for hints engine.HintAhead commands
// ahead, the depth of the engine's hint pipeline.
func (s *Service) HintDistance() int { return engine.HintAhead }

// HintSessionMessage passes a coming command to the engine's hint
// pipeline (engine.Engine.Hint), which prefetches what it will touch and
// changes nothing the engine does.
func (s *Service) HintSessionMessage(payload []byte) { s.e.Hint(payload) }

// OnTimerEvent applies a scheduled trading-state change.
func (s *Service) OnTimerEvent(correlationID int64, timestampNs int64) {
	s.e.OnTimerEvent(correlationID, int64(s.c.LogPosition()), timestampNs)
}

// OnTakeSnapshot writes the engine's snapshot.
func (s *Service) OnTakeSnapshot(w io.Writer) error { return s.e.OnTakeSnapshot(w) }

// OnRoleChange tells the engine, which changes no state on it.
func (s *Service) OnRoleChange(role cluster.Role) { s.e.OnRoleChange(engine.ClusterRole(role)) }

// OnTerminate does nothing: the state is in the log and the snapshots.
func (s *Service) OnTerminate(cluster.Cluster) {}

// egress sends reports through the session's egress. The result of the
// offer must not change state, and a follower's offer is a no-op anyway.
type egress struct{ s *Service }

func (g egress) Send(id engine.SessionID, msg []byte) {
	if cs, ok := g.s.c.Session(cluster.SessionID(id)); ok {
		cs.Offer(msg)
	}
}

// timers schedules on the cluster. A refused schedule (the container's
// timer bound) leaves the change pending in the engine's state: it is in
// the snapshot, and OnStart schedules it again.
type timers struct{ s *Service }

func (t timers) ScheduleTimer(id int64, deadlineNs int64) { _ = t.s.c.ScheduleTimer(id, deadlineNs) }
func (t timers) CancelTimer(id int64)                     { t.s.c.CancelTimer(id) }
