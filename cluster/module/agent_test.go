package module

import (
	"io"
	"testing"

	"venue/cluster"
	"venue/cluster/consensus"
	"venue/cluster/container"
)

type fakeTransport struct {
	in        [][2]any // from, bytes
	sent      int
	durable   *fakeDurability
	sentEarly bool // a message left before the hard state was saved
}

func (f *fakeTransport) Send(consensus.MemberID, []byte) bool {
	f.sent++
	if f.durable.hs.Term == 0 {
		f.sentEarly = true
	}
	return true
}
func (f *fakeTransport) Poll(h func(consensus.MemberID, []byte), limit int) int {
	n := min(limit, len(f.in))
	for _, m := range f.in[:n] {
		h(m[0].(consensus.MemberID), m[1].([]byte))
	}
	f.in = f.in[n:]
	return n
}

type fakeDurability struct {
	hs       consensus.HardState
	appended int
}

func (f *fakeDurability) SaveHardState(hs consensus.HardState) error { f.hs = hs; return nil }
func (f *fakeDurability) LogAppended()                               { f.appended++ }

type nopService struct{}

func (nopService) OnStart(cluster.Cluster, io.Reader) error                                { return nil }
func (nopService) OnSessionOpen(cluster.ClientSession, int64)                              {}
func (nopService) OnSessionClose(cluster.ClientSession, int64, cluster.CloseReason)        {}
func (nopService) OnSessionMessage(cluster.ClientSession, int64, cluster.Position, []byte) {}
func (nopService) OnTimerEvent(int64, int64)                                               {}
func (nopService) OnTakeSnapshot(io.Writer) error                                          { return nil }
func (nopService) OnRoleChange(cluster.Role)                                               {}
func (nopService) OnTerminate(cluster.Cluster)                                             {}

type rnd struct{ x uint64 }

func (r *rnd) Uint64() uint64 { r.x += 0x9e3779b97f4a7c15; return r.x }

// TestAgentSourceCheckAndVoteDurability: a message whose sender is not its
// transport source is dropped; a vote is saved before it is sent.
func TestAgentSourceCheckAndVoteDurability(t *testing.T) {
	node, err := consensus.NewNode(consensus.DefaultConfig(0, 3, &rnd{}), consensus.NewMemLogStore(),
		consensus.HardState{Vote: consensus.NoMember}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := container.New(0, nopService{}, nil)
	_ = c.Start(nil, 0)
	d := &fakeDurability{}
	tr := &fakeTransport{durable: d}
	a := New(node, c, tr, d, nil)
	vote := consensus.Message{Type: consensus.MsgRequestVote, From: 1, Term: 1}
	b := consensus.AppendMessage(nil, &vote)
	tr.in = append(tr.in, [2]any{consensus.MemberID(2), b}, [2]any{consensus.MemberID(1), b})
	a.DoWork(1_000_000)
	if a.WrongSource != 1 {
		t.Fatalf("wrong source %d, want 1", a.WrongSource)
	}
	if d.hs != (consensus.HardState{Term: 1, Vote: 1}) || tr.sent == 0 || tr.sentEarly {
		t.Fatalf("hard state %+v sent %d", d.hs, tr.sent)
	}
	if a.Err() != nil {
		t.Fatal(a.Err())
	}
}
