package failover

import (
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"venue/cluster/config"
	"venue/cluster/consensus"
)

// idleStopTimeout is the test Procs' StopTimeout.
const idleStopTimeout = 300 * time.Millisecond

func idleProcs(t *testing.T, mode string, control bool, stopTimeout time.Duration) *Procs {
	t.Helper()
	dir := t.TempDir()
	p, err := NewProcs(ProcsConfig{Cluster: config.Loopback(2, 20_000, dir), ConfigPath: filepath.Join(dir, "c.toml"),
		Command: testCommand(func(consensus.MemberID) string { return mode }), LogDir: dir, Control: control,
		StopTimeout: stopTimeout})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// TestProcsLifecycle: start, request, stop (SIGTERM), start again, kill.
func TestProcsLifecycle(t *testing.T) {
	p := idleProcs(t, modeIdle, true, testWait)
	if p.Running(0) {
		t.Fatal("running before start")
	}
	if err := p.Start(0); err != nil {
		t.Fatal(err)
	}
	if err := p.Start(0); err == nil {
		t.Fatal("second start of a running member succeeded")
	}
	if r, err := p.Request(0, "ping", testWait); err != nil || r != "pong" {
		t.Fatalf("ping: %q %v", r, err)
	}
	if _, err := p.View(0); err == nil {
		t.Fatal("a view of a process without counters")
	}
	if err := p.Stop(0); err != nil {
		t.Fatal(err)
	}
	if p.Running(0) || p.Exited(0) != nil {
		t.Fatalf("after SIGTERM: running %v, exit %v", p.Running(0), p.Exited(0))
	}
	if _, err := p.Request(0, "ping", testWait); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("request to a stopped member: %v", err)
	}
	if err := p.Start(0); err != nil {
		t.Fatal(err)
	}
	if r, err := p.Request(0, "ping", testWait); err != nil || r != "pong" {
		t.Fatalf("ping after restart: %q %v", r, err)
	}
	if _, err := p.Kill(0); err != nil {
		t.Fatal(err)
	}
	var exit *exec.ExitError
	if !errors.As(p.Exited(0), &exit) || exit.ExitCode() != -1 {
		t.Fatalf("after SIGKILL: %v", p.Exited(0))
	}
	if _, err := p.Kill(0); !errors.Is(err, ErrNotRunning) {
		t.Fatalf("kill of a dead member: %v", err)
	}
	if _, ok := p.Leader(); ok {
		t.Fatal("a leader with no member running")
	}
}

// TestProcsStopKillsAMemberThatIgnoresSIGTERM after StopTimeout.
func TestProcsStopKillsAMemberThatIgnoresSIGTERM(t *testing.T) {
	p := idleProcs(t, modeIgnoreTerm, true, idleStopTimeout)
	if err := p.Start(1); err != nil {
		t.Fatal(err)
	}
	if r, err := p.Request(1, "ping", testWait); err != nil || r != "pong" { // SIGTERM ignored by now
		t.Fatalf("ping: %q %v", r, err)
	}
	start := time.Now()
	if err := p.Stop(1); err == nil {
		t.Fatal("Stop reported a clean stop")
	}
	if p.Running(1) || time.Since(start) < idleStopTimeout {
		t.Fatalf("running %v after %v", p.Running(1), time.Since(start))
	}
}

func TestProcsWithoutControl(t *testing.T) {
	p := idleProcs(t, modeIdle, false, testWait)
	if err := p.Start(0); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Request(0, "ping", time.Second); !errors.Is(err, ErrNoControl) {
		t.Fatalf("request without control: %v", err)
	}
	// Without a control channel its input is empty: it sees the end at once
	// and exits cleanly.
	if err := PollUntil(testWait, func() bool { return !p.Running(0) }); err != nil {
		t.Fatal(err)
	}
	if err := p.Exited(0); err != nil {
		t.Fatal(err)
	}
	if err := p.StopAll(); err != nil {
		t.Fatal(err)
	}
}
