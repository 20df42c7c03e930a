package fixgateway

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// corkPair returns a loopback connection's near end and its far end, not
// drained, so that a test can see what has been sent.
func corkPair(t *testing.T) (near, far *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	f, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(); f.Close() })
	return c.(*net.TCPConn), f.(*net.TCPConn)
}

// corkHeldMs is how long a test watches corked bytes stay in the kernel:
// well under the kernel's own limit (200 ms) so that only an uncork could
// send them.
const corkHeldMs = 50

// corkStepMs is how long a test watches after each later hand-off of a
// batch: an uncork sends at once, and the batch's whole watch must stay
// well under the kernel's 200 ms, which on a loaded host (with -race) it
// did not at corkHeldMs per step.
const corkStepMs = 10

// received reads what far has been sent within d.
func received(t *testing.T, far *net.TCPConn, want int, d time.Duration) []byte {
	t.Helper()
	far.SetReadDeadline(time.Now().Add(d))
	b := make([]byte, want)
	n, err := io.ReadFull(far, b)
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal(err)
	}
	return b[:n]
}

// handOver plays quickfixgo's session goroutine for one message: the
// hand-off (a token back), the write, the wait, the check.
func handOver(t *testing.T, w *wire, h handoff, c *net.TCPConn, msg []byte) {
	t.Helper()
	h.release()
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	w.awaitWritten(len(msg))
	w.handedOver(h)
}

// TestCorkBatch: a batch's messages are held while it lasts and go out
// when the last is handed over after it ended, or at its end when all
// were handed over during it; a lone message is not held.
func TestCorkBatch(t *testing.T) {
	msg := []byte("8=FIX.4.4\x0135=8\x01")
	for _, tc := range []struct {
		name       string
		batch      int
		endsBefore int // messages handed over before the sender's end of batch
	}{
		{"all handed over during the batch", 3, 3},
		{"the last two after it", 3, 1},
		{"all after it", 4, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			near, far := corkPair(t)
			w := newWire(near, newCut(t))
			if w == nil {
				t.Skip("the kernel's byte count is not readable here")
			}
			h := newHandoff()
			if !w.beginBatch(tc.batch) {
				t.Fatal("a batch is not corked")
			}
			for range tc.batch {
				if !h.take() {
					t.Fatal("no token")
				}
			}
			for range tc.endsBefore {
				handOver(t, w, h, near, msg)
			}
			if got := received(t, far, len(msg), corkHeldMs*time.Millisecond); len(got) != 0 {
				t.Fatalf("%d bytes went out during the batch", len(got))
			}
			w.endBatch(h)
			for range tc.batch - tc.endsBefore - 1 {
				handOver(t, w, h, near, msg)
				if got := received(t, far, len(msg), corkStepMs*time.Millisecond); len(got) != 0 {
					t.Fatalf("%d bytes went out with messages still queued", len(got))
				}
			}
			if tc.batch > tc.endsBefore {
				handOver(t, w, h, near, msg)
			}
			want := bytes.Repeat(msg, tc.batch)
			if got := received(t, far, len(want), time.Minute); !bytes.Equal(got, want) {
				t.Fatalf("far end got %q", got)
			}
			if w.corked || h.queuedNow() != 0 {
				t.Fatalf("corked %v, queued %d", w.corked, h.queuedNow())
			}
		})
	}
}

// TestCorkLone: a lone message, a connection without a wire (TLS), and
// an uncork with nothing corked change nothing.
func TestCorkLone(t *testing.T) {
	near, far := corkPair(t)
	w := newWire(near, newCut(t))
	if w == nil {
		t.Skip("the kernel's byte count is not readable here")
	}
	h := newHandoff()
	if w.beginBatch(1) || w.corked {
		t.Fatal("a lone message is corked")
	}
	h.take()
	msg := []byte("8=FIX.4.4\x0135=8\x01")
	handOver(t, w, h, near, msg)
	if got := received(t, far, len(msg), time.Minute); !bytes.Equal(got, msg) {
		t.Fatalf("far end got %q", got)
	}
	w.uncork()
	var none *wire
	if none.beginBatch(5) {
		t.Fatal("a nil wire corks")
	}
	none.handedOver(h)
	none.uncork()
}
