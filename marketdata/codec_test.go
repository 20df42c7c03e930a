package marketdata

import (
	"bytes"
	"errors"
	"testing"

	"venue/engine"
)

func sampleView(bids, asks int) *View {
	v := &View{InstrumentID: 42, Symbol: symbolOf(42), PriceDecimals: 2, State: engine.TradingStateHalted,
		LogPosition: 1 << 40, ClusterTime: -5, LastTradePrice: 101, LastTradeQty: 7, Volume: 1000, TradeCount: 12, valid: true}
	for i := range bids {
		v.Bids = append(v.Bids, Level{Price: 100 - int64(i), Quantity: int64(i + 1), Orders: int32(i + 2)})
	}
	for i := range asks {
		v.Asks = append(v.Asks, Level{Price: 102 + int64(i), Quantity: int64(i + 3), Orders: int32(i + 1)})
	}
	return v
}

// samplePackets returns one valid packet of each type.
func samplePackets() [][]byte {
	w := NewPacketWriter(MTUDefault)
	var out [][]byte
	w.Begin(PacketUpdate, 9)
	w.AppendUpdate(sampleView(3, 2))
	w.AppendUpdate(sampleView(0, 0))
	out = append(out, bytes.Clone(w.Finish(1, 77)))
	w.Begin(PacketSnapshot, 9)
	w.AppendSnapshotMarker(MessageSnapshotBegin, 3, 1)
	w.AppendUpdate(sampleView(LevelsPerSideMax, LevelsPerSideMax))
	w.AppendSnapshotMarker(MessageSnapshotEnd, 3, 1)
	out = append(out, bytes.Clone(w.Finish(2, 78)))
	w.Begin(PacketHeartbeat, 9)
	out = append(out, bytes.Clone(w.Finish(3, 79)))
	w.Begin(PacketTrade, 9)
	w.AppendTrade(&TradeRecord{InstrumentID: 42, Aggressor: engine.SideBuy, TradeID: 5, Price: 100, Quantity: 3, LogPosition: 64, ClusterTime: 9})
	out = append(out, bytes.Clone(w.Finish(1, 80)))
	return out
}

// TestUpdateRoundTrip: a View encoded and decoded is the same View.
func TestUpdateRoundTrip(t *testing.T) {
	for _, depth := range [][2]int{{0, 0}, {1, 0}, {0, 1}, {10, 10}, {LevelsPerSideMax, LevelsPerSideMax}} {
		v := sampleView(depth[0], depth[1])
		w := NewPacketWriter(MTUDefault)
		w.Begin(PacketUpdate, 1)
		if !w.AppendUpdate(v) {
			t.Fatalf("depth %v does not fit the default MTU", depth)
		}
		h, err := ParsePacket(w.Finish(5, 6))
		if err != nil {
			t.Fatal(err)
		}
		var got View
		ForEachMessage(h, func(m Message) { got.setFromUpdate(Update(m)) })
		if !got.Equal(v) || h.Sequence() != 5 || h.SendTimeNs() != 6 || h.Session() != 1 {
			t.Fatalf("round trip:\n got %s\nwant %s", describe(&got), describe(v))
		}
		if bid, ok := got.BestBid(); ok != (depth[0] > 0) || (ok && bid != v.Bids[0]) {
			t.Fatalf("best bid %+v %v", bid, ok)
		}
		if ask, ok := got.BestAsk(); ok != (depth[1] > 0) || (ok && ask != v.Asks[0]) {
			t.Fatalf("best ask %+v %v", ask, ok)
		}
	}
}

// TestPacketWriterRespectsMTU: the writer refuses a message that does not fit.
func TestPacketWriterRespectsMTU(t *testing.T) {
	w := NewPacketWriter(mtuMin)
	w.Begin(PacketUpdate, 1)
	if !w.AppendUpdate(sampleView(LevelsPerSideMax, LevelsPerSideMax)) {
		t.Fatal("a full-depth update does not fit mtuMin")
	}
	if w.AppendUpdate(sampleView(0, 0)) || w.AppendSnapshotMarker(MessageSnapshotEnd, 1, 1) {
		t.Fatal("appended past the MTU")
	}
	if p := w.Finish(1, 0); len(p) != mtuMin {
		t.Fatalf("packet %d bytes, want %d", len(p), mtuMin)
	}
}

// TestTruncatedPacketsAreRejected: every prefix of every valid packet is
// rejected as truncated (or, for headers cut inside, as too short).
func TestTruncatedPacketsAreRejected(t *testing.T) {
	for _, p := range samplePackets() {
		if _, err := ParsePacket(p); err != nil {
			t.Fatalf("valid %v packet rejected: %v", PacketHeader(p).Type(), err)
		}
		for n := range len(p) {
			if _, err := ParsePacket(p[:n]); !errors.Is(err, ErrTruncated) {
				t.Fatalf("%v packet cut to %d of %d bytes: err %v, want ErrTruncated", PacketHeader(p).Type(), n, len(p), err)
			}
		}
	}
}

// TestZeroPaddingAfterAPacket: a datagram may carry zero bytes after its
// packet (a GSO segment padded to the send's segment size); the header that
// ParsePacket returns spans the packet only. A non-zero byte after the packet,
// or a length field shorter than a header, is malformed.
func TestZeroPaddingAfterAPacket(t *testing.T) {
	for i, pk := range samplePackets() {
		for _, c := range []struct {
			name string
			pad  []byte
			want error
		}{
			{"no padding", nil, nil},
			{"one zero", []byte{0}, nil},
			{"to the MTU", make([]byte, MTUDefault-len(pk)), nil},
			{"a non-zero byte", []byte{0, 0, 7}, ErrBadLength},
			{"a non-zero last byte", append(make([]byte, 100), 1), ErrBadLength},
		} {
			d := append(bytes.Clone(pk), c.pad...)
			h, err := ParsePacket(d)
			if !errors.Is(err, c.want) || (err == nil) != (c.want == nil) {
				t.Errorf("packet %d, %s: %v, want %v", i, c.name, err, c.want)
				continue
			}
			if err == nil && !bytes.Equal(h, pk) {
				t.Errorf("packet %d, %s: header spans %d bytes, want the packet's %d", i, c.name, len(h), len(pk))
			}
		}
	}
	short := append(bytes.Clone(samplePackets()[2]), make([]byte, 8)...)
	le.PutUint16(short[packetLengthOffset:], packetHeaderLength-1)
	if _, err := ParsePacket(short); !errors.Is(err, ErrBadLength) {
		t.Fatalf("length field shorter than a header over zero bytes: %v, want ErrBadLength", err)
	}
}

// TestMessageTypesMustMatchPacketType: a trade in an update packet, a
// snapshot marker outside a snapshot packet are malformed.
func TestMessageTypesMustMatchPacketType(t *testing.T) {
	p := samplePackets()[3] // trade packet
	p[packetTypeOffset] = uint8(PacketUpdate)
	if _, err := ParsePacket(p); !errors.Is(err, ErrMessageMismatch) {
		t.Fatalf("trade in an update packet: %v", err)
	}
	s := samplePackets()[1]
	s[packetTypeOffset] = uint8(PacketUpdate)
	if _, err := ParsePacket(s); !errors.Is(err, ErrMessageMismatch) {
		t.Fatalf("snapshot marker in an update packet: %v", err)
	}
}

// TestEnumStrings: every enum prints its name, unknown values their number.
func TestEnumStrings(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{PacketSnapshot.String(), "Snapshot"}, {PacketType(9).String(), "PacketType(9)"},
		{MessageTrade.String(), "Trade"}, {MessageType(0).String(), "MessageType(0)"},
		{CounterGapsDetected.String(), "md gaps detected"}, {CounterType(1).String(), "CounterType(1)"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// FuzzParsePacket: the decoder never panics or reads out of bounds, and
// whatever it accepts can be walked and applied by a subscriber.
func FuzzParsePacket(f *testing.F) {
	pk := samplePackets()
	f.Add(pk[0])                                           // update packet, two updates
	f.Add(pk[1])                                           // snapshot packet: begin, a full-depth entry, end
	f.Add(pk[2])                                           // heartbeat
	f.Add(pk[3])                                           // trade packet
	f.Add(pk[0][:packetHeaderLength])                      // header only, count says 2: truncated
	f.Add(pk[1][:len(pk[1])-levelLength])                  // snapshot missing its last level
	f.Add([]byte{})                                        // empty datagram
	f.Add([]byte{0x4D, 0x44, 1})                           // magic and version, nothing else
	f.Add(append(bytes.Clone(pk[0]), make([]byte, 40)...)) // update packet zero-padded as a GSO segment
	f.Add(append(bytes.Clone(pk[2]), 0, 0, 9))             // heartbeat followed by a non-zero byte
	for _, bad := range malformedVariants(pk[0]) {
		f.Add(bad) // each way TestMalformedPacketsAreDroppedAndCounted breaks a packet
	}
	sub, _ := NewSubscriber(SubscriberConfig{InstrumentsMax: 64})
	f.Fuzz(func(t *testing.T, p []byte) {
		h, err := ParsePacket(p)
		sub.OnPacket(p)
		if err != nil {
			return
		}
		n := 0
		ForEachMessage(h, func(m Message) {
			n++
			if m.Type() == MessageInstrumentUpdate {
				var v View
				v.setFromUpdate(Update(m))
				if len(v.Bids) > LevelsPerSideMax || len(v.Asks) > LevelsPerSideMax {
					t.Fatalf("accepted %d/%d levels", len(v.Bids), len(v.Asks))
				}
			}
		})
		if n != h.Count() {
			t.Fatalf("walked %d messages, header says %d", n, h.Count())
		}
	})
}

// FuzzUpdateRoundTrip: any View the publisher can build survives encode and
// decode unchanged.
func FuzzUpdateRoundTrip(f *testing.F) {
	f.Add(uint32(1), int64(100), int64(5), int32(1), uint8(3), uint8(2), int64(64))           // small book
	f.Add(uint32(0), int64(-1), int64(0), int32(0), uint8(0), uint8(0), int64(0))             // empty book, zero values
	f.Add(^uint32(0), int64(1<<62), int64(1<<62), int32(-1), uint8(20), uint8(20), int64(-1)) // extremes, full depth
	f.Fuzz(func(t *testing.T, id uint32, price, qty int64, orders int32, bids, asks uint8, pos int64) {
		v := &View{InstrumentID: id, LogPosition: pos, ClusterTime: pos ^ price, Volume: qty, TradeCount: price,
			LastTradePrice: price, LastTradeQty: qty, State: engine.TradingStateOpen, PriceDecimals: bids}
		for i := range int(bids) % (LevelsPerSideMax + 1) {
			v.Bids = append(v.Bids, Level{Price: price - int64(i), Quantity: qty + int64(i), Orders: orders})
		}
		for i := range int(asks) % (LevelsPerSideMax + 1) {
			v.Asks = append(v.Asks, Level{Price: price + int64(i), Quantity: qty ^ int64(i), Orders: orders + 1})
		}
		w := NewPacketWriter(MTUDefault)
		w.Begin(PacketSnapshot, id)
		if !w.AppendUpdate(v) {
			t.Fatal("full-depth update does not fit")
		}
		h, err := ParsePacket(w.Finish(uint64(pos), pos))
		if err != nil {
			t.Fatal(err)
		}
		var got View
		ForEachMessage(h, func(m Message) { got.setFromUpdate(Update(m)) })
		if !got.Equal(v) {
			t.Fatalf("got %s want %s", describe(&got), describe(v))
		}
	})
}
