package archive

import (
	"errors"
	"fmt"
	"time"

	"venue/transport"
)

// remoteTimeoutDefault is how long a RemoteArchive request waits for its
// response unless configured.
const remoteTimeoutDefault = 5 * time.Second

// remoteResponsesPerPoll bounds the responses one wait cycle takes in.
const remoteResponsesPerPoll = 64

// ErrTimeout: a remote archive did not answer a request in time.
var ErrTimeout = errors.New("archive: control request timed out")

// RemoteArchiveConfig configures a RemoteArchive.
type RemoteArchiveConfig struct {
	// Driver is the client's transport.
	Driver *transport.Driver
	// RequestChannel and RequestStreamID are the server's request channel.
	RequestChannel  string
	RequestStreamID int32
	// ResponseChannel and ResponseStreamID are where this client receives
	// responses (its own endpoint, e.g. "udp?endpoint=10.0.0.2:8020").
	ResponseChannel  string
	ResponseStreamID int32
	// Timeout bounds each request's wait; zero means remoteTimeoutDefault.
	Timeout time.Duration
	// Clock measures the timeout; nil means transport.MonotonicNanos.
	Clock transport.NanoClock
	// Invoke, when set, runs once per wait cycle with the time: it drives
	// invoker-threaded drivers and agents (tests, simulators). Without it a
	// wait cycle yields the processor.
	Invoke func(nowNs int64) int
}

// RemoteArchive is a client of a ControlServer: every operation of the
// control protocol as a blocking call that sends one request and waits,
// polling, for the response with its correlation id. Remote errors come
// back as *ControlError, which errors.Is matches against the archive's
// sentinels (ErrUnknownRecording, ErrRecordingActive, ...). A RemoteArchive
// is used by one goroutine.
type RemoteArchive struct {
	cfg           RemoteArchiveConfig
	pub           *transport.Publication
	sub           *transport.Subscription
	asm           *transport.FragmentAssembler
	nextCorrelate int64
	sessionID     int64
	buf           []byte

	// state of the request being waited for
	waitID      int64
	response    ControlMessage
	onDesc      func(Descriptor)
	idle        transport.IdleStrategy
	responseBuf []byte
}

// ConnectRemote connects to the server at cfg.RequestChannel and opens a
// control session, waiting up to the timeout for the server's answer.
func ConnectRemote(cfg RemoteArchiveConfig) (*RemoteArchive, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = remoteTimeoutDefault
	}
	if cfg.Clock == nil {
		cfg.Clock = transport.MonotonicNanos
	}
	c := &RemoteArchive{cfg: cfg, nextCorrelate: 1, idle: transport.YieldIdleStrategy{}}
	c.asm = transport.NewFragmentAssembler(c.onResponse)
	var err error
	if c.sub, err = cfg.Driver.AddSubscription(cfg.ResponseChannel, cfg.ResponseStreamID, transport.SubscriptionOptions{}); err != nil {
		return nil, fmt.Errorf("archive: remote responses on %s: %w", cfg.ResponseChannel, err)
	}
	if c.pub, err = cfg.Driver.AddPublication(cfg.RequestChannel, cfg.RequestStreamID); err != nil {
		c.sub.Close()
		return nil, fmt.Errorf("archive: remote requests to %s: %w", cfg.RequestChannel, err)
	}
	id, err := c.call(TemplateConnect, func(dst []byte, corr int64) []byte {
		return AppendConnect(dst, corr, cfg.ResponseChannel, cfg.ResponseStreamID)
	})
	if err != nil {
		c.Close()
		return nil, err
	}
	c.sessionID = id
	return c, nil
}

// SessionID returns the control session id the server gave this client.
func (c *RemoteArchive) SessionID() int64 { return c.sessionID }

// Close closes the client's publication (the server then drops the
// session) and subscription.
func (c *RemoteArchive) Close() error {
	c.pub.Close()
	c.sub.Close()
	return nil
}

// StartRecording asks the server to record a stream: it subscribes to
// p.Channel and p.StreamID and records the image of p.SessionID, which must
// join at p.StartPosition (start recording before publishing). It returns
// the new recording's id. An image that joins elsewhere, or with another
// geometry, stops the recording empty and counts an archive error: check
// with RecordingPosition that it is recording.
func (c *RemoteArchive) StartRecording(p RecordingParams) (int64, error) {
	return c.call(TemplateStartRecording, func(dst []byte, corr int64) []byte {
		return AppendStartRecording(dst, corr, p)
	})
}

// ExtendRecording asks the server to continue recording id from its stop
// position, from the image of the recording's session on its channel.
func (c *RemoteArchive) ExtendRecording(id int64) error {
	_, err := c.idRequest(TemplateExtendRecording, id)
	return err
}

// StopRecording stops a recording.
func (c *RemoteArchive) StopRecording(id int64) error {
	_, err := c.idRequest(TemplateStopRecording, id)
	return err
}

// Describe returns a recording's descriptor.
func (c *RemoteArchive) Describe(id int64) (Descriptor, error) {
	var d Descriptor
	c.onDesc = func(x Descriptor) { d = x }
	_, err := c.idRequest(TemplateDescribe, id)
	return d, err
}

// List returns up to count descriptors from id fromID on.
func (c *RemoteArchive) List(fromID int64, count int32) ([]Descriptor, error) {
	var ds []Descriptor
	c.onDesc = func(x Descriptor) { ds = append(ds, x) }
	_, err := c.call(TemplateListRecordings, func(dst []byte, corr int64) []byte {
		return AppendListRecordings(dst, corr, fromID, count)
	})
	return ds, err
}

// FindLastMatching returns the id of the last recording from minID whose
// channel contains channelFragment on streamID.
func (c *RemoteArchive) FindLastMatching(minID int64, channelFragment string, streamID int32) (int64, error) {
	return c.call(TemplateFindLastMatching, func(dst []byte, corr int64) []byte {
		return AppendFindLastMatching(dst, corr, minID, channelFragment, streamID)
	})
}

// RecordingPosition returns an active recording's durable position, or
// NullPosition when it is not being recorded.
func (c *RemoteArchive) RecordingPosition(id int64) (transport.Position, error) {
	pos, err := c.idRequest(TemplateRecordingPosition, id)
	return transport.Position(pos), err
}

// Truncate truncates a stopped recording at pos.
func (c *RemoteArchive) Truncate(id int64, pos transport.Position) error {
	_, err := c.call(TemplateTruncate, func(dst []byte, corr int64) []byte {
		return AppendPositionRequest(dst, TemplateTruncate, corr, id, pos)
	})
	return err
}

// Purge removes a recording's whole segments before pos and returns its
// new start position.
func (c *RemoteArchive) Purge(id int64, pos transport.Position) (transport.Position, error) {
	start, err := c.call(TemplatePurgeSegments, func(dst []byte, corr int64) []byte {
		return AppendPositionRequest(dst, TemplatePurgeSegments, corr, id, pos)
	})
	return transport.Position(start), err
}

// Delete deletes a stopped recording.
func (c *RemoteArchive) Delete(id int64) error {
	_, err := c.idRequest(TemplateDeleteRecording, id)
	return err
}

// Replay asks the server to replay p to channel and streamID, on a
// publication that keeps the recorded positions and session id; the
// replay ends with end of stream. limitCounterID names a counter on the
// server bounding the replay (NoLimitCounter for none). It returns the
// replay session id for StopReplay.
func (c *RemoteArchive) Replay(p ReplayParams, limitCounterID int32, channel string, streamID int32) (int64, error) {
	return c.call(TemplateReplay, func(dst []byte, corr int64) []byte {
		return AppendReplayTo(dst, corr, p, limitCounterID, channel, streamID)
	})
}

// StopReplay stops a replay session.
func (c *RemoteArchive) StopReplay(replayID int64) error {
	_, err := c.idRequest(TemplateStopReplay, replayID)
	return err
}

// Replicate asks the server, a destination archive, to replicate a
// recording from the source archive whose control channel p names: the
// server connects to the source itself and copies the recording into a
// new recording or extends p.DestinationRecordingID, optionally following
// it and handing off to p.LiveChannel. It answers once the replication is
// set up, with its id for StopReplication; an unreachable source is an
// ErrTimeout, an unknown source recording an ErrUnknownRecording. The
// destination recording is active (RecordingPosition) while it runs.
func (c *RemoteArchive) Replicate(p ReplicateRequest) (replicationID int64, err error) {
	if n := len(p.SourceChannel) + len(p.LiveChannel) + len(p.ReplayChannel); n > replicateChannelsLengthMax {
		return 0, fmt.Errorf("archive: remote %s: %w: channels of %d bytes (at most %d)",
			TemplateReplicate, ErrInvalidParams, n, replicateChannelsLengthMax)
	}
	return c.call(TemplateReplicate, func(dst []byte, corr int64) []byte {
		return AppendReplicate(dst, corr, p)
	})
}

// StopReplication stops a replication the server runs; the destination
// recording keeps what it has.
func (c *RemoteArchive) StopReplication(replicationID int64) error {
	_, err := c.idRequest(TemplateStopReplication, replicationID)
	return err
}

func (c *RemoteArchive) idRequest(t TemplateID, id int64) (int64, error) {
	return c.call(t, func(dst []byte, corr int64) []byte {
		return AppendRecordingIDRequest(dst, t, corr, id)
	})
}

// call sends one request and waits for its ControlResponse, handing any
// RecordingDescriptors with its correlation id to c.onDesc.
func (c *RemoteArchive) call(t TemplateID, encode func(dst []byte, correlationID int64) []byte) (int64, error) {
	defer func() { c.onDesc = nil }()
	corr := c.nextCorrelate
	c.nextCorrelate++
	c.buf = encode(c.buf[:0], corr)
	deadline := c.cfg.Clock() + int64(c.cfg.Timeout)
	if err := c.send(deadline); err != nil {
		return 0, fmt.Errorf("archive: remote %s: %w", t, err)
	}
	c.waitID, c.response = corr, nil
	for c.response == nil {
		now := c.cfg.Clock()
		if now > deadline {
			return 0, fmt.Errorf("archive: remote %s (correlation id %d): %w after %v", t, corr, ErrTimeout, c.cfg.Timeout)
		}
		c.idle.Idle(c.sub.Poll(c.asm.Handler(), remoteResponsesPerPoll) + c.invoke(now))
	}
	if err := c.response.Err(); err != nil {
		return 0, fmt.Errorf("archive: remote %s: %w", t, err)
	}
	return c.response.RelevantID(), nil
}

// send offers the encoded request until the publication takes it.
func (c *RemoteArchive) send(deadlineNs int64) error {
	for {
		_, r := c.pub.Offer(c.buf)
		switch r {
		case transport.OfferOK:
			return nil
		case transport.BackPressured, transport.NotConnected, transport.AdminAction:
		default:
			return fmt.Errorf("offer request: %v", r)
		}
		now := c.cfg.Clock()
		if now > deadlineNs {
			return fmt.Errorf("%w: request not sent (%v)", ErrTimeout, r)
		}
		c.idle.Idle(c.invoke(now))
	}
}

func (c *RemoteArchive) invoke(nowNs int64) int {
	if c.cfg.Invoke == nil {
		return 0
	}
	return c.cfg.Invoke(nowNs)
}

// onResponse takes in one response; those of other (timed-out) requests
// are dropped.
func (c *RemoteArchive) onResponse(msg []byte, _ *transport.Header) {
	m, err := DecodeControlMessage(msg)
	if err != nil || m.CorrelationID() != c.waitID || c.response != nil {
		return
	}
	switch m.TemplateID() {
	case TemplateRecordingDescriptor:
		if c.onDesc != nil {
			c.onDesc(m.Descriptor())
		}
	case TemplateControlResponse:
		c.responseBuf = append(c.responseBuf[:0], msg...)
		c.response = ControlMessage(c.responseBuf)
	}
}
