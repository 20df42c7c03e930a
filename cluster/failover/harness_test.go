package failover

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"venue/cluster/config"
	"venue/cluster/consensus"
)

// Test bounds: every wait has a deadline, far above what a loaded 2-core
// machine needs, so that only a real failure ends a test by time.
const (
	testWait     = 30 * time.Second
	testRate     = 1000 // messages per second
	testSize     = 32
	testRunShort = 300 * time.Millisecond
)

// testCluster is a cluster of test members (this binary re-executed).
type testCluster struct {
	t     *testing.T
	dir   string
	procs *Procs
	modes map[consensus.MemberID]string
}

// startTestCluster starts members test members and waits for a leader.
func startTestCluster(t *testing.T, members int) *testCluster {
	t.Helper()
	return startTestClusterIn(t, members, modeNormal)
}

// startTestClusterIn is startTestCluster with every member started in
// mode.
func startTestClusterIn(t *testing.T, members int, mode string) *testCluster {
	t.Helper()
	if testing.Short() {
		t.Skip("starts member processes")
	}
	tc := &testCluster{t: t, dir: t.TempDir(), modes: map[consensus.MemberID]string{}}
	for i := range members {
		tc.modes[consensus.MemberID(i)] = mode
	}
	procs, err := StartCluster(ClusterConfig{Members: members, Dir: tc.dir, Command: tc.command, Control: true})
	if err != nil {
		t.Fatal(err)
	}
	tc.procs = procs
	t.Cleanup(func() {
		procs.Close()
		if t.Failed() {
			tc.dumpLogs()
		}
	})
	return tc
}

// testCommand runs member id as this test binary in mode(id).
func testCommand(mode func(consensus.MemberID) string) Command {
	return func(configPath string, id consensus.MemberID) *exec.Cmd {
		exe, err := os.Executable()
		if err != nil {
			exe = os.Args[0]
		}
		cmd := exec.Command(exe)
		// Under -race a member would sleep a second at exit
		// (atexit_sleep_ms): every stop would cost that.
		gorace := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%d|%s", childEnv, configPath, id, mode(id)), "GORACE="+gorace)
		return cmd
	}
}

func (tc *testCluster) command(configPath string, id consensus.MemberID) *exec.Cmd {
	return testCommand(tc.mode)(configPath, id)
}

func (tc *testCluster) mode(id consensus.MemberID) string {
	if m, ok := tc.modes[id]; ok {
		return m
	}
	return modeNormal
}

func (tc *testCluster) dumpLogs() {
	for i := range tc.procs.Members() {
		b, err := os.ReadFile(tc.procs.LogPath(consensus.MemberID(i)))
		if err != nil {
			continue
		}
		if len(b) > 8<<10 {
			b = b[len(b)-8<<10:]
		}
		tc.t.Logf("member %d output (tail):\n%s", i, b)
	}
}

// load connects a Load and starts it.
func (tc *testCluster) load() *Load {
	tc.t.Helper()
	l, err := NewLoad(LoadConfig{Ingress: tc.procs.Ingress(), Rate: testRate, Size: testSize,
		Window: tc.cluster().SessionIngressLimit, Trace: tc.t.Logf})
	if err != nil {
		tc.t.Fatal(err)
	}
	tc.t.Cleanup(l.Close)
	l.Start()
	return l
}

func (tc *testCluster) run(l *Load, d time.Duration) {
	tc.t.Helper()
	if err := l.RunFor(d); err != nil {
		tc.t.Fatal(err)
	}
}

// until steps l until cond holds.
func (tc *testCluster) until(l *Load, what string, cond func() bool) {
	tc.t.Helper()
	if err := l.RunUntil(testWait, cond); err != nil {
		tc.t.Fatalf("%s: %v (%s)", what, err, tc.procs.Describe())
	}
}

// leader steps l until the running members agree on a leader.
func (tc *testCluster) leader(l *Load) MemberView {
	tc.t.Helper()
	var v MemberView
	tc.until(l, "leader", func() bool {
		var ok bool
		v, ok = tc.procs.Leader()
		return ok
	})
	return v
}

// follower returns a running member other than the leader.
func (tc *testCluster) follower(l *Load) consensus.MemberID {
	ld := tc.leader(l)
	for i := range tc.procs.Members() {
		if id := consensus.MemberID(i); id != ld.ID && tc.procs.Running(id) {
			return id
		}
	}
	tc.t.Fatal("no follower running")
	return 0
}

func (tc *testCluster) kill(id consensus.MemberID) {
	tc.t.Helper()
	if _, err := tc.procs.Kill(id); err != nil {
		tc.t.Fatal(err)
	}
}

func (tc *testCluster) start(id consensus.MemberID) {
	tc.t.Helper()
	if err := tc.procs.Start(id); err != nil {
		tc.t.Fatal(err)
	}
}

// restartCaughtUp starts member id and steps l until it has applied what
// the leader had committed when it started.
func (tc *testCluster) restartCaughtUp(l *Load, id consensus.MemberID) {
	tc.t.Helper()
	commit := tc.leader(l).Commit
	tc.start(id)
	tc.until(l, fmt.Sprintf("member %d catching up to %d", id, commit), func() bool {
		return tc.procs.CaughtUp(id, commit)
	})
}

// restartAll stops every member (SIGTERM) and starts them again, then steps
// l until the client follows the new leader (its NewLeader event arrived:
// offering before it would hit TestRegressionNewLeaderAcceptsGap).
func (tc *testCluster) restartAll(l *Load, between func()) {
	tc.t.Helper()
	l.Pause()
	l.Watch()
	if err := tc.procs.StopAll(); err != nil {
		tc.t.Fatal(err)
	}
	if between != nil {
		between()
	}
	for i := range tc.procs.Members() {
		tc.start(consensus.MemberID(i))
	}
	tc.followNewLeader(l)
}

// followNewLeader steps l until a NewLeader event arrived since l.Watch and
// the client follows the leader the members agree on.
func (tc *testCluster) followNewLeader(l *Load) {
	tc.t.Helper()
	tc.until(l, "the client following the new leader", func() bool {
		v, ok := tc.procs.Leader()
		_, newLeader := l.Watched()
		return ok && l.Leader() == v.ID && newLeader != 0
	})
}

// snapshot asks the leader for a snapshot and waits until every running
// member has taken it; it returns its position.
func (tc *testCluster) snapshot(l *Load) consensus.Position {
	tc.t.Helper()
	var pos consensus.Position
	tc.until(l, "snapshot", func() bool {
		ld, ok := tc.procs.Leader()
		if !ok {
			return false
		}
		r, err := tc.procs.Request(ld.ID, "snapshot", testWait)
		if err != nil {
			tc.t.Fatal(err)
		}
		if r == "not-leader" {
			return false
		}
		p, ok := strings.CutPrefix(r, "ok ")
		if !ok {
			tc.t.Fatalf("snapshot: member %d answered %q", ld.ID, r)
		}
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			tc.t.Fatalf("snapshot: member %d answered %q", ld.ID, r)
		}
		pos = consensus.Position(n)
		return true
	})
	tc.until(l, fmt.Sprintf("every member's snapshot at %d", pos), func() bool {
		vs := tc.procs.Views()
		for _, v := range vs {
			if v.LastSnapshot < pos {
				return false
			}
		}
		return len(vs) == tc.procs.Members()
	})
	return pos
}

// recovered asks member id which snapshot it started from.
func (tc *testCluster) recovered(id consensus.MemberID) consensus.Position {
	tc.t.Helper()
	r, err := tc.procs.Request(id, "recovered", testWait)
	if err != nil {
		tc.t.Fatal(err)
	}
	p, ok := strings.CutPrefix(r, "recovered ")
	n, err := strconv.ParseInt(p, 10, 64)
	if !ok || err != nil {
		tc.t.Fatalf("member %d answered %q", id, r)
	}
	return consensus.Position(n)
}

// same drains l and steps it until every member runs and all have applied
// the same committed log to the same echo state, which it returns.
func (tc *testCluster) same(l *Load) MemberView {
	tc.t.Helper()
	if err := l.Drain(testWait); err != nil {
		tc.t.Fatal(err)
	}
	var s MemberView
	tc.until(l, "every member in the same state", func() bool {
		if _, ok := tc.procs.quiescent(); !ok {
			return false
		}
		vs := tc.procs.Views()
		s = vs[0]
		for _, v := range vs {
			if !v.HasEcho || v.Applied != s.Applied || v.EchoApplied != s.EchoApplied || v.EchoDigest != s.EchoDigest {
				return false
			}
		}
		return len(vs) == tc.procs.Members()
	})
	return s
}

// finish closes l's session, waits for the members to apply it, stops them
// and audits the logs against what l saw: nothing acknowledged lost,
// nothing twice, every member's committed log the same.
func (tc *testCluster) finish(l *Load) Safety {
	tc.t.Helper()
	tc.same(l)
	session := consensus.SessionID(l.SessionID())
	l.Close()
	committed, err := tc.procs.WaitQuiescent(testWait)
	if err != nil {
		tc.t.Fatal(err)
	}
	if err := tc.procs.StopAll(); err != nil {
		tc.t.Fatal(err)
	}
	s, err := CheckLoad(tc.procs.Dirs(), l, session, committed)
	if err != nil {
		tc.t.Fatal(err)
	}
	if err := s.Check(); err != nil {
		tc.t.Fatalf("%v (hand-back reasons %v)", err, l.Reasons())
	}
	if s.Short != 0 {
		tc.t.Fatalf("%d members' logs end before the committed position %d", s.Short, committed)
	}
	st := l.Stats()
	if st.Acked == 0 || st.Mismatch != 0 {
		tc.t.Fatalf("load: %+v", st)
	}
	tc.t.Logf("load %+v; audit %+v", st, s)
	return s
}

// cluster returns the cluster the members run.
func (tc *testCluster) cluster() config.Cluster { return tc.procs.Cluster() }
