package archive

import (
	"testing"

	"venue/transport"
)

// benchReplicationLength is the recording each replication copies.
const benchReplicationLength = 32 << 20

// BenchmarkReplicateUDP copies a 32 MiB recording of 200-byte messages
// from a remote archive over loopback UDP: the source replays it to a
// publication, the destination records the image (no fsync). All drivers
// and agents share the benchmark's goroutine, so this is the pipeline's
// cost on one core, not the network's.
func BenchmarkReplicateUDP(b *testing.B) {
	h := newUDPHarness(b)
	h.tweak = func(c *transport.DriverConfig) {
		c.TermLength, c.PublicationWindow, c.ReceiverWindow = 16<<20, 2<<20, 2<<20
	}
	s := &remoteSetup{h: h, a: openNetArchive(b, b.TempDir())}
	s.dServer, s.dClient = h.driver(11), h.driver(12)
	reqChannel := "udp?endpoint=" + h.endpoint(21)
	var err error
	if s.server, err = NewControlServer(s.a, ControlServerConfig{Driver: s.dServer, RequestChannel: reqChannel, RequestStreamID: netRequestStream}); err != nil {
		b.Fatal(err)
	}
	h.add(s.server)
	b.Cleanup(s.server.OnClose)
	if s.client, err = ConnectRemote(RemoteArchiveConfig{Driver: s.dClient, RequestChannel: reqChannel, RequestStreamID: netRequestStream,
		ResponseChannel: "udp?endpoint=" + h.endpoint(22), ResponseStreamID: netResponseStream, Clock: h.clock, Invoke: h.step}); err != nil {
		b.Fatal(err)
	}
	srcID := benchSourceRecording(b, s.a)
	dst, err := Open(Config{Dir: b.TempDir(), Fsync: FsyncNone, SegmentLength: 16 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer dst.Close()
	replayEndpoint := "udp?endpoint=" + h.endpoint(23)
	b.SetBytes(benchReplicationLength)
	b.ResetTimer()
	for range b.N {
		r, err := ReplicateRemote(RemoteReplicationParams{Source: s.client, SourceRecordingID: srcID, Destination: dst,
			DestinationRecordingID: NullRecordingID, Driver: s.dClient, ReplayChannel: replayEndpoint})
		if err != nil {
			b.Fatal(err)
		}
		for !r.Done() {
			h.step(0)
			r.DoWork(0)
		}
		if r.Err() != nil || r.Recording().RecordedPosition() != benchReplicationLength {
			b.Fatalf("replicated to %d: %v", r.Recording().RecordedPosition(), r.Err())
		}
	}
	b.ReportMetric(float64(b.N)*benchReplicationLength/float64(transport.Align(transport.HeaderLength+benchPayloadLength, transport.FrameAlignment))/b.Elapsed().Seconds(), "msgs/s")
}

// benchSourceRecording records benchReplicationLength bytes of 200-byte
// messages with 16 MiB terms and returns the recording's id.
func benchSourceRecording(b *testing.B, a *Archive) int64 {
	p := testParams()
	p.TermLength = 16 << 20
	rec, err := a.StartRecording(p)
	if err != nil {
		b.Fatal(err)
	}
	d := rec.Descriptor()
	fb := newFrameBuilder(&d, 0)
	payload := make([]byte, benchPayloadLength)
	block := make([]byte, 0, 64<<10)
	for fb.position < benchReplicationLength {
		block = block[:0]
		pos := fb.position
		for len(block)+2*transport.Align(transport.HeaderLength+benchPayloadLength, transport.FrameAlignment) <= cap(block) &&
			fb.position < benchReplicationLength {
			block = fb.appendMessageInPlace(block, payload)
		}
		if err := rec.Append(pos, block); err != nil {
			b.Fatal(err)
		}
	}
	if err := rec.Stop(); err != nil {
		b.Fatal(err)
	}
	return rec.ID()
}
