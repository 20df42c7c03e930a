package consensus

import "testing"

// BenchmarkPipeline3Members measures the consensus core alone: three members
// in one goroutine, messages handed over in process without encoding, every
// append synced at once, 200-byte messages proposed in bursts of 20 (the
// seeds' workload). One op is one committed message.
func BenchmarkPipeline3Members(b *testing.B) {
	h := &scriptHarness{t: &testing.T{}}
	h.members(3, 1)
	h.tick("50ms")
	leader := -1
	for i, n := range h.nodes {
		if n.state == StateLeaderReady {
			leader = i
		}
	}
	if leader < 0 {
		b.Fatal("no leader")
	}
	payload := make([]byte, 200)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 20 {
		for range 20 {
			if _, err := h.nodes[leader].ProposeMessage(h.nowNs, 1, int64(i), payload); err != nil {
				b.Fatal(err)
			}
		}
		h.settle()
	}
	b.StopTimer()
	if st := h.nodes[leader].Status(); st.Commit != st.LogEnd {
		b.Fatalf("not committed: %+v", st)
	}
}
