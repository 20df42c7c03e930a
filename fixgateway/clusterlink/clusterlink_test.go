package clusterlink

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"venue/cluster"
	"venue/cluster/clusterbench"
	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/cluster/member"
	"venue/fixgateway"
)

// testWait bounds every wait in these tests.
const testWait = 20 * time.Second

// echoes records what the link's Poll delivers.
type echoes struct {
	msgs    []string
	unknown int
}

func (e *echoes) OnMessage(msg []byte)           { e.msgs = append(e.msgs, string(msg)) }
func (e *echoes) OnNewLeader(int32, int64)       {}
func (e *echoes) OnUnknownOutcome(int64, []byte) { e.unknown++ }

// startEcho starts a one-member loopback cluster running the echo service
// and returns its configuration.
func startEcho(t *testing.T) config.Cluster {
	t.Helper()
	return startService(t, clusterbench.Echo{})
}

// startService starts a one-member loopback cluster running svc.
func startService(t *testing.T, svc cluster.ClusteredService) config.Cluster {
	t.Helper()
	base, err := clusterbench.FreeBasePort(1)
	if err != nil {
		t.Fatal(err)
	}
	cc := config.Loopback(1, base, t.TempDir())
	cc.Fsync = config.FsyncNone
	n, err := member.Launch(cc, 0, svc, member.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	deadline := time.Now().Add(testWait)
	for n.Status().Role != consensus.RoleLeader {
		if time.Now().After(deadline) {
			t.Fatal("no leader")
		}
		time.Sleep(time.Millisecond) // poll interval of a deadline-bounded wait
	}
	return cc
}

// TestEgressReadyWakesForEachEcho: an agent that polls only when
// EgressReady says so (as the gateway's parks) still gets every echo, one
// offer at a time, each soon after it is sent: the link signals after its
// driver has taken in the egress.
func TestEgressReadyWakesForEachEcho(t *testing.T) {
	cc := startEcho(t)
	l, err := NewWithConfig(Config{Members: []string{cc.Members[0].Ingress}, MTU: cc.TransportMTU()})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if err := l.Connect(ctx, fixgateway.Credentials{Principal: "GATEWAY"}); err != nil {
		t.Fatal(err)
	}
	var h echoes
	for i := range 20 {
		msg := []byte{'m', byte('a' + i)}
		for r := l.Offer(msg); !r.Accepted(); r = l.Offer(msg) {
			if !r.Retryable() || ctx.Err() != nil {
				t.Fatalf("offer %d: %v", i, r)
			}
			l.Poll(&h, 0)
		}
		for len(h.msgs) <= i {
			select {
			case <-l.EgressReady():
			case <-ctx.Done():
				t.Fatalf("echo %d: no egress signal (got %q)", i, h.msgs)
			}
			l.Poll(&h, 0)
		}
		if h.msgs[i] != string(msg) {
			t.Fatalf("echo %d: %q, want %q", i, h.msgs[i], msg)
		}
	}
	if h.unknown != 0 {
		t.Fatalf("%d unknown outcomes", h.unknown)
	}
}

// TestNewRefuses: a link needs at least one member and a window the
// client library can hold.
func TestNewRefuses(t *testing.T) {
	if _, err := New(nil); err == nil {
		t.Fatal("a link without members was made")
	}
	if _, err := NewWithConfig(Config{Members: []string{"127.0.0.1:1"}, WindowMax: -1}); err == nil {
		t.Fatal("a negative window was taken")
	}
}

// TestDefaultWindowWithinIngressLimit: by default the link never has more
// messages awaiting commit than the default cluster lets one session have
// (beyond it the leader refuses them, and each must be resolved).
func TestDefaultWindowWithinIngressLimit(t *testing.T) {
	l, err := New([]string{"127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if limit := config.DefaultSettings().SessionIngressLimit; l.window < 1 || l.window > limit {
		t.Fatalf("window %d, want 1..%d", l.window, limit)
	}
}

// closeCounter is the echo service counting sessions closed.
type closeCounter struct {
	clusterbench.Echo
	closed atomic.Int32
}

func (c *closeCounter) OnSessionClose(cluster.ClientSession, int64, cluster.CloseReason) {
	c.closed.Add(1)
}

// TestCloseClosesTheSession: Close's request reaches the cluster, which
// closes the session through the log well before it would time it out.
func TestCloseClosesTheSession(t *testing.T) {
	svc := &closeCounter{}
	cc := startService(t, svc)
	l, err := NewWithConfig(Config{Members: []string{cc.Members[0].Ingress}, MTU: cc.TransportMTU()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testWait)
	defer cancel()
	if err := l.Connect(ctx, fixgateway.Credentials{Principal: "GATEWAY"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(cc.SessionTimeout / 2)
	for svc.closed.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("session not closed within %v (the session timeout is %v)", cc.SessionTimeout/2, cc.SessionTimeout)
		}
		time.Sleep(time.Millisecond) // poll interval of a deadline-bounded wait
	}
}
