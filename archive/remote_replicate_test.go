package archive

import (
	"errors"
	"testing"
	"time"
)

// replicateTestTimeout bounds the destination's requests to the source in
// these tests, so that an unreachable source is reported quickly.
const replicateTestTimeout = 500 * time.Millisecond

// remoteReplicationCase is three parties over UDP on loopback: the source
// archive (replicationCase, recording a stream), the destination archive
// served by its own ControlServer, and a client of the destination.
type remoteReplicationCase struct {
	*replicationCase
	dstServer *ControlServer
	dstClient *RemoteArchive
}

func newRemoteReplicationCase(t *testing.T) *remoteReplicationCase {
	t.Helper()
	h := newUDPHarness(t)
	c := &remoteReplicationCase{replicationCase: newReplicationCase(t, h, false)}
	dDst := h.driver(14)
	reqChannel := "udp?endpoint=" + h.endpoint(40)
	var err error
	c.dstServer, err = NewControlServer(c.dst, ControlServerConfig{Driver: dDst, RequestChannel: reqChannel,
		RequestStreamID: netRequestStream, ReplicationTimeout: replicateTestTimeout, Clock: h.clock})
	if err != nil {
		t.Fatal(err)
	}
	h.add(c.dstServer)
	t.Cleanup(c.dstServer.OnClose)
	c.dstClient = c.connect(t, reqChannel, h.endpoint(41))
	return c
}

// request asks the destination to replicate the source recording into a
// new recording, the replay coming to a fresh endpoint.
func (c *remoteReplicationCase) request(follow bool) ReplicateRequest {
	return ReplicateRequest{SourceChannel: c.reqChannel, SourceStreamID: netRequestStream,
		SourceRecordingID: c.srcRec.ID(), DestinationRecordingID: NullRecordingID, Follow: follow,
		ReplayChannel: "udp?endpoint=" + c.h.endpoint(42)}
}

// destinationID returns the id of the destination's only recording.
func (c *remoteReplicationCase) destinationID(t *testing.T) int64 {
	t.Helper()
	ds := c.dst.List(0, 10)
	if len(ds) != 1 {
		t.Fatalf("destination has %d recordings, want 1", len(ds))
	}
	return ds[0].RecordingID
}

// A client asks the destination archive to replicate a recording the
// source is still recording: the destination's control server connects to
// the source, follows the recording until it stops, and ends with the
// source's bytes at the same positions. Its recording is active, as seen
// remotely, while the replication runs.
func TestRemoteReplicateOverUDPWhileRecording(t *testing.T) {
	c := newRemoteReplicationCase(t)
	c.p.offerBytes(2 * netTermLength)
	id, err := c.dstClient.Replicate(c.request(true))
	if err != nil {
		t.Fatal(err)
	}
	if id <= 0 {
		t.Fatalf("replication id %d", id)
	}
	dstID := c.destinationID(t)
	pos, err := c.dstClient.RecordingPosition(dstID)
	if err != nil || pos == NullPosition {
		t.Fatalf("destination recording %d while replicating: position %d, %v", dstID, pos, err)
	}
	c.p.offerBytes(3 * netTermLength) // the source keeps recording
	c.stopSource(t)
	c.h.until("the replication completes", func() bool { return c.dstServer.ReplicationCounts().Completed == 1 })
	if n := c.dstServer.ReplicationCounts(); n.Failed != 0 || n.Stopped != 0 {
		t.Fatalf("replication counts %+v", n)
	}
	c.checkIdenticalID(t, dstID)
	d, err := c.dstClient.Describe(dstID)
	if err != nil || d.StopPosition != c.pub.Position() {
		t.Fatalf("destination after the replication: %+v, %v", d, err)
	}
	if pos, err := c.dstClient.RecordingPosition(dstID); err != nil || pos != NullPosition {
		t.Fatalf("destination recording after the replication: position %d, %v", pos, err)
	}
	// The replication has ended: stopping it is an unknown replication.
	if err := c.dstClient.StopReplication(id); !errors.Is(err, ErrUnknownReplication) {
		t.Fatalf("stop an ended replication: %v", err)
	}
}

// StopReplication stops a replication that follows a live recording; the
// destination recording stops with what it has.
func TestRemoteStopReplication(t *testing.T) {
	c := newRemoteReplicationCase(t)
	c.p.offerBytes(2 * netTermLength)
	id, err := c.dstClient.Replicate(c.request(true))
	if err != nil {
		t.Fatal(err)
	}
	dstID := c.destinationID(t)
	c.h.until("the replication catches up", func() bool {
		pos, _, _, err := c.dst.RecordingPosition(dstID)
		return err == nil && pos == c.srcRec.RecordedPosition() && pos > 0
	})
	if err := c.dstClient.StopReplication(id); err != nil {
		t.Fatal(err)
	}
	c.h.until("the replication stops", func() bool { return c.dstServer.ReplicationCounts().Stopped == 1 })
	if pos, err := c.dstClient.RecordingPosition(dstID); err != nil || pos != NullPosition {
		t.Fatalf("destination recording after the stop: position %d, %v", pos, err)
	}
}

// Typed errors with the request's correlation id: an unknown source
// recording, an unreachable source, a StopReplication of an unknown id.
func TestRemoteReplicateErrors(t *testing.T) {
	c := newRemoteReplicationCase(t)
	req := c.request(false)
	req.SourceRecordingID = 999
	_, err := c.dstClient.Replicate(req)
	var ce *ControlError
	if !errors.Is(err, ErrUnknownRecording) || !errors.As(err, &ce) || ce.Code != ErrorUnknownRecording {
		t.Fatalf("replicate unknown recording 999: %v", err)
	}
	if got, want := c.dstClient.response.CorrelationID(), c.dstClient.nextCorrelate-1; got != want {
		t.Fatalf("error response has correlation id %d, the request %d", got, want)
	}
	if n := len(c.dst.List(0, 10)); n != 0 {
		t.Fatalf("a failed replication left %d destination recordings", n)
	}

	req = c.request(false)
	req.SourceChannel = "udp?endpoint=" + c.h.endpoint(43) // nobody serves there
	if _, err := c.dstClient.Replicate(req); !errors.Is(err, ErrTimeout) || !errors.As(err, &ce) || ce.Code != ErrorTimeout {
		t.Fatalf("replicate from an unreachable source: %v", err)
	}

	err = c.dstClient.StopReplication(12345)
	if !errors.Is(err, ErrUnknownReplication) || !errors.As(err, &ce) || ce.Code != ErrorUnknownReplication {
		t.Fatalf("stop unknown replication: %v", err)
	}
	if got, want := c.dstClient.response.CorrelationID(), c.dstClient.nextCorrelate-1; got != want {
		t.Fatalf("error response has correlation id %d, the request %d", got, want)
	}
	if n := c.dstServer.ReplicationCounts(); n.Failed != 2 || n.Completed != 0 {
		t.Fatalf("replication counts %+v", n)
	}
}
