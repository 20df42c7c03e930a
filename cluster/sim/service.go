package sim

import (
	"encoding/binary"
	"io"

	"venue/cluster"
)

// Service behaviour, so that every container feature runs under faults.
const (
	serviceTimerEvery   = 16        // schedule a timer every this many messages
	serviceTimerDelayNs = 5_000_000 // timers fire this long after the message
	serviceOfferEvery   = 32        // offer a service message every this many
)

// digestService is the simulated application: a ClusteredService whose state
// is a digest of every callback it received. It acknowledges each client
// message on the session's egress (which reaches the client only from the
// leader), schedules timers and offers service messages into the log.
type digestService struct {
	m      *member
	c      cluster.Cluster
	digest uint64
	msgs   int
	fired  map[int64]bool
	// terminated is set by OnTerminate.
	terminated bool
}

func newDigestService(m *member) *digestService {
	return &digestService{m: m, fired: map[int64]bool{}}
}

// fold mixes values into the digest (FNV-1a over their bytes) and reports
// the digest at the current log position to the checker.
func (s *digestService) fold(kind byte, vals ...int64) {
	h := s.digest ^ uint64(kind)
	for _, v := range vals {
		for i := range 8 {
			h ^= uint64(byte(v >> (8 * i)))
			h *= 1099511628211
		}
	}
	s.digest = h
	s.m.sim.check.onServiceApply(s.m, s.c.LogPosition(), s.digest)
}

func (s *digestService) OnStart(c cluster.Cluster, _ io.Reader) error {
	s.c = c
	return nil
}

func (s *digestService) OnSessionOpen(cs cluster.ClientSession, ts int64) {
	s.fold('o', int64(cs.ID()), ts)
}

func (s *digestService) OnSessionClose(cs cluster.ClientSession, ts int64, r cluster.CloseReason) {
	s.fold('c', int64(cs.ID()), ts, int64(r))
}

func (s *digestService) OnSessionMessage(cs cluster.ClientSession, ts int64, pos cluster.Position, p []byte) {
	if cs == nil { // a service message
		s.fold('s', ts, int64(pos), int64(len(p)))
		return
	}
	corr := int64(binary.LittleEndian.Uint64(p))
	s.fold('m', int64(cs.ID()), ts, int64(pos), corr)
	cs.Offer(p[:8])
	s.msgs++
	if s.msgs%serviceTimerEvery == 0 {
		_ = s.c.ScheduleTimer(corr, ts+serviceTimerDelayNs)
	}
	if s.msgs%serviceOfferEvery == 0 {
		s.c.Offer([]byte("service message"))
	}
}

func (s *digestService) OnTimerEvent(corr int64, ts int64) {
	if s.fired[corr] {
		s.m.sim.fail(failSafety, "member %d: timer %d fired twice", s.m.id, corr)
	}
	s.fired[corr] = true
	s.fold('t', corr, ts)
}

func (s *digestService) OnTakeSnapshot(io.Writer) error { return nil }
func (s *digestService) OnRoleChange(cluster.Role)      {}
func (s *digestService) OnTerminate(cluster.Cluster)    { s.terminated = true }

// egressTo implements container.Egress for a member: an ack to the client.
type egressTo struct{ m *member }

// Send implements container.Egress.
func (e egressTo) Send(_ cluster.SessionID, payload []byte) cluster.OfferStatus {
	m := e.m
	m.sim.net.send(m.sim.nowNs, &packet{kind: kindEgress, from: m.id, to: clientID,
		egress: egress{correlation: int64(binary.LittleEndian.Uint64(payload))}})
	return cluster.OfferOK
}
