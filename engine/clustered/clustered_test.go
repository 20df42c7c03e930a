package clustered

import (
	"bytes"
	"testing"

	"venue/cluster"
	"venue/engine"
)

// fakeCluster is a cluster.Cluster for one service, driven by the test.
type fakeCluster struct {
	pos      cluster.Position
	now      int64
	timers   map[int64]int64
	sessions map[cluster.SessionID]*fakeSession
}

func (f *fakeCluster) MemberID() cluster.MemberID      { return 0 }
func (f *fakeCluster) Role() cluster.Role              { return 0 }
func (f *fakeCluster) TimeNs() int64                   { return f.now }
func (f *fakeCluster) LogPosition() cluster.Position   { return f.pos }
func (f *fakeCluster) ScheduleTimer(id, d int64) error { f.timers[id] = d; return nil }
func (f *fakeCluster) CancelTimer(id int64) bool {
	_, ok := f.timers[id]
	delete(f.timers, id)
	return ok
}
func (f *fakeCluster) Session(id cluster.SessionID) (cluster.ClientSession, bool) {
	s, ok := f.sessions[id]
	return s, ok
}
func (f *fakeCluster) CloseSession(cluster.SessionID) bool { return false }
func (f *fakeCluster) Offer([]byte) (cluster.Position, cluster.OfferStatus) {
	return 0, cluster.OfferOK
}

type fakeSession struct {
	id        cluster.SessionID
	principal string
	got       [][]byte
}

func (s *fakeSession) ID() cluster.SessionID { return s.id }
func (s *fakeSession) Principal() []byte     { return []byte(s.principal) }
func (s *fakeSession) Offer(p []byte) cluster.OfferStatus {
	s.got = append(s.got, append([]byte(nil), p...))
	return cluster.OfferOK
}

func newFake() *fakeCluster {
	return &fakeCluster{timers: map[int64]int64{}, sessions: map[cluster.SessionID]*fakeSession{}}
}

func (f *fakeCluster) open(svc *Service, id cluster.SessionID, principal string) *fakeSession {
	s := &fakeSession{id: id, principal: principal}
	f.sessions[id] = s
	f.pos += 64
	svc.OnSessionOpen(s, f.now)
	return s
}

func (f *fakeCluster) send(svc *Service, s *fakeSession, msg []byte) {
	f.pos += 128
	svc.OnSessionMessage(s, f.now, f.pos, msg)
}

func TestServiceRoutesReportsAndReschedulesTimersAfterRestart(t *testing.T) {
	f := newFake()
	svc, err := New(engine.Config{BootstrapAdmin: "ADMIN"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.OnStart(f, nil); err != nil {
		t.Fatal(err)
	}
	admin := f.open(svc, 1, "ADMIN")
	msg, m := engine.AppendAddInstrument(nil)
	m.SetInstrument(1)
	m.SetSymbol("ALPHA")
	m.SetTickSize(1)
	m.SetLotSize(1)
	m.SetState(engine.TradingStateOpen)
	f.send(svc, admin, msg)
	msg, st := engine.AppendSetTradingState(nil)
	st.SetInstrument(1)
	st.SetState(engine.TradingStateClosed)
	st.SetEffectiveTime(5000)
	f.send(svc, admin, msg)
	if len(admin.got) != 2 || f.timers[1] != 5000 {
		t.Fatalf("acks %d, timers %v", len(admin.got), f.timers)
	}

	var snap bytes.Buffer
	if err := svc.OnTakeSnapshot(&snap); err != nil {
		t.Fatal(err)
	}
	f2 := newFake()
	svc2, _ := New(engine.Config{BootstrapAdmin: "ADMIN"})
	if err := svc2.OnStart(f2, bytes.NewReader(snap.Bytes())); err != nil {
		t.Fatal(err)
	}
	if f2.timers[1] != 5000 {
		t.Fatalf("pending timer not rescheduled: %v", f2.timers)
	}
	if svc2.Engine().Digest() != svc.Engine().Digest() {
		t.Fatal("digest changed across the snapshot")
	}
	f2.pos, f2.now = 10_000, 5000
	svc2.OnTimerEvent(1, 5000)
	if err := svc2.Engine().Check(); err != nil {
		t.Fatal(err)
	}
	if err := svc2.OnStart(f2, bytes.NewReader(snap.Bytes()[:10])); err == nil {
		t.Fatal("a truncated snapshot was accepted")
	}
}
