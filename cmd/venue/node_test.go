package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"venue/cluster/consensus"
	"venue/cluster/member"
)

// fakeNode is a memberNode whose status and error the test sets.
type fakeNode struct {
	mu     sync.Mutex
	status consensus.Status
	err    error
	closed bool
}

func newFakeNode(id consensus.MemberID, err error) *fakeNode {
	return &fakeNode{status: consensus.Status{ID: id, Role: consensus.RoleFollower, State: consensus.StateFollowerReady,
		Term: 1, Leader: 0}, err: err}
}

func (f *fakeNode) Status() consensus.Status { f.mu.Lock(); defer f.mu.Unlock(); return f.status }
func (f *fakeNode) Err() error               { f.mu.Lock(); defer f.mu.Unlock(); return f.err }
func (f *fakeNode) Shutdown() (consensus.Position, error) {
	return 0, errors.New("fake node: no shutdown")
}
func (f *fakeNode) Close() error { f.mu.Lock(); defer f.mu.Unlock(); f.closed = true; return nil }

// stop makes the node look like a member that stopped in order.
func (f *fakeNode) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.status.State, f.err = consensus.StateClosed, member.ErrClosed
}

func (f *fakeNode) isClosed() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.closed }

// syncBuffer is a bytes.Buffer safe for the supervisor's goroutine and the
// test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// superviseWait bounds one supervisor run in these tests (it checks its
// members every statusInterval).
const superviseWait = 10 * time.Second

// TestSuperviseRestartsAMemberToInstall: a member that stops with
// member.ErrRestartToInstall is closed and launched again in its slot; the
// relaunched member is the one supervised (and closed) from then on.
func TestSuperviseRestartsAMemberToInstall(t *testing.T) {
	old := newFakeNode(1, fmt.Errorf("%w (member 1, snapshot at 4096 from member 0)", member.ErrRestartToInstall))
	fresh := newFakeNode(1, nil)
	relaunched := make(chan struct{})
	vms := []*venueMember{{node: old, relaunch: func() (*venueMember, error) {
		close(relaunched)
		return &venueMember{node: fresh}, nil
	}}}
	var out syncBuffer
	done := make(chan error, 1)
	go func() { done <- superviseMembers(context.Background(), &out, vms) }()
	select {
	case <-relaunched:
	case <-time.After(superviseWait):
		t.Fatalf("the member was not relaunched; output:\n%s", out.String())
	}
	if !old.isClosed() {
		t.Fatal("the member was relaunched before the old one was closed")
	}
	fresh.stop()
	select {
	case err := <-done:
		if !errors.Is(err, errAllStopped) {
			t.Fatalf("supervisor: %v, want errAllStopped", err)
		}
	case <-time.After(superviseWait):
		t.Fatalf("the supervisor did not see the relaunched member stop; output:\n%s", out.String())
	}
	if vms[0].node != fresh {
		t.Fatal("the relaunched member did not take the old one's slot")
	}
	for _, want := range []string{"member 1: member: snapshot installed from a peer", "restarting it",
		"member 1 stopped", "every member has stopped"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestSuperviseFailures: what ends a supervisor with an error, and what
// ends it quietly.
func TestSuperviseFailures(t *testing.T) {
	broken := errors.New("disk on fire")
	for _, tc := range []struct {
		name     string
		err      error                        // the member's error
		relaunch func() (*venueMember, error) // nil: none
		cancel   bool                         // cancel the context at once
		want     string                       // in the returned error ("": nil)
	}{
		{name: "a member dies of an error", err: broken, want: "member 1 failed: disk on fire"},
		{name: "restart to install without a way to relaunch", err: member.ErrRestartToInstall,
			want: "member 1 failed"},
		{name: "the relaunch fails", err: member.ErrRestartToInstall,
			relaunch: func() (*venueMember, error) { return nil, broken },
			want:     "member 1: restart after installing a snapshot: disk on fire"},
		{name: "the context ends", cancel: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vms := []*venueMember{{node: newFakeNode(1, tc.err), relaunch: tc.relaunch}}
			ctx, cancel := context.WithTimeout(context.Background(), superviseWait)
			defer cancel()
			if tc.cancel {
				cancel()
			}
			var out syncBuffer
			err := superviseMembers(ctx, &out, vms)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("supervisor: %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("supervisor: %v, want an error with %q", err, tc.want)
			}
			if tc.cancel && !strings.Contains(out.String(), "stopping") {
				t.Fatalf("a cancelled supervisor did not say it stops:\n%s", out.String())
			}
		})
	}
}
