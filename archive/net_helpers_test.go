package archive

import (
	"bytes"
	"cmp"
	"fmt"
	"math/rand/v2"
	"net"
	"testing"
	"time"

	"venue/transport"
)

// Network test geometry: the transport's smallest term, so a few hundred
// KiB of messages cross several terms and segments.
const (
	netTermLength    = transport.TermLengthMin
	netSegmentLength = 2 * netTermLength
	// netWindow is a quarter term, not the transport's cap of half a term:
	// the sender may pass its limit by a term-end pad, and it refuses to
	// retransmit anything more than half a term behind its position, so a
	// receiver window of half a term can stall a lossy stream for good
	// (a transport bug, worked around here and reported).
	netWindow = netTermLength / 4
	// netWaitNs bounds every wait of a real-UDP test (wall clock).
	netWaitNs = int64(20 * time.Second)
	// simWaitSteps bounds every wait of a simulated-network test.
	simWaitSteps = 2_000_000
	simStepNs    = int64(20 * time.Microsecond)
)

// netHarness drives invoker-threaded drivers and agents by hand on the
// test goroutine: no goroutine of its own, so no sleeps and no races.
type netHarness struct {
	t      testing.TB
	clock  transport.NanoClock
	sim    *transport.SimClock // nil over real UDP
	simnet *transport.SimNetwork
	faulty *transport.FaultyNetwork // real UDP with faults, when set
	stepNs int64                    // simulated time per step; 0 means simStepNs
	tweak  func(*transport.DriverConfig)
	agents []worker
	// outer agents run only in until, not in step: those that make
	// blocking RemoteArchive calls whose waits run step.
	outer []worker
}

// worker is an agent or a driver: anything with a duty cycle.
type worker interface{ DoWork(nowNs int64) int }

func newUDPHarness(t testing.TB) *netHarness {
	return &netHarness{t: t, clock: transport.MonotonicNanos}
}

func newSimHarness(t testing.TB, seed int64, faults transport.SimFaults) *netHarness {
	clock := &transport.SimClock{}
	return &netHarness{t: t, clock: clock.Now, sim: clock, simnet: transport.NewSimNetwork(seed, clock.Now, faults)}
}

func (h *netHarness) driver(seed int64) *transport.Driver {
	cfg := transport.DriverConfig{Threading: transport.ThreadingInvoker, Clock: h.clock, Seed: seed,
		TermLength: netTermLength, PublicationWindow: netWindow, ReceiverWindow: netWindow}
	if h.simnet != nil {
		cfg.Network = h.simnet
	}
	if h.faulty != nil {
		cfg.Network = h.faulty
	}
	if h.tweak != nil {
		h.tweak(&cfg)
	}
	d, err := transport.NewDriver(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { d.Close() })
	h.agents = append(h.agents, d)
	return d
}

func (h *netHarness) add(a worker) { h.agents = append(h.agents, a) }

func (h *netHarness) addOuter(a worker) { h.outer = append(h.outer, a) }

// stepAll runs step, then the outer agents.
func (h *netHarness) stepAll() {
	h.step(0)
	for _, a := range h.outer {
		a.DoWork(h.clock())
	}
}

// step runs every agent once (advancing simulated time first).
func (h *netHarness) step(int64) int {
	if h.sim != nil {
		h.sim.Advance(cmp.Or(h.stepNs, simStepNs))
	}
	now := h.clock()
	work := 0
	for _, a := range h.agents {
		work += a.DoWork(now)
	}
	return work
}

// until steps until cond holds, failing the test after the harness's bound.
func (h *netHarness) until(what string, cond func() bool) {
	h.t.Helper()
	if h.sim != nil {
		for range simWaitSteps {
			if cond() {
				return
			}
			h.stepAll()
		}
		h.t.Fatalf("after %d simulated steps: %s never happened", simWaitSteps, what)
	}
	deadline := h.clock() + netWaitNs
	for h.clock() < deadline {
		if cond() {
			return
		}
		h.stepAll()
	}
	h.t.Fatalf("after %v: %s never happened", time.Duration(netWaitNs), what)
}

// wait steps for ns of the harness's time.
func (h *netHarness) wait(ns int64) {
	end := h.clock() + ns
	h.until("time passes", func() bool { return h.clock() >= end })
}

// endpoint returns a loopback address for a channel: over real UDP a port
// the kernel just had free, over the simulated network any port.
func (h *netHarness) endpoint(n int) string {
	if h.simnet != nil {
		return fmt.Sprintf("10.0.0.%d:%d", n, 20000+n)
	}
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().String()
}

// message is one published message and the stream position after it.
type message struct {
	payload []byte
	end     transport.Position
}

// publisher offers seeded random messages, some longer than one frame.
type publisher struct {
	h    *netHarness
	pub  *transport.Publication
	rng  *rand.Rand
	sent []message
}

func newPublisher(h *netHarness, pub *transport.Publication, seed uint64) *publisher {
	return &publisher{h: h, pub: pub, rng: rand.New(rand.NewPCG(seed, 7))}
}

// offer publishes one message (stepping while back pressured).
func (p *publisher) offer() {
	p.h.t.Helper()
	n := 1 + p.rng.IntN(600)
	if p.rng.IntN(10) == 0 {
		n = 2000 + p.rng.IntN(3000) // fragmented
	}
	msg := make([]byte, n)
	for i := range msg {
		msg[i] = byte(p.rng.Uint32())
	}
	if p.rng.IntN(20) == 0 {
		p.abortClaim(1 + p.rng.IntN(p.pub.MaxPayloadLength()))
	}
	var end transport.Position
	p.h.until("a message is accepted", func() bool {
		pos, r := p.pub.Offer(msg)
		if r == transport.OfferOK {
			end = pos
			return true
		}
		if r != transport.BackPressured && r != transport.NotConnected && r != transport.AdminAction {
			p.h.t.Fatalf("offer: %v", r)
		}
		return false
	})
	p.sent = append(p.sent, message{msg, end})
}

// abortClaim leaves a pad frame inside a term, as an aborted claim does.
func (p *publisher) abortClaim(length int) {
	p.h.t.Helper()
	var claim transport.BufferClaim
	p.h.until("a claim", func() bool {
		_, r := p.pub.TryClaim(length, &claim)
		return r == transport.OfferOK
	})
	claim.Abort()
}

func (p *publisher) offerBytes(total int) {
	p.h.t.Helper()
	for start := p.pub.Position(); int(p.pub.Position()-start) < total; {
		p.offer()
	}
}

// reassembler collects whole messages from frames with their end positions.
type reassembler struct {
	partial []byte
	got     []message
}

func (r *reassembler) onFrame(payload []byte, flags uint8, end transport.Position) {
	if flags&transport.FlagBegin != 0 {
		r.partial = r.partial[:0]
	}
	r.partial = append(r.partial, payload...)
	if flags&transport.FlagEnd != 0 {
		r.got = append(r.got, message{append([]byte(nil), r.partial...), end})
	}
}

// onFragment is a transport FragmentHandler.
func (r *reassembler) onFragment(payload []byte, h *transport.Header) {
	r.onFrame(payload, h.Flags(), h.Position())
}

// recordedMessages replays recording id from its start and returns its messages.
func recordedMessages(t testing.TB, a *Archive, id int64) []message {
	t.Helper()
	var r reassembler
	for _, f := range recordedFrames(t, a, id, NullPosition) {
		h := transport.FrameHeader(f.payload)
		r.onFrame(f.payload[transport.HeaderLength:h.FrameLength()], h.Flags(),
			f.end)
	}
	return r.got
}

// recordedFrames replays recording id from `from` and returns its data
// frames (headers included) with their end positions.
func recordedFrames(t testing.TB, a *Archive, id int64, from transport.Position) []message {
	t.Helper()
	r, err := a.OpenReplay(ReplayParams{RecordingID: id, Position: from, Length: ReplayLengthUnbounded})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var frames []message
	for {
		_, err := r.Poll(func(frame []byte, pos transport.Position) {
			end := pos + transport.Position(transport.Align(len(frame), transport.FrameAlignment))
			frames = append(frames, message{append([]byte(nil), frame...), end})
		}, 100)
		if err != nil {
			return frames
		}
	}
}

// sameMessages fails unless got and want hold the same payloads at the same positions.
func sameMessages(t testing.TB, what string, got, want []message) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d messages, want %d", what, len(got), len(want))
	}
	for i := range want {
		if got[i].end != want[i].end || !bytes.Equal(got[i].payload, want[i].payload) {
			t.Fatalf("%s: message %d: %d bytes ending at %d, want %d bytes ending at %d",
				what, i, len(got[i].payload), got[i].end, len(want[i].payload), want[i].end)
		}
	}
}

func openNetArchive(t testing.TB, dir string) *Archive {
	t.Helper()
	a, err := Open(Config{Dir: dir, Fsync: FsyncNone, SegmentLength: netSegmentLength})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// waitImage waits for sub's image of sessionID (any session when 0).
func (h *netHarness) waitImage(sub *transport.Subscription, sessionID int32) *transport.Image {
	h.t.Helper()
	var img *transport.Image
	h.until("an image on "+sub.Channel(), func() bool {
		if sessionID != 0 {
			img = sub.ImageBySessionID(sessionID)
		} else if imgs := sub.Images(); len(imgs) > 0 {
			img = imgs[0]
		}
		return img != nil
	})
	return img
}
