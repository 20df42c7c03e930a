package marketdata

import (
	"testing"
	"testing/synctest"
	"time"

	"venue/transport"
)

// TestAgentsOnGoroutinesOverFakeNetwork: the publisher agent on an
// AgentRunner, one subscriber on Run and one on a ReceiverAgent, all on a
// lossy fake network inside a synctest bubble (virtual time): both
// subscribers converge on the reference once the network heals.
func TestAgentsOnGoroutinesOverFakeNetwork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ref, cmds := precompute(31, 30, 3000, DepthDefault)
		net := NewFakeNetwork(31, FakeFaults{LossPermille: 50, ReorderPermille: 20, DuplicatePermille: 20})
		pub := mustPublisher(t, PublisherConfig{Conn: net.Sender("md"), SnapshotInterval: 50 * time.Millisecond})
		clock := func() int64 { return time.Now().UnixNano() }
		subA := mustSubscriber(t, SubscriberConfig{OnUpdate: newChecker(t, ref).onUpdate})
		subB := mustSubscriber(t, SubscriberConfig{OnUpdate: newChecker(t, ref).onUpdate})
		connA := net.Receiver("md", 0)
		stop := make(chan struct{})
		done := make(chan error, 1)
		go func() { done <- subA.Run(connA, stop) }()
		recv := transport.NewAgentRunner(NewReceiverAgent(subB, net.Receiver("md", 0)), transport.NewBackoffIdleStrategy(), clock)
		recv.Start()
		pubRunner := transport.NewAgentRunner(pub, transport.NewBackoffIdleStrategy(), clock)
		pubRunner.Start()
		pub.SetLeader(true, 1)
		for i, cmd := range cmds {
			fanout{pub}.run(cmd)
			if i%100 == 0 {
				time.Sleep(time.Millisecond) // let virtual time pass between bursts
			}
		}
		net.SetFaults(FakeFaults{})
		time.Sleep(200 * time.Millisecond) // several snapshot intervals, virtual
		synctest.Wait()
		for i, sub := range []*Subscriber{subA, subB} {
			for id, want := range ref.final {
				if got, ok := sub.Book(id); !ok || !got.View.Equal(&want) || got.Stale {
					t.Fatalf("subscriber %d instrument %d: got %s want %s", i, id, describe(&got.View), describe(&want))
				}
			}
			if sub.Recovering() {
				t.Fatalf("subscriber %d still recovering: %+v", i, sub.Stats())
			}
		}
		close(stop)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		for _, r := range []*transport.AgentRunner{pubRunner, recv} {
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
}
