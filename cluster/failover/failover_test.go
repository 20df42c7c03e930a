package failover

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"venue/cluster/consensus"
	"venue/cluster/logstore"
)

// commitAfterKillMax is the bound: after kill -9 of the leader
// under load, a new leader commits within 1 s on loopback.
const commitAfterKillMax = time.Second

// TestKillLeaderUnderLoad: 3 members: kill -9 of the leader under load,
// twice (each time restarted and caught up); a new leader commits within
// 1 s, and no acknowledged message is lost or applied twice.
func TestKillLeaderUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts member processes")
	}
	tc := &testCluster{t: t, modes: map[consensus.MemberID]string{}}
	res, err := Run(Config{Members: 3, Kills: 2, Rate: testRate, Size: testSize, Settle: testRunShort,
		Command: tc.command, Control: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if err := res.Check(); err != nil {
		t.Fatal(err)
	}
	if res.Max > int64(commitAfterKillMax) || len(res.Samples) != 2 {
		t.Fatalf("kill to first commit: %v (max %v, want <= %v)", res.Samples, time.Duration(res.Max), commitAfterKillMax)
	}
	if res.Acked == 0 || res.Short != 0 || res.Leaders < 2 {
		t.Fatalf("acked %d, short members %d, new leader events %d", res.Acked, res.Short, res.Leaders)
	}
}

// TestFollowerRestartCatchesUp: 3 members: a follower killed under load
// and restarted catches up to the same state.
func TestFollowerRestartCatchesUp(t *testing.T) {
	tc := startTestCluster(t, 3)
	l := tc.load()
	tc.run(l, testRunShort)
	f := tc.follower(l)
	tc.kill(f)
	tc.run(l, testRunShort)
	tc.restartCaughtUp(l, f)
	tc.run(l, testRunShort)
	tc.finish(l)
}

// TestWholeClusterRestart: 3 members stopped together and started again
// rebuild the same state, by replaying the whole log or from a snapshot
// plus the log after it; the client's session carries on.
func TestWholeClusterRestart(t *testing.T) {
	for _, withSnapshot := range []bool{false, true} {
		name := map[bool]string{false: "replay", true: "snapshot"}[withSnapshot]
		t.Run(name, func(t *testing.T) {
			tc := startTestCluster(t, 3)
			l := tc.load()
			tc.run(l, testRunShort)
			var snap consensus.Position
			if withSnapshot {
				snap = tc.snapshot(l)
				tc.run(l, testRunShort)
			}
			before := tc.same(l)
			tc.restartAll(l, nil)
			for i := range tc.procs.Members() {
				if got := tc.recovered(consensus.MemberID(i)); got != snap {
					t.Fatalf("member %d recovered from snapshot %d, want %d", i, got, snap)
				}
			}
			after := tc.same(l)
			if after.EchoApplied != before.EchoApplied || after.EchoDigest != before.EchoDigest {
				t.Fatalf("state after restart %d/%x, before %d/%x", after.EchoApplied, after.EchoDigest,
					before.EchoApplied, before.EchoDigest)
			}
			l.Start()
			tc.run(l, testRunShort)
			tc.finish(l)
		})
	}
}

// TestInvalidatedSnapshotFallsBack: 3 members, two snapshots; the newest is
// marked invalid on one member while the cluster is down; that member
// recovers from the older one and reaches the same state.
func TestInvalidatedSnapshotFallsBack(t *testing.T) {
	tc := startTestCluster(t, 3)
	l := tc.load()
	tc.run(l, testRunShort)
	older := tc.snapshot(l)
	tc.run(l, testRunShort)
	newer := tc.snapshot(l)
	tc.same(l)
	const victim = consensus.MemberID(0)
	tc.restartAll(l, func() { invalidateSnapshotAt(t, tc.procs.DataDir(victim), newer) })
	for i := range tc.procs.Members() {
		want := newer
		if consensus.MemberID(i) == victim {
			want = older
		}
		if got := tc.recovered(consensus.MemberID(i)); got != want {
			t.Fatalf("member %d recovered from snapshot %d, want %d", i, got, want)
		}
	}
	l.Start()
	tc.run(l, testRunShort)
	tc.finish(l)
}

// invalidateSnapshotAt marks the snapshot at position invalid in the
// (stopped) member's recording log.
func invalidateSnapshotAt(t *testing.T, dir string, position consensus.Position) {
	t.Helper()
	st, err := logstore.Open(logstore.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, r := range st.RecordingLog().Snapshots() {
		if r.Position == position {
			if err := st.RecordingLog().InvalidateSnapshot(r.RecordingID); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("no snapshot at %d in %s", position, dir)
}

// TestWipedMemberRejoins: 3 members; a follower whose data directory is
// wiped rejoins and rebuilds the whole log from the leader (the leader's
// log was never purged: no snapshot, so no retention).
func TestWipedMemberRejoins(t *testing.T) {
	tc := startTestCluster(t, 3)
	l := tc.load()
	tc.run(l, 2*testRunShort)
	f := tc.follower(l)
	tc.kill(f)
	if err := os.RemoveAll(tc.procs.DataDir(f)); err != nil {
		t.Fatal(err)
	}
	tc.run(l, testRunShort)
	tc.restartCaughtUp(l, f)
	tc.run(l, testRunShort)
	tc.finish(l)
}

// TestWipedMemberRejoinsAfterPurge: 3 members with small log segments that
// keep one snapshot; after a snapshot every member's log starts past 0. A
// follower whose data directory is wiped then rejoins by installing the
// leader's snapshot and catching up from its position, to the same echo
// state as the others. (The log audit needs a whole log, which no member
// has any more: the members' states are compared instead.)
func TestWipedMemberRejoinsAfterPurge(t *testing.T) {
	tc := startTestClusterIn(t, 3, modeSmallLog)
	l := tc.load()
	tc.until(l, "three log segments", func() bool {
		v, ok := tc.procs.Leader()
		return ok && v.Commit > 3*smallLogSegmentLength
	})
	snap := tc.snapshot(l)
	for i := range tc.procs.Members() {
		tc.until(l, fmt.Sprintf("member %d purges its log", i), func() bool {
			return logStart(t, tc.procs.DataDir(consensus.MemberID(i))) > 0
		})
	}
	tc.run(l, testRunShort)
	f := tc.follower(l)
	tc.kill(f)
	if err := os.RemoveAll(tc.procs.DataDir(f)); err != nil {
		t.Fatal(err)
	}
	tc.run(l, testRunShort)
	tc.restartCaughtUp(l, f)
	tc.run(l, testRunShort)
	tc.same(l)
	l.Close()
	if err := tc.procs.StopAll(); err != nil {
		t.Fatal(err)
	}
	st, err := logstore.OpenReadOnly(tc.procs.DataDir(f), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	snaps := st.RecordingLog().Snapshots()
	if st.Start() < snap || len(snaps) == 0 || snaps[len(snaps)-1].Position < snap {
		t.Fatalf("member %d: log starts at %d with snapshots %+v; want an installed snapshot at or past %d",
			f, st.Start(), snaps, snap)
	}
}

// logStart returns where the log in dir starts (read-only; the member may
// run).
func logStart(t *testing.T, dir string) consensus.Position {
	t.Helper()
	st, err := logstore.OpenReadOnly(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	return st.Start()
}

// TestFollowerSeveralTermsBehind: 3 members; a follower is down while the
// leader is killed and restarted three times (three new terms), then comes
// back and catches up. The load pauses while the leader is down: a client
// offering to a restarted leader before its NewLeader event arrives hits
// TestRegressionNewLeaderAcceptsGap.
func TestFollowerSeveralTermsBehind(t *testing.T) {
	tc := startTestCluster(t, 3)
	l := tc.load()
	tc.run(l, testRunShort)
	behind := tc.follower(l)
	stale := tc.leader(l).Term
	tc.kill(behind)
	for range 3 {
		ld := tc.leader(l)
		if err := l.Drain(testWait); err != nil {
			t.Fatal(err)
		}
		l.Watch()
		tc.kill(ld.ID) // the last member alone has no majority until it is back
		tc.start(ld.ID)
		tc.until(l, "a new term", func() bool {
			v, ok := tc.procs.Leader()
			return ok && v.Term > ld.Term
		})
		tc.followNewLeader(l)
		l.Start()
		tc.run(l, testRunShort)
	}
	if now := tc.leader(l).Term; now < stale+3 {
		t.Fatalf("term %d, want at least %d", now, stale+3)
	}
	tc.restartCaughtUp(l, behind)
	tc.run(l, testRunShort)
	tc.finish(l)
}

// TestCrashDuringSnapshot: 3 members; a follower is killed while it writes
// a snapshot (its writer stalls halfway on purpose); restarted, it ignores
// the incomplete snapshot, recovers from the previous one and catches up.
func TestCrashDuringSnapshot(t *testing.T) {
	tc := startTestCluster(t, 3)
	l := tc.load()
	tc.run(l, testRunShort)
	first := tc.snapshot(l)
	f := tc.follower(l)
	tc.kill(f)
	tc.modes[f] = modeStallSnapshot
	tc.restartCaughtUp(l, f)
	if p, ok := tc.procs.Leader(); !ok {
		t.Fatal("no leader")
	} else if r, err := tc.procs.Request(p.ID, "snapshot", testWait); err != nil || !strings.HasPrefix(r, "ok ") {
		t.Fatalf("snapshot request: %q %v", r, err)
	}
	marker := filepath.Join(tc.procs.DataDir(f), stallMarker)
	tc.until(l, "the stalled snapshot", func() bool {
		_, err := os.Stat(marker)
		return err == nil
	})
	tc.kill(f)
	if err := os.Remove(marker); err != nil {
		t.Fatal(err)
	}
	tc.modes[f] = modeNormal
	tc.restartCaughtUp(l, f)
	if got := tc.recovered(f); got != first {
		t.Fatalf("member %d recovered from snapshot %d, want the complete one at %d", f, got, first)
	}
	tc.run(l, testRunShort)
	tc.finish(l)
}
