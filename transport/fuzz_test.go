package transport

import (
	"net/netip"
	"testing"
)

// countingVisitor checks each frame handed out by ParseDatagram.
type countingVisitor struct {
	t      *testing.T
	frames int
}

func (v *countingVisitor) OnFrame(frame []byte, typ uint16) {
	if len(frame) < minFrameLength(typ) {
		v.t.Fatalf("frame of type %d shorter (%d) than its minimum", typ, len(frame))
	}
	h := FrameHeader(frame)
	_ = h.SessionID() + h.StreamID() + h.TermID()
	v.frames++
}

func fuzzSeedDatagrams() [][]byte {
	data := make([]byte, 64)
	h := FrameHeader(data)
	h.SetFrameLength(40)
	h.SetVersion(CurrentVersion)
	h.SetFlags(FlagsUnfragmented)
	h.SetType(TypeData)
	h.SetTermOffset(64)
	two := append(append([]byte{}, data...), data...)
	pad := make([]byte, 32)
	ph := FrameHeader(pad)
	ph.SetFrameLength(4096)
	ph.SetVersion(CurrentVersion)
	ph.SetType(TypePad)
	setup := make([]byte, SetupLength)
	EncodeSetup(setup, 1, 2, 3, 3, 0, TermLengthMin, MTULengthDefault, 0)
	status := make([]byte, StatusLength)
	EncodeStatus(status, 0, 1, 2, 3, 64, 1<<16, 99)
	nak := make([]byte, 32)
	EncodeNAK(nak, 1, 2, 3, 64, 128)
	hb := make([]byte, HeaderLength)
	EncodeHeartbeat(hb, FlagEOS, 1, 2, 3, 96)
	badVersion := append([]byte{}, data...)
	badVersion[VersionOffset] = 9
	hugeLength := append([]byte{}, data...)
	FrameHeader(hugeLength).SetFrameLength(1 << 30)
	negLength := append([]byte{}, data...)
	FrameHeader(negLength).SetFrameLength(-32)
	unaligned := append([]byte{}, data...)
	FrameHeader(unaligned).SetTermOffset(7)
	return [][]byte{
		data,                  // one 40-byte data frame in a 64-byte datagram
		two,                   // two data frames packed in one datagram
		data[:40],             // data frame without its alignment tail
		data[:20],             // truncated inside the header
		data[:7],              // truncated before the type field
		pad,                   // padding: only the header travels
		setup,                 // setup frame
		status,                // status message
		nak,                   // NAK
		hb,                    // end-of-stream heartbeat
		badVersion,            // wrong version: invalid
		hugeLength,            // frame length beyond the datagram: invalid
		negLength,             // negative frame length: invalid
		unaligned,             // unaligned term offset: invalid
		{},                    // empty datagram
		append(data, 1),       // trailing garbage byte after a valid frame
		setup[:SetupLength-1], // truncated setup
	}
}

// FuzzParseDatagram feeds arbitrary bytes to the datagram decoder: it must
// never panic or hand out a frame shorter than its type's minimum.
func FuzzParseDatagram(f *testing.F) {
	for _, s := range fuzzSeedDatagrams() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		v := &countingVisitor{t: t}
		valid, invalid := ParseDatagram(b, v)
		if valid != v.frames || invalid < 0 || invalid > 1 {
			t.Fatalf("valid %d frames %d invalid %d", valid, v.frames, invalid)
		}
	})
}

// FuzzReceiverDatagram feeds arbitrary datagrams to a receiver endpoint that
// has a live image, as a hostile or broken sender would: nothing may panic
// and the image must stay consistent (rebuild position <= high-water mark).
func FuzzReceiverDatagram(f *testing.F) {
	for _, s := range fuzzSeedDatagrams() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h := newSimHarness(t, 1, SimFaults{})
		rd := h.driver(2, nil)
		sub := mustSub(t, rd, "udp?endpoint=10.0.0.2:40001", 2, SubscriptionOptions{})
		ep := (*rd.receiver.eps.Load())[0]
		setup := make([]byte, SetupLength)
		EncodeSetup(setup, 1, 2, 3, 3, 0, TermLengthMin, MTULengthDefault, 0)
		ParseDatagram(setup, ep)
		if len(*ep.list.Load()) != 1 {
			t.Fatal("setup did not create an image")
		}
		ParseDatagram(b, ep)
		rd.DoWork(h.clock.Now())
		// A setup with another initial term id legitimately replaces the
		// image (a new incarnation of the session); anything else must
		// leave it in place, consistent. (Setups for other sessions add
		// images of their own.)
		var img *netImage
		for _, i := range *ep.list.Load() {
			if i.log.sessionID == 1 && i.log.streamID == 2 {
				img = i
			}
		}
		switch {
		case img == nil && !isSetupWithOtherInitialTermID(b):
			t.Fatal("one datagram ended the image; only a new incarnation may replace it")
		case img != nil && img.rebuildPos > img.hwm && img.hwm != 0:
			t.Fatalf("rebuild %d beyond hwm %d", img.rebuildPos, img.hwm)
		}
		sub.Poll(func([]byte, *Header) {}, 100)
	})
}

// FuzzSenderControl feeds arbitrary control datagrams (status messages and
// NAKs, possibly foreign or malformed) to a sending publication.
func FuzzSenderControl(f *testing.F) {
	for _, s := range fuzzSeedDatagrams() {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h := newSimHarness(t, 1, SimFaults{})
		sd := h.driver(1, nil)
		pub := mustPub(t, sd, "udp?endpoint=10.0.0.2:40001", 2)
		np := pub.net
		np.onControl(b, netip.AddrPort{}, 0)
		sd.DoWork(1)
		if np.senderPos > int64(pub.Position()) {
			t.Fatalf("sender position %d beyond publication %d", np.senderPos, pub.Position())
		}
	})
}

// isSetupWithOtherInitialTermID reports whether datagram b carries a setup
// for FuzzReceiverDatagram's session (1, stream 2) with an initial term id
// other than its image's (3): a new incarnation that may replace the image.
func isSetupWithOtherInitialTermID(b []byte) bool {
	v := &incarnationVisitor{}
	ParseDatagram(b, v)
	return v.found
}

type incarnationVisitor struct{ found bool }

func (v *incarnationVisitor) OnFrame(frame []byte, typ uint16) {
	c := ControlFrame(frame)
	if typ == TypeSetup && c.i32(SetupSessionIDOffset) == 1 && c.i32(SetupStreamIDOffset) == 2 &&
		c.SetupInitialTermID() != 3 {
		v.found = true
	}
}
