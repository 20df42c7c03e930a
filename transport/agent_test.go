package transport

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

type countingAgent struct {
	name    string
	work    int
	cycles  atomic.Int64
	closed  atomic.Int64
	panicAt int64
}

func (a *countingAgent) DoWork(int64) int {
	n := a.cycles.Add(1)
	if a.panicAt > 0 && n == a.panicAt {
		panic("boom")
	}
	return a.work
}
func (a *countingAgent) OnClose()         { a.closed.Add(1) }
func (a *countingAgent) RoleName() string { return a.name }

func agentTestWaitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		osYield()
	}
}

func TestBackoffIdleStrategyStepsAndResets(t *testing.T) {
	s := NewBackoffIdleStrategy()
	s.ParkMinNs, s.ParkMaxNs = 1, 4 // keep the parks tiny
	for range s.SpinsMax + s.YieldsMax {
		s.Idle(0)
	}
	if s.spins != s.SpinsMax || s.yields != s.YieldsMax || s.parkNs != 0 {
		t.Fatalf("after spins and yields: %+v", s)
	}
	s.Idle(0)
	s.Idle(0)
	s.Idle(0)
	s.Idle(0)
	if s.parkNs != 4 {
		t.Fatalf("park did not double up to its maximum: %d", s.parkNs)
	}
	s.Idle(1)
	if s.spins != 0 || s.yields != 0 || s.parkNs != 0 {
		t.Fatalf("work did not reset the back-off: %+v", s)
	}
}

func TestAgentRunnerRunsUntilClosed(t *testing.T) {
	a := &countingAgent{name: "a"}
	r := NewAgentRunner(a, NewBackoffIdleStrategy(), nil)
	r.Start()
	agentTestWaitFor(t, "duty cycles", func() bool { return a.cycles.Load() > 10 })
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if a.closed.Load() != 1 {
		t.Fatalf("OnClose ran %d times", a.closed.Load())
	}
	n := a.cycles.Load()
	if err := r.Close(); err != nil { // a second Close is harmless
		t.Fatal(err)
	}
	if a.cycles.Load() != n {
		t.Fatal("duty cycle ran after Close")
	}
}

func TestAgentRunnerReportsPanic(t *testing.T) {
	a := &countingAgent{name: "sender", panicAt: 3}
	r := NewAgentRunner(a, YieldIdleStrategy{}, nil)
	r.Start()
	<-r.Done()
	err := r.Close()
	if err == nil || !strings.Contains(err.Error(), "sender") {
		t.Fatalf("err %v, want the agent's panic naming it", err)
	}
	if a.closed.Load() != 1 {
		t.Fatal("OnClose did not run after a panic")
	}
}

func TestCompositeAgentSumsWorkAndClosesInReverse(t *testing.T) {
	var order []string
	a := &orderAgent{name: "a", work: 2, order: &order}
	b := &orderAgent{name: "b", work: 3, order: &order}
	c := NewCompositeAgent(a, b)
	if got := c.DoWork(0); got != 5 {
		t.Fatalf("work %d, want 5", got)
	}
	if c.RoleName() != "[a,b]" {
		t.Fatalf("name %q", c.RoleName())
	}
	inv := NewAgentInvoker(c, func() int64 { return 7 })
	if inv.Invoke() != 5 {
		t.Fatal("invoker did not run the duty cycle")
	}
	inv.Close()
	inv.Close()
	if strings.Join(order, ",") != "b,a" {
		t.Fatalf("close order %v, want [b a]", order)
	}
	if inv.Invoke() != 0 {
		t.Fatal("closed invoker still works")
	}
}

type orderAgent struct {
	name  string
	work  int
	order *[]string
}

func (a *orderAgent) DoWork(int64) int { return a.work }
func (a *orderAgent) OnClose()         { *a.order = append(*a.order, a.name) }
func (a *orderAgent) RoleName() string { return a.name }
