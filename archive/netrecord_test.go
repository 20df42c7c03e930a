package archive

import (
	"testing"

	"venue/transport"
)

const netStream = 10

// recordImage starts recording img into a and adds it to a recorder that
// the harness drives.
func recordImage(t testing.TB, h *netHarness, a *Archive, img *transport.Image, channel string) (*Recording, *Recorder) {
	t.Helper()
	rec, err := a.StartRecording(RecordingParamsOf(img, channel))
	if err != nil {
		t.Fatal(err)
	}
	recorder := NewRecorder("test-recorder", func(_ *Recording, err error) { t.Errorf("recorder: %v", err) })
	if err := recorder.Add(rec, NewImageSource(img)); err != nil {
		t.Fatal(err)
	}
	h.add(recorder)
	return rec, recorder
}

// A UDP stream recorded from its Image holds exactly the published
// messages at their positions, across terms and segments; a replay of it to
// a UDP publication, from the start and from inside the third term, gives a
// subscriber the same messages at the same positions.
func TestRecordUDPImageThenReplayToUDP(t *testing.T) {
	h := newUDPHarness(t)
	dPub, dArch, dSub := h.driver(1), h.driver(2), h.driver(3)
	channel := "udp?endpoint=" + h.endpoint(1)
	sub, err := dArch.AddSubscription(channel, netStream, transport.SubscriptionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := dPub.AddPublication(channel, netStream)
	if err != nil {
		t.Fatal(err)
	}
	img := h.waitImage(sub, pub.SessionID())
	a := openNetArchive(t, t.TempDir())
	rec, _ := recordImage(t, h, a, img, channel)

	p := newPublisher(h, pub, 1)
	p.offerBytes(4 * netTermLength)
	h.until("everything recorded", func() bool { return rec.RecordedPosition() == pub.Position() })
	sameMessages(t, "recorded", recordedMessages(t, a, rec.ID()), p.sent)
	for _, f := range recordedFrames(t, a, rec.ID(), NullPosition) {
		if hd := transport.FrameHeader(f.payload); hd.SessionID() != pub.SessionID() || hd.StreamID() != netStream {
			t.Fatalf("frame ending at %d: session %d stream %d", f.end, hd.SessionID(), hd.StreamID())
		}
	}
	if err := rec.Stop(); err != nil {
		t.Fatal(err)
	}

	t.Run("from the start", func(t *testing.T) { replayToUDP(t, h, a, rec.ID(), 0, dSub, p.sent, 2) })
	from := p.sent[len(p.sent)/2].end // a message boundary inside the recording
	var rest []message
	for _, m := range p.sent {
		if m.end > from {
			rest = append(rest, m)
		}
	}
	t.Run("from the middle", func(t *testing.T) { replayToUDP(t, h, a, rec.ID(), from, dSub, rest, 3) })
}

// replayToUDP replays recording id from `from` to a new UDP publication and
// checks that a subscriber on dSub receives want, then end of stream.
func replayToUDP(t *testing.T, h *netHarness, a *Archive, id int64, from transport.Position, dSub *transport.Driver, want []message, n int) {
	d, err := a.Describe(id)
	if err != nil {
		t.Fatal(err)
	}
	dest := "udp?endpoint=" + h.endpoint(10+n)
	sub, err := dSub.AddSubscription(dest, netStream, transport.SubscriptionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	replay, err := a.OpenReplay(ReplayParams{RecordingID: id, Position: from, Length: ReplayLengthUnbounded})
	if err != nil {
		t.Fatal(err)
	}
	// The replay runs on the publisher driver's side: any driver will do.
	pub, err := dSub.AddPublication(ReplayChannel(dest, &d, from), netStream)
	if err != nil {
		t.Fatal(err)
	}
	sink, err := NewPublicationSink(pub, &d, from)
	if err != nil {
		t.Fatal(err)
	}
	done := false
	replayer := NewReplayer("test-replayer", func(_ *Replay, err error) {
		if err != nil {
			t.Errorf("replay: %v", err)
		}
		pub.Close()
		done = true
	})
	if err := replayer.Add(replay, sink); err != nil {
		t.Fatal(err)
	}
	h.add(replayer)
	defer func() { h.agents = h.agents[:len(h.agents)-1] }()

	img := h.waitImage(sub, d.SessionID)
	if img.JoinPosition() != from {
		t.Fatalf("replay image joined at %d, want %d", img.JoinPosition(), from)
	}
	var r reassembler
	h.until("the replay's end of stream", func() bool {
		img.Poll(r.onFragment, 100)
		return done && img.IsEndOfStream()
	})
	sameMessages(t, "replayed", r.got, want)
}

// A local network publication recorded through a spy: the archive holds
// the published messages at their positions, with no receiver at all.
func TestRecordSpy(t *testing.T) {
	h := newUDPHarness(t)
	d := h.driver(1)
	channel := "udp?endpoint=" + h.endpoint(1)
	pub, err := d.AddPublication(channel, netStream)
	if err != nil {
		t.Fatal(err)
	}
	spy, err := d.AddSubscription("spy:"+channel, netStream, transport.SubscriptionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	img := h.waitImage(spy, pub.SessionID())
	a := openNetArchive(t, t.TempDir())
	rec, _ := recordImage(t, h, a, img, "spy:"+channel)
	p := newPublisher(h, pub, 2)
	p.offerBytes(3 * netTermLength)
	h.until("everything recorded", func() bool { return rec.RecordedPosition() == pub.Position() })
	sameMessages(t, "recorded", recordedMessages(t, a, rec.ID()), p.sent)
}

// A refused block (a full disk) is offered again: the image has moved on,
// but ImageSource holds the block until the recording takes it.
func TestImageSourceOffersARefusedBlockAgain(t *testing.T) {
	h := newUDPHarness(t)
	d := h.driver(1)
	channel := "udp?endpoint=" + h.endpoint(1)
	pub, _ := d.AddPublication(channel, netStream)
	spy, _ := d.AddSubscription("spy:"+channel, netStream, transport.SubscriptionOptions{})
	src := NewImageSource(h.waitImage(spy, pub.SessionID()))
	p := newPublisher(h, pub, 3)
	p.offer()
	refuse := true
	var got []byte
	handler := func(pos transport.Position, block []byte) error {
		if refuse {
			return ErrDiskFull
		}
		got = append(got, block...)
		return nil
	}
	if n := src.BlockPoll(handler, 1<<20); n != 0 {
		t.Fatalf("a refused block counted %d bytes", n)
	}
	if src.Position() != 0 || src.Image().Position() != pub.Position() {
		t.Fatalf("source at %d, image at %d", src.Position(), src.Image().Position())
	}
	refuse = false
	if n := src.BlockPoll(handler, 1<<20); n != int(pub.Position()) || len(got) != n {
		t.Fatalf("second poll: %d bytes, got %d, want %d", n, len(got), pub.Position())
	}
	if src.Position() != pub.Position() {
		t.Fatalf("source at %d after the retry", src.Position())
	}
}
