package member

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"venue/archive"
	"venue/cluster/consensus"
	"venue/cluster/logstore"
)

// sendSized has every payload of n echoed, each size bytes long (so the
// log fills segments quickly).
func sendSized(t *testing.T, tc *testCluster, tag string, n, size int) {
	t.Helper()
	c, _ := newClient(t, tc)
	r := &recorder{resend: true}
	for i := range n {
		p := fmt.Appendf(nil, "%s%d:", tag, i)
		r.todo = append(r.todo, append(p, make([]byte, size-len(p))...))
	}
	pollUntil(t, c, r, "echoes", func() bool {
		for len(r.todo) > 0 {
			if _, err := c.Offer(r.todo[0]); err != nil {
				break
			}
			r.todo = r.todo[1:]
		}
		c.Poll(r, 0)
		return len(r.todo) == 0 && len(r.got) == n && c.Outstanding() == 0
	})
}

// snapshotEverywhere asks the leader for a snapshot and waits until every
// running member has taken it.
func snapshotEverywhere(t *testing.T, dc *diskCluster) consensus.Position {
	t.Helper()
	all := make([]int, len(dc.members))
	for i := range all {
		all[i] = i
	}
	return snapshotOn(t, dc, all)
}

// snapshotOn asks the leader for a snapshot and waits until members have
// taken it.
func snapshotOn(t *testing.T, dc *diskCluster, members []int) consensus.Position {
	t.Helper()
	var p consensus.Position
	for {
		var err error
		if p, err = dc.members[dc.leader(t)].Snapshot(); err == nil {
			break
		} else if !errors.Is(err, ErrNotLeader) {
			t.Fatal(err)
		}
	}
	for _, i := range members {
		await(t, fmt.Sprintf("member %d snapshot at %d", i, p), func() bool {
			_, _, failed, last := dc.members[i].SnapshotStats()
			if failed != 0 {
				t.Fatalf("member %d: %d snapshots failed", i, failed)
			}
			return last >= p
		})
	}
	return p
}

// purgedCluster is 3 members with small log segments that keep one
// snapshot each, after enough load and two snapshots that every member's
// log starts past 0; it returns the cluster and the snapshot position.
func purgedCluster(t *testing.T, pad int) (*diskCluster, consensus.Position) {
	dc := startSmallLogCluster(t, pad)
	sendSized(t, dc.testCluster, "a", 200, 1000)
	snapshotEverywhere(t, dc)
	sendSized(t, dc.testCluster, "b", 100, 1000)
	p := snapshotEverywhere(t, dc)
	dc.awaitPurged(t, 0, 1, 2)
	return dc, p
}

// startSmallLogCluster starts 3 members with small log segments that keep
// one snapshot each (so that a snapshot soon purges log), the service
// snapshots padded by pad bytes.
func startSmallLogCluster(t *testing.T, pad int) *diskCluster {
	dc := &diskCluster{testCluster: &testCluster{peers: &memPeers{inbox: map[consensus.MemberID][][]byte{},
		down: map[consensus.MemberID]bool{}}}, segmentLength: 64 << 10, snapshotKeep: 1, snapshotPad: pad}
	root := t.TempDir()
	for i := range 3 {
		dc.ingress = append(dc.ingress, freePort(t))
		dc.dirs = append(dc.dirs, fmt.Sprintf("%s/member-%d", root, i))
		dc.members, dc.drivers = append(dc.members, nil), append(dc.drivers, nil)
		dc.lstores, dc.services = append(dc.lstores, nil), append(dc.services, nil)
	}
	dc.startAll(t)
	t.Cleanup(dc.stopAll)
	return dc
}

// awaitPurged waits until members' logs start past 0.
func (dc *diskCluster) awaitPurged(t *testing.T, members ...int) {
	for _, i := range members {
		await(t, fmt.Sprintf("member %d purges its log", i), func() bool {
			var start consensus.Position
			dc.members[i].do(func(int64) { start = dc.lstores[i].Start() })
			return start > 0
		})
	}
}

// wipe stops member i and deletes its data directory.
func (dc *diskCluster) wipe(t *testing.T, i int) {
	dc.stopOne(i)
	if err := os.RemoveAll(dc.dirs[i]); err != nil {
		t.Fatal(err)
	}
}

// awaitApplied waits until every running member's echo has applied n.
func (dc *diskCluster) awaitApplied(t *testing.T, n int) {
	for i := range dc.members {
		await(t, fmt.Sprintf("member %d applies %d", i, n), func() bool { return dc.appliedOf(i) == n })
	}
}

// TestWipedFollowerInstallsSnapshot: 3 members snapshot and purge their
// logs; a follower whose data directory is wiped rejoins by installing the
// leader's snapshot, reaches the others' state, and follows new commits;
// after a restart it recovers from the installed snapshot.
func TestWipedFollowerInstallsSnapshot(t *testing.T) {
	dc, p := purgedCluster(t, 40_000) // a snapshot of 3 chunks
	f := (dc.leader(t) + 1) % 3
	dc.wipe(t, f)
	dc.startOne(t, f)
	await(t, "snapshot installed", func() bool { return dc.members[f].TransferStats().Installed == 1 })
	if last := consensus.Position(dc.members[f].lastSnapshotPosition.Load()); last < p {
		t.Fatalf("installed snapshot at %d, the cluster's is at %d", last, p)
	}
	sendSized(t, dc.testCluster, "c", 20, 100)
	dc.awaitApplied(t, 320)
	var starts int
	dc.members[f].do(func(int64) { starts = dc.services[f].starts })
	if !dc.services[f].restored || starts != 1 {
		t.Fatalf("the service started %d times, from a snapshot: %t", starts, dc.services[f].restored)
	}
	if st := dc.members[f].TransferStats(); st.Fetches != 1 || st.Abandoned != 0 {
		t.Fatalf("transfer stats %+v", st)
	}
	// It restarts from its own (installed) snapshot and log.
	dc.stopOne(f)
	dc.startOne(t, f)
	sendSized(t, dc.testCluster, "d", 5, 100)
	dc.awaitApplied(t, 325)
	if st := dc.members[f].TransferStats(); st.Fetches != 0 || !dc.services[f].restored {
		t.Fatalf("after restart: transfer stats %+v, restored %t", st, dc.services[f].restored)
	}
}

// TestInstallAbortedMidTransferLeavesNoSnapshot: the chunks after the
// first are lost, so the transfer stalls; the member is stopped in the
// middle of it. Its store holds no snapshot and an empty log. Once the
// network heals, a restart installs the snapshot.
func TestInstallAbortedMidTransferLeavesNoSnapshot(t *testing.T) {
	dc, _ := purgedCluster(t, 40_000)
	f := (dc.leader(t) + 1) % 3
	dc.wipe(t, f)
	dc.peers.mu.Lock()
	dc.peers.drop = func(_, to consensus.MemberID, msg []byte) bool {
		var m consensus.Message
		return to == consensus.MemberID(f) && consensus.DecodeMessage(msg, &m) == nil &&
			m.Type == consensus.MsgSnapshotChunk && m.Offset > 0
	}
	dc.peers.mu.Unlock()
	leader := dc.leader(t)
	dc.startOne(t, f)
	await(t, "chunks served and lost", func() bool { return dc.members[leader].TransferStats().ChunksServed >= 4 })
	if st := dc.members[f].TransferStats(); st.Installed != 0 || st.Fetches == 0 {
		t.Fatalf("transfer stats %+v", st)
	}
	dc.stopOne(f)
	st, err := logstore.Open(logstore.Config{Dir: dc.dirs[f], Fsync: archive.FsyncData})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := st.RecoveryPlan(snapshotServiceID)
	snaps := st.RecordingLog().Snapshots()
	end := st.End()
	st.Close()
	if err != nil || len(plan.Snapshots) != 0 || len(snaps) != 0 || end != 0 {
		t.Fatalf("after an aborted transfer: plan %+v err %v, %d snapshot records, log end %d", plan, err, len(snaps), end)
	}
	dc.peers.mu.Lock()
	dc.peers.drop = nil
	dc.peers.mu.Unlock()
	dc.startOne(t, f)
	await(t, "snapshot installed", func() bool { return dc.members[f].TransferStats().Installed == 1 })
	sendSized(t, dc.testCluster, "c", 10, 100)
	dc.awaitApplied(t, 310)
}

// TestPurgeAppliesRetentionNow: members that kept 3 snapshots restart
// keeping 1; nothing is purged until a snapshot, or until Purge applies
// the new retention at once.
func TestPurgeAppliesRetentionNow(t *testing.T) {
	dc := &diskCluster{testCluster: &testCluster{peers: &memPeers{inbox: map[consensus.MemberID][][]byte{},
		down: map[consensus.MemberID]bool{}}}, segmentLength: 64 << 10, snapshotKeep: 3}
	root := t.TempDir()
	for i := range 3 {
		dc.ingress = append(dc.ingress, freePort(t))
		dc.dirs = append(dc.dirs, fmt.Sprintf("%s/member-%d", root, i))
		dc.members, dc.drivers = append(dc.members, nil), append(dc.drivers, nil)
		dc.lstores, dc.services = append(dc.lstores, nil), append(dc.services, nil)
	}
	dc.startAll(t)
	t.Cleanup(dc.stopAll)
	for _, tag := range []string{"a", "b", "c"} {
		sendSized(t, dc.testCluster, tag, 100, 1000)
		snapshotEverywhere(t, dc)
	}
	starts := func() []consensus.Position {
		var out []consensus.Position
		for i := range dc.members {
			var s consensus.Position
			dc.members[i].do(func(int64) { s = dc.lstores[i].Start() })
			out = append(out, s)
		}
		return out
	}
	before := starts()
	dc.stopAll()
	dc.snapshotKeep = 1
	dc.startAll(t)
	dc.leader(t)
	if got := starts(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Fatalf("log starts moved from %v to %v without a purge", before, got)
	}
	for i := range dc.members {
		p, err := dc.members[i].Purge()
		if err != nil || p <= before[i] {
			t.Fatalf("member %d: purge: log starts at %d (was %d): %v", i, p, before[i], err)
		}
		var plan logstore.RecoveryPlan
		dc.members[i].do(func(int64) { plan, err = dc.lstores[i].RecoveryPlan(snapshotServiceID) }) // the store's writer goroutine
		if err != nil || plan.Position < p {
			t.Fatalf("member %d: recovery plan %+v after purge to %d: %v", i, plan, p, err)
		}
	}
	sendSized(t, dc.testCluster, "d", 10, 100)
	dc.awaitApplied(t, 310)
}

// TestControlPurgeWithoutSnapshotsFails: a member that keeps no snapshots
// answers a purge request with ToggleFailed.
func TestControlPurgeWithoutSnapshotsFails(t *testing.T) {
	cc := startControlCluster(t, 1)
	cc.leader(t)
	if got := cc.request(t, 0, TogglePurge); got != ToggleFailed {
		t.Fatalf("purge without snapshots: %s", got)
	}
}

// TestRunningFollowerLeftBehindRestartsToInstall: a follower whose service
// is running is cut off while the others snapshot and purge the log it
// would need. Healed, it installs the leader's snapshot, which its running
// service cannot load in place: it stops with ErrRestartToInstall (venue
// node then starts it again), and the restart reaches the others' state
// from the installed snapshot.
func TestRunningFollowerLeftBehindRestartsToInstall(t *testing.T) {
	dc := startSmallLogCluster(t, 0)
	sendSized(t, dc.testCluster, "a", 10, 100)
	dc.awaitApplied(t, 10) // every service has started
	f := (dc.leader(t) + 1) % 3
	setDown := func(down bool) {
		dc.peers.mu.Lock()
		dc.peers.down[consensus.MemberID(f)] = down
		dc.peers.mu.Unlock()
	}
	setDown(true)
	others := []int{(f + 1) % 3, (f + 2) % 3}
	for round := range 2 {
		sendSized(t, dc.testCluster, fmt.Sprintf("b%d", round), 100, 1000)
		snapshotOn(t, dc, others)
	}
	dc.awaitPurged(t, others...)
	setDown(false)
	await(t, "the follower stops to load the installed snapshot", func() bool {
		return errors.Is(dc.members[f].Err(), ErrRestartToInstall)
	})
	dc.stopOne(f)
	dc.startOne(t, f)
	sendSized(t, dc.testCluster, "c", 5, 100)
	dc.awaitApplied(t, 215)
	if !dc.services[f].restored {
		t.Fatal("the restarted follower did not start from the installed snapshot")
	}
}
