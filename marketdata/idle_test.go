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
