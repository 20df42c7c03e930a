package consensus

import (
	"errors"
	"testing"
)

// TestSnapshotInstalledRejects: SnapshotInstalled refuses a store that was
// not reset to the snapshot's position, a snapshot behind the commit
// position, a term record above the member's term, and a leader; nothing
// changes.
func TestSnapshotInstalledRejects(t *testing.T) {
	leader := fuzzLeader(t)
	if err := leader.SnapshotInstalled(1<<40, 64, 0); !errors.Is(err, ErrSnapshot) {
		t.Fatalf("leader: err %v", err)
	}
	cases := []struct {
		name  string
		reset func(s *MemLogStore) error
		p     Position
	}{
		{"store not reset", func(*MemLogStore) error { return nil }, 64},
		{"store reset elsewhere", func(s *MemLogStore) error { return s.ResetTo(128, TermRecord{Term: 1}) }, 64},
		{"term above the member's", func(s *MemLogStore) error { return s.ResetTo(64, TermRecord{Term: 9}) }, 64},
	}
	for _, tc := range cases {
		s := NewMemLogStore()
		n, err := NewNode(DefaultConfig(1, 3, &seqRand{}), s, HardState{Term: 2, Vote: NoMember}, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := tc.reset(s); err != nil {
			t.Fatal(err)
		}
		if err := n.SnapshotInstalled(1, tc.p, 0); !errors.Is(err, ErrSnapshot) {
			t.Errorf("%s: err %v", tc.name, err)
		}
		if st := n.Status(); st.Commit != 0 || st.Applied != 0 {
			t.Errorf("%s: commit %d applied %d after a refused install", tc.name, st.Commit, st.Applied)
		}
	}
	// Accepted: the store starts at the snapshot, the term is known.
	s := NewMemLogStore()
	n, _ := NewNode(DefaultConfig(1, 3, &seqRand{}), s, HardState{Term: 2, Vote: NoMember}, 0, 0)
	if err := s.ResetTo(64, TermRecord{Term: 2, Base: 8}); err != nil {
		t.Fatal(err)
	}
	if err := n.SnapshotInstalled(1, 64, 5); err != nil {
		t.Fatal(err)
	}
	if st := n.Status(); st.Commit != 64 || st.Applied != 64 || n.Counters().SnapshotsInstalled != 1 {
		t.Fatalf("after install: %+v %+v", st, n.Counters())
	}
	if n.HasReady() {
		n.Advance(n.Ready()) // the invariants hold
	}
}
