package transport

import (
	"net/netip"
	"testing"
	"time"
)

// TestReadinessGate checks the per-cycle readiness that spares a duty
// cycle a recvmmsg on every idle socket: a gated socket is read only when
// the last refresh found it readable, a datagram that arrives after the
// refresh waits for the next one (and is not lost), and a refresh that
// fills its event array lets every socket read.
func TestReadinessGate(t *testing.T) {
	w, listen := gatedWaiter(t)
	rx, tx := listen(), listen()
	buf := []Datagram{{Buf: make([]byte, 64)}}
	send := func(to *udpConn) {
		out := []Datagram{{Buf: []byte("x"), N: 1, Addr: to.LocalAddr()}}
		if n, err := tx.WriteBatch(out); n != 1 || err != nil {
			t.Fatalf("send: %d %v", n, err)
		}
	}
	// readAfterRefresh refreshes until the datagram shows (loopback delivers
	// within the sendmmsg, but poll with a deadline rather than assume).
	readAfterRefresh := func(u *udpConn) int {
		deadline := time.Now().Add(5 * time.Second)
		for {
			w.refresh(0)
			n, err := u.ReadBatch(buf)
			if err != nil {
				t.Fatal(err)
			}
			if n > 0 || time.Now().After(deadline) {
				return n
			}
			time.Sleep(time.Millisecond) // poll interval
		}
	}

	w.refresh(0)
	if w.mayRead(rx.fd) {
		t.Fatal("idle socket reported readable")
	}
	send(rx)
	// Not refreshed since the send: the gate keeps the cycle from reading.
	if n, _ := rx.ReadBatch(buf); n != 0 {
		t.Fatalf("read %d datagrams before a refresh saw them", n)
	}
	if n := readAfterRefresh(rx); n != 1 {
		t.Fatalf("after refresh read %d datagrams, want 1", n)
	}
	w.refresh(0)
	if w.mayRead(rx.fd) {
		t.Fatal("drained socket still reported readable")
	}

	// More readable sockets than one refresh can list: every socket reads.
	many := make([]*udpConn, pollEventsMax+1)
	for i := range many {
		many[i] = listen()
		send(many[i])
	}
	got := 0
	deadline := time.Now().Add(5 * time.Second)
	for got < len(many) && time.Now().Before(deadline) {
		w.refresh(0)
		for _, u := range many {
			n, err := u.ReadBatch(buf)
			if err != nil {
				t.Fatal(err)
			}
			got += n
		}
	}
	if got != len(many) {
		t.Fatalf("read %d of %d datagrams through the gate", got, len(many))
	}
}

// TestDriverWakeEndsAWait: Wake returns a goroutine parked in WaitReadable
// long before its timeout.
func TestDriverWakeEndsAWait(t *testing.T) {
	d, err := NewDriver(DriverConfig{Threading: ThreadingInvoker})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	const timeout = 10 * time.Second
	done := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		d.WaitReadable(timeout)
		done <- time.Since(start)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for d.appWaiter.w.parked.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the waiter never parked")
		}
		time.Sleep(time.Millisecond) // poll interval
	}
	d.Wake()
	select {
	case waited := <-done:
		if waited >= timeout {
			t.Fatalf("woke after %v: the timeout, not Wake", waited)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Wake did not end the wait")
	}
}

// TestDriverWakeBeforeWaitIsKept: a Wake that comes while nobody is parked
// (the loop is between its duty cycle, which missed the work, and its
// park) still ends the next WaitReadable at once, instead of being lost
// until the wait's timeout.
func TestDriverWakeBeforeWaitIsKept(t *testing.T) {
	d, err := NewDriver(DriverConfig{Threading: ThreadingInvoker})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	const timeout = 2 * time.Second
	d.Wake()
	start := time.Now()
	ok := d.WaitReadable(timeout)
	if waited := time.Since(start); !ok || waited >= timeout/2 {
		t.Fatalf("WaitReadable after a Wake returned %v after %v: the wake-up was lost", ok, waited)
	}
	// The wake-up is consumed: the next wait runs to its timeout.
	start = time.Now()
	if d.WaitReadable(20 * time.Millisecond); time.Since(start) < 10*time.Millisecond {
		t.Fatal("one Wake ended two waits")
	}
}

// TestWaitHandsItsProbeToTheNextRefresh: the refresh after a wait that a
// datagram ended takes the wait's probe result instead of its own
// epoll_wait, and a datagram that arrives after that probe is not lost:
// the next wait returns at once for it and the refresh after that finds
// it. (Were the refresh to call epoll_wait, it would report the second
// socket at once.)
func TestWaitHandsItsProbeToTheNextRefresh(t *testing.T) {
	w, listen := gatedWaiter(t)
	first, second, tx := listen(), listen(), listen()
	buf := []Datagram{{Buf: make([]byte, 64)}}
	send := func(to *udpConn) {
		out := []Datagram{{Buf: []byte("x"), N: 1, Addr: to.LocalAddr()}}
		if n, err := tx.WriteBatch(out); n != 1 || err != nil {
			t.Fatalf("send: %d %v", n, err)
		}
	}
	// wait parks until a socket is readable; the deadline only bounds a
	// broken test, a readable socket ends the wait at once.
	wait := func() {
		t.Helper()
		start := time.Now()
		if !w.WaitReadable(5 * time.Second) {
			t.Fatalf("wait ended without a readable socket after %v", time.Since(start))
		}
	}
	tx.ReadBatch(buf) // tx is watched too: nothing arrives there

	w.refresh(0)
	send(first)
	wait()
	send(second) // after the wait's probe
	w.refresh(0) // the probe's result: first only
	if !w.mayRead(first.fd) || w.mayRead(second.fd) {
		t.Fatalf("refresh after the wait: first %v second %v, want the probe's view (true false)",
			w.mayRead(first.fd), w.mayRead(second.fd))
	}
	if n, err := first.ReadBatch(buf); n != 1 || err != nil {
		t.Fatalf("first: read %d %v, want 1", n, err)
	}
	if n, _ := second.ReadBatch(buf); n != 0 {
		t.Fatal("second read before any probe or refresh saw it")
	}
	// The cycle saw no work; the park that follows must not miss second.
	wait()
	w.refresh(0)
	if n, err := second.ReadBatch(buf); n != 1 || err != nil {
		t.Fatalf("second: read %d %v after the next wait, want 1: the datagram was lost", n, err)
	}
	// A handover is used once: the next refresh calls epoll_wait and,
	// with both sockets drained, finds nothing.
	w.refresh(0)
	if w.mayRead(first.fd) || w.mayRead(second.fd) {
		t.Fatal("drained sockets reported readable")
	}
	// A wait that times out hands nothing over: a datagram that comes
	// after it is seen by the next refresh's own epoll_wait.
	if w.WaitReadable(time.Millisecond) {
		t.Fatal("wait with nothing readable reported ready")
	}
	send(first)
	deadline := time.Now().Add(5 * time.Second)
	for w.refresh(0); !w.mayRead(first.fd); w.refresh(0) {
		if time.Now().After(deadline) {
			t.Fatal("refresh after a timed-out wait never saw the datagram")
		}
		time.Sleep(time.Millisecond) // poll interval
	}
}

// TestGatedRefreshLosesNoDatagram: once its agent parks through a probe,
// a cycle within refreshGapNs of the last snapshot takes none and reads
// nothing, and a datagram that arrived after that snapshot is still read
// before the agent sleeps: the park's probe finds it and returns at once,
// and the next cycle takes the probe's result. A cycle past the gap
// takes a snapshot of its own.
func TestGatedRefreshLosesNoDatagram(t *testing.T) {
	d, err := NewDriver(DriverConfig{Threading: ThreadingInvoker})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	w := d.sendWaiter
	rxConn, err := UDPNetwork{}.ListenUnicast(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer rxConn.Close()
	rx := rxConn.(*udpConn)
	d.watch(rx, w)
	tx, err := UDPNetwork{}.ListenUnicast(netip.MustParseAddrPort("127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	buf := []Datagram{{Buf: make([]byte, 64)}}
	send := func() {
		out := []Datagram{{Buf: []byte("x"), N: 1, Addr: rx.LocalAddr()}}
		if n, err := tx.WriteBatch(out); n != 1 || err != nil {
			t.Fatalf("send: %d %v", n, err)
		}
	}
	// Ungated (no park yet), every cycle takes a snapshot.
	w.refresh(1_000)
	send()
	w.refresh(1_001)
	if n, _ := rx.ReadBatch(buf); n != 1 {
		t.Fatal("ungated refresh inside the gap did not see a datagram")
	}
	if d.WaitReadable(time.Millisecond) {
		t.Fatal("wait with nothing readable reported ready")
	}
	if !w.gated.Load() {
		t.Fatal("an invoker's park did not gate its waiter")
	}

	now := int64(10_000_000)
	w.refresh(now) // a snapshot: nothing readable
	send()
	w.refresh(now + refreshGapNs - 1) // inside the gap: no snapshot
	if n, _ := rx.ReadBatch(buf); n != 0 {
		t.Fatal("a cycle inside the gap read a socket")
	}
	// The cycle found no work: the park must return at once for it.
	start := time.Now()
	if !d.WaitReadable(5 * time.Second) {
		t.Fatalf("park after a skipped refresh missed the datagram (waited %v)", time.Since(start))
	}
	w.refresh(now + refreshGapNs) // the probe's result, handed over
	if n, err := rx.ReadBatch(buf); n != 1 || err != nil {
		t.Fatalf("read %d %v after the park, want 1", n, err)
	}

	// Past the gap a cycle takes its own snapshot.
	now += 10 * refreshGapNs
	w.refresh(now)
	send()
	deadline := time.Now().Add(5 * time.Second)
	for now += refreshGapNs; ; now += refreshGapNs {
		w.refresh(now)
		if n, _ := rx.ReadBatch(buf); n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("refreshes past the gap never saw the datagram")
		}
		time.Sleep(time.Millisecond) // poll interval
	}

	// A clock that stands still: every refreshSkipsMax+1-th cycle still
	// takes a snapshot, so a loop that never parks reads its sockets.
	now += refreshGapNs
	w.refresh(now) // a snapshot: nothing readable
	send()
	deadline = time.Now().Add(5 * time.Second)
	for cycles := 1; ; cycles++ {
		w.refresh(now)
		if n, _ := rx.ReadBatch(buf); n == 1 {
			if cycles <= refreshSkipsMax {
				t.Fatalf("read in cycle %d of a frozen clock, inside the %d skipped", cycles, refreshSkipsMax)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a frozen clock's cycles never read the datagram")
		}
	}
}

// gatedWaiter returns a socket waiter (closed when the test ends) and a
// function that opens a loopback socket registered with it and gated by
// its readiness refresh.
func gatedWaiter(t *testing.T) (*socketWaiter, func() *udpConn) {
	t.Helper()
	w, err := newSocketWaiter()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.close() })
	lo := netip.MustParseAddrPort("127.0.0.1:0")
	return w, func() *udpConn {
		c, err := UDPNetwork{}.ListenUnicast(lo)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		u := c.(*udpConn)
		if err := w.add(u.sysfd()); err != nil {
			t.Fatal(err)
		}
		u.gate(w)
		return u
	}
}
