package container

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"venue/cluster"
	"venue/cluster/consensus"
)

// hintRecorder is a recorder that also takes hints, and logs them.
type hintRecorder struct {
	recorder
	distance int
}

func (h *hintRecorder) HintDistance() int { return h.distance }
func (h *hintRecorder) HintSessionMessage(p []byte) {
	h.lines = append(h.lines, fmt.Sprintf("hint %s", p))
}

// hintBatch is a committed batch of n session messages m0..m(n-1), with a
// timer entry after every second one (entries the hints must step over).
func hintBatch(n int) []byte {
	var b []byte
	for i := range n {
		b = consensus.AppendEntry(b, &consensus.LogEntry{Type: consensus.EntrySessionMessage, Timestamp: int64(i),
			Payload: fmt.Appendf(nil, "m%d", i)})
		if i%2 == 1 {
			b = consensus.AppendEntry(b, &consensus.LogEntry{Type: consensus.EntryTimer, CorrelationID: 99, Timestamp: int64(i)})
		}
	}
	return b
}

// wantHinted is the callback order for a batch of n messages hinted d ahead.
func wantHinted(n, d int) []string {
	var want []string
	if d <= 0 {
		for i := range n {
			want = append(want, fmt.Sprintf("message -1 %q", fmt.Sprintf("m%d", i)))
		}
		return want
	}
	for i := range min(d, n) {
		want = append(want, fmt.Sprintf("hint m%d", i))
	}
	for i := range n {
		if i+d < n {
			want = append(want, fmt.Sprintf("hint m%d", i+d))
		}
		want = append(want, fmt.Sprintf("message -1 %q", fmt.Sprintf("m%d", i)))
	}
	return want
}

func TestApplyHintsSessionMessagesAhead(t *testing.T) {
	for _, tc := range []struct{ n, distance, wantDistance int }{
		{n: 6, distance: 2, wantDistance: 2},
		{n: 6, distance: 1, wantDistance: 1},
		{n: 3, distance: 4, wantDistance: 4}, // the whole batch is hinted up front
		{n: 1, distance: 4, wantDistance: 4},
		{n: 5, distance: 0, wantDistance: 0},  // no hints
		{n: 5, distance: -3, wantDistance: 0}, // no hints
		{n: hintDistanceMax + 10, distance: 1 << 20, wantDistance: hintDistanceMax},
	} {
		t.Run(fmt.Sprintf("n=%d,d=%d", tc.n, tc.distance), func(t *testing.T) {
			h := &hintRecorder{distance: tc.distance}
			c := New(1, h, &egressLog{})
			if err := c.Start(nil, 0); err != nil {
				t.Fatal(err)
			}
			if err := c.Apply(0, hintBatch(tc.n)); err != nil {
				t.Fatal(err)
			}
			got := trimMessages(h.lines[1:]) // after "start"
			if want := wantHinted(tc.n, tc.wantDistance); !slices.Equal(got, want) {
				t.Fatalf("callbacks:\n got %q\nwant %q", got, want)
			}
		})
	}
}

// trimMessages drops the timestamps and positions from "message" lines and
// the timer lines, leaving the order of hints and messages.
func trimMessages(lines []string) []string {
	var out []string
	for _, l := range lines {
		var id int
		var p string
		if n, _ := fmt.Sscanf(l, "message %d %q", &id, &p); n == 2 {
			out = append(out, fmt.Sprintf("message %d %q", id, p))
		} else if len(l) >= 4 && l[:4] == "hint" {
			out = append(out, l)
		}
	}
	return out
}

// Two batches are hinted each on its own: hints never run past the batch
// they were given (the next one is not there yet).
func TestApplyHintsStopAtBatchEnd(t *testing.T) {
	h := &hintRecorder{distance: 2}
	c := New(1, h, &egressLog{})
	if err := c.Start(nil, 0); err != nil {
		t.Fatal(err)
	}
	msg := func(i int) []byte {
		return consensus.AppendEntry(nil, &consensus.LogEntry{Type: consensus.EntrySessionMessage,
			Payload: fmt.Appendf(nil, "m%d", i)})
	}
	first := append(msg(0), msg(1)...)
	second := append(msg(2), msg(3)...)
	if err := c.Apply(0, first); err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(cluster.Position(len(first)), second); err != nil {
		t.Fatal(err)
	}
	got := trimMessages(h.lines[1:])
	want := []string{"hint m0", "hint m1", `message -1 "m0"`, `message -1 "m1"`,
		"hint m2", "hint m3", `message -1 "m2"`, `message -1 "m3"`}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
}

// A corrupt entry ends the hints where it lies, and Apply still reports it
// when it gets there, after applying the entries before it.
func TestApplyHintsStopAtCorruptEntry(t *testing.T) {
	h := &hintRecorder{distance: 3}
	c := New(1, h, &egressLog{})
	if err := c.Start(nil, 0); err != nil {
		t.Fatal(err)
	}
	b := hintBatch(2)               // m0, m1, timer
	b = append(b, 0xff, 0xff, 0xff) // not an entry
	err := c.Apply(0, b)
	if !errors.Is(err, ErrBadLog) {
		t.Fatalf("Apply: %v, want ErrBadLog", err)
	}
	got := trimMessages(h.lines[1:])
	if want := wantHinted(2, 3); !slices.Equal(got, want) {
		t.Fatalf("got %q want %q", got, want)
	}
}

var _ cluster.MessageHinter = (*hintRecorder)(nil)
