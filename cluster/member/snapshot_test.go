package member

import (
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"venue/archive"
	"venue/cluster/consensus"
	"venue/cluster/logstore"
	"venue/cluster/module"
	"venue/cluster/protocol"
	"venue/transport"
)

// diskCluster is a testCluster whose members keep their log, term and
// snapshots in log stores on disk, so that it can be stopped and started.
type diskCluster struct {
	*testCluster
	dirs     []string
	lstores  []*logstore.Store
	services []*echo
	// segmentLength (0: the default), snapshotKeep (0: the default) and
	// snapshotPad (extra service snapshot bytes) shape the members.
	segmentLength int64
	snapshotKeep  int
	snapshotPad   int
	// admins may make admin requests (the test client is "tester").
	admins []string
}

func startDiskCluster(t *testing.T, n int, admins ...string) *diskCluster {
	dc := &diskCluster{admins: admins, testCluster: &testCluster{peers: &memPeers{inbox: map[consensus.MemberID][][]byte{},
		down: map[consensus.MemberID]bool{}}}}
	root := t.TempDir()
	for i := range n {
		dc.ingress = append(dc.ingress, freePort(t))
		dc.dirs = append(dc.dirs, filepath.Join(root, fmt.Sprintf("member-%d", i)))
		dc.members = append(dc.members, nil)
		dc.drivers = append(dc.drivers, nil)
		dc.lstores = append(dc.lstores, nil)
		dc.services = append(dc.services, nil)
	}
	dc.startAll(t)
	t.Cleanup(dc.stopAll)
	return dc
}

func (dc *diskCluster) startAll(t *testing.T) {
	for i := range dc.members {
		dc.startOne(t, i)
	}
}

func (dc *diskCluster) startOne(t *testing.T, i int) {
	{
		st, err := logstore.Open(logstore.Config{Dir: dc.dirs[i], Fsync: archive.FsyncData,
			SegmentLength: dc.segmentLength})
		if err != nil {
			t.Fatal(err)
		}
		d, err := transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingInvoker})
		if err != nil {
			t.Fatal(err)
		}
		dc.services[i] = &echo{pad: dc.snapshotPad}
		m, err := Start(Config{
			Consensus:       testConsensusConfig(consensus.MemberID(i), len(dc.members)),
			Driver:          d,
			InvokeDriver:    true,
			Peers:           &memPeer{net: dc.peers, id: consensus.MemberID(i)},
			Store:           st,
			Hard:            st,
			OnLogAppended:   st.LogAppended,
			IngressEndpoint: dc.ingress[i],
			Sessions:        module.SessionConfig{AdminPrincipals: dc.admins},
			Service:         dc.services[i],
			Snapshots:       st,
			SnapshotKeep:    dc.snapshotKeep,
		})
		if err != nil {
			t.Fatal(err)
		}
		dc.members[i], dc.drivers[i], dc.lstores[i] = m, d, st
	}
}

func (dc *diskCluster) stopAll() {
	for i := range dc.members {
		dc.stopOne(i)
	}
}

func (dc *diskCluster) stopOne(i int) {
	if dc.members[i] != nil {
		dc.members[i].Close()
		dc.drivers[i].Close()
		dc.lstores[i].Close()
		dc.members[i] = nil
	}
}

// appliedOf reads member i's echo count on its goroutine.
func (dc *diskCluster) appliedOf(i int) int {
	var n int
	dc.members[i].Inspect(func(*module.Agent) { n = dc.services[i].applied })
	return n
}

func sendEchoes(t *testing.T, tc *testCluster, n int) {
	t.Helper()
	c, _ := newClient(t, tc)
	r := &recorder{resend: true}
	for i := range n {
		r.todo = append(r.todo, fmt.Appendf(nil, "m%d", i))
	}
	pollUntil(t, c, r, "echoes", func() bool {
		for len(r.todo) > 0 { // what a leader change handed back goes again
			if _, err := c.Offer(r.todo[0]); err != nil {
				break
			}
			r.todo = r.todo[1:]
		}
		c.Poll(r, 0)
		return len(r.todo) == 0 && len(r.got) == n && c.Outstanding() == 0
	})
}

// TestSnapshotThenWholeClusterRestart: a snapshot taken through the log on
// every member, more messages, then every member restarts from its
// snapshot plus the log after it, to the same state.
func TestSnapshotThenWholeClusterRestart(t *testing.T) {
	dc := startDiskCluster(t, 3)
	sendEchoes(t, dc.testCluster, 40)
	var p consensus.Position
	for { // leadership may move under a loaded machine: ask whoever leads now
		var err error
		if p, err = dc.members[dc.leader(t)].Snapshot(); err == nil {
			break
		} else if !errors.Is(err, ErrNotLeader) {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for i := range dc.members {
		for {
			taken, _, failed, last := dc.members[i].SnapshotStats()
			if failed != 0 {
				t.Fatalf("member %d: %d snapshots failed", i, failed)
			}
			if taken == 1 && last == p {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("member %d: snapshot at %d not taken (taken %d last %d)", i, p, taken, last)
			}
			time.Sleep(time.Millisecond) // poll interval
		}
	}
	sendEchoes(t, dc.testCluster, 25)
	dc.stopAll()
	dc.startAll(t)
	dc.leader(t)
	sendEchoes(t, dc.testCluster, 5)
	for i := range dc.members {
		deadline := time.Now().Add(10 * time.Second)
		for dc.appliedOf(i) != 70 {
			if time.Now().After(deadline) {
				t.Fatalf("member %d applied %d of 70", i, dc.appliedOf(i))
			}
			time.Sleep(time.Millisecond) // poll interval
		}
		if !dc.services[i].restored {
			t.Fatalf("member %d did not start from its snapshot", i)
		}
		if _, _, _, last := dc.members[i].SnapshotStats(); last != p {
			t.Fatalf("member %d recovered from %d, want %d", i, last, p)
		}
	}
}

// adminRecorder is a recorder that also takes admin responses.
type adminRecorder struct {
	recorder
	codes     []protocol.EventCode
	positions []int64
}

func (r *adminRecorder) OnAdminResponse(_ int64, code protocol.EventCode, position int64, _ string) {
	r.codes, r.positions = append(r.codes, code), append(r.positions, position)
}

// TestSnapshotByClientAdminRequest: a client whose principal may make admin
// requests asks for a snapshot; every member takes it at the position the
// leader answered with.
func TestSnapshotByClientAdminRequest(t *testing.T) {
	dc := startDiskCluster(t, 3, "tester")
	sendEchoes(t, dc.testCluster, 10)
	c, _ := newClient(t, dc.testCluster)
	r := &adminRecorder{}
	var p int64
	var asked time.Time
	pollUntil(t, c, &r.recorder, "the snapshot request is in the log", func() bool {
		c.Poll(r, 0)
		if n := len(r.codes); n > 0 && r.codes[n-1] == protocol.EventOK {
			p = r.positions[n-1]
			return true
		}
		// Ask, and again after a refusal (a leader change) or an answer
		// lost with one.
		if uint64(len(r.codes)) == c.Counters.AdminRequests || time.Since(asked) > time.Second {
			if _, err := c.RequestSnapshot(); err == nil {
				asked = time.Now()
			}
		}
		return false
	})
	deadline := time.Now().Add(10 * time.Second)
	for i := range dc.members {
		for {
			taken, _, failed, last := dc.members[i].SnapshotStats()
			if failed != 0 {
				t.Fatalf("member %d: %d snapshots failed", i, failed)
			}
			if taken == 1 && int64(last) == p {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("member %d: snapshot at %d not taken (taken %d last %d)", i, p, taken, last)
			}
			time.Sleep(time.Millisecond) // poll interval
		}
	}
}
