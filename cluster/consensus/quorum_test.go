package consensus

import (
	"testing"
	"testing/quick"
)

// TestQuorumPositionMatchesNaive checks the fast quorum function against the
// naive reference on random inputs of every cluster size.
func TestQuorumPositionMatchesNaive(t *testing.T) {
	f := func(raw []int16, size uint8) bool {
		n := int(size)%membersMax + 1
		pos := make([]Position, n)
		for i := range n {
			if i < len(raw) {
				pos[i] = Position(raw[i]) // small values make ties common
			}
		}
		return QuorumPosition(pos) == quorumPositionNaive(pos)
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 5000}); err != nil {
		t.Fatal(err)
	}
}

func TestQuorumPositionExamples(t *testing.T) {
	cases := []struct {
		pos  []Position
		want Position
	}{
		{[]Position{7}, 7},
		{[]Position{10, 0}, 0},
		{[]Position{10, 20, 30}, 20},
		{[]Position{30, 30, 0}, 30},
		{[]Position{1, 2, 3, 4, 5}, 3},
		{[]Position{0, 0, 0, 100, 100}, 0},
	}
	for _, c := range cases {
		if got := QuorumPosition(c.pos); got != c.want {
			t.Errorf("QuorumPosition(%v) = %d, want %d", c.pos, got, c.want)
		}
	}
}

func TestQuorumPositionDoesNotAllocate(t *testing.T) {
	pos := []Position{5, 1, 4, 2, 3}
	if n := testing.AllocsPerRun(100, func() { _ = QuorumPosition(pos) }); n != 0 {
		t.Fatalf("allocates %v", n)
	}
}

func BenchmarkQuorumPosition5(b *testing.B) {
	pos := []Position{5000, 1000, 4000, 2000, 3000}
	for b.Loop() {
		_ = QuorumPosition(pos)
	}
}
