package archive

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"venue/transport"
)

// Replications run by a ControlServer.
const (
	// ReplicationsMax bounds the replications one ControlServer runs at
	// once (each on its own goroutine); a Replicate beyond it is refused
	// with ErrInvalidParams.
	ReplicationsMax = 8
	// ReplicationResponseStreamID is the stream on a Replicate request's
	// replay channel where the destination receives the source archive's
	// control responses (the replay comes on the recording's stream id).
	ReplicationResponseStreamID int32 = -0x5245 // "RE"
	// replicationTimeoutDefault bounds each request the destination makes
	// to a replication's source unless ControlServerConfig says otherwise.
	// Below the client's remoteTimeoutDefault, so that an unreachable
	// source is reported (ErrTimeout) before the client gives up waiting.
	replicationTimeoutDefault = 2 * time.Second
	// replicationEventsPerReplication is how many events one replication's
	// goroutine sends the server: its setup's result, then its end.
	replicationEventsPerReplication = 2
)

// serverReplication is a replication a ControlServer runs on its own
// goroutine: it connects to the source as a remote client, sets up a
// RemoteReplication and drives it until it ends or is stopped.
type serverReplication struct {
	id            int64
	sessionID     int32 // the control session that asked, answered after setup
	correlationID int64
	req           ReplicateRequest
	stop          chan struct{}
	stopOnce      sync.Once
	started       bool
}

// replicationEvent is a replication goroutine's report to the server's
// duty cycle: its setup's result (setup), or its end.
type replicationEvent struct {
	id    int64
	setup bool
	err   error
}

// ReplicationCounts are a ControlServer's replication counters.
type ReplicationCounts struct {
	// Completed replications copied the source recording to its end.
	Completed int64
	// Failed replications could not be set up or broke off with an error.
	Failed int64
	// Stopped replications were stopped by StopReplication or the server's close.
	Stopped int64
}

// replicationCounters count ended replications (read from any goroutine).
type replicationCounters struct {
	completed, failed, stopped atomic.Int64
}

// ReplicationCounts returns how many replications have ended, and how.
func (s *ControlServer) ReplicationCounts() ReplicationCounts {
	return ReplicationCounts{Completed: s.replCounts.completed.Load(), Failed: s.replCounts.failed.Load(),
		Stopped: s.replCounts.stopped.Load()}
}

// onReplicate starts a replication for session cs. The response (the
// replication id, or why it could not start) is sent once the
// replication's goroutine has set it up, so the duty cycle never waits on
// the source.
func (s *ControlServer) onReplicate(cs *controlSession, m ControlMessage) {
	req := m.ReplicateRequest()
	var err error
	switch {
	case len(s.replications) >= ReplicationsMax:
		err = fmt.Errorf("archive: replicate: %w: %d replications running (at most %d)", ErrInvalidParams, len(s.replications), ReplicationsMax)
	case req.SourceChannel == "" || req.ReplayChannel == "":
		err = fmt.Errorf("archive: replicate: %w: a source channel and a replay channel are needed", ErrInvalidParams)
	}
	if err != nil {
		s.respond(cs, m.CorrelationID(), 0, err)
		return
	}
	sr := &serverReplication{id: s.nextReplicationID, sessionID: cs.id, correlationID: m.CorrelationID(),
		req: req, stop: make(chan struct{})}
	s.nextReplicationID++
	s.replications[sr.id] = sr
	s.replWG.Add(1)
	go s.runReplication(sr)
}

// onStopReplication stops a running replication; its destination
// recording keeps what it has.
func (s *ControlServer) onStopReplication(cs *controlSession, m ControlMessage) {
	id := m.RecordingID()
	sr, ok := s.replications[id]
	if !ok {
		s.respond(cs, m.CorrelationID(), id, fmt.Errorf("archive: stop replication %d: %w", id, ErrUnknownReplication))
		return
	}
	sr.stopOnce.Do(func() { close(sr.stop) })
	s.respond(cs, m.CorrelationID(), id, nil)
}

// respond queues a ControlResponse for cs.
func (s *ControlServer) respond(cs *controlSession, correlationID, relevantID int64, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	s.current = cs
	s.enqueue(AppendControlResponse(s.scratch[:0], correlationID, relevantID, errorCodeOf(err), msg))
	s.current = nil
}

// runReplication is a replication's goroutine: connect to the source, set
// up, report, then drive the replication until it ends or is stopped. The
// source client has no Invoke: the server's driver runs elsewhere, and the
// replication's blocking calls to the source wait on this goroutine only.
func (s *ControlServer) runReplication(sr *serverReplication) {
	defer s.replWG.Done()
	q := sr.req
	src, err := ConnectRemote(RemoteArchiveConfig{Driver: s.d, RequestChannel: q.SourceChannel, RequestStreamID: q.SourceStreamID,
		ResponseChannel: q.ReplayChannel, ResponseStreamID: ReplicationResponseStreamID,
		Timeout: s.replTimeout, Clock: s.clock})
	if err != nil {
		s.replEvents <- replicationEvent{id: sr.id, setup: true,
			err: fmt.Errorf("archive: replicate: source %s stream %d: %w", q.SourceChannel, q.SourceStreamID, err)}
		return
	}
	defer src.Close()
	r, err := ReplicateRemote(RemoteReplicationParams{Source: src, SourceRecordingID: q.SourceRecordingID,
		Destination: s.a, DestinationRecordingID: q.DestinationRecordingID, Driver: s.d,
		ReplayChannel: q.ReplayChannel, Follow: q.Follow, LiveChannel: q.LiveChannel})
	s.replEvents <- replicationEvent{id: sr.id, setup: true, err: err}
	if err != nil {
		return
	}
	idle := transport.NewBackoffIdleStrategy()
	for !r.Done() {
		select {
		case <-sr.stop:
			r.OnClose()
		default:
			idle.Idle(r.DoWork(s.clock()))
		}
	}
	s.replEvents <- replicationEvent{id: sr.id, err: r.Err()}
}

// pollReplications takes in the replications' reports: answers the
// Replicate requests whose setup is over, counts the ended replications.
func (s *ControlServer) pollReplications() int {
	work := 0
	for {
		select {
		case ev := <-s.replEvents:
			work++
			s.onReplicationEvent(ev)
		default:
			return work
		}
	}
}

func (s *ControlServer) onReplicationEvent(ev replicationEvent) {
	sr, ok := s.replications[ev.id]
	if !ok {
		return
	}
	if ev.setup {
		sr.started = ev.err == nil
		if cs, ok := s.sessions[sr.sessionID]; ok {
			s.respond(cs, sr.correlationID, sr.id, ev.err)
		}
		if ev.err == nil {
			return
		}
	}
	delete(s.replications, ev.id)
	switch {
	case ev.err == nil:
		s.replCounts.completed.Add(1)
	case errors.Is(ev.err, ErrClosed):
		s.replCounts.stopped.Add(1)
	default:
		s.replCounts.failed.Add(1)
		if sr.started {
			s.a.errorsCounter.Increment() // a setup failure is the requester's to handle
		}
	}
}

// closeReplications stops every replication and waits for their goroutines.
func (s *ControlServer) closeReplications() {
	for _, sr := range s.replications {
		sr.stopOnce.Do(func() { close(sr.stop) })
	}
	s.replWG.Wait()
	s.pollReplications()
}
