package fixgateway

import (
	"math/rand/v2"
	"testing"

	"github.com/quickfixgo/quickfix"
)

func newTestSeqStore(t *testing.T) (*seqStore, quickfix.MessageStore) {
	t.Helper()
	inner, err := quickfix.NewMemoryStoreFactory().Create(quickfix.SessionID{BeginString: "FIX.4.4", SenderCompID: "A", TargetCompID: "B"})
	if err != nil {
		t.Fatal(err)
	}
	return newSeqStore(inner, SessionInFlightMax), inner
}

// TestSeqStoreWatermark: the persisted inbound sequence number stops at
// the first unanswered message and catches up as answers go out, in any
// order; a Reset forgets the old numbering's unanswered messages.
func TestSeqStoreWatermark(t *testing.T) {
	s, inner := newTestSeqStore(t)
	step := func(what string, live, persisted int) {
		t.Helper()
		if s.NextTargetMsgSeqNum() != live || inner.NextTargetMsgSeqNum() != persisted {
			t.Fatalf("%s: live %d persisted %d, want %d %d", what, s.NextTargetMsgSeqNum(), inner.NextTargetMsgSeqNum(), live, persisted)
		}
	}
	step("fresh", 1, 1)
	_ = s.IncrNextTargetMsgSeqNum() // 1: a logon, nothing to answer
	step("logon", 2, 2)
	a, _ := s.begin(2)
	_ = s.IncrNextTargetMsgSeqNum()
	b, _ := s.begin(3)
	_ = s.IncrNextTargetMsgSeqNum()
	_ = s.IncrNextTargetMsgSeqNum() // 4: a heartbeat
	step("two unanswered", 5, 2)
	s.end(b)
	_ = s.flush()
	step("the later answered", 5, 2)
	s.end(a)
	_ = s.flush()
	step("both answered", 5, 5)
	c, _ := s.begin(5)
	_ = s.IncrNextTargetMsgSeqNum()
	step("one more", 6, 5)
	_ = s.Reset()
	step("reset", 1, 1)
	s.end(c) // from before the reset: ignored
	_ = s.flush()
	step("stale answer", 1, 1)
	if s.unanswered() != 0 {
		t.Fatalf("%d unanswered after reset", s.unanswered())
	}
}

// TestSeqStoreFull: SessionInFlightMax unanswered messages and no more.
func TestSeqStoreFull(t *testing.T) {
	s, _ := newTestSeqStore(t)
	var first seqSlot
	for i := 0; i < SessionInFlightMax; i++ {
		slot, ok := s.begin(i + 1)
		if !ok {
			t.Fatalf("refused message %d", i+1)
		}
		if i == 0 {
			first = slot
		}
	}
	if _, ok := s.begin(SessionInFlightMax + 1); ok {
		t.Fatal("took one past SessionInFlightMax")
	}
	s.end(first)
	if _, ok := s.begin(SessionInFlightMax + 1); !ok {
		t.Fatal("no room after an answer")
	}
}

// TestSeqStoreModel: random begins, answers and increments agree with a
// naive model (the persisted number is the smallest unanswered sequence
// number, or the live one).
func TestSeqStoreModel(t *testing.T) {
	for seed := uint64(1); seed <= 50; seed++ {
		rng := rand.New(rand.NewPCG(seed, 0))
		s, inner := newTestSeqStore(t)
		open := map[int]seqSlot{}
		for op := 0; op < 500; op++ {
			switch rng.IntN(3) {
			case 0: // a message the gateway takes
				seq := s.NextTargetMsgSeqNum()
				if slot, ok := s.begin(seq); ok {
					open[seq] = slot
				}
				_ = s.IncrNextTargetMsgSeqNum()
			case 1: // a message answered by quickfixgo itself
				_ = s.IncrNextTargetMsgSeqNum()
			case 2: // an answer goes out
				for seq, slot := range open {
					s.end(slot)
					delete(open, seq)
					break
				}
				_ = s.flush()
			}
			want := s.NextTargetMsgSeqNum()
			for seq := range open {
				want = min(want, seq)
			}
			if got := inner.NextTargetMsgSeqNum(); got > want {
				t.Fatalf("seed %d op %d: persisted %d passes unanswered %d", seed, op, got, want)
			}
			_ = s.flush()
			if got := inner.NextTargetMsgSeqNum(); got != want {
				t.Fatalf("seed %d op %d: persisted %d after flush, want %d", seed, op, got, want)
			}
		}
	}
}

// TestIsFreshAppMessage: what gives a session's handoff token back.
func TestIsFreshAppMessage(t *testing.T) {
	for _, c := range []struct {
		msg  string
		want bool
	}{
		{"8=FIX.4.4\x019=5\x0135=8\x0134=2\x0110=000\x01", true},          // an ExecutionReport
		{"8=FIX.4.4\x019=5\x0135=j\x0134=2\x0110=000\x01", true},          // a BusinessMessageReject
		{"8=FIX.4.4\x019=5\x0135=0\x0134=2\x0110=000\x01", false},         // a Heartbeat
		{"8=FIX.4.4\x019=5\x0135=A\x0134=1\x0110=000\x01", false},         // a Logon
		{"8=FIX.4.4\x019=5\x0135=8\x0134=2\x0143=Y\x0110=000\x01", false}, // a resend
		{"8=FIX.4.4\x019=5\x0135=AE\x0134=2\x0110=000\x01", false},        // not one the gateway sends
		{"8=FIX.4.4\x019=5\x0135=", false},                                // truncated
		{"", false},
	} {
		if got := isFreshAppMessage([]byte(c.msg)); got != c.want {
			t.Errorf("%q: %v, want %v", c.msg, got, c.want)
		}
	}
}
