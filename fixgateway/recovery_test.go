package fixgateway_test

import (
	"testing"
	"time"

	"venue/engine"
	"venue/fixgateway"
)

// TestGatewayCrashRestart: the gateway dies after offering an order but
// before storing its inbound sequence number; the order commits anyway. A
// new gateway on the same FIX store asks the client to resend, the engine
// recognises the SenderSeq, and the client gets the order's status — one
// order, not two.
// It runs on each FIX store that survives a crash.
func TestGatewayCrashRestart(t *testing.T) {
	for _, store := range []string{fixgateway.FIXStoreFile, fixgateway.FIXStoreJournal} {
		t.Run(store, func(t *testing.T) { testGatewayCrashRestart(t, store) })
	}
}

func testGatewayCrashRestart(t *testing.T, store string) {
	v := newVenue(t)
	dir := t.TempDir()
	inner := fileStoreFactory(t, dir)
	if store == fixgateway.FIXStoreJournal {
		inner = journalStoreFactory(t, dir)
	}
	extra := fixgateway.KeyFIXStore + "=" + store + "\n"
	crash := &crashStoreFactory{inner: inner}
	port := freePort(t)
	g1 := startGateway(t, gwSetup{venue: v, port: port, storeDir: dir, sessions: []string{"DEMO1"}, store: crash, extra: extra,
		opts: fixgateway.Options{StopDrain: 50 * time.Millisecond}})
	px := newProxy(t, port)
	c := newClient(t, clientSetup{compID: "DEMO1", port: px.port()})
	eventually(t, "logon", c.loggedOn.Load)
	clients := map[string]*fixClient{"DEMO1": c}
	script(t, clients, nil, `
DEMO1 > D 11=k1 55=ALPHA 54=1 38=10 40=2 44=99.00
DEMO1 < 8 11=k1 150=0 39=0
`)
	v.Hold()
	c.send("D", "11=k2", "55=ALPHA", "54=1", "38=20", "40=2", "44=99.00")
	eventually(t, "k2 offered", func() bool { return v.HeldOrders() == 1 })
	// The crash: nothing more reaches the disk or the network.
	crash.crashed.Store(true)
	px.cut()
	g1.Stop()
	v.Release() // k2 commits after its gateway died
	eventually(t, "client notices", func() bool { return !c.loggedOn.Load() })

	g2 := startGateway(t, gwSetup{venue: v, port: port, storeDir: dir, sessions: []string{"DEMO1"}, extra: extra})
	eventually(t, "logon to the new gateway", c.loggedOn.Load)
	script(t, clients, nil, `
# The resent k2 (PossDupFlag=Y) is answered with its status: it exists once.
DEMO1 < 8 11=k2 150=I 39=0 151=20
DEMO1 > D 11=k3 55=ALPHA 54=1 38=30 40=2 44=99.00
DEMO1 < 8 11=k3 150=0 39=0
DEMO1 quiet
`)
	// k1, k2 and k3 rest once each: 60 at 99.00, not 80.
	if q := v.Level(1, engine.SideBuy, 9900); q != 60 {
		t.Fatalf("ALPHA bid 99.00 holds %d, want 60", q)
	}
	_ = g2
}

// TestLeaderFailover: orders in flight when the leader fails are resolved
// through the log before the client hears anything — one that the new
// leader has is reported by status, one that was lost is offered again —
// and the session carries on.
func TestLeaderFailover(t *testing.T) {
	v := newVenue(t)
	g := startGateway(t, gwSetup{venue: v})
	c1 := connect(t, g, "DEMO1")
	c2 := connect(t, g, "DEMO2")
	clients := map[string]*fixClient{"DEMO1": c1, "DEMO2": c2}
	failover := func(committed bool) func() {
		return func() {
			eventually(t, "two orders in flight", func() bool { return v.HeldOrders() == 2 })
			v.Failover(committed)
		}
	}
	script(t, clients, map[string]func(){
		"hold":                  v.Hold,
		"failover, committed":   failover(true),
		"failover, uncommitted": failover(false),
	}, `
! hold
DEMO1 > D 11=f1 55=ALPHA 54=1 38=10 40=2 44=99.00
DEMO2 > D 11=f2 55=ALPHA 54=2 38=4 40=2 44=99.00
# The new leader has both: applied (they traded), egress lost.
! failover, committed
DEMO1 < 8 11=f1 150=I 39=1 14=4 151=6
DEMO2 < 8 11=f2 150=I 39=2 14=4
! hold
DEMO1 > D 11=f3 55=BETA 54=1 38=10 40=2 44=99.00
# (DEMO2 naming DEMO1's order: not in its account, so unknown to it.)
DEMO2 > F 11=f1c 41=f1 55=ALPHA 54=1
# The new leader has neither: both offered again, applied once.
! failover, uncommitted
DEMO1 < 8 11=f3 150=0 39=0
DEMO2 < 9 11=f1c 41=f1 102=1 58=UnknownOrder
DEMO1 > F 11=f1x 41=f1 55=ALPHA 54=1
DEMO1 < 8 11=f1x 150=4 39=4 14=4
DEMO1 quiet
DEMO2 quiet
`)
	s := g.Stats()
	if s.UnknownOutcomes < 4 || s.Reoffers != 2 || s.LeaderChanges != 2 {
		t.Fatalf("stats %+v: want >= 4 unknown outcomes (an instrument refresh may be one more), 2 reoffers, 2 leader changes", s)
	}
	// f3 rests once (10 at BETA 99.00, not 20); f1 is gone.
	if q := v.Level(2, engine.SideBuy, 9900); q != 10 {
		t.Fatalf("BETA bid 99.00 holds %d, want 10", q)
	}
	if q := v.Level(1, engine.SideBuy, 9900); q != 0 {
		t.Fatalf("ALPHA bid 99.00 holds %d, want 0", q)
	}
}

// TestBackPressure: while the cluster refuses offers, FIX sessions wait
// (their messages are not read further); when it recovers, everything goes
// through in order. Past the offer timeout the client is told the
// application is not available.
func TestBackPressure(t *testing.T) {
	v := newVenue(t)
	g := startGateway(t, gwSetup{venue: v, opts: fixgateway.Options{OfferTimeout: 2 * time.Second}})
	c := connect(t, g, "DEMO1")
	clients := map[string]*fixClient{"DEMO1": c}
	script(t, clients, map[string]func(){
		"back pressure on": func() { v.SetBackPressure(true) },
		"wait for back pressure": func() {
			eventually(t, "back pressure seen", func() bool { return g.Stats().BackPressure > 0 })
		},
		"back pressure off": func() { v.SetBackPressure(false) },
	}, `
! back pressure on
DEMO1 > D 11=p1 55=ALPHA 54=1 38=1 40=2 44=99.00
DEMO1 > D 11=p2 55=ALPHA 54=1 38=1 40=2 44=99.00
! wait for back pressure
DEMO1 quiet
! back pressure off
DEMO1 < 8 11=p1 150=0
DEMO1 < 8 11=p2 150=0
! back pressure on
DEMO1 > D 11=p3 55=ALPHA 54=1 38=1 40=2 44=99.00
DEMO1 < j 380=4 379=p3 372=D
! back pressure off
DEMO1 > D 11=p3 55=ALPHA 54=1 38=1 40=2 44=99.00
DEMO1 < 8 11=p3 150=0
`)
	if s := g.Stats(); s.Unavailable != 1 {
		t.Fatalf("unavailable %d, want 1", s.Unavailable)
	}
}

// TestFailoverAfterResetLogon: a logon that restarts sequence numbers is
// lost in a failover. The gateway holds the session's mass cancel back
// until the engine acknowledges the logon, offers the logon again, and
// only then the mass cancel, so the engine restarts the principal's
// SenderSeq before it sees the mass cancel (which would otherwise look like
// a duplicate of an old command).
func TestFailoverAfterResetLogon(t *testing.T) {
	v := newVenue(t)
	g := startGateway(t, gwSetup{venue: v})
	c := connect(t, g, "DEMO1")
	script(t, map[string]*fixClient{"DEMO1": c}, nil, `
DEMO1 > D 11=r1 55=ALPHA 54=1 38=1 40=2 44=99.00
DEMO1 < 8 11=r1 150=0
DEMO1 > D 11=r2 55=ALPHA 54=1 38=1 40=2 44=99.00
DEMO1 < 8 11=r2 150=0
DEMO1 > D 11=r3 55=ALPHA 54=1 38=1 40=2 44=99.00
DEMO1 < 8 11=r3 150=0
`)
	// The logoff's SessionStatus is applied (and acknowledged) at once;
	// the instrument list refresh that could also count is 10 s away.
	offered := g.Stats().Offered
	c.stop()
	eventually(t, "logoff offered", func() bool { return g.Stats().Offered > offered })
	v.Hold()
	c2 := newClient(t, clientSetup{compID: "DEMO1", port: g.port, extra: "ResetOnLogon=Y"})
	eventually(t, "logon with reset", c2.loggedOn.Load)
	eventually(t, "the logon's SessionStatus offered", func() bool { return v.Held() == 1 })
	in := g.Stats().MessagesIn
	c2.send("q", "11=m1", "530=7") // MsgSeqNum 2, below the old high-water mark
	eventually(t, "m1 taken", func() bool { return g.Stats().MessagesIn == in+1 })
	if n := v.HeldOrders(); n != 0 {
		t.Fatalf("%d orders offered before the logon was acknowledged", n)
	}
	v.Failover(false)
	script(t, map[string]*fixClient{"DEMO1": c2}, nil, `
DEMO1 < 8 11=r1 150=4
DEMO1 < 8 11=r2 150=4
DEMO1 < 8 11=r3 150=4
DEMO1 < r 11=m1 531=7 533=3
`)
	if q := v.Level(1, engine.SideBuy, 9900); q != 0 {
		t.Fatalf("ALPHA bid 99.00 holds %d, want 0", q)
	}
}

// TestAnswerTimeout: a command whose answer never arrives (its egress was
// lost) is resolved through the log after the answer timeout; the client
// gets the order's status, and the order exists once.
func TestAnswerTimeout(t *testing.T) {
	v := newVenue(t)
	g := startGateway(t, gwSetup{venue: v, opts: fixgateway.Options{AnswerTimeout: 200 * time.Millisecond}})
	c := connect(t, g, "DEMO1")
	script(t, map[string]*fixClient{"DEMO1": c}, map[string]func(){
		"lose egress": func() { v.DropEgress(true) },
		"wait until applied": func() {
			eventually(t, "a1 applied", func() bool { return v.Level(1, engine.SideBuy, 9900) == 7 })
		},
		"egress back": func() { v.DropEgress(false) },
	}, `
! lose egress
DEMO1 > D 11=a1 55=ALPHA 54=1 38=7 40=2 44=99.00
! wait until applied
! egress back
DEMO1 < 8 11=a1 150=I 39=0 151=7
DEMO1 quiet
`)
	if s := g.Stats(); s.AnswerTimeouts != 1 {
		t.Fatalf("answer timeouts %d, want 1", s.AnswerTimeouts)
	}
}
