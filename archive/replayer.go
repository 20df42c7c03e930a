package archive

import (
	"errors"
	"fmt"
	"io"
)

// replayerBlockLengthDefault is the most one replay session hands its sink
// per duty cycle: about one datagram batch for a transport publication.
const replayerBlockLengthDefault = 64 << 10

// ReplayDoneHandler is told when a replay session ends: err is nil when it
// reached its end, otherwise why it stopped. The replay is already closed.
type ReplayDoneHandler func(r *Replay, err error)

// Replayer is the agent that moves replayed frames into sinks, each session
// at most one block per duty cycle. Replay to a transport publication (a
// follower catching up) plugs in as a BlockSink. Add may be called from any
// goroutine; the rest runs on the agent's.
type Replayer struct {
	name           string
	blockLengthMax int
	onDone         ReplayDoneHandler
	commands       chan replaySession
	sessions       []replaySession
}

// failingSink is a BlockSink that can fail for good (a publication that
// cannot reproduce the stream, or a stopped replay): its session ends.
type failingSink interface {
	BlockSink
	Err() error
}

type replaySession struct {
	replay *Replay
	sink   BlockSink
}

// NewReplayer returns a replayer agent. onDone may be nil.
func NewReplayer(name string, onDone ReplayDoneHandler) *Replayer {
	return &Replayer{name: name, blockLengthMax: replayerBlockLengthDefault, onDone: onDone,
		commands: make(chan replaySession, recorderCommandQueueLength)}
}

// Add asks the agent to drive r into sink from its next duty cycle. The
// agent owns r from now on and closes it when it ends.
func (p *Replayer) Add(r *Replay, sink BlockSink) error {
	select {
	case p.commands <- replaySession{replay: r, sink: sink}:
		return nil
	default:
		return fmt.Errorf("%w (%d pending)", ErrRecorderBusy, recorderCommandQueueLength)
	}
}

// DoWork takes new sessions and polls each session once.
func (p *Replayer) DoWork(int64) int {
	work := 0
	for drained := false; !drained; {
		select {
		case s := <-p.commands:
			p.sessions = append(p.sessions, s)
			work++
		default:
			drained = true
		}
	}
	for i := 0; i < len(p.sessions); i++ {
		s := p.sessions[i]
		n, err := s.replay.PollBlock(s.sink, p.blockLengthMax)
		if n > 0 {
			work++
		}
		if f, ok := s.sink.(failingSink); ok && err == nil && f.Err() != nil {
			err = f.Err()
		}
		if err != nil {
			p.end(i, err)
			i--
		}
	}
	return work
}

func (p *Replayer) end(i int, err error) {
	s := p.sessions[i]
	p.sessions = append(p.sessions[:i], p.sessions[i+1:]...)
	s.replay.Close()
	if errors.Is(err, io.EOF) {
		err = nil
	}
	if p.onDone != nil {
		p.onDone(s.replay, err)
	}
}

// OnClose closes every session's replay.
func (p *Replayer) OnClose() {
	for len(p.sessions) > 0 {
		p.end(0, ErrClosed)
	}
}

// RoleName names the agent.
func (p *Replayer) RoleName() string { return p.name }
