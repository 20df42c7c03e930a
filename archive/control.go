package archive

import (
	"errors"
	"fmt"
	"sync"
)

// CounterResolver finds a counter by id, for replays bounded by a counter
// named in a request (the cluster's commit position). ok is false when
// there is no such counter.
type CounterResolver func(counterID int32) (pos PositionReader, ok bool)

// Control serves the archive's control protocol: it decodes a request,
// runs it against the Archive and encodes the responses, each carrying the
// request's correlation id. Over the transport, a ControlServer feeds it
// request messages and publishes what it emits; in process, callers use
// Handle directly, or the Archive's methods.
//
// Recordings started and replays opened through Control are held here; in
// process, Recording and Replay hand them to the agent that drives them.
type Control struct {
	a        *Archive
	counters CounterResolver

	mu           sync.Mutex
	recordings   map[int64]*Recording
	replays      map[int64]*Replay
	nextReplayID int64
	out          []byte // response scratch, reused
}

// NewControl serves a over the control protocol. counters may be nil, in
// which case replays bounded by a counter are refused.
func NewControl(a *Archive, counters CounterResolver) *Control {
	return &Control{a: a, counters: counters, recordings: map[int64]*Recording{},
		replays: map[int64]*Replay{}, nextReplayID: 1, out: make([]byte, 0, ControlMessageLengthMax)}
}

// Recording returns the writer of a recording started or extended through
// Control, for the caller to attach to a Recorder with its source.
func (c *Control) Recording(id int64) (*Recording, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.recordings[id]
	return r, ok
}

// Replay returns a replay session opened through Control.
func (c *Control) Replay(sessionID int64) (*Replay, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, ok := c.replays[sessionID]
	return r, ok
}

// Handle runs one request and passes each response to emit. A response
// aliases Control's scratch buffer: emit must copy what it keeps. Every
// request gets exactly one ControlResponse, last; ListRecordings and
// DescribeRecording send RecordingDescriptors before it.
func (c *Control) Handle(request []byte, emit func(response []byte)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, err := DecodeControlMessage(request)
	if err != nil {
		correlationID := int64(-1)
		if m != nil || len(request) >= MessageHeaderLength+8 {
			correlationID = ControlMessage(request).CorrelationID()
		}
		c.respond(emit, correlationID, 0, err)
		return
	}
	relevant, err := c.dispatch(m, emit)
	c.respond(emit, m.CorrelationID(), relevant, err)
}

func (c *Control) respond(emit func([]byte), correlationID, relevantID int64, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	c.out = AppendControlResponse(c.out[:0], correlationID, relevantID, errorCodeOf(err), msg)
	emit(c.out)
}

// dispatch runs the request and returns the response's relevant id.
func (c *Control) dispatch(m ControlMessage, emit func([]byte)) (int64, error) {
	switch m.TemplateID() {
	case TemplateStartRecording:
		return c.onStartRecording(m)
	case TemplateExtendRecording:
		return c.onExtendRecording(m)
	case TemplateStopRecording:
		return m.RecordingID(), c.onStopRecording(m)
	case TemplateDescribe:
		return c.onDescribe(m, emit)
	case TemplateDeleteRecording:
		return m.RecordingID(), c.a.Delete(m.RecordingID())
	case TemplateTruncate:
		return int64(m.Position()), c.a.Truncate(m.RecordingID(), m.Position())
	case TemplatePurgeSegments:
		start, err := c.a.Purge(m.RecordingID(), m.Position())
		return int64(start), err
	case TemplateListRecordings:
		return c.onList(m, emit)
	case TemplateFindLastMatching:
		return c.onFindLast(m)
	case TemplateReplay:
		return c.onReplay(m)
	case TemplateStopReplay:
		return m.RecordingID(), c.onStopReplay(m)
	case TemplateConnect:
		return 0, nil // a session only matters over the transport (ControlServer)
	case TemplateReplicate:
		// A replication reaches the source over the transport: only a
		// ControlServer runs it (it answers before Control sees it).
		return 0, fmt.Errorf("%w: %s needs a ControlServer", ErrInvalidParams, m.TemplateID())
	case TemplateStopReplication:
		return m.RecordingID(), fmt.Errorf("%w: %d (in process there are none)", ErrUnknownReplication, m.RecordingID())
	case TemplateRecordingPosition:
		_, durable, active, err := c.a.RecordingPosition(m.RecordingID())
		if err == nil && !active {
			durable = NullPosition
		}
		return int64(durable), err
	}
	return 0, fmt.Errorf("%w: %s is not a request", ErrUnknownTemplate, m.TemplateID())
}

func (c *Control) onStartRecording(m ControlMessage) (int64, error) {
	rec, err := c.a.StartRecording(m.RecordingParams())
	if err != nil {
		return 0, err
	}
	c.recordings[rec.ID()] = rec
	return rec.ID(), nil
}

func (c *Control) onExtendRecording(m ControlMessage) (int64, error) {
	rec, err := c.a.ExtendRecording(m.RecordingID())
	if err != nil {
		return 0, err
	}
	c.recordings[rec.ID()] = rec
	return rec.ID(), nil
}

func (c *Control) onStopRecording(m ControlMessage) error {
	id := m.RecordingID()
	rec, ok := c.recordings[id]
	if !ok {
		c.a.mu.Lock()
		rec, ok = c.a.active[id]
		c.a.mu.Unlock()
	}
	if !ok {
		return fmt.Errorf("%w: %d is not being recorded", ErrUnknownRecording, id)
	}
	delete(c.recordings, id)
	return rec.Stop()
}

func (c *Control) onDescribe(m ControlMessage, emit func([]byte)) (int64, error) {
	d, err := c.a.Describe(m.RecordingID())
	if err != nil {
		return 0, err
	}
	c.out = AppendRecordingDescriptor(c.out[:0], m.CorrelationID(), &d)
	emit(c.out)
	return d.RecordingID, nil
}

// controlListCountMax bounds the descriptors one ListRecordings returns.
const controlListCountMax = 1024

func (c *Control) onList(m ControlMessage, emit func([]byte)) (int64, error) {
	from, count := m.ListParams()
	if count < 0 || count > controlListCountMax {
		return 0, fmt.Errorf("%w: list count %d (at most %d)", ErrInvalidParams, count, controlListCountMax)
	}
	list := c.a.List(from, int(count))
	for i := range list {
		c.out = AppendRecordingDescriptor(c.out[:0], m.CorrelationID(), &list[i])
		emit(c.out)
	}
	return int64(len(list)), nil
}

func (c *Control) onFindLast(m ControlMessage) (int64, error) {
	minID, fragment, streamID := m.FindParams()
	id, ok := c.a.FindLastMatching(minID, fragment, streamID)
	if !ok {
		return 0, fmt.Errorf("%w: none matches %q stream %d from id %d", ErrUnknownRecording, fragment, streamID, minID)
	}
	return id, nil
}

// controlReplaysMax bounds the replay sessions open through one Control.
const controlReplaysMax = 256

func (c *Control) onReplay(m ControlMessage) (int64, error) {
	p, counterID := m.ReplayParams()
	if counterID != NoLimitCounter {
		ok := false
		if c.counters != nil {
			p.Limit, ok = c.counters(counterID)
		}
		if !ok {
			return 0, fmt.Errorf("%w: no limit counter %d", ErrInvalidParams, counterID)
		}
	}
	if len(c.replays) >= controlReplaysMax {
		return 0, fmt.Errorf("%w: %d replays open", ErrInvalidParams, controlReplaysMax)
	}
	r, err := c.a.OpenReplay(p)
	if err != nil {
		return 0, err
	}
	id := c.nextReplayID
	c.nextReplayID++
	c.replays[id] = r
	return id, nil
}

func (c *Control) onStopReplay(m ControlMessage) error {
	r, ok := c.replays[m.RecordingID()]
	if !ok {
		return fmt.Errorf("%w: %d", ErrUnknownReplay, m.RecordingID())
	}
	delete(c.replays, m.RecordingID())
	return r.Close()
}

// Close closes every replay opened through Control and stops every
// recording started through it.
func (c *Control) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errs []error
	for id, r := range c.replays {
		errs = append(errs, r.Close())
		delete(c.replays, id)
	}
	for id, r := range c.recordings {
		errs = append(errs, r.Stop())
		delete(c.recordings, id)
	}
	return errors.Join(errs...)
}
