package failover

import (
	"bytes"
	"testing"
	"time"

	"venue/archive"
	"venue/cluster/clusterbench"
	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/cluster/logstore"
	"venue/cluster/member"
	"venue/cluster/module"
)

// launchSingle launches member id of cc in this process.
func launchSingle(t *testing.T, cc config.Cluster, id consensus.MemberID) (*member.Node, *CountingEcho) {
	t.Helper()
	echo, err := NewCountingEcho(nil, id)
	if err != nil {
		t.Fatal(err)
	}
	n, err := member.Launch(cc, id, echo, member.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return n, echo
}

// TestRegressionNewLeaderAcceptsGap: a leader that has just taken a session
// over (NewLeader sent, carrying the last correlation id the log holds)
// accepts the session's next message even though the ones between were
// lost with the old leader, so the session's messages reach the log out of
// order; the client, on receiving NewLeader, then hands back as "not in the
// log" messages that are in it (and were even echoed).
//
// Here: three members in this process, one of them down; the client keeps
// offering while the leader is stopped and started again. When the
// restarted member wins the election, the client's messages (still sent to
// it: the client has not heard of any other leader) reach its ingress while
// its NewLeader event waits for its new response publication to connect. A
// follower's redirect that reaches the client before the new leader's
// NewLeader event does the same with any new leader.
//
// Fixed (cluster/module + cluster/client): after becomeReady the leader
// treats each session as refusing (module: ss.refusing = true in
// becomeReady) until the client resynchronizes; the client, in
// onNewLeader, sets c.resync = c.nextCorr-1 and sends it (instead of
// resync = 0). As a safety net the leader proposes a session message only
// if its correlation id is proposedCorr+1, and refuses (in order) any
// other.
func TestRegressionNewLeaderAcceptsGap(t *testing.T) {
	const rounds = 5
	base, err := clusterbench.FreeBasePort(3)
	if err != nil {
		t.Fatal(err)
	}
	cc := config.Loopback(3, base, t.TempDir())
	nodes := make([]*member.Node, 3)
	defer func() {
		for _, n := range nodes {
			if n != nil {
				n.Close()
			}
		}
	}()
	for i := range nodes {
		nodes[i], _ = launchSingle(t, cc, consensus.MemberID(i))
	}
	leader := func() consensus.MemberID {
		for i, n := range nodes {
			if n != nil && n.Status().Role == consensus.RoleLeader {
				return consensus.MemberID(i)
			}
		}
		return consensus.NoMember
	}
	if err := PollUntil(testWait, func() bool { return leader() != consensus.NoMember }); err != nil {
		t.Fatal(err)
	}
	l, err := NewLoad(LoadConfig{Ingress: []string{cc.Members[0].Ingress, cc.Members[1].Ingress, cc.Members[2].Ingress},
		Rate: testRate, Size: testSize, Window: cc.SessionIngressLimit, Trace: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Start()
	if err := l.RunFor(testRunShort); err != nil {
		t.Fatal(err)
	}
	down := (leader() + 1) % 3
	nodes[down].Close()
	nodes[down] = nil
	for range rounds {
		var ld consensus.MemberID
		if err := l.RunUntil(testWait, func() bool { ld = leader(); return ld != consensus.NoMember && l.Leader() == ld }); err != nil {
			t.Fatal(err)
		}
		l.Watch()
		nodes[ld].Close()
		nodes[ld] = nil
		if err := l.RunFor(50 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
		nodes[ld], _ = launchSingle(t, cc, ld)
		if err := l.RunUntil(testWait, func() bool { _, nl := l.Watched(); return nl != 0 }); err != nil {
			t.Fatal(err)
		}
		if err := l.RunFor(testRunShort); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Drain(testWait); err != nil {
		t.Fatal(err)
	}
	var committed consensus.Position
	nodes[leader()].Inspect(func(a *module.Agent) { committed = a.Node().Status().Commit })
	for i, n := range nodes {
		if n != nil {
			n.Close()
			nodes[i] = nil
		}
	}
	s, err := CheckLoad([]string{member.DataDir(cc, 0), member.DataDir(cc, 1), member.DataDir(cc, 2)}, l,
		consensus.SessionID(l.SessionID()), committed)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestRegressionStatusAppliedLagsOneBatch: Member.Status().Applied (and
// module.Agent.Status) is the Ready's status, taken before the Ready's
// committed entries are applied, and a Ready is only produced when
// something else changes. A member that has applied its whole log keeps
// reporting the start of the last batch (up to 1 MiB of log behind) until
// the next message or commit: for ever on a quiet single-member cluster.
//
// Fixed (cluster/module): in Agent.processReady, after Advance, refresh
// a.status.Applied (a.status = a.node.Status(), or set Applied to
// rd.CommittedTo when the apply succeeded); or let consensus count an
// applied change as a status change.
func TestRegressionStatusAppliedLagsOneBatch(t *testing.T) {
	base, err := clusterbench.FreeBasePort(1)
	if err != nil {
		t.Fatal(err)
	}
	cc := config.Loopback(1, base, t.TempDir())
	end, err := BuildLog(member.DataDir(cc, 0), 30_000, testSize) // > 1 MiB: two apply batches
	if err != nil {
		t.Fatal(err)
	}
	n, _ := launchSingle(t, cc, 0)
	defer n.Close()
	err = PollUntil(testWait, func() bool {
		var st consensus.Status
		n.Inspect(func(a *module.Agent) { st = a.Node().Status() })
		return st.Applied >= end
	})
	if err != nil {
		t.Fatalf("the node never applied its log: %v", err)
	}
	if err := PollUntil(time.Second, func() bool { return n.Status().Applied >= end }); err != nil {
		t.Fatalf("the node applied up to %d, but Member.Status says %d", end, n.Status().Applied)
	}
}

// readSpy is a LogStore that records the longest single Read.
type readSpy struct {
	consensus.LogStore
	longest consensus.Position
}

func (s *readSpy) Read(from, to consensus.Position, buf []byte) ([]byte, error) {
	s.longest = max(s.longest, to-from)
	return s.LogStore.Read(from, to, buf)
}

type zeroRand struct{}

func (zeroRand) Uint64() uint64 { return 0 }

// TestRegressionNewNodeReadsWholeLastTerm: consensus.NewNode finds the last
// cluster time by reading the whole last term in one Read
// (scanLastTimestamp), and logstore.Store.Read allocates a buffer of that
// size for bytes outside the tail segment. A member that led one term for
// a day restarts by allocating the whole term (gigabytes); `venue bench
// recovery` spends part of its launch time there.
//
// Fixed (cluster/consensus): scan the last term in bounded chunks (as
// ScanEntries does, applyBatchBytesMax at a time), or take the last
// timestamp from the last entry alone: timestamps never decrease along the
// log, so the last entry holds the highest.
func TestRegressionNewNodeReadsWholeLastTerm(t *testing.T) {
	const readMax = 1 << 20 // the node's own apply batch bound
	mem := consensus.NewMemLogStore()
	entry := consensus.AppendEntry(nil, &consensus.LogEntry{Type: consensus.EntrySessionMessage, SessionID: 1,
		Payload: make([]byte, 1000)})
	var b []byte
	for len(b) < 4*readMax {
		b = append(b, entry...)
	}
	if err := mem.Append(1, b); err != nil {
		t.Fatal(err)
	}
	mem.Sync()
	spy := &readSpy{LogStore: mem}
	if _, err := consensus.NewNode(consensus.DefaultConfig(0, 3, zeroRand{}), spy,
		consensus.HardState{Term: 1, Vote: consensus.NoMember}, 0, 0); err != nil {
		t.Fatal(err)
	}
	if spy.longest > readMax {
		t.Fatalf("NewNode read %d bytes at once (the log is %d)", spy.longest, len(b))
	}
}

// purgedLog writes, in dir, term 1 of about 512 KiB of session messages in
// 64 KiB segments, a snapshot record at pos (about 300 KiB in), and
// purges the log below it, then appends more in term last (1 or above). It
// returns the open store and pos.
func purgedLog(t *testing.T, dir string, last consensus.TermID) (*logstore.Store, consensus.Position) {
	t.Helper()
	st, err := logstore.Open(logstore.Config{Dir: dir, Fsync: archive.FsyncNone, SegmentLength: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.SaveHardState(consensus.HardState{Term: last, Vote: 0}); err != nil {
		t.Fatal(err)
	}
	msg := consensus.AppendEntry(nil, &consensus.LogEntry{Type: consensus.EntrySessionMessage, SessionID: 1,
		Payload: make([]byte, 200)})
	nlte := consensus.AppendEntry(nil, &consensus.LogEntry{Type: consensus.EntryNewLeadershipTerm, TermID: 1})
	if err := st.Append(1, nlte); err != nil {
		t.Fatal(err)
	}
	chunk := bytes.Repeat(msg, 32<<10/len(msg)) // Append takes whole entries, at most a segment at a time
	var pos consensus.Position
	for st.End() < 512<<10 {
		if pos == 0 && st.End() >= 300<<10 {
			pos = st.End()
		}
		if err := st.Append(1, chunk); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.WriteSnapshot(logstore.SnapshotMeta{Term: 1, Position: pos}, bytes.NewReader([]byte("state"))); err != nil {
		t.Fatal(err)
	}
	if err := st.PurgeBefore(pos); err != nil {
		t.Fatal(err)
	}
	if st.Start() == 0 {
		t.Fatal("nothing purged")
	}
	if last > 1 {
		nlte := consensus.AppendEntry(nil, &consensus.LogEntry{Type: consensus.EntryNewLeadershipTerm, TermID: last,
			TermBase: st.End()})
		if err := st.Append(last, append(nlte, msg...)); err != nil {
			t.Fatal(err)
		}
	}
	return st, pos
}

// TestRegressionRestartAfterRetentionInsideTheLastTerm: once retention has
// purged log segments inside a member's last term (a leader that has led
// one term through a few snapshots: the usual case), the member cannot
// restart: consensus.NewNode reads the last term from its base
// (scanLastTimestamp), below the log's start, and fails with ErrPurged.
// Every member of a stable cluster shares that last term, so after the
// first purge no member can restart.
//
// Fixed (cluster/consensus): scan from max(term base, applied) (the snapshot
// position recovery passes in; timestamps never decrease along the log),
// in bounded chunks, and seed the cluster time with the snapshot's (the
// member's snapshot header holds it).
func TestRegressionRestartAfterRetentionInsideTheLastTerm(t *testing.T) {
	st, pos := purgedLog(t, t.TempDir(), 1)
	_, err := consensus.NewNode(consensus.DefaultConfig(0, 3, zeroRand{}), st,
		consensus.HardState{Term: 1, Vote: 0}, pos, 0)
	if err != nil {
		t.Fatalf("restart from the snapshot at %d (log start %d): %v", pos, st.Start(), err)
	}
}

// TestRegressionLeaderDiesShippingPurgedLog: a leader asked for log below its
// purged start (a follower that was down past retention, or one whose data
// directory was wiped once TestWipedMemberRejoins passes) fails for good:
// shipLog's Read returns ErrPurged, which the node takes for a store
// failure. One lagging follower stops the leader.
//
// Fixed (cluster/consensus, cluster/member): a follower whose next position
// is below the log's start needs the leader's snapshot first (install
// snapshot, Aeron's catch-up from the archive); until that exists, the
// leader must leave such a follower alone (count it, keep serving), not
// fail.
func TestRegressionLeaderDiesShippingPurgedLog(t *testing.T) {
	st, _ := purgedLog(t, t.TempDir(), 2)
	n, err := consensus.NewNode(consensus.DefaultConfig(0, 3, zeroRand{}), st,
		consensus.HardState{Term: 2, Vote: 0}, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var now int64
	step := func(m consensus.Message) {
		t.Helper()
		m.To = 0
		if err := n.Step(now, &m); err != nil {
			t.Fatalf("step %v: %v", m.Type, err)
		}
		for n.HasReady() {
			n.Advance(n.Ready())
		}
	}
	tick := func() error {
		now += 1_000_000
		err := n.Tick(now)
		for n.HasReady() {
			n.Advance(n.Ready())
		}
		return err
	}
	step(consensus.Message{Type: consensus.MsgCanvassPosition, From: 1, Term: 2})
	step(consensus.Message{Type: consensus.MsgCanvassPosition, From: 2, Term: 2})
	for range 10 {
		if err := tick(); err != nil {
			t.Fatal(err)
		}
	}
	if st := n.Status(); st.State != consensus.StateCandidateBallot {
		t.Fatalf("not a candidate: %+v", st)
	}
	step(consensus.Message{Type: consensus.MsgVote, From: 1, Term: n.Status().Term, Granted: true})
	if st := n.Status(); st.Role != consensus.RoleLeader {
		t.Fatalf("not the leader: %+v", st)
	}
	step(consensus.Message{Type: consensus.MsgCatchupPosition, From: 1, Term: n.Status().Term})
	if err := tick(); err != nil {
		t.Fatalf("the leader failed serving a follower at 0 (its log starts at %d): %v", st.Start(), err)
	}
}
