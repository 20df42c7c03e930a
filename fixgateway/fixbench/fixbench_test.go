package fixbench

import (
	"context"
	"testing"
	"time"
)

// TestRun: a short run acknowledges every order it sends and labels the
// cluster as the in-process fake and the FIX store as the default, the
// journal.
func TestRun(t *testing.T) {
	r, err := Run(context.Background(), Config{Sessions: 1, Rate: 0, Duration: 300 * time.Millisecond, Dir: t.TempDir(), Cluster: ClusterInProcess})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent == 0 || r.Acked != r.Sent || r.Cluster != "in-process" || r.FIXStore != StoreJournal || r.P50Ns <= 0 || r.MaxNs < r.P50Ns {
		t.Fatalf("result %+v", r)
	}
	// The gateway's stages are each part of the round trip.
	for _, st := range [][3]int64{{r.FIXInP50Ns, r.FIXInP99Ns, r.FIXInMaxNs}, {r.GatewayInP50Ns, r.GatewayInP99Ns, r.GatewayInMaxNs},
		{r.ClusterP50Ns, r.ClusterP99Ns, r.ClusterMaxNs}, {r.GatewayOutP50Ns, r.GatewayOutP99Ns, r.GatewayOutMaxNs},
		{r.FIXOutP50Ns, r.FIXOutP99Ns, r.FIXOutMaxNs}} {
		if st[0] <= 0 || st[1] < st[0] || st[2] < st[1] || st[0] > r.MaxNs {
			t.Fatalf("stage p50/p99/max %v in result %+v", st, r)
		}
	}
}

// TestConfigRefused: nonsense is refused, not run.
func TestConfigRefused(t *testing.T) {
	for _, c := range []Config{
		{Sessions: 0, Duration: time.Second},
		{Sessions: 1, Duration: time.Second, Window: -1},
		{Sessions: 1, Duration: time.Second, Store: "disk"},
		{Sessions: 1, Rate: -1, Duration: time.Second},
		{Sessions: 1, Duration: time.Second, Client: "telnet"},
		{Sessions: 1, Duration: time.Second, Cluster: "remote"},
		{Sessions: 1, Duration: time.Second, Fsync: "sometimes"},
	} {
		if _, err := Run(context.Background(), c); err == nil {
			t.Fatalf("%+v accepted", c)
		}
	}
}

// TestRunOpenLoop: at a rate, the pacer sends about rate × duration orders
// round robin over the sessions, and every one is acknowledged.
func TestRunOpenLoop(t *testing.T) {
	const rate, d = 2000, 300 * time.Millisecond
	r, err := Run(context.Background(), Config{Sessions: 2, Rate: rate, Duration: d, Store: "memory", Dir: t.TempDir(), Cluster: ClusterInProcess})
	if err != nil {
		t.Fatal(err)
	}
	want := int64(rate * d / time.Second)
	// A loaded host may keep the pacer from catching up by the end of the
	// run; it must never send more than the schedule, nor lose any.
	if r.Sent < want/2 || r.Sent > want || r.Acked != r.Sent || r.Rate != rate {
		t.Fatalf("result %+v: want about %d sent, all acked", r, want)
	}
}

// TestRunStores: the gateway on quickfixgo's file store and on the journal
// with an fsync per message.
func TestRunStores(t *testing.T) {
	for _, store := range []string{StoreFile, StoreJournalSync} {
		r, err := Run(context.Background(), Config{Sessions: 1, Rate: 0, Window: 4, Duration: 200 * time.Millisecond, Store: store, Dir: t.TempDir(), Cluster: ClusterInProcess})
		if err != nil {
			t.Fatal(err)
		}
		if r.Sent == 0 || r.Acked != r.Sent || r.FIXStore != store {
			t.Fatalf("result %+v", r)
		}
	}
}
