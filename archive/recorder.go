package archive

import (
	"errors"
	"fmt"
	"time"

	"venue/transport"
)

// Recorder duty-cycle bounds.
const (
	// recorderBlockLengthDefault is the most one session writes per duty
	// cycle: one write batch, one fdatasync under FsyncData.
	recorderBlockLengthDefault = 1 << 20
	// recorderCommandQueueLength bounds pending Add/Remove requests.
	recorderCommandQueueLength = 64
	// diskFullRetryIntervalNs is how long a session waits after ErrDiskFull
	// before offering the same block again.
	diskFullRetryIntervalNs = int64(100 * time.Millisecond)
)

// ErrRecorderBusy: the recorder's command queue is full; retry.
var ErrRecorderBusy = errors.New("archive: recorder command queue full")

// BlockHandler receives whole frames at a stream position. Returning an
// error leaves the source where it was, so the same frames come again.
type BlockHandler func(position transport.Position, block []byte) error

// BlockSource is what a recorder records from: a transport Image's block
// poll (recording a network image or a local publication's spy plugs in
// here), or an in-process stream in tests and the simulator.
type BlockSource interface {
	// BlockPoll calls handler at most once with up to lengthMax bytes of
	// whole frames at the source's position and advances past them only if
	// handler returns nil. It returns the bytes consumed.
	BlockPoll(handler BlockHandler, lengthMax int) int
}

// RecorderErrorHandler is told when a session stops for an error other than
// a full disk; the recording is already stopped at its durable position.
type RecorderErrorHandler func(rec *Recording, err error)

// Recorder is the agent that moves blocks from sources into recordings,
// each session at most one block per duty cycle. Add and Remove may be
// called from any goroutine; the rest runs on the agent's.
type Recorder struct {
	name           string
	blockLengthMax int
	onError        RecorderErrorHandler
	commands       chan recorderCommand
	sessions       []*recorderSession
}

type recorderCommand struct {
	add    *recorderSession
	remove *Recording
	done   chan error
}

type recorderSession struct {
	rec       *Recording
	src       BlockSource
	handler   BlockHandler // bound once so the duty cycle never allocates
	err       error
	retryAtNs int64
}

var _ transport.Agent = (*Recorder)(nil)

// NewRecorder returns a recorder agent. onError may be nil.
func NewRecorder(name string, onError RecorderErrorHandler) *Recorder {
	return &Recorder{name: name, blockLengthMax: recorderBlockLengthDefault, onError: onError,
		commands: make(chan recorderCommand, recorderCommandQueueLength)}
}

// Add asks the agent to record src into rec from its next duty cycle.
func (r *Recorder) Add(rec *Recording, src BlockSource) error {
	s := &recorderSession{rec: rec, src: src}
	s.handler = s.onBlock
	return r.enqueue(recorderCommand{add: s})
}

// Remove asks the agent to stop recording rec (the recording is stopped).
// The returned channel receives Stop's result.
func (r *Recorder) Remove(rec *Recording) (<-chan error, error) {
	done := make(chan error, 1)
	return done, r.enqueue(recorderCommand{remove: rec, done: done})
}

func (r *Recorder) enqueue(c recorderCommand) error {
	select {
	case r.commands <- c:
		return nil
	default:
		return fmt.Errorf("%w (%d pending)", ErrRecorderBusy, recorderCommandQueueLength)
	}
}

func (s *recorderSession) onBlock(pos transport.Position, block []byte) error {
	if isPadBlock(block) {
		// A term-end pad arrives alone and may be longer than one Append
		// takes; its body is never read, so only its header is written.
		s.err = s.rec.AppendPadding(pos, len(block))
		return s.err
	}
	s.err = s.rec.Append(pos, block)
	return s.err
}

// isPadBlock reports whether block is exactly one pad frame.
func isPadBlock(block []byte) bool {
	if len(block) < transport.HeaderLength {
		return false
	}
	h := transport.FrameHeader(block)
	return h.Type() == transport.TypePad &&
		transport.Align(int(h.FrameLength()), transport.FrameAlignment) == len(block)
}

// DoWork applies pending commands and polls every session once.
func (r *Recorder) DoWork(nowNs int64) int {
	work := r.drainCommands()
	for i := 0; i < len(r.sessions); i++ {
		s := r.sessions[i]
		if s.retryAtNs > nowNs {
			continue
		}
		s.err = nil
		if s.src.BlockPoll(s.handler, r.blockLengthMax) > 0 {
			work++
		}
		switch {
		case s.err == nil:
		case errors.Is(s.err, ErrDiskFull):
			s.retryAtNs = nowNs + diskFullRetryIntervalNs
		default:
			r.dropSession(i, s.err)
			i--
		}
	}
	return work
}

func (r *Recorder) drainCommands() int {
	for n := 0; ; n++ {
		select {
		case c := <-r.commands:
			if c.add != nil {
				r.sessions = append(r.sessions, c.add)
			} else {
				c.done <- r.removeSession(c.remove)
			}
		default:
			return n
		}
	}
}

func (r *Recorder) removeSession(rec *Recording) error {
	for i, s := range r.sessions {
		if s.rec == rec {
			r.sessions = append(r.sessions[:i], r.sessions[i+1:]...)
			break
		}
	}
	return rec.Stop()
}

func (r *Recorder) dropSession(i int, err error) {
	s := r.sessions[i]
	r.sessions = append(r.sessions[:i], r.sessions[i+1:]...)
	stopErr := s.rec.Stop()
	if r.onError != nil {
		r.onError(s.rec, errors.Join(err, stopErr))
	}
}

// OnClose stops every session's recording.
func (r *Recorder) OnClose() {
	r.drainCommands()
	for _, s := range r.sessions {
		s.rec.Stop()
	}
	r.sessions = nil
}

// RoleName names the agent.
func (r *Recorder) RoleName() string { return r.name }
