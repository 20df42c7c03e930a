package marketdata

import (
	"testing"
	"testing/synctest"
	"time"

	"venue/engine"
	"venue/transport"
)

// TestIdleStrategySleepsAndWakesOnHandOff: the publisher's own idle strategy
// puts an idle agent to sleep (in virtual time, so a spinning agent would
// never let the bubble settle) and a hand-off from the sink wakes it at once,
// long before its sleep bound.
func TestIdleStrategySleepsAndWakesOnHandOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc := &captureConn{}
		p := mustPublisher(t, PublisherConfig{Conn: cc, SnapshotInterval: time.Hour, HeartbeatInterval: time.Hour})
		p.SetLeader(true, 1)
		r := transport.NewAgentRunner(p, p.IdleStrategy(), func() int64 { return time.Now().UnixNano() })
		r.Start()
		synctest.Wait() // the agent sent the first snapshot and sleeps
		cc.take()
		start := time.Now()
		define(p, 1, 32)
		synctest.Wait()
		if n := len(updatesIn(t, cc.take(), PacketUpdate)); n != 1 {
			t.Fatalf("%d updates after the hand-off, want 1", n)
		}
		if waited := time.Since(start); waited >= time.Duration(idleSleepMaxNs) {
			t.Fatalf("agent woke after %v, not on the hand-off", waited)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestFollowerAgentSleeps: a follower's agent is not woken by hand-offs (it
// has nothing to send) but is by becoming leader.
func TestFollowerAgentSleeps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc := &captureConn{}
		p := mustPublisher(t, PublisherConfig{Conn: cc, SnapshotInterval: time.Hour, HeartbeatInterval: time.Hour})
		r := transport.NewAgentRunner(p, p.IdleStrategy(), func() int64 { return time.Now().UnixNano() })
		r.Start()
		for i := range 100 {
			p.OnLevel(1, engine.SideBuy, 100, int64(i+1), 1, int64(i+1)*32, 0)
			p.OnApplied(int64(i+1)*32, 0)
		}
		synctest.Wait()
		if n := len(cc.take()); n != 0 {
			t.Fatalf("follower sent %d packets", n)
		}
		start := time.Now()
		p.SetLeader(true, 5)
		synctest.Wait()
		if n := len(updatesIn(t, cc.take(), PacketUpdate)); n != 1 || time.Since(start) >= time.Duration(idleSleepMaxNs) {
			t.Fatalf("new leader sent %d updates after %v", n, time.Since(start))
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestLeaderIdleSleepsAfterSpins: a leader's agent with nothing to send
// returns from idleSpinsMax empty duty cycles at once, then sleeps (in virtual
// time) until the sink hands over work, which wakes it at once, or until a
// heartbeat is due; work resets the spins.
func TestLeaderIdleSleepsAfterSpins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const heartbeat = 50 * time.Millisecond
		p := mustPublisher(t, PublisherConfig{Conn: &captureConn{}, SnapshotInterval: time.Hour, HeartbeatInterval: heartbeat})
		p.SetLeader(true, 1)
		p.DoWork(0) // take the role change and send the first snapshot at 0
		idle := p.IdleStrategy()
		start := time.Now()
		for range 2 {
			for range idleSpinsMax {
				idle.Idle(0)
			}
			if time.Since(start) != 0 {
				t.Fatalf("spinning took %v of virtual time", time.Since(start))
			}
			idle.Idle(1) // work resets the spins
		}
		for range idleSpinsMax {
			idle.Idle(0)
		}
		idle.Idle(0) // nothing pending: sleeps until the heartbeat is due
		if slept := time.Since(start); slept != heartbeat {
			t.Fatalf("slept %v, want until the heartbeat is due, %v", slept, heartbeat)
		}
		p.DoWork(int64(heartbeat)) // sends the heartbeat
		woke := make(chan struct{})
		go func() { idle.Idle(0); close(woke) }()
		synctest.Wait() // asleep again
		select {
		case <-woke:
			t.Fatal("idle returned with nothing to do")
		default:
		}
		start = time.Now()
		define(p, 1, 32) // a hand-off
		<-woke
		if waited := time.Since(start); waited != 0 {
			t.Fatalf("woke %v after the hand-off", waited)
		}
	})
}

// TestWakeDue: how long an idle agent may sleep without a hand-off, by role
// and state.
func TestWakeDue(t *testing.T) {
	p := mustPublisher(t, PublisherConfig{Conn: &captureConn{}, SnapshotInterval: time.Second, HeartbeatInterval: 100 * time.Millisecond})
	p.dutyNs = 5_000_000_000
	if got, want := p.wakeDueNs(), p.dutyNs+followerSleepMaxNs; got != want {
		t.Fatalf("follower: due %d, want %d", got, want)
	}
	p.leader, p.lastSendNs, p.nextSnapshotNs = true, 4_950_000_000, 5_600_000_000
	if got, want := p.wakeDueNs(), int64(5_050_000_000); got != want {
		t.Fatalf("leader: due %d, want the heartbeat's %d", got, want)
	}
	p.nextSnapshotNs = 5_010_000_000
	if got, want := p.wakeDueNs(), p.nextSnapshotNs; got != want {
		t.Fatalf("leader: due %d, want the snapshot's %d", got, want)
	}
	p.updateCostNs, p.creditAtNs, p.creditNs = 1_000_000, p.dutyNs, 400_000
	if got, want := p.wakeDueNs(), p.nextSnapshotNs; got != want {
		t.Fatalf("rate-limited leader with nothing pending: due %d, want the snapshot's %d", got, want)
	}
	define(p, 1, 32)
	if got, want := p.wakeDueNs(), int64(5_000_600_000); got != want {
		t.Fatalf("leader waiting for credit: due %d, want the credit's %d", got, want)
	}
	p.role.Store(roleLeader) // as the agent has taken it (session 0)
	if p.hasWork() {
		t.Fatal("an update waiting for credit counted as work")
	}
	p.creditNs = p.updateCostNs
	if !p.hasWork() {
		t.Fatal("an update with credit did not count as work")
	}
	p.out = append(p.out, []byte{1})
	if got, want := p.wakeDueNs(), p.dutyNs+idleSleepMaxNs; got != want {
		t.Fatalf("back-pressured leader: due %d, want %d", got, want)
	}
}

// sleepCheckAgent is a publisher agent that counts its duty cycles and,
// past limit, blocks until released, so that an agent spinning in virtual
// time lets the bubble's clock move and the test fail instead of hang.
type sleepCheckAgent struct {
	*Publisher
	cycles  int
	limit   int
	release chan struct{}
}

func (a *sleepCheckAgent) DoWork(nowNs int64) int {
	a.cycles++
	if a.cycles == a.limit {
		<-a.release
	}
	return a.Publisher.DoWork(nowNs)
}

// TestRateLimitedAgentSleepsUntilCredit: with MaxUpdatesPerSec, updates that
// wait for credit do not keep the agent spinning: it sleeps until the next
// credit is due, sends one update, and sleeps again, so the duty cycles stay
// within a few per update (idleSpinsMax spins, then the sleep) while the
// rate holds.
func TestRateLimitedAgentSleepsUntilCredit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cc := &captureConn{}
		p := mustPublisher(t, PublisherConfig{Conn: cc, MaxUpdatesPerSec: 1000, SnapshotInterval: time.Hour, HeartbeatInterval: time.Hour})
		p.SetLeader(true, 1)
		const updates = 20
		// Per update: the duty cycle that sends it, idleSpinsMax spins, the
		// one that finds no credit; and a few for the first snapshot.
		limit := updates*(idleSpinsMax+2) + 100
		a := &sleepCheckAgent{Publisher: p, limit: limit, release: make(chan struct{})}
		r := transport.NewAgentRunner(a, p.IdleStrategy(), func() int64 { return time.Now().UnixNano() })
		r.Start()
		synctest.Wait() // the first (empty) snapshot is sent: the agent sleeps
		cc.take()
		for id := uint32(1); id <= 100; id++ { // more than the rate lets out
			define(p, id, int64(id)*32)
		}
		time.Sleep(updates*time.Millisecond + time.Millisecond/2)
		synctest.Wait()
		cycles := a.cycles
		if cycles >= limit {
			close(a.release)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if cycles >= limit {
			t.Fatalf("%d duty cycles for %d updates: the agent spins while waiting for credit", cycles, updates)
		}
		if n := len(updatesIn(t, cc.take(), PacketUpdate)); n != updates {
			t.Fatalf("sent %d updates in %d ms at 1000/s, want %d", n, updates, updates)
		}
	})
}
