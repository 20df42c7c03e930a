package archive

import (
	"errors"
	"strings"
	"testing"
	"time"

	"venue/transport"
)

const (
	netRequestStream  = 100
	netResponseStream = 101
)

// remoteSetup is a source archive served over the transport and a client.
type remoteSetup struct {
	h       *netHarness
	a       *Archive
	server  *ControlServer
	dServer *transport.Driver
	dClient *transport.Driver
	client  *RemoteArchive
	// reqChannel is the server's request channel.
	reqChannel string
}

func newRemoteSetup(t *testing.T, h *netHarness) *remoteSetup {
	t.Helper()
	s := &remoteSetup{h: h, a: openNetArchive(t, t.TempDir())}
	s.dServer, s.dClient = h.driver(11), h.driver(12)
	reqChannel := "udp?endpoint=" + h.endpoint(21)
	s.reqChannel = reqChannel
	var err error
	s.server, err = NewControlServer(s.a, ControlServerConfig{Driver: s.dServer, RequestChannel: reqChannel, RequestStreamID: netRequestStream})
	if err != nil {
		t.Fatal(err)
	}
	h.add(s.server)
	t.Cleanup(s.server.OnClose)
	s.client = s.connect(t, reqChannel, h.endpoint(22))
	return s
}

func (s *remoteSetup) connect(t *testing.T, reqChannel, respEndpoint string) *RemoteArchive {
	t.Helper()
	c, err := ConnectRemote(RemoteArchiveConfig{Driver: s.dClient, RequestChannel: reqChannel, RequestStreamID: netRequestStream,
		ResponseChannel: "udp?endpoint=" + respEndpoint, ResponseStreamID: netResponseStream,
		Clock: s.h.clock, Invoke: s.h.step})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Every operation of the control protocol over UDP on loopback: start a
// recording of a client's stream, stop it, list, describe, find, replay it
// to the client, purge, truncate, delete, and typed errors that carry the
// request's correlation id.
func TestRemoteControlOverUDP(t *testing.T) {
	h := newUDPHarness(t)
	s := newRemoteSetup(t, h)
	c := s.client

	// StartRecording: the client publishes, the server records it.
	channel := "udp?endpoint=" + h.endpoint(23)
	pub, err := s.dClient.AddPublication(channel, netStream)
	if err != nil {
		t.Fatal(err)
	}
	id, err := c.StartRecording(RecordingParams{Channel: channel, StreamID: netStream, SessionID: pub.SessionID(),
		InitialTermID: pub.InitialTermID(), TermLength: int32(pub.TermLength()), MTULength: transport.MTULengthDefault})
	if err != nil {
		t.Fatal(err)
	}
	p := newPublisher(h, pub, 4)
	p.offerBytes(3 * netTermLength)
	h.until("recorded remotely", func() bool {
		pos, err := c.RecordingPosition(id)
		return err == nil && pos == pub.Position()
	})
	if err := c.StopRecording(id); err != nil {
		t.Fatal(err)
	}
	sameMessages(t, "recorded", recordedMessages(t, s.a, id), p.sent)

	// List, describe, find.
	list, err := c.List(0, 10)
	if err != nil || len(list) != 1 || list[0].RecordingID != id || list[0].StopPosition != pub.Position() {
		t.Fatalf("list: %+v, %v", list, err)
	}
	d, err := c.Describe(id)
	if err != nil || d.Channel != channel || d.StopPosition != pub.Position() || d.SessionID != pub.SessionID() {
		t.Fatalf("describe: %+v, %v", d, err)
	}
	if found, err := c.FindLastMatching(0, "udp", netStream); err != nil || found != id {
		t.Fatalf("find last: %d, %v", found, err)
	}

	// Replay to the client over UDP.
	dest := "udp?endpoint=" + h.endpoint(24)
	sub, _ := s.dClient.AddSubscription(dest, netStream, transport.SubscriptionOptions{})
	if _, err := c.Replay(ReplayParams{RecordingID: id, Position: 0, Length: ReplayLengthUnbounded}, NoLimitCounter, dest, netStream); err != nil {
		t.Fatal(err)
	}
	img := h.waitImage(sub, d.SessionID)
	var r reassembler
	h.until("the replay's end of stream", func() bool { img.Poll(r.onFragment, 100); return img.IsEndOfStream() })
	sameMessages(t, "replayed", r.got, p.sent)

	// A typed error with its correlation id: a recording that does not exist.
	_, err = c.Describe(999)
	var ce *ControlError
	if !errors.Is(err, ErrUnknownRecording) || !errors.As(err, &ce) || ce.Code != ErrorUnknownRecording {
		t.Fatalf("describe 999: %v", err)
	}
	if c.response.CorrelationID() != c.nextCorrelate-1 {
		t.Fatalf("error response has correlation id %d, the request %d", c.response.CorrelationID(), c.nextCorrelate-1)
	}
	if err := c.Truncate(id, 8); !errors.Is(err, ErrInvalidPosition) {
		t.Fatalf("truncate inside a frame: %v", err)
	}

	// Purge the first segment, truncate at a message boundary, delete.
	start, err := c.Purge(id, netSegmentLength)
	if err != nil || start != netSegmentLength {
		t.Fatalf("purge: start %d, %v", start, err)
	}
	cut := p.sent[len(p.sent)-3].end
	if err := c.Truncate(id, cut); err != nil {
		t.Fatal(err)
	}
	if d, err := c.Describe(id); err != nil || d.StartPosition != netSegmentLength || d.StopPosition != cut {
		t.Fatalf("after purge and truncate: %+v, %v", d, err)
	}
	if err := c.Delete(id); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Describe(id); !errors.Is(err, ErrUnknownRecording) {
		t.Fatalf("describe after delete: %v", err)
	}
	if err := c.StopReplay(12345); !errors.Is(err, ErrUnknownReplay) {
		t.Fatalf("stop an unknown replay: %v", err)
	}
}

// A second client gets its own session; a request without Connect is
// dropped; a server that is not there times out with ErrTimeout.
func TestRemoteSessionsAndTimeout(t *testing.T) {
	h := newUDPHarness(t)
	s := newRemoteSetup(t, h)
	other := s.connect(t, s.server.requests.Channel(), h.endpoint(25))
	if other.SessionID() == s.client.SessionID() {
		t.Fatalf("two clients share session %d", other.SessionID())
	}
	if _, err := other.List(0, 1); err != nil {
		t.Fatal(err)
	}
	stranger, err := s.dClient.AddPublication(s.server.requests.Channel(), netRequestStream)
	if err != nil {
		t.Fatal(err)
	}
	req := AppendListRecordings(nil, 1, 0, 1)
	h.until("a request without Connect is dropped", func() bool {
		if s.server.Dropped() == 0 {
			stranger.Offer(req)
		}
		return s.server.Dropped() > 0
	})
	_, err = ConnectRemote(RemoteArchiveConfig{Driver: s.dClient, RequestChannel: "udp?endpoint=" + h.endpoint(26),
		RequestStreamID: netRequestStream, ResponseChannel: "udp?endpoint=" + h.endpoint(27), ResponseStreamID: netResponseStream,
		Clock: h.clock, Invoke: h.step, Timeout: 50e6})
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "Connect") {
		t.Fatalf("connect to nobody: %v", err)
	}
}

// A remote replay bounded by a limit counter on the server (the cluster's
// commit position) publishes nothing at or past the limit, and goes on when
// the limit moves.
func TestRemoteReplayBoundedByALimitCounter(t *testing.T) {
	h := newUDPHarness(t)
	s := newRemoteSetup(t, h)
	counters := transport.NewCountersManager(8)
	limit := counters.MustAllocate(transport.CounterTypeArchiveBase+100, "commit position")
	s.server.ctl.counters = func(id int32) (PositionReader, bool) { return limit, id == limit.ID() }

	channel := "udp?endpoint=" + h.endpoint(23)
	pub, _ := s.dClient.AddPublication(channel, netStream)
	id, err := s.client.StartRecording(RecordingParams{Channel: channel, StreamID: netStream, SessionID: pub.SessionID(),
		InitialTermID: pub.InitialTermID(), TermLength: int32(pub.TermLength()), MTULength: transport.MTULengthDefault})
	if err != nil {
		t.Fatal(err)
	}
	p := newPublisher(h, pub, 6)
	p.offerBytes(netTermLength)
	h.until("recorded", func() bool { pos, _ := s.client.RecordingPosition(id); return pos == pub.Position() })

	bound := p.sent[len(p.sent)/2].end
	limit.Set(int64(bound))
	dest := "udp?endpoint=" + h.endpoint(24)
	sub, _ := s.dClient.AddSubscription(dest, netStream, transport.SubscriptionOptions{})
	if _, err := s.client.Replay(ReplayParams{RecordingID: id, Position: 0, Length: ReplayLengthUnbounded, Follow: true},
		limit.ID(), dest, netStream); err != nil {
		t.Fatal(err)
	}
	img := h.waitImage(sub, pub.SessionID())
	var r reassembler
	h.until("the replay reaches the limit", func() bool { img.Poll(r.onFragment, 100); return img.Position() == bound })
	h.wait(int64(20 * time.Millisecond))
	img.Poll(r.onFragment, 100)
	if img.Position() != bound {
		t.Fatalf("the replay passed the limit %d: at %d", bound, img.Position())
	}
	limit.Set(int64(pub.Position()))
	h.until("the replay reaches the new limit", func() bool { img.Poll(r.onFragment, 100); return img.Position() == pub.Position() })
	sameMessages(t, "replayed", r.got, p.sent)
	if _, err := s.client.Replay(ReplayParams{RecordingID: id, Length: ReplayLengthUnbounded}, 9999, dest, netStream); !errors.Is(err, ErrInvalidParams) {
		t.Fatalf("a replay bounded by an unknown counter: %v", err)
	}
}

// ExtendRecording over the transport: a stopped recording continues from
// its stop position with a publication that resumes the stream there.
func TestRemoteExtendRecording(t *testing.T) {
	h := newUDPHarness(t)
	const livenessTimeout = 200 * time.Millisecond
	h.tweak = func(c *transport.DriverConfig) { c.ImageLivenessTimeout = livenessTimeout }
	s := newRemoteSetup(t, h)
	channel := "udp?endpoint=" + h.endpoint(23)
	pub, _ := s.dClient.AddPublication(channel, netStream)
	id, err := s.client.StartRecording(RecordingParams{Channel: channel, StreamID: netStream, SessionID: pub.SessionID(),
		InitialTermID: pub.InitialTermID(), TermLength: int32(pub.TermLength()), MTULength: transport.MTULengthDefault})
	if err != nil {
		t.Fatal(err)
	}
	p := newPublisher(h, pub, 7)
	p.offerBytes(netTermLength)
	h.until("recorded", func() bool { pos, _ := s.client.RecordingPosition(id); return pos == pub.Position() })
	if err := s.client.StopRecording(id); err != nil {
		t.Fatal(err)
	}
	pub.Close()
	d, _ := s.client.Describe(id)
	// The receiver keeps an ended image until its liveness timeout and
	// ignores setups for its session meanwhile (reported): let it go.
	h.wait(2 * int64(livenessTimeout))

	resumed, err := s.dClient.AddPublication(ReplayChannel(channel, &d, d.StopPosition), netStream)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.client.ExtendRecording(id); err != nil {
		t.Fatal(err)
	}
	p.pub = resumed
	p.offerBytes(netTermLength)
	h.until("the extension recorded", func() bool { pos, _ := s.client.RecordingPosition(id); return pos == resumed.Position() })
	sameMessages(t, "recorded", recordedMessages(t, s.a, id), p.sent)
}

// A remote StartRecording of a spy channel records a publication in the
// server's own process without any receiver; the source's end of stream
// stops the recording.
func TestRemoteStartRecordingOfASpy(t *testing.T) {
	h := newUDPHarness(t)
	s := newRemoteSetup(t, h)
	channel := "udp?endpoint=" + h.endpoint(23)
	pub, err := s.dServer.AddPublication(channel, netStream) // in the archive's process
	if err != nil {
		t.Fatal(err)
	}
	id, err := s.client.StartRecording(RecordingParams{Channel: "spy:" + channel, StreamID: netStream, SessionID: pub.SessionID(),
		InitialTermID: pub.InitialTermID(), TermLength: int32(pub.TermLength()), MTULength: transport.MTULengthDefault})
	if err != nil {
		t.Fatal(err)
	}
	h.until("the spy is attached", func() bool { return pub.IsConnected() })
	p := newPublisher(h, pub, 8)
	p.offerBytes(2 * netTermLength)
	pub.Close()
	h.until("the recording stops at the end of stream", func() bool {
		d, err := s.client.Describe(id)
		return err == nil && d.StopPosition == pub.Position()
	})
	sameMessages(t, "recorded", recordedMessages(t, s.a, id), p.sent)
}
