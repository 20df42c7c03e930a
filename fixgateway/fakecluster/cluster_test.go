package fakecluster

import (
	"context"
	"testing"

	"venue/fixgateway"
)

// nopService applies nothing.
type nopService struct{}

func (nopService) OnSessionOpen(int64, []byte, int64, int64)    {}
func (nopService) OnSessionMessage(int64, int64, int64, []byte) {}
func (nopService) OnSessionClose(int64, int64, int64)           {}

type countingHandler struct{ messages, leaders, unknown int }

func (h *countingHandler) OnMessage([]byte)               { h.messages++ }
func (h *countingHandler) OnNewLeader(int32, int64)       { h.leaders++ }
func (h *countingHandler) OnUnknownOutcome(int64, []byte) { h.unknown++ }

// TestEgressReady: every event a client gains (egress, a new leader, an
// unknown outcome) signals EgressReady, without blocking the cluster when
// nobody has taken the previous signal; Poll delivers them.
func TestEgressReady(t *testing.T) {
	c := New(nopService{})
	cl := c.NewClient()
	if err := cl.Connect(context.Background(), fixgateway.Credentials{Principal: "GW"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cl.EgressReady():
		t.Fatal("signalled with nothing to poll")
	default:
	}
	id := cl.SessionID()
	c.Do(func() {
		c.Send(id, []byte("one"))
		c.Send(id, []byte("two")) // the signal is pending: not blocked
	})
	<-cl.EgressReady()
	var h countingHandler
	if n := cl.Poll(&h, 10); n != 2 || h.messages != 2 {
		t.Fatalf("polled %d, %+v", n, h)
	}
	c.Hold()
	if r := cl.Offer([]byte("held")); !r.Accepted() {
		t.Fatalf("offer: %v", r)
	}
	c.Failover(false)
	<-cl.EgressReady()
	if n := cl.Poll(&h, 10); n != 2 || h.unknown != 1 || h.leaders != 1 {
		t.Fatalf("polled %d, %+v", n, h)
	}
}
