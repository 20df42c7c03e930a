package archive

import (
	"cmp"
	"errors"
	"fmt"
	"sync"
	"time"

	"venue/transport"
)

// Remote control bounds.
const (
	// controlRequestsPerCycle bounds the requests a ControlServer handles
	// per duty cycle, so recording and replay keep moving under a flood.
	controlRequestsPerCycle = 16
	// controlSessionQueueLengthMax bounds the responses queued for one
	// client (a full ListRecordings is controlListCountMax+1); responses
	// beyond it are dropped and counted (Dropped), and the client times out.
	controlSessionQueueLengthMax = 2 * controlListCountMax
	// controlSessionsMax bounds the connected clients of one server.
	controlSessionsMax = 64
	// replayCloseLingerNs is how long a replay's publication stays open
	// after its last frame before it is closed with end of stream. A closed
	// transport publication stops after a few end-of-stream heartbeats even
	// while its receiver still repairs a lost tail; open, it keeps sending
	// heartbeats at the tail and answering NAKs, so the tail gets through.
	replayCloseLingerNs = int64(100 * time.Millisecond)
)

// ControlServerConfig configures a ControlServer.
type ControlServerConfig struct {
	// Driver is the transport the server subscribes and publishes on.
	Driver *transport.Driver
	// RequestChannel and RequestStreamID are where clients send requests,
	// e.g. "udp?endpoint=10.0.0.1:8010".
	RequestChannel  string
	RequestStreamID int32
	// Counters resolves limit counters named in replay requests; nil
	// refuses bounded replays.
	Counters CounterResolver
	// ReplicationTimeout bounds each request a replication makes to its
	// source archive; zero means replicationTimeoutDefault.
	ReplicationTimeout time.Duration
	// Clock is the replications' clock; nil means transport.MonotonicNanos.
	Clock transport.NanoClock
}

// ControlServer serves an archive's control protocol over the transport:
// the remote form of Control. Each client publishes requests on the
// request channel, starting with a Connect that names its response channel;
// the server keys the client's session by the session id of that
// publication, runs each request through Control and publishes the
// responses, which carry the request's correlation id.
//
// Beyond Control, it does the parts that need the transport:
// StartRecording subscribes to the request's channel and stream and records
// the image of the request's session id once it appears (its position must
// be the recording's start position); StopRecording also closes that
// subscription; a Replay naming a channel and stream publishes the replay
// there, at the recorded positions (PublicationSink), and ends it with end
// of stream; StopReplay stops it. Replicate connects to a source archive
// as a remote client and copies a recording into this archive, on a
// goroutine of its own (at most ReplicationsMax at once), answering once
// it is set up; StopReplication stops it. A replication's destination
// recording is active while it runs (RecordingPosition, Describe), and
// ReplicationCounts counts how replications ended.
//
// A ControlServer is an agent: DoWork runs requests, its Recorder and its
// Replayer on the caller's goroutine, which must also be the only one that
// polls the subscriptions it creates.
type ControlServer struct {
	a        *Archive
	d        *transport.Driver
	ctl      *Control
	requests *transport.Subscription
	asm      *transport.FragmentAssembler
	recorder *Recorder
	replayer *Replayer

	sessions   map[int32]*controlSession
	current    *controlSession // session of the request being handled
	recordings map[int64]*serverRecording
	replays    map[*Replay]*serverReplay
	closing    []*serverReplay // ended replays whose publications linger
	nowNs      int64
	scratch    []byte
	dropped    int64

	// Replications, each on its own goroutine (remote_replicate_server.go).
	replications      map[int64]*serverReplication
	nextReplicationID int64
	replEvents        chan replicationEvent
	replWG            sync.WaitGroup
	replCounts        replicationCounters
	replTimeout       time.Duration
	clock             transport.NanoClock
}

// Dropped returns how many requests and responses the server dropped
// before Control saw them or before they were sent: requests without a
// session, connects beyond controlSessionsMax or to a bad channel,
// responses beyond a session's queue bound.
func (s *ControlServer) Dropped() int64 { return s.dropped }

// controlSession is one connected client.
type controlSession struct {
	id    int32
	pub   *transport.Publication
	queue [][]byte
}

// serverRecording is a recording started remotely, waiting for or
// recording its image.
type serverRecording struct {
	rec *Recording
	sub *transport.Subscription
	src *ImageSource
}

// serverReplay is a replay published to a client-named channel.
type serverReplay struct {
	id        int64
	pub       *transport.Publication
	sink      *PublicationSink
	closeAtNs int64
}

var _ transport.Agent = (*ControlServer)(nil)

// NewControlServer serves a on cfg.RequestChannel.
func NewControlServer(a *Archive, cfg ControlServerConfig) (*ControlServer, error) {
	s := &ControlServer{a: a, d: cfg.Driver, ctl: NewControl(a, cfg.Counters),
		sessions: map[int32]*controlSession{}, recordings: map[int64]*serverRecording{},
		replays: map[*Replay]*serverReplay{}, replications: map[int64]*serverReplication{}, nextReplicationID: 1,
		replEvents:  make(chan replicationEvent, ReplicationsMax*replicationEventsPerReplication),
		replTimeout: cmp.Or(cfg.ReplicationTimeout, replicationTimeoutDefault), clock: cfg.Clock}
	if s.clock == nil {
		s.clock = transport.MonotonicNanos
	}
	s.recorder = NewRecorder("archive-recorder", s.onRecordingError)
	s.replayer = NewReplayer("archive-replayer", s.onReplayDone)
	s.asm = transport.NewFragmentAssembler(s.onRequest)
	sub, err := cfg.Driver.AddSubscription(cfg.RequestChannel, cfg.RequestStreamID,
		transport.SubscriptionOptions{OnUnavailableImage: s.onClientGone})
	if err != nil {
		return nil, fmt.Errorf("archive: control server on %s stream %d: %w", cfg.RequestChannel, cfg.RequestStreamID, err)
	}
	s.requests = sub
	return s, nil
}

// Control returns the in-process server the remote one runs requests through.
func (s *ControlServer) Control() *Control { return s.ctl }

// RoleName names the agent.
func (s *ControlServer) RoleName() string { return "archive-control" }

// DoWork handles pending requests, moves recordings and replays one block
// each, and publishes queued responses.
func (s *ControlServer) DoWork(nowNs int64) int {
	s.nowNs = nowNs
	work := s.requests.Poll(s.asm.Handler(), controlRequestsPerCycle)
	work += s.attachImages()
	work += s.recorder.DoWork(nowNs)
	work += s.replayer.DoWork(nowNs)
	work += s.endFinishedRecordings()
	work += s.closeEndedReplays(nowNs)
	work += s.pollReplications()
	for _, cs := range s.sessions {
		work += cs.flush()
	}
	return work
}

// OnClose stops everything started through the server and closes its
// publications and subscriptions.
func (s *ControlServer) OnClose() {
	s.closeReplications()
	s.replayer.OnClose()
	s.closeEndedReplays(1<<63 - 1)
	s.recorder.OnClose()
	for id, sr := range s.recordings {
		sr.sub.Close()
		delete(s.recordings, id)
	}
	s.ctl.Close()
	for id, cs := range s.sessions {
		cs.pub.Close()
		delete(s.sessions, id)
	}
	s.requests.Close()
}

func (s *ControlServer) onClientGone(img *transport.Image) {
	if cs, ok := s.sessions[img.SessionID()]; ok {
		cs.pub.Close()
		delete(s.sessions, img.SessionID())
	}
}

// onRequest handles one request message from a client.
func (s *ControlServer) onRequest(msg []byte, h *transport.Header) {
	m, err := DecodeControlMessage(msg)
	if err == nil && m.TemplateID() == TemplateConnect {
		s.onConnect(m, h.SessionID())
		return
	}
	cs, ok := s.sessions[h.SessionID()]
	if !ok {
		s.dropped++ // no session to answer on: the client must Connect first
		return
	}
	if err == nil {
		switch m.TemplateID() {
		case TemplateReplicate:
			s.onReplicate(cs, m)
			return
		case TemplateStopReplication:
			s.onStopReplication(cs, m)
			return
		}
	}
	s.current = cs
	s.ctl.Handle(msg, s.enqueue)
	s.current = nil
	if err != nil || len(cs.queue) == 0 {
		return
	}
	last := ControlMessage(cs.queue[len(cs.queue)-1])
	if last.TemplateID() != TemplateControlResponse || last.CorrelationID() != m.CorrelationID() || last.Err() != nil {
		return // failed, or its response did not fit the queue
	}
	switch m.TemplateID() {
	case TemplateStartRecording, TemplateExtendRecording:
		err = s.subscribeRecording(last.RelevantID())
	case TemplateStopRecording:
		s.forgetRecording(m.RecordingID())
	case TemplateReplay:
		err = s.publishReplay(m, last.RelevantID())
	}
	if err != nil {
		cs.queue[len(cs.queue)-1] = AppendControlResponse(nil, m.CorrelationID(), 0, errorCodeOf(err), err.Error())
	}
}

// enqueue copies a response emitted by Control into the current session's queue.
func (s *ControlServer) enqueue(b []byte) {
	cs := s.current
	if len(cs.queue) >= controlSessionQueueLengthMax {
		s.dropped++
		return
	}
	cs.queue = append(cs.queue, append([]byte(nil), b...))
}

func (s *ControlServer) onConnect(m ControlMessage, sessionID int32) {
	if old, ok := s.sessions[sessionID]; ok {
		old.pub.Close() // a client reconnecting on the same publication
		delete(s.sessions, sessionID)
	}
	if len(s.sessions) >= controlSessionsMax {
		s.dropped++
		return
	}
	channel, stream := m.ConnectParams()
	// Responses are small: the smallest term keeps a session's log buffer
	// small whatever the driver's default or the client asks for.
	channel = withChannelParams(channel, fmt.Sprintf("term-length=%d", transport.TermLengthMin))
	pub, err := s.d.AddPublication(channel, stream)
	if err != nil {
		s.dropped++ // nowhere to say so: the client times out
		return
	}
	cs := &controlSession{id: sessionID, pub: pub}
	cs.queue = append(cs.queue, AppendControlResponse(nil, m.CorrelationID(), int64(sessionID), ErrorNone, ""))
	s.sessions[sessionID] = cs
}

// flush publishes queued responses until the publication refuses one.
func (cs *controlSession) flush() int {
	n := 0
	for len(cs.queue) > 0 {
		if _, r := cs.pub.Offer(cs.queue[0]); r != transport.OfferOK {
			break
		}
		cs.queue[0] = nil
		cs.queue = cs.queue[1:]
		n++
	}
	if len(cs.queue) == 0 {
		cs.queue = nil // let the backing array go
	}
	return n
}

// subscribeRecording subscribes to a recording's stream; attachImages
// starts recording its image when it appears.
func (s *ControlServer) subscribeRecording(id int64) error {
	rec, ok := s.ctl.Recording(id)
	if !ok {
		return fmt.Errorf("archive: recording %d: %w", id, ErrUnknownRecording)
	}
	d := rec.Descriptor()
	sub, err := s.d.AddSubscription(d.Channel, d.StreamID, transport.SubscriptionOptions{})
	if err != nil {
		rec.Stop()
		s.forgetControlRecording(id)
		return fmt.Errorf("archive: record %s stream %d: %w: %w", d.Channel, d.StreamID, ErrInvalidParams, err)
	}
	s.recordings[id] = &serverRecording{rec: rec, sub: sub}
	return nil
}

// attachImages hands each waiting recording its image once it appears.
func (s *ControlServer) attachImages() int {
	work := 0
	for _, sr := range s.recordings {
		if sr.src != nil {
			continue
		}
		d := sr.rec.Descriptor()
		img := sr.sub.ImageBySessionID(d.SessionID)
		if img == nil {
			continue
		}
		work++
		if err := checkImageFits(img, &d, sr.rec.RecordedPosition(), true); err != nil {
			s.onRecordingError(sr.rec, err)
			continue
		}
		sr.src = NewImageSource(img)
		if err := s.recorder.Add(sr.rec, sr.src); err != nil {
			s.onRecordingError(sr.rec, err)
		}
	}
	return work
}

// checkImageFits checks that img carries the stream of recording d at its
// recorded position pos, so that its blocks can be appended as they come.
// checkMTU also refuses an image whose frames may be longer than the
// recording's (a replay's image may have a larger MTU: its frames are the
// recorded ones).
func checkImageFits(img *transport.Image, d *Descriptor, pos transport.Position, checkMTU bool) error {
	if img.InitialTermID() != d.InitialTermID || int32(img.TermLength()) != d.TermLength ||
		(checkMTU && int32(img.Log().MTU()) > d.MTULength) || img.StreamID() != d.StreamID {
		return fmt.Errorf("%w: image of session %d (initial term id %d, term %d, mtu %d) does not match recording %d",
			ErrInvalidParams, img.SessionID(), img.InitialTermID(), img.TermLength(), img.Log().MTU(), d.RecordingID)
	}
	if img.Position() != pos {
		return fmt.Errorf("%w: image of session %d joined at %d, recording %d is at %d",
			ErrInvalidPosition, img.SessionID(), img.Position(), d.RecordingID, pos)
	}
	return nil
}

// endFinishedRecordings stops recordings whose source ended its stream or
// went away (a liveness timeout): what was recorded stays, and the
// recording can be extended when the source is back.
func (s *ControlServer) endFinishedRecordings() int {
	work := 0
	for id, sr := range s.recordings {
		if sr.src == nil {
			continue
		}
		sr.sub.ImageCount() // takes in the image's end
		if sr.src.IsEndOfStream() || sr.src.Image().IsClosed() {
			s.forgetRecording(id)
			work++
		}
	}
	return work
}

func (s *ControlServer) onRecordingError(rec *Recording, err error) {
	rec.Stop()
	s.a.errorsCounter.Increment()
	s.forgetRecording(rec.ID())
}

// forgetRecording drops the server's and Control's hold on a recording
// (stopped by now, or about to be by the Recorder).
func (s *ControlServer) forgetRecording(id int64) {
	if sr, ok := s.recordings[id]; ok {
		if sr.src != nil {
			s.recorder.Remove(sr.rec)
		}
		sr.sub.Close()
		delete(s.recordings, id)
	}
	s.forgetControlRecording(id)
}

func (s *ControlServer) forgetControlRecording(id int64) {
	s.ctl.mu.Lock()
	delete(s.ctl.recordings, id)
	s.ctl.mu.Unlock()
}

// publishReplay starts publishing replay session id to the channel and
// stream the request names (nothing when it names none).
func (s *ControlServer) publishReplay(m ControlMessage, id int64) error {
	channel, stream := m.ReplayDestination()
	if channel == "" {
		return nil
	}
	r, ok := s.ctl.Replay(id)
	if !ok {
		return fmt.Errorf("archive: replay %d: %w", id, ErrUnknownReplay)
	}
	pub, sink, err := s.replayPublication(r, channel, stream)
	if err == nil {
		err = s.replayer.Add(r, sink)
	}
	if err != nil {
		if pub != nil {
			pub.Close()
		}
		s.forgetControlReplay(id)
		r.Close()
		return err
	}
	s.replays[r] = &serverReplay{id: id, pub: pub, sink: sink}
	return nil
}

func (s *ControlServer) replayPublication(r *Replay, channel string, stream int32) (*transport.Publication, *PublicationSink, error) {
	d := r.desc
	pub, err := s.d.AddPublication(ReplayChannel(channel, &d, r.Position()), stream)
	if err != nil {
		return nil, nil, fmt.Errorf("archive: replay %d to %s stream %d: %w: %w",
			r.RecordingID(), channel, stream, ErrInvalidParams, err)
	}
	sink, err := NewPublicationSink(pub, &d, r.Position())
	return pub, sink, err
}

// onReplayDone ends a published replay: end of stream for its subscriber.
func (s *ControlServer) onReplayDone(r *Replay, err error) {
	sr, ok := s.replays[r]
	if !ok {
		return
	}
	delete(s.replays, r)
	sr.closeAtNs = s.nowNs + replayCloseLingerNs
	s.closing = append(s.closing, sr)
	s.forgetControlReplay(sr.id)
	if err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrReplayStopped) {
		s.a.errorsCounter.Increment()
	}
}

// closeEndedReplays closes the publications of ended replays whose linger is over.
func (s *ControlServer) closeEndedReplays(nowNs int64) int {
	work := 0
	for i := 0; i < len(s.closing); i++ {
		if sr := s.closing[i]; nowNs >= sr.closeAtNs {
			sr.pub.Close()
			s.closing = append(s.closing[:i], s.closing[i+1:]...)
			i--
			work++
		}
	}
	return work
}

func (s *ControlServer) forgetControlReplay(id int64) {
	s.ctl.mu.Lock()
	delete(s.ctl.replays, id)
	s.ctl.mu.Unlock()
}
