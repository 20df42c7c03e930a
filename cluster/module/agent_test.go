package module

import (
	"io"
	"slices"
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

// orderDurability models a store that writes when told (logstore
// DeferWrites): LogAppended makes everything appended durable.
type orderDurability struct {
	store  *consensus.MemLogStore
	events *[]string
}

func (o *orderDurability) SaveHardState(consensus.HardState) error { return nil }
func (o *orderDurability) LogAppended() {
	o.store.Sync()
	*o.events = append(*o.events, "written")
}

// orderTransport records what the agent sends, decoded.
type orderTransport struct {
	in     [][]byte // from member 0
	events *[]string
	acks   []consensus.Position
}

func (o *orderTransport) Send(_ consensus.MemberID, b []byte) bool {
	var m consensus.Message
	var dc consensus.DecodeCounters
	if dc.Decode(b, &m) == nil {
		*o.events = append(*o.events, "send "+m.Type.String())
		if m.Type == consensus.MsgAppendPosition {
			o.acks = append(o.acks, m.Position)
		}
	}
	return true
}

func (o *orderTransport) Poll(h func(consensus.MemberID, []byte), limit int) int {
	n := min(limit, len(o.in))
	for _, b := range o.in[:n] {
		h(0, b)
	}
	o.in = o.in[n:]
	return n
}

// readyLog records each Ready the agent completes.
type readyLog struct{ events *[]string }

func (r readyLog) OnReady(*consensus.Ready) { *r.events = append(*r.events, "ready") }

// TestAgentFollowerWritesBeforeItsReady: a follower whose store writes
// when told acknowledges an append in the first Ready of the duty cycle
// that received it, before that Ready applies the entries committed with
// it (the store is told before the Ready is taken), and the send flush
// runs right after the sends.
func TestAgentFollowerWritesBeforeItsReady(t *testing.T) {
	store := consensus.NewMemLogStore()
	node, err := consensus.NewNode(consensus.DefaultConfig(1, 3, &rnd{}), store,
		consensus.HardState{Vote: consensus.NoMember}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	c := container.New(1, nopService{}, nil)
	_ = c.Start(nil, 0)
	var events []string
	tr := &orderTransport{events: &events}
	a := New(node, c, tr, &orderDurability{store: store, events: &events}, readyLog{&events})
	a.SetSendFlush(func() { events = append(events, "flush") })
	enc := func(m consensus.Message) []byte { return consensus.AppendMessage(nil, &m) }
	tr.in = append(tr.in, enc(consensus.Message{Type: consensus.MsgNewLeadershipTerm, From: 0, Term: 1}))
	a.DoWork(1_000_000)
	first := consensus.AppendEntry(nil, &consensus.LogEntry{Type: consensus.EntryNewLeadershipTerm, TermID: 1,
		LeaderID: 0, Timestamp: 1})
	tr.in = append(tr.in, enc(consensus.Message{Type: consensus.MsgAppendLog, From: 0, Term: 1, LogTerm: 1,
		Data: first}))
	a.DoWork(2_000_000)
	p := consensus.Position(len(first))
	second := consensus.AppendEntry(nil, &consensus.LogEntry{Type: consensus.EntryTimer, CorrelationID: 9,
		Timestamp: 2})
	tr.in = append(tr.in,
		enc(consensus.Message{Type: consensus.MsgAppendLog, From: 0, Term: 1, LogTerm: 1, PrevLogTerm: 1,
			Position: p, Data: second}),
		enc(consensus.Message{Type: consensus.MsgCommitPosition, From: 0, Term: 1, Position: p}))
	events = events[:0]
	tr.acks = nil
	a.DoWork(3_000_000)
	if a.Err() != nil {
		t.Fatal(a.Err())
	}
	end := p + consensus.Position(len(second))
	if st := node.Status(); store.End() != end || st.Applied != p || len(tr.acks) == 0 || tr.acks[0] != end {
		t.Fatalf("end %d applied %d acks %v: want end and first ack %d, applied %d (events %v)",
			store.End(), st.Applied, tr.acks, end, p, events)
	}
	want := []string{"written", "send AppendPosition", "flush", "ready"}
	if len(events) < len(want) || !slices.Equal(events[:len(want)], want) {
		t.Fatalf("events %v: want them to start %v", events, want)
	}
}
