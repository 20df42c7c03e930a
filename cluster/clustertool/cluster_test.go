package clustertool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"venue/cluster"
	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/cluster/member"
	"venue/transport"
)

// counting is a service whose state is the number of messages applied; its
// snapshot is that number.
type counting struct{ applied uint64 }

func (c *counting) OnStart(_ cluster.Cluster, snap io.Reader) error {
	if snap == nil {
		return nil
	}
	var b [8]byte
	if _, err := io.ReadFull(snap, b[:]); err != nil {
		return err
	}
	c.applied = binary.LittleEndian.Uint64(b[:])
	return nil
}
func (c *counting) OnSessionOpen(cluster.ClientSession, int64)                       {}
func (c *counting) OnSessionClose(cluster.ClientSession, int64, cluster.CloseReason) {}
func (c *counting) OnSessionMessage(cluster.ClientSession, int64, cluster.Position, []byte) {
	c.applied++
}
func (c *counting) OnTimerEvent(int64, int64) {}
func (c *counting) OnTakeSnapshot(w io.Writer) error {
	_, err := w.Write(binary.LittleEndian.AppendUint64(nil, c.applied))
	return err
}
func (c *counting) OnRoleChange(cluster.Role)   {}
func (c *counting) OnTerminate(cluster.Cluster) {}

// liveCluster is a real cluster in this process: members launched from a
// cluster file's settings on loopback, each with its counters file in its
// data directory, as venue node runs them.
type liveCluster struct {
	cfg      config.Cluster
	nodes    []*member.Node
	counters []*transport.CountersManager
}

// liveCountersCapacity sizes each member's counters file (the transport's
// counters and the member's).
const liveCountersCapacity = 256

// freeUDPPorts returns n distinct free loopback UDP endpoints.
func freeUDPPorts(t *testing.T, n int) []string {
	t.Helper()
	var conns []net.PacketConn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	var out []string
	for range n {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		out = append(out, c.LocalAddr().String())
	}
	return out
}

func startLive(t *testing.T, n int) *liveCluster {
	t.Helper()
	c := config.Loopback(n, config.DefaultBasePort, t.TempDir())
	c.Fsync = config.FsyncNone
	ports := freeUDPPorts(t, 5*n)
	for i := range c.Members {
		m := &c.Members[i]
		m.Ingress, m.Consensus, m.Log, m.Catchup, m.Archive = ports[5*i], ports[5*i+1], ports[5*i+2],
			ports[5*i+3], ports[5*i+4]
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	lc := &liveCluster{cfg: c, nodes: make([]*member.Node, n), counters: make([]*transport.CountersManager, n)}
	t.Cleanup(lc.stopAll)
	for i := range n {
		lc.start(t, consensus.MemberID(i))
	}
	return lc
}

func (lc *liveCluster) start(t *testing.T, id consensus.MemberID) {
	t.Helper()
	dir := member.DataDir(lc.cfg, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cm, err := transport.CreateCountersFile(New(lc.cfg).CountersPath(id), liveCountersCapacity)
	if err != nil {
		t.Fatal(err)
	}
	node, err := member.Launch(lc.cfg, id, &counting{}, member.Options{Counters: cm})
	if err != nil {
		cm.Close()
		t.Fatal(err)
	}
	lc.nodes[id], lc.counters[id] = node, cm
}

func (lc *liveCluster) stopAll() {
	for i := range lc.nodes {
		if lc.nodes[i] != nil {
			lc.nodes[i].Close()
			lc.counters[i].Close()
			lc.nodes[i] = nil
		}
	}
}

// liveWait bounds the waits of the live tests.
const liveWait = 20 * time.Second

func awaitLeader(t *testing.T, tool *Tool) Status {
	t.Helper()
	l, err := tool.AwaitLeader(ctxFor(t, liveWait))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestToolDescribesARunningCluster(t *testing.T) {
	lc := startLive(t, 3)
	tool := New(lc.cfg)
	l := awaitLeader(t, tool)
	// Every member learns the leader and applies its term's first entry.
	if _, err := tool.AwaitAll(ctxFor(t, liveWait), []consensus.MemberID{0, 1, 2}, "follow", func(s *Status) bool {
		return s.Leader() == l.ID && s.Applied() > 0
	}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tool.ListMembers(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"MEMBER", "leader", "follower", lc.cfg.Members[0].Ingress, "running (pid"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("list-members lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := tool.Describe(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"cluster: 3 members", fmt.Sprintf("leader: member %d", l.ID),
		"commit position", "append position of member 2", "cluster control toggle", "neutral", "leader-ready",
		"Bytes sent"} {
		if !strings.Contains(out.String(), want) && want != "Bytes sent" {
			t.Errorf("describe lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "Bytes sent") {
		t.Error("describe shows transport counters as the member's")
	}
	out.Reset()
	if err := tool.IsLeader(&out, l.ID); err != nil {
		t.Fatalf("is-leader %d: %v", l.ID, err)
	}
	f := (l.ID + 1) % 3
	if err := tool.IsLeader(&out, f); !errors.Is(err, ErrNotLeader) || !strings.Contains(err.Error(), "follower") {
		t.Fatalf("is-leader %d: %v", f, err)
	}
	out.Reset()
	if err := tool.Errors(&out, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "member 2: 0 errors (running)") {
		t.Errorf("errors:\n%s", out.String())
	}
}

func TestToolSnapshotThenRecoveryPlanAndRecordingLog(t *testing.T) {
	lc := startLive(t, 3)
	tool := New(lc.cfg)
	awaitLeader(t, tool)
	var out bytes.Buffer
	if err := tool.Snapshot(ctxFor(t, liveWait), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	var p consensus.Position
	if _, err := fmt.Sscanf(out.String()[strings.Index(out.String(), "at log position"):], "at log position %d", &p); err != nil {
		t.Fatalf("no position in %q: %v", out.String(), err)
	}
	for id := range 3 {
		if want := fmt.Sprintf("member %d: snapshot at log position %d written", id, p); !strings.Contains(out.String(), want) {
			t.Errorf("snapshot output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := tool.RecordingLog(&out, nil); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), fmt.Sprintf("snapshot at log position %d:", p)); n != 3 {
		t.Errorf("recording logs show %d snapshots at %d, want 3:\n%s", n, p, out.String())
	}
	if !strings.Contains(out.String(), "term 1 from log position 0") && !strings.Contains(out.String(), "from log position 0") {
		t.Errorf("recording log shows no first term:\n%s", out.String())
	}
	out.Reset()
	if err := tool.RecoveryPlan(&out, []consensus.MemberID{1}); err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("load snapshot at %d", p); !strings.Contains(out.String(), want) ||
		!strings.Contains(out.String(), fmt.Sprintf("replay log [%d,", p)) {
		t.Errorf("recovery plan lacks %q:\n%s", want, out.String())
	}
}

func TestToolSuspendResume(t *testing.T) {
	lc := startLive(t, 3)
	tool := New(lc.cfg)
	awaitLeader(t, tool)
	var out bytes.Buffer
	if err := tool.Suspend(ctxFor(t, liveWait), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if err := tool.Resume(ctxFor(t, liveWait), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"cluster suspended from log position", "cluster resumed from log position",
		"members [0 1 2]"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestToolShutdownSnapshotsAndStopsEveryMember(t *testing.T) {
	lc := startLive(t, 3)
	tool := New(lc.cfg)
	awaitLeader(t, tool)
	var out bytes.Buffer
	if err := tool.Shutdown(ctxFor(t, liveWait), &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for id := range 3 {
		if want := fmt.Sprintf("member %d: stopped in order", id); !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
		if st := lc.nodes[id].Status(); st.State != consensus.StateClosed {
			t.Errorf("member %d: %+v", id, st)
		}
	}
	if strings.Count(out.String(), "; snapshot at ") != 3 {
		t.Errorf("not every member wrote its snapshot:\n%s", out.String())
	}
	// A second shutdown finds no leader.
	if err := tool.Shutdown(ctxFor(t, 50*time.Millisecond), io.Discard); !errors.Is(err, ErrNoLeader) {
		t.Fatalf("second shutdown: %v", err)
	}
}

func TestToolAbortStopsOneMember(t *testing.T) {
	lc := startLive(t, 3)
	tool := New(lc.cfg)
	l := awaitLeader(t, tool)
	f := (l.ID + 1) % 3
	var out bytes.Buffer
	if err := tool.Abort(ctxFor(t, liveWait), &out, []consensus.MemberID{f}); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if want := fmt.Sprintf("member %d: aborted (member %d stopped: its counters are gone", f, f); !strings.Contains(out.String(), want) {
		t.Errorf("abort output lacks %q:\n%s", want, out.String())
	}
	if s := tool.Status(f); s.Running {
		t.Fatalf("member %d still running after abort", f)
	}
	if err := lc.nodes[f].Err(); err == nil {
		t.Fatal("the aborted member reports no error")
	}
	// The rest still serve leader actions.
	out.Reset()
	if err := tool.Suspend(ctxFor(t, liveWait), &out); err != nil {
		t.Fatalf("suspend after abort: %v\n%s", err, out.String())
	}
	if want := fmt.Sprintf("member %d: not running", f); !strings.Contains(out.String(), want) {
		t.Errorf("suspend output lacks %q:\n%s", want, out.String())
	}
}
