package transport

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func newIPCDriver(t testing.TB, termLength int) *Driver {
	t.Helper()
	d, err := NewDriver(DriverConfig{TermLength: termLength, Threading: ThreadingInvoker})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func mustPub(t testing.TB, d *Driver, ch string, stream int32) *Publication {
	t.Helper()
	p, err := d.AddPublication(ch, stream)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustSub(t testing.TB, d *Driver, ch string, stream int32, opts SubscriptionOptions) *Subscription {
	t.Helper()
	s, err := d.AddSubscription(ch, stream, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// offerRetry offers until accepted, polling drain between attempts.
func offerRetry(t testing.TB, p *Publication, msg []byte, drain func()) Position {
	t.Helper()
	for i := 0; i < 1_000_000; i++ {
		pos, r := p.Offer(msg)
		switch r {
		case OfferOK:
			return pos
		case AdminAction, BackPressured, NotConnected:
			drain()
		default:
			t.Fatalf("offer: %v", r)
		}
	}
	t.Fatal("offer never accepted")
	return 0
}

func TestIPCOfferPollInOrderAcrossTermRotations(t *testing.T) {
	d := newIPCDriver(t, TermLengthMin)
	sub := mustSub(t, d, "ipc", 7, SubscriptionOptions{})
	pub := mustPub(t, d, "ipc", 7)
	const n = 20000 // ~ 20 terms of 64 KiB with 100-byte messages
	next := uint64(0)
	handler := func(b []byte, h *Header) {
		if got := binary.LittleEndian.Uint64(b); got != next {
			t.Fatalf("got message %d, want %d", got, next)
		}
		next++
	}
	msg := make([]byte, 100)
	drain := func() { sub.Poll(handler, 100) }
	for i := uint64(0); i < n; i++ {
		binary.LittleEndian.PutUint64(msg, i)
		offerRetry(t, pub, msg, drain)
	}
	for next < n {
		if sub.Poll(handler, 100) == 0 {
			t.Fatalf("stalled at %d", next)
		}
	}
	if img := sub.Images()[0]; img.Position() != pub.Position() {
		t.Fatalf("image position %d, publication %d", img.Position(), pub.Position())
	}
}

func TestIPCNotConnectedWithoutSubscriber(t *testing.T) {
	d := newIPCDriver(t, TermLengthMin)
	pub := mustPub(t, d, "ipc", 1)
	if _, r := pub.Offer([]byte("x")); r != NotConnected {
		t.Fatalf("got %v, want NotConnected", r)
	}
}

func TestIPCBackPressureAtWindow(t *testing.T) {
	d := newIPCDriver(t, TermLengthMin)
	sub := mustSub(t, d, "ipc", 1, SubscriptionOptions{})
	pub := mustPub(t, d, "ipc", 1)
	msg := make([]byte, 1000)
	var r OfferResult
	offered := 0
	for ; offered < 1000; offered++ {
		if _, r = pub.Offer(msg); r != OfferOK && r != AdminAction {
			break
		}
	}
	if r != BackPressured {
		t.Fatalf("got %v after %d offers, want BackPressured", r, offered)
	}
	if ahead := int64(pub.Position()) - int64(sub.Images()[0].Position()); ahead > int64(TermLengthMin/2+1032) {
		t.Fatalf("publisher %d bytes ahead, window is %d", ahead, TermLengthMin/2)
	}
	if d.SystemCounters().BackPressureEvents.Get() == 0 {
		t.Fatal("back-pressure counter not incremented")
	}
	sub.Poll(func([]byte, *Header) {}, 1000)
	if _, r = pub.Offer(msg); r != OfferOK {
		t.Fatalf("after drain got %v", r)
	}
}

func TestIPCFragmentedMessageReassembles(t *testing.T) {
	d := newIPCDriver(t, 16*1024*1024)
	sub := mustSub(t, d, "ipc", 1, SubscriptionOptions{})
	pub := mustPub(t, d, "ipc", 1)
	msg := make([]byte, 1<<20)
	for i := range msg {
		msg[i] = byte(i * 7)
	}
	var got [][]byte
	asm := NewFragmentAssembler(func(b []byte, h *Header) { got = append(got, bytes.Clone(b)) })
	for i := 0; i < 3; i++ {
		offerRetry(t, pub, msg, func() { sub.Poll(asm.Handler(), 100) })
	}
	for len(got) < 3 {
		if sub.Poll(asm.Handler(), 1000) == 0 {
			t.Fatal("stalled")
		}
	}
	for _, g := range got {
		if !bytes.Equal(g, msg) {
			t.Fatal("reassembled message differs")
		}
	}
}

func TestOfferTooLongIsMessageTooLong(t *testing.T) {
	d := newIPCDriver(t, TermLengthMin)
	mustSub(t, d, "ipc", 1, SubscriptionOptions{})
	pub := mustPub(t, d, "ipc", 1)
	if pub.MaxMessageLength() != TermLengthMin/8 {
		t.Fatalf("max message %d", pub.MaxMessageLength())
	}
	if _, r := pub.Offer(make([]byte, TermLengthMin/8+1)); r != MessageTooLong {
		t.Fatalf("got %v", r)
	}
	if r := MessageTooLong.String(); r != "MessageTooLong" {
		t.Fatal(r)
	}
	var c BufferClaim
	if _, r := pub.TryClaim(pub.MaxPayloadLength()+1, &c); r != MessageTooLong {
		t.Fatalf("claim got %v", r)
	}
}

func TestTryClaimCommitAbortAndVectored(t *testing.T) {
	d := newIPCDriver(t, TermLengthMin)
	sub := mustSub(t, d, "ipc", 1, SubscriptionOptions{})
	pub := mustPub(t, d, "ipc", 1)
	var c BufferClaim
	if _, r := pub.TryClaim(5, &c); r != OfferOK {
		t.Fatal(r)
	}
	copy(c.Buffer(), "hello")
	c.Commit()
	if _, r := pub.TryClaim(5, &c); r != OfferOK {
		t.Fatal(r)
	}
	c.Abort()
	big := bytes.Repeat([]byte("v"), 3000) // fragments at MTU 1408
	if _, r := pub.OfferVectored([][]byte{[]byte("ab"), nil, []byte("cd"), big}); r != OfferOK {
		t.Fatal(r)
	}
	var got []string
	asm := NewFragmentAssembler(func(b []byte, h *Header) { got = append(got, string(b)) })
	sub.Poll(asm.Handler(), 100)
	want := []string{"hello", "abcd" + string(big)}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("got %d messages %q...", len(got), got)
	}
}

func TestControlledAndBoundedPoll(t *testing.T) {
	d := newIPCDriver(t, TermLengthMin)
	sub := mustSub(t, d, "ipc", 1, SubscriptionOptions{})
	pub := mustPub(t, d, "ipc", 1)
	var positions []Position
	for i := 0; i < 10; i++ {
		p, _ := pub.Offer([]byte{byte(i)})
		positions = append(positions, p)
	}
	img := sub.Images()[0]
	// Abort on the 3rd: two consumed.
	n := 0
	img.ControlledPoll(func(b []byte, h *Header) ControlledAction {
		n++
		if b[0] == 2 {
			return Abort
		}
		return Continue
	}, 10)
	if img.Position() != positions[1] || n != 3 {
		t.Fatalf("after abort position %d want %d (n=%d)", img.Position(), positions[1], n)
	}
	// Break after the first: one consumed.
	img.ControlledPoll(func(b []byte, h *Header) ControlledAction { return Break }, 10)
	if img.Position() != positions[2] {
		t.Fatalf("after break position %d want %d", img.Position(), positions[2])
	}
	// Commit publishes the position mid-poll.
	img.ControlledPoll(func(b []byte, h *Header) ControlledAction {
		if b[0] == 3 {
			return Commit
		}
		return Abort
	}, 10)
	if img.Position() != positions[3] {
		t.Fatalf("after commit position %d", img.Position())
	}
	// Bounded poll stops at the limit even with fragments left.
	var seen []byte
	img.BoundedPoll(func(b []byte, h *Header) {
		seen = append(seen, b[0])
		if h.Position() > positions[6] {
			t.Fatalf("delivered past limit: %d", h.Position())
		}
	}, positions[6], 100)
	if img.Position() != positions[6] || !bytes.Equal(seen, []byte{4, 5, 6}) {
		t.Fatalf("bounded poll: position %d seen %v", img.Position(), seen)
	}
}

func TestIPCEndOfStreamAndImageCallbacks(t *testing.T) {
	d := newIPCDriver(t, TermLengthMin)
	var available, unavailable int
	var eosSeen bool
	sub := mustSub(t, d, "ipc", 1, SubscriptionOptions{
		OnAvailableImage: func(img *Image) { available++ },
		OnUnavailableImage: func(img *Image) {
			unavailable++
			eosSeen = img.IsEndOfStream()
		},
	})
	pub := mustPub(t, d, "ipc", 1)
	pub.Offer([]byte("last"))
	if sub.ImageCount() != 1 || available != 1 {
		t.Fatalf("images %d available %d", sub.ImageCount(), available)
	}
	img := sub.Images()[0]
	if img.JoinPosition() != 0 {
		t.Fatalf("join %d", img.JoinPosition())
	}
	pub.Close()
	if _, r := pub.Offer([]byte("x")); r != Closed {
		t.Fatalf("offer after close: %v", r)
	}
	got := 0
	sub.Poll(func([]byte, *Header) { got++ }, 10)
	sub.Poll(func([]byte, *Header) {}, 10)
	if got != 1 || unavailable != 1 || !eosSeen || sub.ImageCount() != 0 {
		t.Fatalf("got %d unavailable %d eos %v images %d", got, unavailable, eosSeen, sub.ImageCount())
	}
}

func TestLateIPCSubscriberJoinsAtTail(t *testing.T) {
	d := newIPCDriver(t, TermLengthMin)
	first := mustSub(t, d, "ipc", 1, SubscriptionOptions{})
	pub := mustPub(t, d, "ipc", 1)
	pub.Offer([]byte("early"))
	late := mustSub(t, d, "ipc", 1, SubscriptionOptions{})
	pub.Offer([]byte("late"))
	var got []string
	late.Poll(func(b []byte, _ *Header) { got = append(got, string(b)) }, 10)
	if len(got) != 1 || got[0] != "late" || late.Images()[0].JoinPosition() != 64 {
		t.Fatalf("late subscriber got %q join %d", got, late.Images()[0].JoinPosition())
	}
	_ = first
}

func TestPublicationStartsAtGivenPosition(t *testing.T) {
	d := newIPCDriver(t, TermLengthMin)
	sub := mustSub(t, d, "ipc", 3, SubscriptionOptions{})
	// Continue a stream whose initial term id is 100 at term 107, offset 4096.
	pub := mustPub(t, d, "ipc?init-term-id=100|term-id=107|term-offset=4096|session-id=77", 3)
	want := Position(7*TermLengthMin + 4096)
	if pub.Position() != want || pub.SessionID() != 77 {
		t.Fatalf("start position %d session %d, want %d 77", pub.Position(), pub.SessionID(), want)
	}
	img := sub.Images()[0]
	if img.JoinPosition() != want {
		t.Fatalf("join %d want %d", img.JoinPosition(), want)
	}
	var got []Position
	msg := make([]byte, 3000)
	for i := 0; i < 200; i++ { // crosses several terms
		offerRetry(t, pub, msg, func() { sub.Poll(func(_ []byte, h *Header) { got = append(got, h.Position()) }, 100) })
	}
	for sub.Poll(func(_ []byte, h *Header) { got = append(got, h.Position()) }, 100) > 0 {
	}
	if img.Position() != pub.Position() || len(got) == 0 || got[0] <= want {
		t.Fatalf("image at %d, publication at %d, first fragment end %v", img.Position(), pub.Position(), got[:1])
	}
	for _, bad := range []string{"ipc?init-term-id=100|term-id=99|term-offset=0", "ipc?init-term-id=1|term-id=2|term-offset=33",
		"ipc?term-id=2", "ipc?endpoint=1.2.3.4:5"} {
		if _, err := d.AddPublication(bad, 3); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestBlockPollDeliversWholeFramesAsTheyLie(t *testing.T) {
	d := newIPCDriver(t, TermLengthMin)
	sub := mustSub(t, d, "ipc", 1, SubscriptionOptions{})
	pub := mustPub(t, d, "ipc", 1)
	for i := 0; i < 10; i++ {
		pub.Offer(bytes.Repeat([]byte{byte(i)}, 100)) // 132 -> 160-byte frames
	}
	img := sub.Images()[0]
	var blocks [][]byte
	var starts []Position
	h := func(b []byte, pos Position, _, _ int32) {
		blocks = append(blocks, bytes.Clone(b))
		starts = append(starts, pos)
	}
	if n := img.BlockPoll(h, 500); n != 480 {
		t.Fatalf("first block %d bytes, want 3 frames (480)", n)
	}
	if n := img.BlockPoll(h, 10); n != 160 {
		t.Fatalf("small limit still delivers one frame: got %d", n)
	}
	img.BlockPoll(h, 1<<20)
	if img.Position() != pub.Position() || starts[1] != 480 || starts[2] != 640 {
		t.Fatalf("position %d starts %v", img.Position(), starts)
	}
	if f := FrameHeader(blocks[0][160:]); f.FrameLength() != 132 || blocks[0][160+HeaderLength] != 1 {
		t.Fatalf("second frame in block: length %d", f.FrameLength())
	}
}

func TestMaxPositionExceededAtTheLastTerm(t *testing.T) {
	d := newIPCDriver(t, TermLengthMin)
	sub := mustSub(t, d, "ipc", 1, SubscriptionOptions{})
	// Start in the last term a term length can address.
	pub := mustPub(t, d, "ipc?init-term-id=0|term-id=2147483646|term-offset=0", 1)
	msg := make([]byte, 1000)
	var r OfferResult
	for i := 0; i < 1000; i++ {
		if _, r = pub.Offer(msg); r != OfferOK {
			if r == BackPressured {
				sub.Poll(func([]byte, *Header) {}, 1000)
				continue
			}
			break
		}
	}
	if r != MaxPositionExceeded {
		t.Fatalf("got %v at position %d, want MaxPositionExceeded", r, pub.Position())
	}
	if want := Position(int64(2147483647) * TermLengthMin); pub.Position() > want {
		t.Fatalf("position %d beyond the addressable %d", pub.Position(), want)
	}
}

// TestControlledBlockPollLeavesARefusedBlock refuses a block, then accepts
// it: the image must not advance on the refusal, so the same block comes
// again at the same position.
func TestControlledBlockPollLeavesARefusedBlock(t *testing.T) {
	d := newIPCDriver(t, TermLengthMin)
	sub := mustSub(t, d, "ipc", 1, SubscriptionOptions{})
	pub := mustPub(t, d, "ipc", 1)
	for i := 0; i < 3; i++ {
		pub.Offer(bytes.Repeat([]byte{byte(i)}, 100)) // 160-byte frames
	}
	img := sub.Images()[0]
	var seen []Position
	accept := false
	h := func(b []byte, pos Position, _, _ int32) bool {
		seen = append(seen, pos)
		return accept
	}
	if n := img.ControlledBlockPoll(h, 1<<20); n != 0 || img.Position() != 0 {
		t.Fatalf("refused block consumed %d bytes, image at %d", n, img.Position())
	}
	accept = true
	if n := img.ControlledBlockPoll(h, 1<<20); n != 480 || img.Position() != pub.Position() {
		t.Fatalf("accepted block %d bytes, image at %d", n, img.Position())
	}
	if len(seen) != 2 || seen[0] != 0 || seen[1] != 0 {
		t.Fatalf("block positions %v, want the same block twice at 0", seen)
	}
}
