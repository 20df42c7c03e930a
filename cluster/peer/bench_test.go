package peer

import (
	"runtime"
	"testing"

	"venue/cluster/consensus"
	"venue/transport"
)

// BenchmarkRoundTrip measures one consensus round trip between two members
// on loopback UDP sharing one driver: member 0 sends a 200-byte AppendLog
// (200 bytes of log data), member 1 polls it and answers with an
// AppendPosition, member 0 polls that. ns/op is the round trip. "invoker"
// runs the driver's duty cycle on the benchmark goroutine (the transport's
// own cost, as transport's BenchmarkUDPRoundTrip); "shared" runs it on the
// driver's goroutine, parked in the poller when idle, as a member runs.
func BenchmarkRoundTrip(b *testing.B) {
	for _, bc := range []struct {
		name    string
		secret  []byte
		invoker bool
	}{{"invoker/plain", nil, true}, {"invoker/mac", testSecret, true},
		{"shared/plain", nil, false}, {"shared/mac", testSecret, false}} {
		b.Run(bc.name, func(b *testing.B) {
			ms := loopMembers(b, "127.0.0.1", "127.0.0.1")
			d := newDriver(b)
			idle := func() { runtime.Gosched() }
			if bc.invoker {
				d = newInvokerDriver(b)
				idle = func() { d.DoWork(transport.MonotonicNanos()) }
			}
			p0 := open(b, Config{Driver: d, Self: 0, Members: ms, Secret: bc.secret, AppendDataMax: 64 << 10})
			p1 := open(b, Config{Driver: d, Self: 1, Members: ms, Secret: bc.secret, AppendDataMax: 64 << 10})
			waitFor(b, "connected", func() bool { idle(); return p0.Connected(1) && p1.Connected(0) })
			req := encode(&consensus.Message{Type: consensus.MsgAppendLog, From: 0, Term: 1, LogTerm: 1,
				Data: make([]byte, 200)})
			resp := encode(&consensus.Message{Type: consensus.MsgAppendPosition, From: 1, Term: 1, Position: 200})
			got0, got1 := 0, 0
			on0 := func(consensus.MemberID, []byte) { got0++ }
			on1 := func(consensus.MemberID, []byte) { got1++ }
			roundTrip := func() {
				for !p0.Send(1, req) {
					idle()
				}
				for want := got1 + 1; got1 < want; {
					if p1.Poll(on1, 8) == 0 {
						idle()
					}
				}
				for !p1.Send(0, resp) {
					idle()
				}
				for want := got0 + 1; got0 < want; {
					if p0.Poll(on0, 8) == 0 {
						idle()
					}
				}
			}
			for range 100 { // warm up: buffers, images
				roundTrip()
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				roundTrip()
			}
		})
	}
}

// BenchmarkReceivePath measures Poll's per-message work without the network:
// decode, source check and (mac) HMAC verification of a 200-byte AppendLog.
func BenchmarkReceivePath(b *testing.B) {
	for _, bc := range []struct {
		name   string
		secret []byte
	}{{"plain", nil}, {"mac", testSecret}} {
		b.Run(bc.name, func(b *testing.B) {
			p, st := offline(b, bc.secret, "10.0.0.2")
			msg := encode(&consensus.Message{Type: consensus.MsgAppendLog, From: 1, Term: 1, LogTerm: 1, Data: make([]byte, 200)})
			wire := msg
			if bc.secret != nil {
				wire = tagged(bc.secret, msg, 1, 0)
			}
			p.recv.handler = func(consensus.MemberID, []byte) {}
			b.ReportAllocs()
			b.SetBytes(int64(len(wire)))
			for b.Loop() {
				p.recv.deliver(st, wire)
			}
			if p.Counters().Received == 0 {
				b.Fatal("nothing delivered")
			}
		})
	}
}

// newInvokerDriver returns a driver whose duty cycle the caller runs.
func newInvokerDriver(b *testing.B) *transport.Driver {
	d, err := transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingInvoker})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	return d
}
