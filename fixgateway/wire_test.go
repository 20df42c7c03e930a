package fixgateway

import (
	"io"
	"net"
	"testing"
	"time"

	"venue/transport"
)

// tcpPair returns the two ends of a loopback TCP connection; the far end
// is drained so that writes never block.
func tcpPair(t *testing.T) (near *net.TCPConn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
		io.Copy(io.Discard, c)
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	far, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { c.Close(); far.Close() })
	return c.(*net.TCPConn)
}

// newCut returns a counter for waits cut short.
func newCut(t *testing.T) *transport.Counter {
	t.Helper()
	c, err := transport.NewCountersManager(1).Allocate(CounterWireWaitsCut, "writer waits cut short")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestWireAwaitWritten: once the bytes handed to the writer are in the
// kernel, the wait returns at once, and the count follows every message.
func TestWireAwaitWritten(t *testing.T) {
	c := tcpPair(t)
	cut := newCut(t)
	w := newWire(c, cut)
	if w == nil {
		t.Skip("the kernel's byte count is not readable here")
	}
	for _, n := range []int{1, 300, 4096, 70_000} {
		if _, err := c.Write(make([]byte, n)); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		w.awaitWritten(n)
		if took := time.Since(start); took >= wireWaitMax {
			t.Fatalf("%d bytes written: waited %v, the whole bound", n, took)
		}
		if written, ok := w.sock.written(); !ok || written != w.handed {
			t.Fatalf("after %d bytes: kernel %d (%v), handed %d", n, written, ok, w.handed)
		}
	}
	if n := w.cut.Get(); n != 0 {
		t.Fatalf("%d waits cut short", n)
	}
}

// TestWireWaitBounded: bytes that never reach the kernel (a writer stuck
// or a count that is off) hold the wait only for wireWaitMax, and the
// kernel's count becomes the new baseline, so that the next wait is
// right again.
func TestWireWaitBounded(t *testing.T) {
	c := tcpPair(t)
	cut := newCut(t)
	w := newWire(c, cut)
	if w == nil {
		t.Skip("the kernel's byte count is not readable here")
	}
	if _, err := c.Write(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	w.awaitWritten(10 + 5) // 5 bytes the writer never writes
	if took := time.Since(start); took < wireWaitMax {
		t.Fatalf("gave up after %v, before the bound %v", took, wireWaitMax)
	}
	if w.handed != 10 || w.off || w.cut.Get() != 1 {
		t.Fatalf("after the bound: handed %d (want the kernel's 10), off %v, cut %d (want 1)", w.handed, w.off, w.cut.Get())
	}
	if _, err := c.Write(make([]byte, 7)); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	w.awaitWritten(7)
	if took := time.Since(start); took >= wireWaitMax {
		t.Fatalf("after a resync: waited %v", took)
	}
}

// TestWireClosed: a closed connection ends the wait at once.
func TestWireClosed(t *testing.T) {
	c := tcpPair(t)
	cut := newCut(t)
	w := newWire(c, cut)
	if w == nil {
		t.Skip("the kernel's byte count is not readable here")
	}
	c.Close()
	start := time.Now()
	w.awaitWritten(100)
	if took := time.Since(start); took >= wireWaitMax {
		t.Fatalf("closed connection: waited %v", took)
	}
}

// TestWireUnreadable: connections whose bytes are not the messages' (a
// pipe here; TLS and proxied ones alike) get no wire, and a nil wire only
// yields.
func TestWireUnreadable(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if w := newWire(a, nil); w != nil {
		t.Fatalf("a pipe got a wire %+v", w)
	}
	var w *wire
	w.awaitWritten(10) // must not block or panic
}
