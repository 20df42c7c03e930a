package transport

import (
	"fmt"
	"runtime"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Agent is one active component with a duty cycle: the sender, the receiver,
// the conductor, an archive recorder, a consensus module, a service
// container. DoWork does a bounded amount of work and returns how much it did
// (0 means "nothing to do"), so that an IdleStrategy can back off. Time is
// passed in; agents never read a clock themselves.
type Agent interface {
	// DoWork performs one duty cycle at nowNs (monotonic nanoseconds) and
	// returns the amount of work done.
	DoWork(nowNs int64) int
	// OnClose releases the agent's resources; it runs once, on the agent's
	// own goroutine, after the last DoWork.
	OnClose()
	// RoleName names the agent in errors, counters and goroutine labels.
	RoleName() string
}

// IdleStrategy decides what a duty-cycle loop does after a cycle. Idle is
// called after every cycle with that cycle's work count: a positive count
// resets any back-off, zero advances it.
type IdleStrategy interface {
	Idle(workCount int)
	Reset()
}

// NanoClock returns monotonic nanoseconds. Production code uses
// MonotonicNanos; the simulator passes its virtual clock.
type NanoClock func() int64

var clockBase = time.Now()

// MonotonicNanos returns nanoseconds on the monotonic clock since process start.
func MonotonicNanos() int64 { return int64(time.Since(clockBase)) }

// BusySpinIdleStrategy never gives up the core. It gives the lowest latency
// and is only sensible on machines with a core dedicated to the agent.
type BusySpinIdleStrategy struct{}

// Idle does nothing.
func (BusySpinIdleStrategy) Idle(int) {}

// Reset does nothing.
func (BusySpinIdleStrategy) Reset() {}

// YieldIdleStrategy yields the processor when there is no work: first to
// other goroutines (runtime.Gosched), then to other OS threads
// (sched_yield(2)), so that on a 2-core machine other processes' agents get
// the core too.
type YieldIdleStrategy struct{}

// Idle yields when workCount is zero.
func (YieldIdleStrategy) Idle(workCount int) {
	if workCount > 0 {
		return
	}
	osYield()
}

// Reset does nothing.
func (YieldIdleStrategy) Reset() {}

func osYield() {
	runtime.Gosched()
	unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
}

// Back-off defaults: a few microseconds of spinning, then yields, then parks
// that double from backoffParkMinNs up to backoffParkMaxNs. The maximum park
// bounds the latency added to a message that arrives while parked.
const (
	backoffSpinsMax  = 10
	backoffYieldsMax = 20
	backoffParkMinNs = int64(1 * time.Microsecond)
	backoffParkMaxNs = int64(1 * time.Millisecond)
)

// BackoffIdleStrategy spins, then yields, then parks for exponentially longer
// periods, resetting as soon as there is work.
type BackoffIdleStrategy struct {
	SpinsMax  int
	YieldsMax int
	ParkMinNs int64
	ParkMaxNs int64

	spins  int
	yields int
	parkNs int64
}

// NewBackoffIdleStrategy returns a back-off strategy with the default bounds.
func NewBackoffIdleStrategy() *BackoffIdleStrategy {
	return &BackoffIdleStrategy{
		SpinsMax:  backoffSpinsMax,
		YieldsMax: backoffYieldsMax,
		ParkMinNs: backoffParkMinNs,
		ParkMaxNs: backoffParkMaxNs,
	}
}

// Idle backs off one step when workCount is zero and resets otherwise.
func (s *BackoffIdleStrategy) Idle(workCount int) {
	if workCount > 0 {
		s.Reset()
		return
	}
	switch {
	case s.spins < s.SpinsMax:
		s.spins++
	case s.yields < s.YieldsMax:
		s.yields++
		osYield()
	default:
		if s.parkNs == 0 {
			s.parkNs = s.ParkMinNs
		}
		time.Sleep(time.Duration(s.parkNs))
		s.parkNs = min(s.parkNs*2, s.ParkMaxNs)
	}
}

// Reset returns the strategy to spinning.
func (s *BackoffIdleStrategy) Reset() {
	s.spins, s.yields, s.parkNs = 0, 0, 0
}

// CompositeAgent runs several agents in one duty cycle, so that they can share
// one goroutine (Aeron's "shared" threading mode).
type CompositeAgent struct {
	agents []Agent
	name   string
}

// NewCompositeAgent returns an agent whose duty cycle runs each agent in order.
func NewCompositeAgent(agents ...Agent) *CompositeAgent {
	name := "["
	for i, a := range agents {
		if i > 0 {
			name += ","
		}
		name += a.RoleName()
	}
	return &CompositeAgent{agents: agents, name: name + "]"}
}

// DoWork runs every agent's duty cycle and returns the summed work.
func (c *CompositeAgent) DoWork(nowNs int64) int {
	work := 0
	for _, a := range c.agents {
		work += a.DoWork(nowNs)
	}
	return work
}

// OnClose closes every agent, in reverse order of composition.
func (c *CompositeAgent) OnClose() {
	for i := len(c.agents) - 1; i >= 0; i-- {
		c.agents[i].OnClose()
	}
}

// RoleName lists the composed agents' names.
func (c *CompositeAgent) RoleName() string { return c.name }

// AgentRunner runs an agent's duty cycle on its own goroutine until Close.
type AgentRunner struct {
	agent Agent
	idle  IdleStrategy
	clock NanoClock

	stop     chan struct{}
	done     chan struct{}
	once     sync.Once
	panicErr error
}

// NewAgentRunner prepares a runner; Start launches it. A nil clock means
// MonotonicNanos.
func NewAgentRunner(agent Agent, idle IdleStrategy, clock NanoClock) *AgentRunner {
	if clock == nil {
		clock = MonotonicNanos
	}
	return &AgentRunner{agent: agent, idle: idle, clock: clock,
		stop: make(chan struct{}), done: make(chan struct{})}
}

// Start runs the duty cycle on a new goroutine.
func (r *AgentRunner) Start() { go r.run() }

func (r *AgentRunner) run() {
	defer close(r.done)
	defer r.agent.OnClose()
	defer func() {
		if p := recover(); p != nil {
			r.panicErr = fmt.Errorf("transport: agent %s panicked: %v", r.agent.RoleName(), p)
		}
	}()
	for {
		select {
		case <-r.stop:
			return
		default:
		}
		r.idle.Idle(r.agent.DoWork(r.clock()))
	}
}

// Close stops the duty cycle, waits for OnClose to finish, and returns the
// agent's panic, if it died of one.
func (r *AgentRunner) Close() error {
	r.once.Do(func() { close(r.stop) })
	<-r.done
	return r.panicErr
}

// Done is closed when the runner's goroutine has exited.
func (r *AgentRunner) Done() <-chan struct{} { return r.done }

// AgentInvoker runs an agent's duty cycle from the caller's own loop (Aeron's
// "invoker" mode): the application calls Invoke where it wants the work done.
type AgentInvoker struct {
	agent  Agent
	clock  NanoClock
	closed bool
}

// NewAgentInvoker wraps agent; a nil clock means MonotonicNanos.
func NewAgentInvoker(agent Agent, clock NanoClock) *AgentInvoker {
	if clock == nil {
		clock = MonotonicNanos
	}
	return &AgentInvoker{agent: agent, clock: clock}
}

// Invoke runs one duty cycle and returns its work count.
func (i *AgentInvoker) Invoke() int {
	if i.closed {
		return 0
	}
	return i.agent.DoWork(i.clock())
}

// Close runs the agent's OnClose once.
func (i *AgentInvoker) Close() {
	if !i.closed {
		i.closed = true
		i.agent.OnClose()
	}
}
