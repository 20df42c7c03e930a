package marketdata

import (
	"math/rand/v2"
	"testing"
	"time"
)

// checker verifies, at every subscriber callback, that the book equals the
// reference book at the same log position and that no instrument's position
// ever moved backwards.
type checker struct {
	t       *testing.T
	ref     *refSink
	last    map[uint32]int64
	updates int
	failed  bool
}

func newChecker(t *testing.T, ref *refSink) *checker {
	return &checker{t: t, ref: ref, last: map[uint32]int64{}}
}

func (c *checker) onUpdate(b *Book) {
	c.updates++
	if c.failed {
		return
	}
	if b.LogPosition < c.last[b.InstrumentID] {
		c.failed = true
		c.t.Errorf("instrument %d moved backwards: %d after %d", b.InstrumentID, b.LogPosition, c.last[b.InstrumentID])
	}
	c.last[b.InstrumentID] = b.LogPosition
	want, ok := c.ref.history[b.InstrumentID][b.LogPosition]
	if !ok {
		c.failed = true
		c.t.Errorf("instrument %d: no reference state at position %d", b.InstrumentID, b.LogPosition)
		return
	}
	if !b.View.Equal(&want) {
		c.failed = true
		c.t.Errorf("instrument %d at %d:\n got %s\nwant %s", b.InstrumentID, b.LogPosition, describe(&b.View), describe(&want))
	}
}

// converge runs the publisher on a fault-free network until the subscriber
// has completed a snapshot, then checks every book against the reference's
// final state.
func converge(t *testing.T, net *FakeNetwork, pub *Publisher, conn Conn, sub *Subscriber, ref *refSink, nowNs *int64) {
	t.Helper()
	net.SetFaults(FakeFaults{})
	// Two snapshot intervals: the one in progress may have begun before the
	// last loss.
	for range 2 {
		*nowNs += int64(time.Second)
		for i := 0; i < 1000; i++ {
			pub.DoWork(*nowNs)
			pump(conn, sub)
			if !pub.snapActive && pub.Pending() == 0 {
				break
			}
		}
	}
	if sub.Recovering() {
		t.Fatalf("subscriber still recovering after two fault-free snapshots: %+v", sub.Stats())
	}
	for id, want := range ref.final {
		got, ok := sub.Book(id)
		if !ok {
			t.Fatalf("instrument %d missing", id)
		}
		if !got.View.Equal(&want) || got.Stale {
			t.Fatalf("instrument %d final (stale=%v):\n got %s\nwant %s", id, got.Stale, describe(&got.View), describe(&want))
		}
	}
}

// TestDifferentialConflatedFeedEqualsFullStream: over many seeds, a publisher
// fed an engine-like change stream sends through a lossy, duplicating,
// reordering network; every book the subscriber shows equals the reference
// book built from the full stream at the same log position, positions only
// move forward, and once the network heals the books converge.
func TestDifferentialConflatedFeedEqualsFullStream(t *testing.T) {
	seeds := 150
	if testing.Short() || raceEnabled {
		seeds = 15
	}
	for seed := range uint64(seeds) {
		runDifferential(t, seed)
		if t.Failed() {
			t.Fatalf("seed %d failed", seed)
		}
	}
}

func runDifferential(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	faults := FakeFaults{LossPermille: rng.IntN(150), DuplicatePermille: rng.IntN(60), ReorderPermille: rng.IntN(60)}
	net := NewFakeNetwork(seed, faults)
	depth := 1 + rng.IntN(LevelsPerSideMax)
	pub := mustPublisher(t, PublisherConfig{Conn: net.Sender("md"), Depth: depth, MTU: mtuMin + rng.IntN(2000),
		SnapshotInterval: time.Duration(1+rng.IntN(20)) * time.Millisecond, HeartbeatInterval: time.Millisecond})
	ref := newRefSink(depth)
	chk := newChecker(t, ref)
	conn := net.Receiver("md", 0)
	sub := mustSubscriber(t, SubscriberConfig{OnUpdate: chk.onUpdate})
	gen := newGenerator(seed, 1+rng.IntN(40))
	sinks := fanout{pub, ref}
	pub.SetLeader(true, uint32(seed)+1)
	now := int64(0)
	for range 3000 {
		switch r := rng.IntN(10); {
		case r < 6:
			sinks.run(gen.next())
		case r < 9:
			pub.DoWork(now)
		default:
			pump(conn, sub)
		}
		now += int64(rng.IntN(200_000))
	}
	converge(t, net, pub, conn, sub, ref, &now)
	if faults.LossPermille > 20 && sub.Stats().GapsDetected == 0 {
		t.Errorf("seed %d: %d‰ loss but no gap detected", seed, faults.LossPermille)
	}
}

// TestFailoverKeepsPositionsMonotonic: two members' publishers absorb the
// same stream, the follower lagging behind; mid-stream the leader stops (and
// one late packet of its old session still arrives) and the follower becomes
// leader with a new session. No instrument ever moves backwards, and the
// books converge on the reference.
func TestFailoverKeepsPositionsMonotonic(t *testing.T) {
	seeds := 40
	if testing.Short() || raceEnabled {
		seeds = 4
	}
	for seed := range uint64(seeds) {
		runFailover(t, seed)
		if t.Failed() {
			t.Fatalf("seed %d failed", seed)
		}
	}
}

func runFailover(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 2))
	net := NewFakeNetwork(seed, FakeFaults{LossPermille: rng.IntN(50), ReorderPermille: rng.IntN(30)})
	cfg := PublisherConfig{Depth: 5, SnapshotInterval: 5 * time.Millisecond, HeartbeatInterval: time.Millisecond}
	cfg.Conn = net.Sender("md")
	a := mustPublisher(t, cfg)
	cfg.Conn = net.Sender("md")
	b := mustPublisher(t, cfg)
	ref := newRefSink(5)
	chk := newChecker(t, ref)
	conn := net.Receiver("md", 0)
	sub := mustSubscriber(t, SubscriberConfig{OnUpdate: chk.onUpdate})
	gen := newGenerator(seed, 1+rng.IntN(20))
	var backlog [][]call // commands b has not applied yet
	lag := 1 + rng.IntN(50)
	a.SetLeader(true, 1)
	leader := a
	now := int64(0)
	for step := range 4000 {
		if step == 2000 {
			b.SetLeader(true, 2) // a has crashed; b is elected
			leader = b
		}
		cmd := gen.next()
		fanout{ref}.run(cmd)
		if leader == a {
			fanout{a}.run(cmd)
		}
		backlog = append(backlog, cmd)
		for len(backlog) > lag || (leader == b && len(backlog) > 0 && rng.IntN(2) == 0) {
			fanout{b}.run(backlog[0])
			backlog = backlog[1:]
		}
		if step == 2001 {
			a.DoWork(now) // the deposed leader's last packet, after b's first
		} else if leader == a || step > 2000 {
			leader.DoWork(now)
		}
		if rng.IntN(3) == 0 {
			pump(conn, sub)
		}
		now += int64(rng.IntN(100_000))
	}
	for _, cmd := range backlog {
		fanout{b}.run(cmd)
	}
	converge(t, net, b, conn, sub, ref, &now)
	if st := sub.Stats(); st.SessionChanges != 1 {
		t.Errorf("session changes = %d, want 1 (%+v)", st.SessionChanges, st)
	}
}
