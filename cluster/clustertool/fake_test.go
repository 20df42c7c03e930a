package clustertool

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/cluster/member"
	"venue/transport"
)

// fakeMember publishes a member's counters in a real counters file and
// plays the member's side of the toggle with a scripted answer, so the
// tool's side of the protocol is tested without a cluster.
type fakeMember struct {
	id       consensus.MemberID
	cm       *transport.CountersManager
	ctr      map[member.CounterType]*transport.Counter
	mu       sync.Mutex
	answer   func(req member.ControlToggle) (member.ControlToggle, consensus.Position)
	requests []member.ControlToggle
	stop     chan struct{}
	done     chan struct{}
}

// fakeCluster is n fake members under one data directory.
type fakeCluster struct {
	tool    *Tool
	members []*fakeMember
}

func newFakeCluster(t *testing.T, n int) *fakeCluster {
	t.Helper()
	c := config.Loopback(n, config.DefaultBasePort, t.TempDir())
	fc := &fakeCluster{tool: New(c)}
	for i := range n {
		id := consensus.MemberID(i)
		if err := os.MkdirAll(member.DataDir(c, id), 0o755); err != nil {
			t.Fatal(err)
		}
		cm, err := transport.CreateCountersFile(fc.tool.CountersPath(id), 128)
		if err != nil {
			t.Fatal(err)
		}
		fm := &fakeMember{id: id, cm: cm, ctr: map[member.CounterType]*transport.Counter{},
			stop: make(chan struct{}), done: make(chan struct{})}
		for _, typ := range member.Catalogue() {
			fm.ctr[typ] = cm.MustAllocate(int32(typ), member.CounterLabel(typ.String(), id))
		}
		fm.ctr[member.CounterLeader].Set(-1)
		fm.beat()
		fm.answer = func(member.ControlToggle) (member.ControlToggle, consensus.Position) {
			return member.ToggleNotLeader, 0
		}
		fc.members = append(fc.members, fm)
		go fm.run()
		t.Cleanup(func() {
			fm.halt()
			cm.Close()
		})
	}
	return fc
}

func (fm *fakeMember) beat() { fm.ctr[member.CounterHeartbeat].Set(time.Now().UnixMilli()) }

// lead makes the fake member the leader of term.
func (fm *fakeMember) lead(term int64) {
	fm.ctr[member.CounterRole].Set(int64(consensus.RoleLeader))
	fm.ctr[member.CounterElectionState].Set(int64(consensus.StateLeaderReady))
	fm.ctr[member.CounterTerm].Set(term)
	fm.ctr[member.CounterLeader].Set(int64(fm.id))
}

func (fm *fakeMember) follow(leader consensus.MemberID, term int64) {
	fm.ctr[member.CounterRole].Set(int64(consensus.RoleFollower))
	fm.ctr[member.CounterElectionState].Set(int64(consensus.StateFollowerReady))
	fm.ctr[member.CounterTerm].Set(term)
	fm.ctr[member.CounterLeader].Set(int64(leader))
}

func (fm *fakeMember) setAnswer(f func(member.ControlToggle) (member.ControlToggle, consensus.Position)) {
	fm.mu.Lock()
	fm.answer = f
	fm.mu.Unlock()
}

// run answers requests the way the control plane does: claim with an add,
// answer, keep the heartbeat fresh.
func (fm *fakeMember) run() {
	defer close(fm.done)
	tg := fm.ctr[member.CounterControlToggle]
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-fm.stop:
			return
		case <-tick.C:
		}
		fm.beat()
		v := member.ControlToggle(tg.Get())
		if !v.IsRequest() {
			continue
		}
		fm.mu.Lock()
		answer := fm.answer
		fm.requests = append(fm.requests, v)
		fm.mu.Unlock()
		if answer == nil {
			continue // a member that never answers
		}
		if tg.Add(int64(member.ToggleActingOffset)) != int64(v+member.ToggleActingOffset) {
			tg.Add(-int64(member.ToggleActingOffset))
			continue
		}
		res, pos := answer(v)
		fm.ctr[member.CounterControlPosition].Set(int64(pos))
		tg.Set(int64(res))
	}
}

func (fm *fakeMember) halt() {
	select {
	case <-fm.stop:
	default:
		close(fm.stop)
	}
	<-fm.done
}

func (fm *fakeMember) seen() []member.ControlToggle {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	return append([]member.ControlToggle(nil), fm.requests...)
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestLeaderActionRetriesWhenLeadershipMoved(t *testing.T) {
	fc := newFakeCluster(t, 3)
	// Member 0 still shows itself leading but answers not-leader (it lost
	// leadership a moment ago); member 1 is the new leader of a later term
	// once member 0 has answered.
	fc.members[0].lead(1)
	fc.members[1].follow(0, 1)
	fc.members[2].follow(0, 1)
	fc.members[0].setAnswer(func(member.ControlToggle) (member.ControlToggle, consensus.Position) {
		fc.members[0].follow(1, 2)
		fc.members[1].lead(2)
		return member.ToggleNotLeader, 0
	})
	fc.members[1].setAnswer(func(member.ControlToggle) (member.ControlToggle, consensus.Position) {
		return member.ToggleDone, 4242
	})
	l, p, err := fc.tool.LeaderAction(ctxFor(t, 10*time.Second), member.ToggleSnapshot)
	if err != nil || l != 1 || p != 4242 {
		t.Fatalf("leader %d position %d: %v", l, p, err)
	}
	for i, fm := range fc.members {
		v := member.ControlToggle(fm.ctr[member.CounterControlToggle].Get())
		if v != member.ToggleNeutral {
			t.Fatalf("member %d's toggle left at %s", i, v)
		}
	}
	if got := fc.members[2].seen(); len(got) != 0 {
		t.Fatalf("a follower was asked %v", got)
	}
}

func TestRequestTakenBackWhenTheMemberDoesNotAnswer(t *testing.T) {
	fc := newFakeCluster(t, 1)
	fc.members[0].lead(1)
	fc.members[0].setAnswer(nil)
	_, err := fc.tool.Request(ctxFor(t, 50*time.Millisecond), 0, member.ToggleSuspend)
	if !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("err %v, want ErrNoAnswer", err)
	}
	if v := member.ControlToggle(fc.members[0].ctr[member.CounterControlToggle].Get()); v != member.ToggleNeutral {
		t.Fatalf("toggle left at %s", v)
	}
}

func TestRequestWaitsForABusyToggle(t *testing.T) {
	fc := newFakeCluster(t, 1)
	fc.members[0].lead(1)
	fc.members[0].setAnswer(nil)
	tg := fc.members[0].ctr[member.CounterControlToggle]
	tg.Set(int64(member.ToggleResume)) // another tool's request, unanswered
	_, err := fc.tool.Request(ctxFor(t, 30*time.Millisecond), 0, member.ToggleSnapshot)
	if !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "resume") {
		t.Fatalf("err %v, want ErrBusy naming the resume", err)
	}
	if v := member.ControlToggle(tg.Get()); v != member.ToggleResume {
		t.Fatalf("the other request was overwritten: %s", v)
	}
}

func TestLeaderActionFailedNamesTheError(t *testing.T) {
	fc := newFakeCluster(t, 1)
	fm := fc.members[0]
	fm.lead(1)
	fm.cm.MustAllocate(int32(member.CounterErrorRecord),
		member.CounterLabel("error: cluster control snapshot: disk on fire", 0)).Set(1)
	fm.setAnswer(func(member.ControlToggle) (member.ControlToggle, consensus.Position) {
		return member.ToggleFailed, 0
	})
	_, _, err := fc.tool.LeaderAction(ctxFor(t, 10*time.Second), member.ToggleSnapshot)
	if !errors.Is(err, ErrFailed) || !strings.Contains(err.Error(), "disk on fire") {
		t.Fatalf("err %v", err)
	}
}

func TestNoLeaderTimesOutNamingEveryMember(t *testing.T) {
	fc := newFakeCluster(t, 2)
	fc.members[0].follow(consensus.NoMember, 3)
	fc.members[1].follow(consensus.NoMember, 3)
	var out bytes.Buffer
	err := fc.tool.Snapshot(ctxFor(t, 30*time.Millisecond), &out)
	if !errors.Is(err, ErrNoLeader) || !strings.Contains(err.Error(), "member 1: follower in term 3, no leader known") {
		t.Fatalf("err %v", err)
	}
}

func TestStatusSaysWhyAMemberIsNotRunning(t *testing.T) {
	fc := newFakeCluster(t, 4)
	// 0: running. 1: hung (old heartbeat). 2: its process exited. 3: no
	// counters file at all.
	fc.members[1].halt()
	fc.members[1].ctr[member.CounterHeartbeat].Set(time.Now().Add(-time.Minute).UnixMilli())
	fc.members[2].halt()
	f, err := os.OpenFile(fc.tool.CountersPath(2), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	var pid [8]byte
	binary.LittleEndian.PutUint64(pid[:], 1<<30) // above pid_max: no such process
	if _, err := f.WriteAt(pid[:], 16); err != nil {
		t.Fatal(err)
	}
	f.Close()
	fc.members[3].halt()
	if err := os.Remove(fc.tool.CountersPath(3)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		id      consensus.MemberID
		running bool
		why     string
	}{
		{0, true, ""},
		{1, false, "not responding: last heartbeat"},
		{2, false, "has exited"},
		{3, false, "no counters file " + filepath.Join(member.DataDir(fc.tool.Cluster(), 3), "counters.dat")},
	} {
		s := fc.tool.Status(tc.id)
		if s.Running != tc.running || !strings.Contains(s.NotRunning, tc.why) {
			t.Errorf("member %d: running %v, %q; want %v, %q", tc.id, s.Running, s.NotRunning, tc.running, tc.why)
		}
	}
	_, err = fc.tool.Request(ctxFor(t, time.Second), 3, member.ToggleAbort)
	if !errors.Is(err, ErrNotRunning) || !strings.Contains(err.Error(), "no counters file") {
		t.Fatalf("request to a member without counters: %v", err)
	}
	var out bytes.Buffer
	if err := fc.tool.ListMembers(&out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"not responding", "has exited", "no counters file"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("list-members lacks %q:\n%s", want, out.String())
		}
	}
}

func TestMembersRejectsAnUnknownID(t *testing.T) {
	fc := newFakeCluster(t, 1)
	var out bytes.Buffer
	if err := fc.tool.Errors(&out, []consensus.MemberID{5}); !errors.Is(err, ErrNoMember) {
		t.Fatalf("err %v", err)
	}
	if err := fc.tool.IsLeader(&out, 5); !errors.Is(err, ErrNoMember) {
		t.Fatalf("err %v", err)
	}
}

func TestCountersLayout(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, transport.CountersFileName)
	cm, err := transport.CreateCountersFile(path, 8)
	if err != nil {
		t.Fatal(err)
	}
	ctr := cm.MustAllocate(int32(member.CounterControlToggle), "toggle")
	ctr.Set(7)
	cf, err := openCountersFile(path, true)
	if err != nil {
		t.Fatal(err)
	}
	defer cf.close()
	// The tool's idea of the layout matches transport's: its value is the
	// counter's value, and a compare-and-set shows through the counter.
	if v, err := cf.load(ctr.ID()); err != nil || v != 7 {
		t.Fatalf("load %d, %v", v, err)
	}
	if ok, err := cf.compareAndSet(ctr.ID(), 7, 9); !ok || err != nil || ctr.Get() != 9 {
		t.Fatalf("cas %v %v, counter %d", ok, err, ctr.Get())
	}
	if _, err := cf.load(8); err == nil {
		t.Fatal("a counter beyond the capacity")
	}
	cm.Close()
	raw, _ := os.ReadFile(path)
	for _, tc := range []struct {
		name string
		edit func(b []byte) []byte
	}{
		{"bad magic", func(b []byte) []byte { b[0] = 'X'; return b }},
		{"version 2", func(b []byte) []byte { b[countersVersionOffset] = 2; return b }},
		{"capacity beyond the file", func(b []byte) []byte { b[countersCapacityOffset] = 9; return b }},
		{"capacity 0", func(b []byte) []byte { b[countersCapacityOffset] = 0; return b }},
		{"truncated header", func(b []byte) []byte { return b[:64] }},
	} {
		if _, err := countersLayout(tc.edit(bytes.Clone(raw))); !errors.Is(err, errCountersFormat) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if c, err := countersLayout(raw); err != nil || c != 8 {
		t.Fatalf("capacity %d, %v", c, err)
	}
}

// FuzzCountersLayout: a counters file is another process's bytes; the
// header check never panics and never accepts a capacity the bytes cannot
// hold.
func FuzzCountersLayout(f *testing.F) {
	cm := transport.NewCountersManager(2)
	good := make([]byte, countersHeaderLength+2*(counterValueLength+counterMetadataLength))
	copy(good, countersMagic)
	binary.LittleEndian.PutUint32(good[countersVersionOffset:], countersVersion)
	binary.LittleEndian.PutUint32(good[countersCapacityOffset:], 2)
	cm.Close()
	f.Add(good)                                    // a valid two-counter file
	f.Add(good[:countersHeaderLength])             // header only: capacity does not fit
	f.Add([]byte(countersMagic))                   // magic only
	f.Add([]byte{})                                // empty
	f.Add(append([]byte("VNCNTR02"), good[8:]...)) // another format
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := countersLayout(b)
		if err != nil {
			return
		}
		if c < 1 || countersHeaderLength+c*(counterValueLength+counterMetadataLength) > len(b) {
			t.Fatalf("accepted capacity %d for %d bytes", c, len(b))
		}
	})
}

// TestToolPurgeAsksEveryRunningMember: purge is each member's own request
// (not a leader action): every running member gets it, a stopped one is
// reported, and a member's failure fails the command.
func TestToolPurgeAsksEveryRunningMember(t *testing.T) {
	fc := newFakeCluster(t, 3)
	fc.members[0].lead(1)
	fc.members[1].follow(0, 1)
	fc.members[2].follow(0, 1)
	for i, fm := range fc.members {
		start := consensus.Position(1000 * (i + 1))
		fm.setAnswer(func(req member.ControlToggle) (member.ControlToggle, consensus.Position) {
			if req != member.TogglePurge {
				return member.ToggleUnknown, 0
			}
			return member.ToggleDone, start
		})
	}
	var out bytes.Buffer
	if err := fc.tool.Purge(ctxFor(t, 10*time.Second), &out, nil); err != nil {
		t.Fatalf("purge: %v\n%s", err, &out)
	}
	for i := range fc.members {
		want := fmt.Sprintf("member %d: log retention applied; the log starts at position %d", i, 1000*(i+1))
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, &out)
		}
	}
	fc.members[2].setAnswer(func(member.ControlToggle) (member.ControlToggle, consensus.Position) {
		return member.ToggleFailed, 0
	})
	out.Reset()
	err := fc.tool.Purge(ctxFor(t, 10*time.Second), &out, []consensus.MemberID{1, 2})
	if !errors.Is(err, ErrFailed) || !strings.Contains(out.String(), "member 2: purge failed") ||
		strings.Contains(out.String(), "member 0") {
		t.Fatalf("purge of members 1, 2 with 2 failing: %v\n%s", err, &out)
	}
}
