package member

import (
	"testing"
	"time"

	"venue/cluster/consensus"
)

// TestTerminateStopsEveryMemberInOrder: the leader's Terminate appends a
// shutdown; every member applies it and its node closes.
func TestTerminateStopsEveryMemberInOrder(t *testing.T) {
	tc := startCluster(t, 3)
	l := tc.leader(t)
	p, err := tc.members[l].Terminate()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		closed := 0
		for _, m := range tc.members {
			if err := m.Err(); err != nil {
				t.Fatalf("member %d: %v", m.ID(), err)
			}
			if st := m.Status(); st.State == consensus.StateClosed && st.Applied >= p {
				closed++
			}
		}
		if closed == len(tc.members) {
			return
		}
		if time.Now().After(deadline) {
			for _, m := range tc.members {
				t.Logf("member %d: %+v", m.ID(), m.Status())
			}
			t.Fatalf("not every member closed at %d", p)
		}
		time.Sleep(time.Millisecond) // poll interval
	}
}
