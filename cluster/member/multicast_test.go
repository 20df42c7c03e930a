package member

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"venue/cluster/client"
	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/cluster/peer"
	"venue/transport"
)

// multicastWait bounds each wait in these tests.
const multicastWait = 20 * time.Second

// skipWithoutGroup skips the test when err says the host refused the
// multicast group (no multicast on lo here).
func skipWithoutGroup(t *testing.T, err error) {
	t.Helper()
	if err != nil && (strings.Contains(err.Error(), "join") || strings.Contains(err.Error(), "interface")) {
		t.Skipf("multicast on lo unavailable here: %v", err)
	}
}

// logGroup returns a multicast group on a port that was free a moment ago.
func logGroup(t *testing.T) string {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Skipf("no UDP here: %v", err)
	}
	defer c.Close()
	return fmt.Sprintf("239.255.22.%d:%d", 1+rand.IntN(200), c.LocalAddr().(*net.UDPAddr).Port)
}

// echoLoad connects a client to ingress, sends n messages and waits for
// every echo.
func echoLoad(t *testing.T, ingress []string, n int) {
	t.Helper()
	d, err := transport.NewDriver(transport.DriverConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), multicastWait)
	defer cancel()
	c, err := client.Connect(ctx, client.Config{Driver: d, Members: ingress, Credentials: []byte("tester")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	r := &recorder{resend: true}
	for i := range n {
		msg := fmt.Appendf(nil, "m%d", i)
		for {
			if _, err := c.Offer(msg); err == nil {
				break
			}
			c.Poll(r, 0)
		}
	}
	deadline := time.Now().Add(multicastWait)
	for len(r.got) < n || c.Outstanding() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d echoes, %d unknown outcome, within %v", len(r.got), n, len(r.unknown), multicastWait)
		}
		for len(r.todo) > 0 { // handed back by a leader change: send again
			if _, err := c.Offer(r.todo[0]); err != nil {
				break
			}
			r.todo = r.todo[1:]
		}
		if c.Poll(r, 0) == 0 {
			time.Sleep(100 * time.Microsecond) // poll interval
		}
	}
}

// awaitConverged waits until every member's log ends where the leader's
// does and all of it is committed.
func awaitConverged(t *testing.T, members []*Member) {
	t.Helper()
	deadline := time.Now().Add(multicastWait)
	for {
		var ends, commits []consensus.Position
		for _, m := range members {
			s := m.Status()
			ends, commits = append(ends, s.LogEnd), append(commits, s.Commit)
		}
		same := true
		for i := range ends {
			same = same && ends[i] == ends[0] && commits[i] == ends[0]
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("members did not converge: log ends %v, commits %v", ends, commits)
		}
		time.Sleep(time.Millisecond) // poll interval
	}
}

// launchGroupCluster launches three members from a loopback cluster file
// with log_multicast on lo.
func launchGroupCluster(t *testing.T) (config.Cluster, []*Node) {
	t.Helper()
	var cc config.Cluster
	for attempt := 0; ; attempt++ {
		cc = config.Loopback(3, 20000+rand.IntN(40000), t.TempDir())
		if loopbackPortsFree(cc) {
			break
		}
		if attempt == 20 {
			t.Skip("no free loopback ports")
		}
	}
	cc.Fsync = config.FsyncNone
	cc.LogMulticast, cc.LogMulticastInterface = logGroup(t), "lo"
	if err := cc.Validate(); err != nil {
		t.Fatal(err)
	}
	var nodes []*Node
	for i := range cc.Members {
		n, err := Launch(cc, consensus.MemberID(i), &echo{}, Options{})
		skipWithoutGroup(t, err)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Close() })
		nodes = append(nodes, n)
	}
	return cc, nodes
}

func ingressOf(cc config.Cluster) []string {
	ingress := make([]string, len(cc.Members))
	for i, m := range cc.Members {
		ingress[i] = m.Ingress
	}
	return ingress
}

func membersOf(nodes []*Node) []*Member {
	var ms []*Member
	for _, n := range nodes {
		ms = append(ms, n.Member)
	}
	return ms
}

// TestLaunchWithLogMulticast: three members launched from a cluster file
// with log_multicast on lo replicate through the group.
func TestLaunchWithLogMulticast(t *testing.T) {
	cc, nodes := launchGroupCluster(t)
	echoLoad(t, ingressOf(cc), 2000)
	awaitConverged(t, membersOf(nodes))
	var sum peer.Counters
	for i, n := range nodes {
		c := n.PeerCounters()
		sum.MulticastSent += c.MulticastSent
		sum.MulticastSkipped += c.MulticastSkipped
		sum.MulticastReceived += c.MulticastReceived
		t.Logf("member %d: %+v", i, c)
	}
	if sum.MulticastSent == 0 || sum.MulticastSkipped == 0 || sum.MulticastReceived == 0 {
		t.Errorf("the group was not used: %+v", sum)
	}
}

// TestLogMulticastAcrossLeaderChange: the leader stops; the new leader
// publishes the log on the group in its own term, and the remaining
// members converge.
func TestLogMulticastAcrossLeaderChange(t *testing.T) {
	cc, nodes := launchGroupCluster(t)
	echoLoad(t, ingressOf(cc), 500)
	awaitConverged(t, membersOf(nodes))
	old := -1
	for i, n := range nodes {
		if n.Status().Role == consensus.RoleLeader {
			old = i
		}
	}
	if old < 0 {
		t.Fatal("no leader after the load")
	}
	oldTerm := nodes[old].Status().Term
	nodes[old].Close()
	var rest []*Node
	for i, n := range nodes {
		if i != old {
			rest = append(rest, n)
		}
	}
	deadline := time.Now().Add(multicastWait)
	var leader *Node
	for leader == nil {
		for _, n := range rest {
			if s := n.Status(); s.Role == consensus.RoleLeader && s.Term > oldTerm {
				leader = n
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no new leader")
		}
		time.Sleep(time.Millisecond) // poll interval
	}
	sentBefore := leader.PeerCounters().MulticastSent
	echoLoad(t, ingressOf(cc), 500)
	awaitConverged(t, membersOf(rest))
	if c := leader.PeerCounters(); c.MulticastSent == sentBefore {
		t.Errorf("the new leader did not use the group: %+v", c)
	}
}

// loopbackPortsFree reports whether every endpoint of cc can be bound now.
func loopbackPortsFree(cc config.Cluster) bool {
	for _, m := range cc.Members {
		for _, ep := range []string{m.Ingress, m.Consensus, m.Log, m.Catchup, m.Archive} {
			c, err := net.ListenPacket("udp4", ep)
			if err != nil {
				return false
			}
			c.Close()
		}
	}
	return true
}

// lossyGroup drops every dropEvery-th message the group hands a member,
// after the peer transport accepted it: the node never sees it, as if the
// datagram were lost beyond the transport's repair.
type lossyGroup struct {
	*peer.Transport
	dropEvery int
	seen      uint64 // MulticastReceived already looked at
	n         int
	dropped   atomic.Int64 // read by the test while the member runs
}

func (l *lossyGroup) Poll(h func(consensus.MemberID, []byte), limit int) int {
	return l.Transport.Poll(func(from consensus.MemberID, msg []byte) {
		if c := l.Transport.Counters().MulticastReceived; c != l.seen {
			l.seen = c
			if l.n++; l.n%l.dropEvery == 0 {
				l.dropped.Add(1)
				return
			}
		}
		h(from, msg)
	}, limit)
}

// TestLogMulticastLossHealed: followers lose one group message in three;
// consensus notices the gaps and the leader fills them by unicast, so
// every message is echoed and every member ends with the same log.
func TestLogMulticastLossHealed(t *testing.T) {
	const members = 3
	group := logGroup(t)
	var ms []peer.Member
	for i := range members {
		ms = append(ms, peer.Member{ID: consensus.MemberID(i), ConsensusEndpoint: freePort(t)})
	}
	var lossy []*lossyGroup
	var running []*Member
	var ingress []string
	for i := range members {
		id := consensus.MemberID(i)
		d, err := transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingInvoker})
		if err != nil {
			t.Fatal(err)
		}
		cfg := testConsensusConfig(id, members)
		p, err := peer.New(peer.Config{Driver: d, Self: id, Members: ms, AppendDataMax: cfg.AppendBatchBytes,
			Multicast: peer.MulticastConfig{Group: group, Interface: "lo", TTL: 1}})
		if err != nil {
			d.Close()
			skipWithoutGroup(t, err)
			t.Fatal(err)
		}
		l := &lossyGroup{Transport: p, dropEvery: 3}
		store := consensus.NewMemLogStore()
		ingress = append(ingress, freePort(t))
		m, err := Start(Config{Consensus: cfg, Driver: d, InvokeDriver: true, Peers: l, Store: store,
			Hard: &memHard{hs: consensus.HardState{Vote: consensus.NoMember}}, OnLogAppended: store.Sync,
			IngressEndpoint: ingress[i], Service: &echo{}})
		if err != nil {
			p.Close()
			d.Close()
			t.Fatal(err)
		}
		t.Cleanup(func() {
			m.Close()
			p.Close()
			d.Close()
		})
		lossy, running = append(lossy, l), append(running, m)
	}
	echoLoad(t, ingress, 2000)
	awaitConverged(t, running)
	var sum peer.Counters
	var dropped int64
	for _, l := range lossy {
		c := l.Counters()
		sum.MulticastSent += c.MulticastSent
		sum.MulticastUnicast += c.MulticastUnicast
		dropped += l.dropped.Load()
	}
	if sum.MulticastSent == 0 || dropped == 0 || sum.MulticastUnicast == 0 {
		t.Errorf("no loss healed: %d group sends, %d dropped, %d unicast", sum.MulticastSent, dropped, sum.MulticastUnicast)
	}
	t.Logf("%d group sends, %d dropped by the followers, %d AppendLogs by unicast", sum.MulticastSent, dropped, sum.MulticastUnicast)
}
