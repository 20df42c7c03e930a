package peer

import (
	"bytes"
	"net/netip"
	"testing"

	"venue/cluster/consensus"
	"venue/transport"
)

// offline builds a Transport without a driver and an image state as if a
// stream had arrived from host, to drive the receive path directly.
func offline(t testing.TB, secret []byte, host string) (*Transport, *imageState) {
	t.Helper()
	p, err := newTransport(Config{Self: 0, Secret: secret, AppendDataMax: 64 << 10, Members: []Member{
		{0, "10.0.0.1:9020"}, {1, "10.0.0.2:9020"}, {2, "10.0.0.3:9020"}}})
	if err != nil {
		t.Fatal(err)
	}
	h := netip.MustParseAddr(host)
	return p, &imageState{host: h, member: p.recv.isMemberHost(h)}
}

// tagged appends the MAC that from would add for to.
func tagged(secret, msg []byte, from, to consensus.MemberID) []byte {
	return append(append([]byte(nil), msg...), newMACer(secret).tag(msg, from, to)...)
}

func TestDeliverChecks(t *testing.T) {
	commit := func(from consensus.MemberID) []byte {
		return encode(&consensus.Message{Type: consensus.MsgCommitPosition, From: from, Term: 2, Position: 128})
	}
	other := []byte("0123456789abcdef-other")
	cases := []struct {
		name   string
		secret []byte
		host   string
		wire   []byte
		want   string // counter that moves
	}{
		{"valid", nil, "10.0.0.2", commit(1), "received"},
		{"valid from 2", nil, "10.0.0.3", commit(2), "received"},
		{"valid with MAC", testSecret, "10.0.0.2", tagged(testSecret, commit(1), 1, 0), "received"},
		{"host of another member", nil, "10.0.0.3", commit(1), "wrong"},
		{"stranger host", nil, "10.9.9.9", commit(1), "wrong"},
		{"own host", nil, "10.0.0.1", commit(1), "wrong"},
		{"claims self", nil, "10.0.0.2", commit(0), "wrong"},
		{"claims unknown", nil, "10.0.0.2", commit(7), "wrong"},
		{"claims beyond MembersMax", nil, "10.0.0.2", commit(1000), "wrong"},
		{"garbage", nil, "10.0.0.2", []byte("garbage!garbage!garbage!"), "malformed"},
		{"empty", nil, "10.0.0.2", nil, "malformed"},
		{"truncated", nil, "10.0.0.2", commit(1)[:20], "malformed"},
		{"no MAC", testSecret, "10.0.0.2", commit(1), "malformed"},
		{"shorter than MAC", testSecret, "10.0.0.2", []byte{1, 2, 3}, "malformed"},
		{"wrong secret", testSecret, "10.0.0.2", tagged(other, commit(1), 1, 0), "mac"},
		{"wrong destination", testSecret, "10.0.0.2", tagged(testSecret, commit(1), 1, 2), "mac"},
		{"wrong sender in MAC", testSecret, "10.0.0.2", tagged(testSecret, commit(1), 2, 0), "mac"},
		{"truncated MAC", testSecret, "10.0.0.2", tagged(testSecret, commit(1), 1, 0)[:len(commit(1))+MACLength-1], "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, st := offline(t, tc.secret, tc.host)
			var delivered []byte
			p.recv.handler = func(from consensus.MemberID, b []byte) { delivered = append([]byte(nil), b...) }
			p.recv.deliver(st, tc.wire)
			c := p.Counters()
			got := map[string]uint64{"received": c.Received, "wrong": c.WrongSource, "malformed": c.Malformed, "mac": c.BadMAC}
			for k, v := range got {
				if want := map[bool]uint64{true: 1}[k == tc.want]; v != want {
					t.Errorf("%s = %d, want %d (%+v)", k, v, want, c)
				}
			}
			if (tc.want == "received") != (delivered != nil) {
				t.Errorf("delivered %x", delivered)
			}
			if delivered != nil && tc.secret != nil && len(delivered) != len(tc.wire)-MACLength {
				t.Error("MAC not stripped")
			}
		})
	}
}

func TestAssemble(t *testing.T) {
	p, st := offline(t, nil, "10.0.0.2")
	msg := encode(&consensus.Message{Type: consensus.MsgAppendLog, From: 1, Term: 1, LogTerm: 1,
		Data: bytes.Repeat([]byte{9}, 5000)})
	const begin, end, middle, whole = transport.FlagBegin, transport.FlagEnd, uint8(0), transport.FlagsUnfragmented
	feed := func(st *imageState, b []byte, chunk int) (out [][]byte) {
		for off := 0; off < len(b); off += chunk {
			flags := middle
			if off == 0 {
				flags |= begin
			}
			if off+chunk >= len(b) {
				flags |= end
			}
			if m, ok := p.recv.assemble(st, b[off:min(off+chunk, len(b))], flags); ok {
				out = append(out, append([]byte(nil), m...))
			}
		}
		return out
	}
	if out := feed(st, msg, 1376); len(out) != 1 || !bytes.Equal(out[0], msg) {
		t.Fatalf("reassembled %d messages", len(out))
	}
	if m, ok := p.recv.assemble(st, msg[:10], whole); !ok || len(m) != 10 {
		t.Error("unfragmented message not passed through")
	}
	// Joining mid-message: fragments before the next Begin are skipped.
	if _, ok := p.recv.assemble(st, msg[:100], middle); ok {
		t.Error("middle fragment without a begin completed a message")
	}
	if _, ok := p.recv.assemble(st, msg[:100], end); ok {
		t.Error("end fragment without a begin completed a message")
	}
	// Longer than the largest message: dropped once, the rest skipped.
	huge := make([]byte, p.wireMax+1)
	if out := feed(st, huge, 1376); len(out) != 0 || p.Counters().Malformed != 1 {
		t.Errorf("oversized message: %d out, %+v", len(out), p.Counters())
	}
	if out := feed(st, msg, 1376); len(out) != 1 {
		t.Error("no recovery after an oversized message")
	}
	// A stranger's fragments are not copied; each message counts once.
	_, stranger := offline(t, nil, "10.9.9.9")
	if out := feed(stranger, msg, 1376); len(out) != 0 || p.Counters().WrongSource != 1 || stranger.buf != nil {
		t.Errorf("stranger: %d out, %+v", len(out), p.Counters())
	}
}

// The receive path and the MAC do not allocate.
func TestNoAllocs(t *testing.T) {
	p, st := offline(t, testSecret, "10.0.0.2")
	msg := encode(&consensus.Message{Type: consensus.MsgAppendLog, From: 1, Term: 1, LogTerm: 1, Data: make([]byte, 200)})
	wire := tagged(testSecret, msg, 1, 0)
	n := 0
	p.recv.handler = func(consensus.MemberID, []byte) { n++ }
	if a := testing.AllocsPerRun(100, func() { p.recv.deliver(st, wire) }); a != 0 {
		t.Errorf("deliver allocates %.1f per message", a)
	}
	if n == 0 {
		t.Fatal("nothing delivered")
	}
	mac := newMACer(testSecret)
	if a := testing.AllocsPerRun(100, func() { mac.tag(msg, 0, 1) }); a != 0 {
		t.Errorf("tag allocates %.1f", a)
	}
	big := encode(&consensus.Message{Type: consensus.MsgAppendLog, From: 1, Term: 1, LogTerm: 1, Data: make([]byte, 4000)})
	bigWire := tagged(testSecret, big, 1, 0)
	frag := func() {
		for off := 0; off < len(bigWire); off += 1376 {
			flags := uint8(0)
			if off == 0 {
				flags |= transport.FlagBegin
			}
			if off+1376 >= len(bigWire) {
				flags |= transport.FlagEnd
			}
			if m, ok := p.recv.assemble(st, bigWire[off:min(off+1376, len(bigWire))], flags); ok {
				p.recv.deliver(st, m)
			}
		}
	}
	frag() // grows the buffer once
	if a := testing.AllocsPerRun(100, frag); a != 0 {
		t.Errorf("reassembly allocates %.1f per message", a)
	}
}

// Slots: images from members' hosts get one until imagesMax; then the
// oldest image that never delivered a valid message gives its slot up, and
// when every slot is proven a newcomer delivers unfragmented messages only.
func TestImageSlots(t *testing.T) {
	p, _ := offline(t, testSecret, "10.0.0.2")
	r := &p.recv
	host := netip.MustParseAddr("10.0.0.2")
	images := make([]*transport.Image, imagesMax+3)
	for i := range images {
		images[i] = &transport.Image{}
	}
	r.track(images[0], netip.MustParseAddr("10.9.9.9")) // stranger: no slot
	if len(r.images) != 0 {
		t.Fatal("stranger got a slot")
	}
	commit := tagged(testSecret, encode(&consensus.Message{Type: consensus.MsgCommitPosition, From: 1, Term: 1}), 1, 0)
	r.handler = func(consensus.MemberID, []byte) {}
	for i := range imagesMax {
		r.track(images[i], host)
		if i > 0 { // image 0 stays unproven
			r.deliver(r.stateOf(images[i]), commit)
		}
	}
	if len(r.images) != imagesMax || p.Counters().ImagesEvicted != 0 {
		t.Fatalf("%d slots", len(r.images))
	}
	r.track(images[imagesMax], host) // evicts image 0, the only unproven
	if r.stateOf(images[0]) != &r.scratch || r.stateOf(images[imagesMax]).img != images[imagesMax] ||
		p.Counters().ImagesEvicted != 1 {
		t.Fatal("image 0 not evicted")
	}
	r.deliver(r.stateOf(images[imagesMax]), commit)
	r.track(images[imagesMax+1], host) // every slot proven: untracked
	if r.stateOf(images[imagesMax+1]) != &r.scratch {
		t.Fatal("newcomer got a slot")
	}
	// What stateOf builds for it (a fake image has no source address).
	st := &imageState{host: host, member: true, untracked: true}
	before := p.Counters().Received
	r.deliver(st, commit) // unfragmented: still delivered
	if p.Counters().Received != before+1 {
		t.Error("untracked image's unfragmented message dropped")
	}
	if _, ok := r.assemble(st, commit[:10], transport.FlagBegin); ok || p.Counters().Unassembled != 1 {
		t.Errorf("untracked fragment: %+v", p.Counters())
	}
	r.onUnavailable(images[1]) // frees a slot
	r.track(images[imagesMax+2], host)
	if r.stateOf(images[imagesMax+2]) == &r.scratch || len(r.images) != imagesMax {
		t.Error("freed slot not reused")
	}
}
