package peer

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"venue/cluster/consensus"
)

var testSecret = []byte("0123456789abcdef-venue-test")

// exchange has every transport send every message type to every other one
// and checks each receiver gets them all, intact, with the right sender.
func exchange(t *testing.T, ps []*Transport) {
	t.Helper()
	waitConnected(t, ps...)
	for _, p := range ps {
		for _, q := range ps {
			if p == q {
				continue
			}
			for _, m := range sampleMessages(p.Self(), q.Self()) {
				if !p.Send(q.Self(), encode(&m)) {
					t.Fatalf("send %v from %d to %d failed: %+v", m.Type, p.Self(), q.Self(), p.Counters())
				}
			}
		}
	}
	per := len(sampleMessages(0, 0))
	for _, q := range ps {
		in := newInbox(t)
		in.pollUntil(q, per*(len(ps)-1))
		bySender := map[consensus.MemberID][]consensus.Message{}
		for _, m := range in.got {
			bySender[m.From] = append(bySender[m.From], m)
		}
		for _, p := range ps {
			if p == q {
				continue
			}
			want := sampleMessages(p.Self(), q.Self())
			got := bySender[p.Self()]
			if len(got) != len(want) {
				t.Fatalf("member %d got %d messages from %d, want %d", q.Self(), len(got), p.Self(), len(want))
			}
			for i := range want { // one stream per sender: in order
				if !sameMessage(got[i], want[i]) {
					t.Errorf("member %d from %d #%d:\n got %v\nwant %v", q.Self(), p.Self(), i, &got[i], &want[i])
				}
			}
		}
		c := q.Counters()
		if c.Received != uint64(per*(len(ps)-1)) || c.WrongSource+c.BadMAC+c.Malformed != 0 {
			t.Errorf("member %d counters %+v", q.Self(), c)
		}
	}
}

func TestTwoMembers(t *testing.T) {
	for _, tc := range []struct {
		name    string
		drivers int
		secret  []byte
	}{
		{"one driver", 1, nil},
		{"two drivers", 2, nil},
		{"one driver with MAC", 1, testSecret},
		{"two drivers with MAC", 2, testSecret},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms := loopMembers(t, "127.0.0.1", "127.0.0.1")
			d0 := newDriver(t)
			d1 := d0
			if tc.drivers == 2 {
				d1 = newDriver(t)
			}
			p0 := open(t, Config{Driver: d0, Self: 0, Members: ms, Secret: tc.secret, AppendDataMax: 64 << 10})
			p1 := open(t, Config{Driver: d1, Self: 1, Members: ms, Secret: tc.secret, AppendDataMax: 64 << 10})
			exchange(t, []*Transport{p0, p1})
		})
	}
}

func TestThreeMembers(t *testing.T) {
	for _, secret := range [][]byte{nil, testSecret} {
		t.Run(fmt.Sprintf("mac=%t", secret != nil), func(t *testing.T) {
			ms := loopMembers(t, "127.0.0.1", "127.0.0.1", "127.0.0.1")
			d := newDriver(t)
			var ps []*Transport
			for i := range ms {
				ps = append(ps, open(t, Config{Driver: d, Self: consensus.MemberID(i), Members: ms, Secret: secret,
					AppendDataMax: 64 << 10}))
			}
			exchange(t, ps)
		})
	}
}

// Members on distinct loopback addresses: a stream's source host tells
// them apart, so forgeries are caught without a secret.
func TestForgedSourceDropped(t *testing.T) {
	ms := loopMembers(t, "127.0.0.1", "127.0.0.2", "127.0.0.3")
	d := newDriver(t)
	p0 := open(t, Config{Driver: d, Self: 0, Members: ms, AppendDataMax: 64 << 10})
	commit := func(from consensus.MemberID) []byte {
		return encode(&consensus.Message{Type: consensus.MsgCommitPosition, From: from, Term: 1, Position: 64})
	}
	big := encode(&consensus.Message{Type: consensus.MsgAppendLog, From: 1, Term: 2, LogTerm: 2, PrevLogTerm: 1,
		Data: make([]byte, 10_000)}) // fragmented
	cases := []struct {
		name, host string
		msg        []byte
	}{
		{"non-member host claims member 1", "127.0.0.4", commit(1)},
		{"non-member host, fragmented", "127.0.0.4", big},
		{"receiver's own host claims member 1", "127.0.0.1", commit(1)},
		{"member 2's host claims member 1", "127.0.0.3", commit(1)},
		{"member 2's host claims member 1, fragmented", "127.0.0.3", big},
		{"member 1's host claims to be the receiver", "127.0.0.2", commit(0)},
		{"member 1's host claims an unknown member", "127.0.0.2", commit(5)},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pub := forger(t, d, ms[0], tc.host)
			offer(t, pub, tc.msg)
			pollCounters(t, p0, "WrongSource", func(c Counters) bool { return c.WrongSource == uint64(i+1) })
		})
	}
	if c := p0.Counters(); c.Received != 0 || c.Malformed != 0 || c.BadMAC != 0 {
		t.Errorf("counters %+v", c)
	}
}

// All members on 127.0.0.1: only the MAC tells a member from a forger.
func TestForgedMACDropped(t *testing.T) {
	ms := loopMembers(t, "127.0.0.1", "127.0.0.1", "127.0.0.1")
	d := newDriver(t)
	p0 := open(t, Config{Driver: d, Self: 0, Members: ms, Secret: testSecret, AppendDataMax: 64 << 10})
	msg := encode(&consensus.Message{Type: consensus.MsgCommitPosition, From: 1, Term: 1, Position: 64})
	forged := append(append([]byte(nil), msg...), bytes.Repeat([]byte{7}, MACLength)...)
	// A genuine tag for member 2 replayed to member 0.
	mac := newMACer(testSecret)
	misdirected := append(append([]byte(nil), msg...), mac.tag(msg, 1, 2)...)
	// Member 1's genuine message to 0 with a flipped bit.
	tampered := append(append([]byte(nil), msg...), mac.tag(msg, 1, 0)...)
	tampered[20] ^= 1

	pub := forger(t, d, ms[0], "127.0.0.1")
	for i, b := range [][]byte{forged, misdirected, tampered} {
		offer(t, pub, b)
		pollCounters(t, p0, "BadMAC", func(c Counters) bool { return c.BadMAC == uint64(i+1) })
	}
	// The same forger with the right tag is accepted: the MAC is the check.
	good := append(append([]byte(nil), msg...), mac.tag(msg, 1, 0)...)
	offer(t, pub, good)
	in := newInbox(t)
	in.pollUntil(p0, 1)
	if in.got[0].From != 1 {
		t.Errorf("from %d", in.got[0].From)
	}
}

func TestWrongSecret(t *testing.T) {
	ms := loopMembers(t, "127.0.0.1", "127.0.0.1")
	d := newDriver(t)
	p0 := open(t, Config{Driver: d, Self: 0, Members: ms, Secret: testSecret, AppendDataMax: 64 << 10})
	p1 := open(t, Config{Driver: d, Self: 1, Members: ms, Secret: []byte("another secret, same length"), AppendDataMax: 64 << 10})
	waitConnected(t, p0, p1)
	for _, m := range sampleMessages(1, 0) {
		if !p1.Send(0, encode(&m)) {
			t.Fatal("send failed")
		}
	}
	n := uint64(len(sampleMessages(1, 0)))
	pollCounters(t, p0, "BadMAC", func(c Counters) bool { return c.BadMAC == n })
}

func TestMalformedDropped(t *testing.T) {
	valid := encode(&consensus.Message{Type: consensus.MsgAppendPosition, From: 1, Term: 1, Position: 64})
	foreign := append([]byte(nil), valid...)
	foreign[4] ^= 0xff // schema id
	badLog := encode(&consensus.Message{Type: consensus.MsgAppendLog, From: 1, Term: 1, LogTerm: 1, Data: []byte{1, 2, 3}})
	badLog[8+36] = 200 // data length beyond the message
	inputs := map[string][]byte{
		"garbage":         []byte("GET / HTTP/1.1\r\nHost: venue\r\n\r\n"),
		"empty":           {},
		"header only":     valid[:consensus.HeaderLength],
		"truncated":       valid[:len(valid)-1],
		"foreign":         foreign,
		"short AppendLog": badLog,
	}
	for _, secret := range [][]byte{nil, testSecret} {
		t.Run(fmt.Sprintf("mac=%t", secret != nil), func(t *testing.T) {
			ms := loopMembers(t, "127.0.0.1", "127.0.0.1")
			d := newDriver(t)
			p0 := open(t, Config{Driver: d, Self: 0, Members: ms, Secret: secret, AppendDataMax: 64 << 10})
			pub := forger(t, d, ms[0], "127.0.0.1")
			mac := newMACer(testSecret)
			want := uint64(0)
			for name, b := range inputs {
				if secret != nil { // well tagged, so the MAC is not what rejects it
					b = append(append([]byte(nil), b...), mac.tag(b, 1, 0)...)
				}
				offer(t, pub, b)
				want++
				pollCounters(t, p0, "Malformed after "+name, func(c Counters) bool { return c.Malformed == want })
			}
			if secret != nil {
				offer(t, pub, []byte("short")) // shorter than the MAC
				pollCounters(t, p0, "Malformed (short)", func(c Counters) bool { return c.Malformed == want+1 })
			}
			if c := p0.Counters(); c.Received != 0 || c.BadMAC != 0 || c.WrongSource != 0 {
				t.Errorf("counters %+v", c)
			}
		})
	}
}

// The largest AppendLog consensus can produce round-trips (default sizes:
// 16 MiB terms), and one byte more is refused by Send.
func TestLargestAppendLog(t *testing.T) {
	if testing.Short() {
		t.Skip("16 MiB terms")
	}
	for _, secret := range [][]byte{nil, testSecret} {
		t.Run(fmt.Sprintf("mac=%t", secret != nil), func(t *testing.T) {
			ms := loopMembers(t, "127.0.0.1", "127.0.0.1")
			d := newDriver(t)
			p0 := open(t, Config{Driver: d, Self: 0, Members: ms, Secret: secret})
			p1 := open(t, Config{Driver: d, Self: 1, Members: ms, Secret: secret})
			waitConnected(t, p0, p1)
			data := make([]byte, consensus.AppendDataLengthMax)
			for i := range data {
				data[i] = byte(i * 7)
			}
			m := consensus.Message{Type: consensus.MsgAppendLog, From: 1, Term: 9, LogTerm: 9, PrevLogTerm: 8,
				Position: 1 << 30, Data: data}
			b := encode(&m)
			if len(b) != p1.MessageLengthMax() {
				t.Fatalf("largest AppendLog is %d bytes, MessageLengthMax %d", len(b), p1.MessageLengthMax())
			}
			if !p1.Send(0, b) {
				t.Fatalf("send: %+v", p1.Counters())
			}
			if p1.Send(0, append(b, 0)) || p1.Counters().SendRejected != 1 {
				t.Errorf("an oversized message was not rejected: %+v", p1.Counters())
			}
			in := newInbox(t)
			in.pollUntil(p0, 1)
			if !sameMessage(in.got[0], m) {
				t.Errorf("got %v", &in.got[0])
			}
		})
	}
}

// With AppendDataMax set to the consensus batch, terms stay small and a
// batch-sized AppendLog still fits.
func TestBatchSizedTerms(t *testing.T) {
	ms := loopMembers(t, "127.0.0.1", "127.0.0.1")
	d := newDriver(t)
	const batch = 64 << 10
	p0 := open(t, Config{Driver: d, Self: 0, Members: ms, Secret: testSecret, AppendDataMax: batch})
	p1 := open(t, Config{Driver: d, Self: 1, Members: ms, Secret: testSecret, AppendDataMax: batch})
	if p0.TermLength() != 1<<20 {
		t.Errorf("term length %d, want 1 MiB", p0.TermLength())
	}
	waitConnected(t, p0, p1)
	m := consensus.Message{Type: consensus.MsgAppendLog, From: 0, Term: 1, LogTerm: 1, Data: bytes.Repeat([]byte{3}, batch)}
	if !p0.Send(1, encode(&m)) {
		t.Fatal("send failed")
	}
	m.Data = append(m.Data, 3)
	if p0.Send(1, encode(&m)) {
		t.Error("a message beyond AppendDataMax was sent")
	}
	in := newInbox(t)
	in.pollUntil(p1, 1)
	if len(in.got[0].Data) != batch {
		t.Errorf("got %d data bytes", len(in.got[0].Data))
	}
}

func TestSendRefusals(t *testing.T) {
	ms := loopMembers(t, "127.0.0.1", "127.0.0.1")
	d := newDriver(t)
	p0 := open(t, Config{Driver: d, Self: 0, Members: ms, AppendDataMax: 64 << 10})
	msg := encode(&consensus.Message{Type: consensus.MsgCommitPosition, From: 0, Term: 1})
	// Member 1 never starts: its endpoint has no receiver.
	if p0.Send(1, msg) || p0.Counters().SendNotConnected != 1 {
		t.Errorf("send to an absent member: %+v", p0.Counters())
	}
	for _, to := range []consensus.MemberID{0, 2, -1, MembersMax} {
		if p0.Send(to, msg) {
			t.Errorf("send to %d accepted", to)
		}
	}
	if c := p0.Counters(); c.SendRejected != 4 || c.Sent != 0 {
		t.Errorf("counters %+v", c)
	}
	p0.Close()
	p0.Close() // idempotent
	if p0.Send(1, msg) || p0.Poll(func(consensus.MemberID, []byte) { t.Error("delivered") }, 10) != 0 {
		t.Error("closed transport sent or polled")
	}
}

func TestConfigErrors(t *testing.T) {
	two := []Member{{0, "127.0.0.1:9020"}, {1, "127.0.0.1:9021"}}
	cases := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no members", Config{}, "0 members"},
		{"too many", Config{Members: make([]Member, MembersMax+1)}, "10 members"},
		{"id range", Config{Members: []Member{{MembersMax, "127.0.0.1:1"}}}, "not in [0,9)"},
		{"negative id", Config{Members: []Member{{-1, "127.0.0.1:1"}}}, "not in [0,9)"},
		{"duplicate id", Config{Members: []Member{{0, "127.0.0.1:1"}, {0, "127.0.0.1:2"}}}, "listed twice"},
		{"hostname", Config{Members: []Member{{0, "localhost:9020"}}}, "want ipv4:port"},
		{"ipv6", Config{Members: []Member{{0, "[::1]:9020"}}}, "IPv4"},
		{"unspecified", Config{Members: []Member{{0, "0.0.0.0:9020"}}}, "unicast"},
		{"multicast", Config{Members: []Member{{0, "239.1.1.1:9020"}}}, "unicast"},
		{"port 0", Config{Members: []Member{{0, "127.0.0.1:0"}}}, "non-zero port"},
		{"shared endpoint", Config{Members: []Member{{0, "127.0.0.1:1"}, {1, "127.0.0.1:1"}}}, "share consensus endpoint"},
		{"self absent", Config{Self: 2, Members: two}, "self 2"},
		{"short secret", Config{Members: two, Secret: []byte("short")}, "at least 16"},
		{"append data", Config{Members: two, AppendDataMax: consensus.AppendDataLengthMax + 1}, "append data max"},
		{"term length invalid", Config{Members: two, TermLength: 1000}, "power of two"},
		{"term length small", Config{Members: two, TermLength: 1 << 20}, "raise the term length"},
		{"no driver", Config{Members: two, AppendDataMax: 64 << 10}, "no driver"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	// The given term length is accepted when it fits.
	if _, err := newTransport(Config{Members: two, TermLength: 1 << 24}); err != nil {
		t.Error(err)
	}
}

// The constants agree with consensus and the transport.
func TestConstants(t *testing.T) {
	r := fixedRand{}
	if c := consensus.DefaultConfig(0, MembersMax, r); c.Validate() != nil {
		t.Errorf("consensus rejects MembersMax members: %v", c.Validate())
	}
	if c := consensus.DefaultConfig(0, MembersMax+1, r); c.Validate() == nil {
		t.Error("consensus accepts more than MembersMax members")
	}
	for _, tc := range []struct {
		data int
		mac  bool
		term int
	}{
		{64 << 10, false, 1 << 20},
		{64 << 10, true, 1 << 20},
		{consensus.EntryLengthMax, true, 1 << 19},
		{consensus.AppendDataLengthMax, false, 1 << 24},
		{consensus.AppendDataLengthMax, true, 1 << 24},
	} {
		tl, err := TermLengthFor(WireLengthMax(tc.data, tc.mac))
		if err != nil || tl != tc.term {
			t.Errorf("data %d mac %t: term length %d (%v), want %d", tc.data, tc.mac, tl, err, tc.term)
		}
	}
	if _, err := TermLengthFor(1 << 30); err == nil {
		t.Error("a 1 GiB message got a term length")
	}
	if imagesMax < MembersMax || pollFragmentsMax < 1 || MACLength > 32 || secretLengthMin < MACLength {
		t.Error("bounds out of order")
	}
}

type fixedRand struct{}

func (fixedRand) Uint64() uint64 { return 4 }
