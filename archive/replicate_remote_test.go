package archive

import (
	"bytes"
	"net/netip"
	"testing"
	"time"

	"venue/transport"
)

// replicationCase is the source side of a replication test: a publisher
// whose stream the source archive records, and a destination archive.
type replicationCase struct {
	*remoteSetup
	pub      *transport.Publication
	p        *publisher
	srcRec   *Recording
	recorder *Recorder
	dst      *Archive
	srcImg   *transport.Image
}

// newReplicationCase records a stream on the source; with mdc the
// publication is multi-destination, so a live destination can be added.
func newReplicationCase(t *testing.T, h *netHarness, mdc bool) *replicationCase {
	t.Helper()
	c := &replicationCase{remoteSetup: newRemoteSetup(t, h), dst: openNetArchive(t, t.TempDir())}
	dPub := h.driver(13)
	srcEndpoint := h.endpoint(31)
	channel := "udp?endpoint=" + srcEndpoint
	sub, err := c.dServer.AddSubscription(channel, netStream, transport.SubscriptionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pubChannel := channel
	if mdc {
		pubChannel = "udp?control-mode=manual|control=" + h.endpoint(32)
	}
	if c.pub, err = dPub.AddPublication(pubChannel, netStream); err != nil {
		t.Fatal(err)
	}
	if mdc {
		if err := c.pub.AddDestination(srcEndpoint); err != nil {
			t.Fatal(err)
		}
	}
	img := h.waitImage(sub, c.pub.SessionID())
	c.srcImg = img
	c.srcRec, c.recorder = recordImage(t, h, c.a, img, channel)
	c.p = newPublisher(h, c.pub, 5)
	return c
}

// stopSource waits until the source has recorded everything published,
// then stops its recording.
func (c *replicationCase) stopSource(t *testing.T) {
	t.Helper()
	c.h.until("the source records everything", func() bool { return c.srcRec.RecordedPosition() == c.pub.Position() })
	done, err := c.recorder.Remove(c.srcRec)
	if err != nil {
		t.Fatal(err)
	}
	c.h.until("the source recording stops", func() bool { return len(done) > 0 })
}

// checkIdentical fails unless the destination recording holds the source
// recording's bytes at the same positions, and the published messages.
func (c *replicationCase) checkIdentical(t *testing.T, r *RemoteReplication) {
	t.Helper()
	if r.Err() != nil {
		t.Fatalf("replication: %v", r.Err())
	}
	c.checkIdenticalID(t, r.DestinationID())
}

// checkIdenticalID is checkIdentical for destination recording dstID.
func (c *replicationCase) checkIdenticalID(t *testing.T, dstID int64) {
	t.Helper()
	sd, _ := c.a.Describe(c.srcRec.ID())
	dd, err := c.dst.Describe(dstID)
	if err != nil {
		t.Fatal(err)
	}
	if dd.StartPosition != sd.StartPosition || dd.StopPosition != sd.StopPosition || dd.SessionID != sd.SessionID ||
		dd.InitialTermID != sd.InitialTermID || dd.StreamID != sd.StreamID || dd.StopPosition != c.pub.Position() {
		t.Fatalf("destination %+v\nsource %+v\npublished to %d", dd, sd, c.pub.Position())
	}
	src, dst := recordedFrames(t, c.a, sd.RecordingID, NullPosition), recordedFrames(t, c.dst, dd.RecordingID, NullPosition)
	if len(src) != len(dst) {
		t.Fatalf("destination has %d frames, source %d", len(dst), len(src))
	}
	for i := range src {
		if src[i].end != dst[i].end || !bytes.Equal(src[i].payload, dst[i].payload) {
			t.Fatalf("frame %d ending at %d differs from the source's ending at %d", i, dst[i].end, src[i].end)
		}
	}
	sameMessages(t, "replicated", recordedMessages(t, c.dst, dd.RecordingID), c.p.sent)
}

func (c *replicationCase) replicate(t *testing.T, follow bool, live string) *RemoteReplication {
	t.Helper()
	r, err := ReplicateRemote(RemoteReplicationParams{Source: c.client, SourceRecordingID: c.srcRec.ID(),
		Destination: c.dst, DestinationRecordingID: NullRecordingID, Driver: c.dClient,
		ReplayChannel: "udp?endpoint=" + c.h.endpoint(33), Follow: follow, LiveChannel: live})
	if err != nil {
		t.Fatal(err)
	}
	c.h.addOuter(r)
	return r
}

// Replicate between two archives over UDP while the source keeps
// recording: the replay follows the live recording until it stops, and the
// destination ends identical to the source.
func TestReplicateOverUDPWhileRecording(t *testing.T) {
	h := newUDPHarness(t)
	c := newReplicationCase(t, h, false)
	replicateWhileRecording(t, c)
}

func replicateWhileRecording(t *testing.T, c *replicationCase) {
	c.p.offerBytes(2 * netTermLength)
	r := c.replicate(t, true, "")
	c.p.offerBytes(3 * netTermLength) // the source keeps recording
	c.stopSource(t)
	c.h.until("the replication ends", r.Done)
	c.checkIdentical(t, r)
}

// A stopped replica catches up: extend it from its stop position with the
// rest of the source, without following.
func TestReplicateOverUDPExtendsAStoppedReplica(t *testing.T) {
	h := newUDPHarness(t)
	c := newReplicationCase(t, h, false)
	c.p.offerBytes(2 * netTermLength)
	c.h.until("the source records", func() bool { return c.srcRec.RecordedPosition() == c.pub.Position() })
	first, err := ReplicateRemote(RemoteReplicationParams{Source: c.client, SourceRecordingID: c.srcRec.ID(),
		Destination: c.dst, DestinationRecordingID: NullRecordingID, Driver: c.dClient,
		ReplayChannel: "udp?endpoint=" + h.endpoint(34)})
	if err != nil {
		t.Fatal(err)
	}
	h.addOuter(first)
	h.until("the first replication ends", first.Done)
	if first.Err() != nil {
		t.Fatal(first.Err())
	}
	c.p.offerBytes(2 * netTermLength)
	c.stopSource(t)
	second, err := ReplicateRemote(RemoteReplicationParams{Source: c.client, SourceRecordingID: c.srcRec.ID(),
		Destination: c.dst, DestinationRecordingID: first.DestinationID(), Driver: c.dClient,
		ReplayChannel: "udp?endpoint=" + h.endpoint(35)})
	if err != nil {
		t.Fatal(err)
	}
	h.addOuter(second)
	h.until("the second replication ends", second.Done)
	c.checkIdentical(t, second)
}

// Replicate with a hand-off to the live stream: the replica subscribes to
// the live stream the source records (a multi-destination publication),
// catches up by replay, then records the live stream itself.
func TestReplicateOverUDPMergesWithLive(t *testing.T) {
	h := newUDPHarness(t)
	c := newReplicationCase(t, h, true)
	replicateAndMerge(t, c)
}

// liveJoinSettleNs is how long a new live receiver gets to be counted by
// the publisher's flow control: many status-message intervals.
const liveJoinSettleNs = int64(100 * time.Millisecond)

func replicateAndMerge(t *testing.T, c *replicationCase) {
	c.p.offerBytes(2 * netTermLength)
	liveEndpoint := c.h.endpoint(36)
	r := c.replicate(t, false, "udp?endpoint="+liveEndpoint)
	if err := c.pub.AddDestination(liveEndpoint); err != nil {
		t.Fatal(err)
	}
	// The publisher counts the new receiver in its flow control only once
	// that receiver's first status message arrives; until then it may run
	// past the receiver's window, and the transport leaves a receiver
	// stranded there (reported). So the publisher pauses while it joins.
	c.h.until("the live image", func() bool { return r.live != nil })
	c.h.wait(liveJoinSettleNs)
	c.h.until("the hand-off to the live stream", func() bool {
		if !r.Merged() && !r.Done() {
			c.p.offer() // the source keeps recording
		}
		return r.Merged() || r.Done()
	})
	if r.Done() {
		t.Fatalf("ended before the hand-off: %v", r.Err())
	}
	c.p.offerBytes(netTermLength)
	c.stopSource(t)
	c.pub.Close()
	c.h.until("the live stream ends", r.Done)
	c.checkIdentical(t, r)
}

// The same replications over the simulated network with loss, duplicates
// and reordering: retransmission must deliver the same bytes.
func TestReplicateOverLossyNetwork(t *testing.T) {
	faults := transport.SimFaults{LossPermille: 30, DuplicatePermille: 10, ReorderPermille: 30,
		DelayNs: 50_000, ReorderDelayNs: 200_000}
	t.Run("following", func(t *testing.T) {
		h := newSimHarness(t, 1, faults)
		replicateWhileRecording(t, newReplicationCase(t, h, false))
		if h.simnet.Dropped == 0 {
			t.Fatal("the network dropped nothing")
		}
	})
	t.Run("merging with live", func(t *testing.T) {
		h := newSimHarness(t, 2, faults)
		replicateAndMerge(t, newReplicationCase(t, h, true))
	})
	t.Run("following over real UDP with faults", func(t *testing.T) {
		h := newUDPHarness(t)
		h.faulty = &transport.FaultyNetwork{Inner: transport.UDPNetwork{}, Seed: 3, Faults: faults}
		replicateWhileRecording(t, newReplicationCase(t, h, false))
	})
}

// A replay stream cut off for longer than the image liveness timeout goes
// away without its end of stream: the replication asks for the replay again
// from its recorded position and still ends identical to the source.
func TestReplicateAsksAgainWhenTheReplayStreamIsLost(t *testing.T) {
	h := newSimHarness(t, 4, transport.SimFaults{DelayNs: 50_000})
	c := newReplicationCase(t, h, false)
	c.p.offerBytes(2 * netTermLength)
	r := c.replicate(t, true, "")
	h.until("some of the replay recorded", func() bool { return r.Recording().RecordedPosition() > netTermLength })
	// Publications send from the unspecified address; the replay, alone,
	// goes to the replay endpoint's host.
	senders, replayHost := netip.IPv4Unspecified(), netip.MustParseAddrPort(h.endpoint(33)).Addr()
	h.simnet.SetPartitioned(senders, replayHost, true)
	h.stepNs = int64(time.Millisecond) // coarse steps through the silence
	h.wait(3 * int64(time.Second))
	h.stepNs = 0
	h.simnet.SetPartitioned(senders, replayHost, false)
	c.p.offerBytes(netTermLength)
	c.stopSource(t)
	h.until("the replication ends", r.Done)
	c.checkIdentical(t, r)
	if r.retries == 0 {
		t.Fatal("the replay was never requested again")
	}
}

// A recording of small frames (its MTU below the transport's default) is
// replayed with the default MTU, many frames to a datagram, and replicates
// byte for byte, pads included.
func TestReplicateSmallFrameRecording(t *testing.T) {
	h := newUDPHarness(t)
	s := newRemoteSetup(t, h)
	p := testParamsFor(netTermLength)
	p.MTULength = 256
	rec, err := s.a.StartRecording(p)
	if err != nil {
		t.Fatal(err)
	}
	st := newStream(t, rec, 9)
	for rec.RecordedPosition() < 3*netTermLength {
		pos, blk := smallFrameBlock(st, 50)
		if err := rec.Append(pos, blk); err != nil {
			t.Fatal(err)
		}
	}
	if err := rec.Stop(); err != nil {
		t.Fatal(err)
	}
	dst := openNetArchive(t, t.TempDir())
	r, err := ReplicateRemote(RemoteReplicationParams{Source: s.client, SourceRecordingID: rec.ID(), Destination: dst,
		DestinationRecordingID: NullRecordingID, Driver: s.dClient, ReplayChannel: "udp?endpoint=" + h.endpoint(33)})
	if err != nil {
		t.Fatal(err)
	}
	h.addOuter(r)
	h.until("the replication ends", r.Done)
	if r.Err() != nil {
		t.Fatal(r.Err())
	}
	src, got := recordedFrames(t, s.a, rec.ID(), NullPosition), recordedFrames(t, dst, r.DestinationID(), NullPosition)
	if len(src) == 0 || len(src) != len(got) || r.Recording().RecordedPosition() != rec.RecordedPosition() {
		t.Fatalf("%d frames to %d, want %d to %d", len(got), r.Recording().RecordedPosition(), len(src), rec.RecordedPosition())
	}
	for i := range src {
		if src[i].end != got[i].end || !bytes.Equal(src[i].payload, got[i].payload) {
			t.Fatalf("frame %d differs", i)
		}
	}
}

// smallFrameBlock makes a block of n messages of at most 200 bytes.
func smallFrameBlock(s *stream, n int) (transport.Position, []byte) {
	pos := s.b.position
	var blk []byte
	for range n {
		payload := make([]byte, s.rng.IntN(256-transport.HeaderLength+1))
		for i := range payload {
			payload[i] = byte(s.rng.Uint32())
		}
		blk = s.b.appendMessage(blk, payload)
	}
	return pos, blk
}
