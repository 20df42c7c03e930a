package main

import (
	"bytes"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/transport"
)

// clusterTestWait bounds the waits of these tests.
const clusterTestWait = 20 * time.Second

// writeTestClusterFile writes a cluster file for n members on free
// loopback ports with data under a temporary directory.
func writeTestClusterFile(t *testing.T, n int) (string, config.Cluster) {
	t.Helper()
	dir := t.TempDir()
	c := config.Loopback(n, config.DefaultBasePort, dir)
	c.Fsync = config.FsyncNone
	var conns []net.PacketConn
	for i := range c.Members {
		m := &c.Members[i]
		for _, ep := range []*string{&m.Ingress, &m.Consensus, &m.Log, &m.Catchup, &m.Archive} {
			pc, err := net.ListenPacket("udp4", "127.0.0.1:0") // held until all are chosen: distinct
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, pc)
			*ep = pc.LocalAddr().String()
		}
	}
	for _, pc := range conns {
		pc.Close()
	}
	path := filepath.Join(dir, clusterFileName)
	if err := config.WriteFile(path, c); err != nil {
		t.Fatal(err)
	}
	return path, c
}

// startTestVenue runs the cluster's members in this process the way venue
// node does (engine service, counters file in each data directory).
func startTestVenue(t *testing.T, c config.Cluster) {
	t.Helper()
	vf := defaultVenueFile()
	vf.MarketData.Group = ""
	for i := range c.Members {
		id := consensus.MemberID(i)
		ctrs, err := openMemberCounters(c, id)
		if err != nil {
			t.Fatal(err)
		}
		vm, err := startVenueMember(c, vf, id, ctrs)
		if err != nil {
			ctrs.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() { // the member first: it writes to its counters
			vm.close()
			ctrs.Close()
		})
	}
}

// venueCluster runs `venue cluster` with args and returns its exit code and
// output.
func venueCluster(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := runMain(append([]string{"cluster"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestClusterCommandsAgainstRunningMembers(t *testing.T) {
	path, c := writeTestClusterFile(t, 3)
	startTestVenue(t, c)
	leader := -1
	deadline := time.Now().Add(clusterTestWait)
	for leader < 0 {
		for id := range c.Members {
			if code, _, _ := venueCluster("--config", path, "--id", fmt.Sprint(id), "is-leader"); code == 0 {
				leader = id
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no member says it leads")
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
	follower := (leader + 1) % 3
	code, out, errOut := venueCluster("is-leader", "--config", path, "--id", fmt.Sprint(follower))
	if code != 1 || !strings.Contains(errOut, "is not the leader") {
		t.Fatalf("is-leader on a follower: exit %d, %q %q", code, out, errOut)
	}
	// A loaded host can stall the leader past its heartbeat timeout, so a
	// table caught mid-election is asked again until one member leads.
	for {
		code, out, errOut = venueCluster("--config", path, "list-members")
		if code != 0 || strings.Count(out, "running (pid") != 3 {
			t.Fatalf("list-members: exit %d\n%s%s", code, out, errOut)
		}
		if strings.Contains(out, "leader") { // a role; the header says LEADER
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("list-members shows no leader:\n%s", out)
		}
		time.Sleep(10 * time.Millisecond) // poll interval
	}
	code, out, errOut = venueCluster("--config", path, "--timeout", clusterTestWait.String(), "snapshot")
	if code != 0 || strings.Count(out, "written") != 3 {
		t.Fatalf("snapshot: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = venueCluster("--config", path, "purge")
	if code != 0 || strings.Count(out, "log retention applied") != 3 {
		t.Fatalf("purge: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = venueCluster("--config", path, "--id", "2", "recording-log")
	if code != 0 || !strings.Contains(out, "member 2") || !strings.Contains(out, "1 snapshots") {
		t.Fatalf("recording-log: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = venueCluster("--config", path, "describe")
	if code != 0 || !strings.Contains(out, "commit position") || !strings.Contains(out, "snapshots taken") {
		t.Fatalf("describe: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = venueCluster("--config", path, "errors")
	if code != 0 || strings.Count(out, "0 errors (running)") != 3 {
		t.Fatalf("errors: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = venueCluster("--config", path, "--timeout", clusterTestWait.String(), "shutdown")
	if code != 0 || strings.Count(out, "stopped in order") != 3 {
		t.Fatalf("shutdown: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = venueCluster("--config", path, "recovery-plan")
	if code != 0 || strings.Count(out, "load snapshot at") != 3 {
		t.Fatalf("recovery-plan: exit %d\n%s%s", code, out, errOut)
	}
}

func TestClusterCommandsWithNothingRunning(t *testing.T) {
	path, c := writeTestClusterFile(t, 3)
	code, out, errOut := venueCluster("--config", path, "list-members")
	counters := filepath.Join(c.DataDir, "member-0", transport.CountersFileName)
	if code != 0 || !strings.Contains(out, "not running: no counters file "+counters) {
		t.Fatalf("list-members: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = venueCluster("--config", path, "--id", "1", "is-leader")
	if code != 1 || !strings.Contains(errOut, "not running") {
		t.Fatalf("is-leader: exit %d, %q", code, errOut)
	}
	code, _, errOut = venueCluster("--config", path, "--timeout", "50ms", "snapshot")
	if code != 1 || !strings.Contains(errOut, "no leader") || !strings.Contains(errOut, "no counters file") {
		t.Fatalf("snapshot: exit %d, %q", code, errOut)
	}
	code, out, errOut = venueCluster("--config", path, "--id", "0", "recording-log")
	if code != 1 || !strings.Contains(out+errOut, "no data directory") {
		t.Fatalf("recording-log: exit %d\n%s%s", code, out, errOut)
	}
}

func TestClusterUsageErrors(t *testing.T) {
	path, _ := writeTestClusterFile(t, 3)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"list-members"}, "--config is required"},
		{[]string{"--config", path}, "no command"},
		{[]string{"--config", path, "elect-me"}, `unknown command "elect-me"`},
		{[]string{"--config", path, "is-leader"}, "is-leader needs --id"},
		{[]string{"--config", path, "--id", "7", "errors"}, "member 7 is not in"},
		{[]string{"--config", path, "errors", "extra"}, "unexpected arguments: extra"},
		{[]string{"--config", path, "--bogus", "errors"}, "flag provided but not defined"},
	} {
		code, _, errOut := venueCluster(tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
	if code, _, errOut := venueCluster("-h"); code != 0 || !strings.Contains(errOut, "Usage: venue cluster") ||
		!strings.Contains(errOut, "recovery-plan") {
		t.Errorf("-h: exit %d, %q", code, errOut)
	}
}
