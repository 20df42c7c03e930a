package failover

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"venue/cluster"
)

// fakeSession is a ClientSession that records what the service offers.
type fakeSession struct {
	id   cluster.SessionID
	sent [][]byte
}

func (s *fakeSession) ID() cluster.SessionID { return s.id }
func (s *fakeSession) Principal() []byte     { return nil }
func (s *fakeSession) Offer(p []byte) cluster.OfferStatus {
	s.sent = append(s.sent, bytes.Clone(p))
	return cluster.OfferOK
}

func newEcho(t *testing.T, snapshot io.Reader) *CountingEcho {
	t.Helper()
	e, err := NewCountingEcho(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.OnStart(nil, snapshot); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestCountingEchoSnapshotContinues: applying a log straight through and
// applying it from a snapshot taken halfway reach the same state, and every
// message is echoed to its session.
func TestCountingEchoSnapshotContinues(t *testing.T) {
	msgs := make([][]byte, 20)
	for i := range msgs {
		msgs[i] = fmt.Appendf(nil, "message %d", i)
	}
	s := &fakeSession{id: 7}
	straight := newEcho(t, nil)
	for _, m := range msgs {
		straight.OnSessionMessage(s, 0, 0, m)
	}
	if len(s.sent) != len(msgs) || !bytes.Equal(s.sent[3], msgs[3]) {
		t.Fatalf("echoed %d messages", len(s.sent))
	}
	half := newEcho(t, nil)
	for _, m := range msgs[:10] {
		half.OnSessionMessage(s, 0, 0, m)
	}
	var snap bytes.Buffer
	if err := half.OnTakeSnapshot(&snap); err != nil {
		t.Fatal(err)
	}
	resumed := newEcho(t, &snap)
	if !resumed.Restored {
		t.Fatal("not restored")
	}
	for _, m := range msgs[10:] {
		resumed.OnSessionMessage(s, 0, 0, m)
	}
	a1, d1 := straight.State()
	a2, d2 := resumed.State()
	if a1 != 20 || a1 != a2 || d1 != d2 {
		t.Fatalf("straight %d/%x, from snapshot %d/%x", a1, d1, a2, d2)
	}
}

// TestCountingEchoDigestOrderAndSession: the digest tells the order of
// messages and their sessions apart.
func TestCountingEchoDigestOrderAndSession(t *testing.T) {
	digest := func(order []int, sessions []cluster.SessionID) uint64 {
		e := newEcho(t, nil)
		for i, k := range order {
			e.OnSessionMessage(&fakeSession{id: sessions[i]}, 0, 0, []byte{byte(k)})
		}
		_, d := e.State()
		return d
	}
	base := digest([]int{1, 2}, []cluster.SessionID{1, 1})
	for _, tc := range []struct {
		name     string
		order    []int
		sessions []cluster.SessionID
	}{
		{"swapped", []int{2, 1}, []cluster.SessionID{1, 1}},
		{"other session", []int{1, 2}, []cluster.SessionID{1, 2}},
		{"missing", []int{1}, []cluster.SessionID{1}},
	} {
		if digest(tc.order, tc.sessions) == base {
			t.Errorf("%s: same digest as the original", tc.name)
		}
	}
}

func TestDecodeEchoSnapshot(t *testing.T) {
	good := AppendEchoSnapshot(nil, 42, 0xfeed)
	for _, tc := range []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"good", good, true},
		{"empty", nil, false},
		{"truncated", good[:len(good)-1], false},
		{"trailing byte", append(bytes.Clone(good), 0), false},
		{"bad magic", append([]byte("VNECHO02"), good[8:]...), false},
	} {
		a, d, err := DecodeEchoSnapshot(tc.b)
		if tc.ok != (err == nil) || (tc.ok && (a != 42 || d != 0xfeed)) {
			t.Errorf("%s: %d %x %v", tc.name, a, d, err)
		}
		if err != nil && !errors.Is(err, ErrBadEchoSnapshot) {
			t.Errorf("%s: %v is not ErrBadEchoSnapshot", tc.name, err)
		}
	}
	e, _ := NewCountingEcho(nil, 0)
	if err := e.OnStart(nil, bytes.NewReader(good[:5])); !errors.Is(err, ErrBadEchoSnapshot) {
		t.Fatalf("OnStart with a torn snapshot: %v", err)
	}
}

// FuzzDecodeEchoSnapshot: any bytes decode or fail cleanly, and what
// decodes encodes back to the same bytes.
func FuzzDecodeEchoSnapshot(f *testing.F) {
	f.Add(AppendEchoSnapshot(nil, 0, fnvOffset64)) // an empty service's snapshot
	f.Add(AppendEchoSnapshot(nil, 1<<40, 1))       // large count
	f.Add([]byte("VNECHO01"))                      // magic only: truncated
	f.Add([]byte{})                                // nothing
	f.Fuzz(func(t *testing.T, b []byte) {
		a, d, err := DecodeEchoSnapshot(b)
		if err != nil {
			return
		}
		if !bytes.Equal(AppendEchoSnapshot(nil, a, d), b) {
			t.Fatalf("%x decoded to %d/%x, which encodes differently", b, a, d)
		}
	})
}
