package peer

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"

	"venue/cluster/consensus"
	"venue/transport"
)

// waitTimeout bounds every wait for the network in these tests.
const waitTimeout = 10 * time.Second

// freePort returns a UDP port that was free a moment ago on host.
func freePort(t testing.TB, host string) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(host)})
	if err != nil {
		t.Skipf("cannot bind %s (loopback aliases needed): %v", host, err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// newDriver returns a real-UDP driver running its agents on a goroutine.
func newDriver(t testing.TB) *transport.Driver {
	t.Helper()
	d, err := transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingShared})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := d.Close(); err != nil {
			t.Error(err)
		}
	})
	return d
}

// loopMembers returns one member per host, each on a fresh port.
func loopMembers(t testing.TB, hosts ...string) []Member {
	t.Helper()
	ms := make([]Member, len(hosts))
	for i, h := range hosts {
		ms[i] = Member{ID: consensus.MemberID(i), ConsensusEndpoint: fmt.Sprintf("%s:%d", h, freePort(t, h))}
	}
	return ms
}

// open builds a Transport and closes it at the end of the test.
func open(t testing.TB, cfg Config) *Transport {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// waitFor polls cond until it holds or waitTimeout passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		}
		runtime.Gosched()
	}
}

// waitConnected waits until every transport's publication to every other
// one has a receiver, so that later sends are delivered (reliably).
func waitConnected(t testing.TB, ps ...*Transport) {
	t.Helper()
	waitFor(t, "members connected", func() bool {
		for _, p := range ps {
			for _, q := range ps {
				if p != q && !p.Connected(q.Self()) {
					return false
				}
			}
		}
		return true
	})
}

func encode(m *consensus.Message) []byte { return consensus.AppendMessage(nil, m) }

// sampleMessages returns one message of every type from from to to.
func sampleMessages(from, to consensus.MemberID) []consensus.Message {
	data := bytes.Repeat([]byte{0xA5}, 200)
	return []consensus.Message{
		{Type: consensus.MsgCanvassPosition, From: from, Term: 3, LogTerm: 2, Position: 4096},
		{Type: consensus.MsgRequestVote, From: from, Term: 4, LogTerm: 2, Position: 4096},
		{Type: consensus.MsgVote, From: from, To: to, Term: 4, LogTerm: 2, Position: 64, Granted: true},
		{Type: consensus.MsgNewLeadershipTerm, From: from, Term: 4, TermBase: 4096, Position: 4096, Commit: 2048},
		{Type: consensus.MsgAppendPosition, From: from, Term: 4, Position: 8192},
		{Type: consensus.MsgCommitPosition, From: from, Term: 4, Position: 8192},
		{Type: consensus.MsgCatchupPosition, From: from, Term: 4, Position: 64, LogTerm: 1, TermBase: 0},
		{Type: consensus.MsgStopCatchup, From: from, To: to, Term: 4},
		{Type: consensus.MsgTermination, From: from, Term: 4, Position: 9000},
		{Type: consensus.MsgAppendLog, From: from, Term: 4, LogTerm: 4, PrevLogTerm: 3, Position: 8192, Data: data},
	}
}

// inbox collects what a Transport delivers, decoded.
type inbox struct {
	t    testing.TB
	got  []consensus.Message
	data [][]byte
	fn   func(consensus.MemberID, []byte)
}

func newInbox(t testing.TB) *inbox {
	in := &inbox{t: t}
	in.fn = func(from consensus.MemberID, b []byte) {
		var m consensus.Message
		if err := consensus.DecodeMessage(b, &m); err != nil {
			t.Errorf("delivered message does not decode: %v", err)
			return
		}
		if m.From != from {
			t.Errorf("delivered from %d, message says %d", from, m.From)
		}
		in.data = append(in.data, append([]byte(nil), m.Data...))
		m.Data = in.data[len(in.data)-1]
		in.got = append(in.got, m)
	}
	return in
}

// pollUntil polls p into in until it holds n messages.
func (in *inbox) pollUntil(p *Transport, n int) {
	in.t.Helper()
	waitFor(in.t, fmt.Sprintf("member %d to receive %d messages (has %d)", p.Self(), n, len(in.got)), func() bool {
		p.Poll(in.fn, 16)
		return len(in.got) >= n
	})
}

// sameMessage compares two messages as the wire carries them (To is not
// encoded, except by Vote and StopCatchup).
func sameMessage(a, b consensus.Message) bool {
	return a.Type == b.Type && a.From == b.From && a.Term == b.Term && a.LogTerm == b.LogTerm &&
		a.PrevLogTerm == b.PrevLogTerm && a.Position == b.Position && a.TermBase == b.TermBase &&
		a.Commit == b.Commit && a.Granted == b.Granted && bytes.Equal(a.Data, b.Data)
}

// forger is a raw publication on the consensus stream that any process
// could create: it sends whatever bytes it likes from a chosen host.
func forger(t testing.TB, d *transport.Driver, target Member, fromHost string) *transport.Publication {
	t.Helper()
	ep, err := ParseEndpoint(target.ConsensusEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := d.AddPublication(fmt.Sprintf("udp?endpoint=%s|control=%s:0|term-length=%d", ep, fromHost, 1<<20), StreamIDDefault)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pub.Close)
	waitFor(t, "forger connected", pub.IsConnected)
	return pub
}

func offer(t testing.TB, pub *transport.Publication, msg []byte) {
	t.Helper()
	waitFor(t, "offer", func() bool {
		_, r := pub.Offer(msg)
		return r == transport.OfferOK
	})
}

// pollCounters polls p (expecting no delivery) until cond holds on its counters.
func pollCounters(t testing.TB, p *Transport, what string, cond func(Counters) bool) {
	t.Helper()
	fn := func(from consensus.MemberID, b []byte) {
		t.Errorf("forged message delivered as from %d: % x", from, b)
	}
	waitFor(t, what, func() bool {
		p.Poll(fn, 16)
		return cond(p.Counters())
	})
}
