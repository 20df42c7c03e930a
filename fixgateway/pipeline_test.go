package fixgateway_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"venue/engine"
	"venue/fixgateway"
)

// order returns the fields of a DAY buy of qty ALPHA at 99.00.
func order(id string, qty int) []string {
	return []string{"11=" + id, "55=ALPHA", "54=1", fmt.Sprintf("38=%d", qty), "40=2", "44=99.00"}
}

// TestPipelined: a session's orders are all in flight at once (the
// gateway does not wait for one answer before taking the next message),
// and their answers come back in order; with a cluster client that says
// when it has egress (the agent parks) and with one that cannot (the
// agent polls).
func TestPipelined(t *testing.T) {
	for _, pollOnly := range []bool{false, true} {
		t.Run(fmt.Sprintf("pollOnly=%v", pollOnly), func(t *testing.T) { testPipelined(t, pollOnly) })
	}
}

func testPipelined(t *testing.T, pollOnly bool) {
	const n = 200
	v := newVenue(t)
	g := startGateway(t, gwSetup{venue: v, sessions: []string{"DEMO1"}, pollOnly: pollOnly})
	c := connect(t, g, "DEMO1")
	v.Hold()
	for i := 0; i < n; i++ {
		c.send("D", order(fmt.Sprintf("p%d", i), 1)...)
	}
	eventually(t, "every order in flight", func() bool { return v.HeldOrders() == n })
	c.expectNothing()
	v.Release()
	for i := 0; i < n; i++ {
		c.expect("8", fmt.Sprintf("11=p%d", i), "150=0")
	}
	c.expectNothing()
	if q := v.Level(1, engine.SideBuy, 9900); q != n {
		t.Fatalf("ALPHA bid 99.00 holds %d, want %d", q, n)
	}
}

// TestQueueFull: a session with its limit of unanswered messages has the
// next one refused at once with a BusinessMessageReject, counted; the ones
// taken are answered in order once the cluster commits them.
func TestQueueFull(t *testing.T) {
	const window = 16
	v := newVenue(t)
	g := startGateway(t, gwSetup{venue: v, sessions: []string{"DEMO1"}, opts: fixgateway.Options{SessionInFlight: window}})
	c := connect(t, g, "DEMO1")
	v.Hold()
	for i := 0; i < window; i++ {
		c.send("D", order(fmt.Sprintf("q%d", i), 1)...)
	}
	eventually(t, "the session's window full", func() bool { return v.HeldOrders() == window })
	c.send("D", order("over", 1)...)
	m := c.expect("j", "380=4", "379=over", "372=D")
	if text, _ := m.Body.GetString(58); !strings.Contains(text, "queue full") {
		t.Fatalf("reject text %q does not say the queue is full", text)
	}
	if s := g.Stats(); s.QueueFull != 1 {
		t.Fatalf("queue full counted %d, want 1", s.QueueFull)
	}
	v.Release()
	for i := 0; i < window; i++ {
		c.expect("8", fmt.Sprintf("11=q%d", i), "150=0")
	}
	c.send("D", order("over", 1)...)
	c.expect("8", "11=over", "150=0")
}

// TestSessionInFlightBound: the limit cannot exceed SessionInFlightMax.
func TestSessionInFlightBound(t *testing.T) {
	v := newVenue(t)
	cfg, err := fixgateway.ParseConfig(strings.NewReader(gwSetup{storeDir: t.TempDir()}.settings(1)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = fixgateway.New(cfg, fixgateway.Options{Client: v.NewClient(), SessionInFlight: fixgateway.SessionInFlightMax + 1})
	if !errors.Is(err, fixgateway.ErrConfig) {
		t.Fatalf("err %v, want ErrConfig", err)
	}
}

// TestFailoverPipelined: several orders of one session in flight when the
// leader fails are resolved oldest first and offered again in their
// original order; each exists once.
func TestFailoverPipelined(t *testing.T) {
	v := newVenue(t)
	g := startGateway(t, gwSetup{venue: v, sessions: []string{"DEMO1"}})
	c := connect(t, g, "DEMO1")
	failover := func(committed bool) func() {
		return func() {
			eventually(t, "three orders in flight", func() bool { return v.HeldOrders() == 3 })
			v.Failover(committed)
		}
	}
	script(t, map[string]*fixClient{"DEMO1": c}, map[string]func(){
		"hold":                  v.Hold,
		"failover, uncommitted": failover(false),
		"failover, committed":   failover(true),
	}, `
! hold
DEMO1 > D 11=a 55=ALPHA 54=1 38=1 40=2 44=99.00
DEMO1 > D 11=b 55=ALPHA 54=1 38=2 40=2 44=99.00
DEMO1 > D 11=c 55=ALPHA 54=1 38=4 40=2 44=99.00
# Lost with the old leader: each offered again, in order, applied once.
! failover, uncommitted
DEMO1 < 8 11=a 150=0 38=1
DEMO1 < 8 11=b 150=0 38=2
DEMO1 < 8 11=c 150=0 38=4
! hold
DEMO1 > D 11=d 55=ALPHA 54=1 38=8 40=2 44=99.00
DEMO1 > F 11=ac 41=a 55=ALPHA 54=1
DEMO1 > D 11=e 55=ALPHA 54=1 38=16 40=2 44=99.00
# Committed by the new leader, egress lost: answered from the log. (The
# engine finds no order by a cancel's ClOrdID, so the cancel is offered
# again and answered as the duplicate it is: with the order's status.)
! failover, committed
DEMO1 < 8 11=d 150=I 39=0 151=8
DEMO1 < 8 11=a 150=I 39=4 58=DuplicateMessage
DEMO1 < 8 11=e 150=I 39=0 151=16
DEMO1 quiet
`)
	// a cancelled; b, c, d and e rest once each.
	if q := v.Level(1, engine.SideBuy, 9900); q != 2+4+8+16 {
		t.Fatalf("ALPHA bid 99.00 holds %d, want %d", q, 2+4+8+16)
	}
	if s := g.Stats(); s.Reoffers != 4 {
		t.Fatalf("reoffers %d, want 4", s.Reoffers)
	}
}

// TestCrashRestartPipelined: the gateway dies with several orders taken
// (FromApp returned, so quickfixgo counted them received) but unanswered,
// and the cluster loses them. The restarted gateway on the same FIX store
// (the journal, the harness's default)
// still expects the first of them, the client resends them all, and each
// is applied once.
func TestCrashRestartPipelined(t *testing.T) {
	v := newVenue(t)
	dir := t.TempDir()
	crash := &crashStoreFactory{inner: journalStoreFactory(t, dir)}
	port := freePort(t)
	g1 := startGateway(t, gwSetup{venue: v, port: port, storeDir: dir, sessions: []string{"DEMO1"}, store: crash,
		opts: fixgateway.Options{StopDrain: 50 * time.Millisecond}})
	px := newProxy(t, port)
	c := newClient(t, clientSetup{compID: "DEMO1", port: px.port()})
	eventually(t, "logon", c.loggedOn.Load)
	c.send("D", order("k1", 1)...)
	c.expect("8", "11=k1", "150=0")
	v.Hold()
	for i, id := range []string{"k2", "k3", "k4"} {
		c.send("D", order(id, 2<<i)...)
	}
	eventually(t, "three orders in flight", func() bool { return v.HeldOrders() == 3 })
	crash.crashed.Store(true)
	px.cut()
	g1.Stop()
	v.Failover(false) // the orders die with the gateway's leader
	eventually(t, "client notices", func() bool { return !c.loggedOn.Load() })

	startGateway(t, gwSetup{venue: v, port: port, storeDir: dir, sessions: []string{"DEMO1"}})
	eventually(t, "logon to the new gateway", c.loggedOn.Load)
	script(t, map[string]*fixClient{"DEMO1": c}, nil, `
# Resent (PossDupFlag=Y), unknown to the engine: new orders after all.
DEMO1 < 8 11=k2 150=0 38=2
DEMO1 < 8 11=k3 150=0 38=4
DEMO1 < 8 11=k4 150=0 38=8
DEMO1 > D 11=k5 55=ALPHA 54=1 38=16 40=2 44=99.00
DEMO1 < 8 11=k5 150=0
DEMO1 quiet
`)
	if q := v.Level(1, engine.SideBuy, 9900); q != 1+2+4+8+16 {
		t.Fatalf("ALPHA bid 99.00 holds %d, want %d", q, 1+2+4+8+16)
	}
}
