//go:build linux

package marketdata

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"golang.org/x/sys/unix"
)

func lengths(ls ...int) [][]byte {
	out := make([][]byte, len(ls))
	for i, l := range ls {
		out[i] = make([]byte, l)
	}
	return out
}

func repeat(l, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = l
	}
	return out
}

// TestGSOGroup: which packets go as one GSO send, and its segment size.
func TestGSOGroup(t *testing.T) {
	for _, c := range []struct {
		name       string
		lens       []int
		n, segment int
	}{
		{"one packet", []int{700}, 1, 700},
		{"equal packets, fewer than a send holds", repeat(1408, 20), 20, 1408},
		{"equal packets: the payload bound", repeat(1408, 73), mtuMax / 1408, 1408},
		{"equal small packets: the segment bound", repeat(100, 73), gsoSegmentsMax, 100},
		{"a short last packet is not padded", []int{1400, 1400, 90}, 3, 1400},
		{"a short packet before a long one would be padded too much", []int{100, 1400, 1400}, 1, 100},
		{"padding within an eighth", []int{1300, 1400, 1400, 1400}, 4, 1400},
		{"two shorts after a long one", []int{1400, 100, 100}, 2, 1400},
	} {
		n, seg := gsoGroup(lengths(c.lens...))
		if n != c.n || seg != c.segment {
			t.Errorf("%s: %d packets of segment %d, want %d of %d", c.name, n, seg, c.n, c.segment)
		}
	}
}

// TestGSOGroupBounds: for random lengths a group holds at least one packet
// and keeps every bound, and the next packet would have broken one.
func TestGSOGroupBounds(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		pkts := make([][]byte, 1+rng.IntN(80))
		for i := range pkts {
			pkts[i] = make([]byte, packetHeaderLength+rng.IntN(MTUDefault-packetHeaderLength+1))
		}
		n, seg := gsoGroup(pkts)
		fits := func(k int) bool { // do the first k packets make a valid group?
			s, sum := 0, 0
			for _, p := range pkts[:k] {
				s, sum = max(s, len(p)), sum+len(p)
			}
			last := len(pkts[k-1])
			padding := s*(k-1) - (sum - last)
			return k <= gsoSegmentsMax && s*(k-1)+last <= gsoPayloadMax && (k == 1 || padding*gsoPaddingDivisor <= sum)
		}
		if n < 1 || n > len(pkts) || !fits(n) {
			t.Fatalf("lengths %d: group of %d (segment %d) breaks a bound", len(pkts), n, seg)
		}
		longest := 0
		for _, p := range pkts[:n] {
			longest = max(longest, len(p))
		}
		if seg != longest {
			t.Fatalf("segment %d, longest packet %d", seg, longest)
		}
		if n < len(pkts) && fits(n+1) {
			t.Fatalf("group of %d stopped before packet %d, which fits", n, n+1)
		}
	}
}

// TestGSORefusedFallsBackToSendmmsg: a socket the kernel refuses GSO
// sends on (here one without UDP checksums, SO_NO_CHECK, which
// udp_send_skb refuses with EINVAL) turns GSO off at the first refusal and
// still delivers the whole batch, by sendmmsg, each packet unpadded.
func TestGSORefusedFallsBackToSendmmsg(t *testing.T) {
	cfg := loopbackChannel(t, "239.255.10.209")
	tx, rx := udpPair(t, cfg)
	var serr error
	if err := tx.raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_NO_CHECK, 1)
	}); err != nil || serr != nil {
		t.Skipf("SO_NO_CHECK: %v %v", err, serr)
	}
	w := NewPacketWriter(MTUDefault)
	var pkts [][]byte
	for i := range 5 {
		w.Begin(PacketUpdate, 1)
		for range 1 + i%2 { // uneven lengths: a GSO send would pad
			w.AppendUpdate(sampleView(i, i))
		}
		pkts = append(pkts, bytes.Clone(w.Finish(uint64(i+1), 0)))
	}
	if n, err := tx.SendBatch(pkts); n != len(pkts) || err != nil {
		t.Fatalf("SendBatch sent %d of %d: %v", n, len(pkts), err)
	}
	if tx.gso.enabled {
		t.Fatal("GSO still on after the kernel refused it")
	}
	for i, d := range receiveN(t, rx, len(pkts)) {
		if !bytes.Equal(d, pkts[i]) {
			t.Fatalf("datagram %d: %d bytes, not the %d-byte packet sent", i, len(d), len(pkts[i]))
		}
	}
}
