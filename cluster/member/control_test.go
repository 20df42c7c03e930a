package member

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"venue/cluster/consensus"
	"venue/cluster/module"
	"venue/transport"
)

// controlWait bounds every wait in these tests.
const controlWait = 10 * time.Second

// controlCluster is a testCluster whose members publish counters, each in
// its own in-memory counters file.
type controlCluster struct {
	*testCluster
	counters []*transport.CountersManager
}

// controlCountersCapacity sizes each member's counters file (the catalogue,
// the append positions and a few error records).
const controlCountersCapacity = 128

func startControlCluster(t *testing.T, n int) *controlCluster {
	cc := &controlCluster{testCluster: &testCluster{peers: &memPeers{inbox: map[consensus.MemberID][][]byte{},
		down: map[consensus.MemberID]bool{}}}}
	for range n {
		cc.ingress = append(cc.ingress, freePort(t))
		cc.stores = append(cc.stores, consensus.NewMemLogStore())
		cc.hards = append(cc.hards, &memHard{hs: consensus.HardState{Vote: consensus.NoMember}})
		cc.members = append(cc.members, nil)
		cc.drivers = append(cc.drivers, nil)
		cc.counters = append(cc.counters, transport.NewCountersManager(controlCountersCapacity))
	}
	for i := range n {
		d, err := transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingInvoker})
		if err != nil {
			t.Fatal(err)
		}
		m, err := Start(Config{
			Consensus:       testConsensusConfig(consensus.MemberID(i), n),
			Driver:          d,
			InvokeDriver:    true,
			Peers:           &memPeer{net: cc.peers, id: consensus.MemberID(i)},
			Store:           cc.stores[i],
			Hard:            cc.hards[i],
			OnLogAppended:   cc.stores[i].Sync,
			IngressEndpoint: cc.ingress[i],
			Service:         &echo{},
			Counters:        cc.counters[i],
		})
		if err != nil {
			t.Fatal(err)
		}
		cc.members[i], cc.drivers[i] = m, d
	}
	t.Cleanup(func() {
		for i := range cc.members {
			cc.stop(i)
		}
	})
	return cc
}

// counter reads member i's counter of type typ (and label name, if not
// empty) from its counters file.
func (cc *controlCluster) counter(i int, typ CounterType) (int64, bool) {
	var v int64
	found := false
	cc.counters[i].Reader().ForEach(func(ci transport.CounterInfo) {
		if _, id, ok := LabelMember(ci.Label); ok && int(id) == i && CounterType(ci.TypeID) == typ {
			v, found = ci.Value, true
		}
	})
	return v, found
}

func (cc *controlCluster) mustCounter(t *testing.T, i int, typ CounterType) int64 {
	t.Helper()
	v, ok := cc.counter(i, typ)
	if !ok {
		t.Fatalf("member %d has no %q counter", i, typ)
	}
	return v
}

// toggle returns member i's control toggle counter (the test plays the
// cluster tool; the tool itself uses a compare-and-set on the file).
func (cc *controlCluster) toggle(i int) *transport.Counter {
	return cc.members[i].control.(*control).toggle
}

// await polls cond until it holds or controlWait passes.
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(controlWait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, controlWait)
		}
		time.Sleep(time.Millisecond) // poll interval
	}
}

// request plays the tool: it writes v into member i's toggle and waits for
// the member's result.
func (cc *controlCluster) request(t *testing.T, i int, v ControlToggle) ControlToggle {
	t.Helper()
	tg := cc.toggle(i)
	tg.Set(int64(v))
	var got ControlToggle
	await(t, fmt.Sprintf("member %d answers %s", i, v), func() bool {
		got = ControlToggle(tg.Get())
		return !got.IsRequest() && !got.IsBusy()
	})
	return got
}

// actions returns the cluster actions in member i's log with the position
// after each, read on the member's goroutine.
func (cc *controlCluster) actions(t *testing.T, i int) map[consensus.Position]consensus.ClusterAction {
	t.Helper()
	out := map[consensus.Position]consensus.ClusterAction{}
	var scanErr error
	ok := cc.members[i].Inspect(func(*module.Agent) {
		s := cc.stores[i]
		b, err := s.Read(0, s.End(), nil)
		if err != nil {
			scanErr = err
			return
		}
		pos := consensus.Position(0)
		for len(b) > 0 {
			var e consensus.LogEntry
			n, err := consensus.DecodeEntry(b, &e)
			if err != nil {
				scanErr = err
				return
			}
			pos += consensus.Position(n)
			b = b[n:]
			if e.Type == consensus.EntryClusterAction {
				out[pos] = e.Action
			}
		}
	})
	if !ok || scanErr != nil {
		t.Fatalf("scan member %d's log: closed %v, %v", i, !ok, scanErr)
	}
	return out
}

func TestControlCountersAppearAndChange(t *testing.T) {
	cc := startControlCluster(t, 3)
	l := cc.leader(t)
	await(t, "every member publishes the leader", func() bool {
		for i := range cc.members {
			if v, _ := cc.counter(i, CounterLeader); v != int64(l) {
				return false
			}
		}
		return true
	})
	if v := cc.mustCounter(t, l, CounterRole); v != int64(consensus.RoleLeader) {
		t.Fatalf("leader's role counter %d", v)
	}
	if v := cc.mustCounter(t, l, CounterElectionState); v != int64(consensus.StateLeaderReady) {
		t.Fatalf("leader's election state counter %d", v)
	}
	term := cc.mustCounter(t, l, CounterTerm)
	if term < 1 || cc.mustCounter(t, l, CounterLeaderTerms) < 1 {
		t.Fatalf("leader's term %d, terms led %d", term, cc.mustCounter(t, l, CounterLeaderTerms))
	}
	// The leader's term starts with a log entry; it commits and every
	// member applies it; the leader sees each follower's append position.
	await(t, "positions advance everywhere", func() bool {
		for i := range cc.members {
			if v, _ := cc.counter(i, CounterAppliedPosition); v == 0 {
				return false
			}
			for k := range cc.members {
				ap, _ := AppendPositionCounter(consensus.MemberID(k))
				v, _ := cc.counter(i, ap)
				if (i == l) != (v > 0) { // followers publish -1: they do not know
					return false
				}
			}
		}
		return true
	})
	for i := range cc.members {
		commit := cc.mustCounter(t, i, CounterCommitPosition)
		if end, durable := cc.mustCounter(t, i, CounterLogEndPosition), cc.mustCounter(t, i, CounterDurablePosition); commit > end || durable > end {
			t.Fatalf("member %d: commit %d durable %d end %d", i, commit, durable, end)
		}
		if i != l && cc.mustCounter(t, i, CounterRole) != int64(consensus.RoleFollower) {
			t.Fatalf("member %d's role counter", i)
		}
		if cc.mustCounter(t, i, CounterHeartbeat) < time.Now().Add(-time.Hour).UnixMilli() {
			t.Fatalf("member %d's heartbeat %d", i, cc.mustCounter(t, i, CounterHeartbeat))
		}
		if _, ok := cc.counter(i, CounterSnapshotsTaken); ok {
			t.Fatalf("member %d keeps no snapshots but publishes a snapshot counter", i)
		}
	}
	// A client session shows up in the session counters of every member.
	c, _ := newClient(t, cc.testCluster)
	await(t, "a session open everywhere", func() bool {
		for i := range cc.members {
			if v, _ := cc.counter(i, CounterSessionsOpen); v != 1 {
				return false
			}
		}
		return true
	})
	c.Close()
}

func TestControlToggleSnapshotSuspendResumeOnLeader(t *testing.T) {
	cc := startControlCluster(t, 3)
	l := cc.leader(t)
	want := map[consensus.Position]consensus.ClusterAction{}
	for _, tc := range []struct {
		req    ControlToggle
		action consensus.ClusterAction
	}{
		{ToggleSnapshot, consensus.ActionSnapshot},
		{ToggleSuspend, consensus.ActionSuspend},
		{ToggleResume, consensus.ActionResume},
	} {
		if got := cc.request(t, l, tc.req); got != ToggleDone {
			t.Fatalf("%s on the leader: %s", tc.req, got)
		}
		p := consensus.Position(cc.mustCounter(t, l, CounterControlPosition))
		want[p] = tc.action
		await(t, fmt.Sprintf("%s applied everywhere", tc.req), func() bool {
			for i := range cc.members {
				if v, _ := cc.counter(i, CounterAppliedPosition); v < int64(p) {
					return false
				}
			}
			return true
		})
	}
	for i := range cc.members {
		got := cc.actions(t, i)
		for p, a := range want {
			if got[p] != a {
				t.Fatalf("member %d's log at %d: %v, want %v (all: %v)", i, p, got[p], a, got)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("member %d's log holds actions %v, want %v", i, got, want)
		}
	}
}

func TestControlFollowerAnswersNotLeader(t *testing.T) {
	cc := startControlCluster(t, 3)
	l := cc.leader(t)
	f := (l + 1) % 3
	for _, req := range []ControlToggle{ToggleSnapshot, ToggleSuspend, ToggleResume, ToggleShutdown} {
		if got := cc.request(t, f, req); got != ToggleNotLeader {
			t.Fatalf("%s on follower %d: %s", req, f, got)
		}
	}
	if got := cc.request(t, f, 77); got != ToggleUnknown {
		t.Fatalf("request 77: %s", got)
	}
	if a := cc.actions(t, l); len(a) != 0 {
		t.Fatalf("the leader's log holds actions %v after requests to a follower", a)
	}
	if st := cc.members[f].Status(); st.State == consensus.StateClosed {
		t.Fatalf("follower closed: %+v", st)
	}
	if v := cc.mustCounter(t, f, CounterErrors); v != 0 {
		t.Fatalf("follower counts %d errors for requests it does not serve", v)
	}
}

func TestControlShutdownSnapshotsThenStopsEveryMember(t *testing.T) {
	cc := startControlCluster(t, 3)
	l := cc.leader(t)
	if got := cc.request(t, l, ToggleShutdown); got != ToggleDone {
		t.Fatalf("shutdown: %s", got)
	}
	p := consensus.Position(cc.mustCounter(t, l, CounterControlPosition))
	await(t, "every member closed", func() bool {
		for i := range cc.members {
			if v, _ := cc.counter(i, CounterElectionState); v != int64(consensus.StateClosed) {
				return false
			}
		}
		return true
	})
	acts := cc.actions(t, l)
	if acts[p] != consensus.ActionShutdown || len(acts) != 2 {
		t.Fatalf("log actions %v, want a snapshot then a shutdown at %d", acts, p)
	}
	for q, a := range acts {
		if q != p && (a != consensus.ActionSnapshot || q >= p) {
			t.Fatalf("log actions %v, want a snapshot before the shutdown at %d", acts, p)
		}
	}
}

func TestControlAbortStopsOnlyThatMember(t *testing.T) {
	cc := startControlCluster(t, 3)
	l := cc.leader(t)
	f := (l + 1) % 3
	cc.toggle(f).Set(int64(ToggleAbort))
	m := cc.members[f]
	await(t, "the aborted member stops", func() bool {
		select {
		case <-m.runner.Done():
			return true
		default:
			return false
		}
	})
	if _, ok := cc.counter(f, CounterRole); ok {
		t.Fatal("an aborted member's counters are still in its file")
	}
	if err := m.Err(); err == nil {
		t.Fatal("an aborted member reports no error")
	}
	if cc.members[l].Status().Role != consensus.RoleLeader {
		t.Fatal("the leader lost its role when a follower aborted")
	}
	// The other two still commit: a snapshot request goes through.
	if got := cc.request(t, l, ToggleSnapshot); got != ToggleDone {
		t.Fatalf("snapshot after abort: %s", got)
	}
	p := cc.mustCounter(t, l, CounterControlPosition)
	await(t, "commit with one member gone", func() bool {
		v, _ := cc.counter(l, CounterCommitPosition)
		return v >= p
	})
}

// TestControlClaim: the member claims a request with an atomic add; when a
// tool changed the toggle between the member's read and its claim, the
// claim fails and leaves the tool's value.
func TestControlClaim(t *testing.T) {
	cm := transport.NewCountersManager(4)
	tg := cm.MustAllocate(int32(CounterControlToggle), "toggle")
	for _, tc := range []struct {
		read, toolWrites ControlToggle // what the member read; what the tool wrote after
		claimed          bool
		after            ControlToggle
	}{
		{ToggleSnapshot, ToggleSnapshot, true, ToggleActingOffset + ToggleSnapshot}, // no race
		{ToggleSnapshot, ToggleNeutral, false, ToggleNeutral},                       // cancelled
		{ToggleSnapshot, ToggleSuspend, false, ToggleSuspend},                       // replaced
		{ToggleAbort, ToggleAbort, true, ToggleActingOffset + ToggleAbort},
	} {
		tg.Set(int64(tc.toolWrites))
		if got := claim(tg, tc.read); got != tc.claimed || ControlToggle(tg.Get()) != tc.after {
			t.Errorf("read %s, tool wrote %s: claimed %v, toggle %s", tc.read, tc.toolWrites, got,
				ControlToggle(tg.Get()))
		}
	}
}

func TestControlCountersFreedOnClose(t *testing.T) {
	cc := startControlCluster(t, 1)
	cc.leader(t)
	cc.stop(0)
	n := 0
	cc.counters[0].Reader().ForEach(func(ci transport.CounterInfo) {
		if CounterType(ci.TypeID).IsMember() {
			n++
		}
	})
	if n != 0 {
		t.Fatalf("%d member counters left after close", n)
	}
}

func TestControlPublishDoesNotAllocate(t *testing.T) {
	cc := startControlCluster(t, 3)
	cc.leader(t)
	c := cc.members[0].control.(*control)
	cc.stop(0) // the duty cycle is done: the test may call in
	if a := testing.AllocsPerRun(100, c.publish); a != 0 {
		t.Fatalf("publish allocates %.1f times", a)
	}
	if a := testing.AllocsPerRun(100, func() { c.checkToggle(1) }); a != 0 {
		t.Fatalf("an idle toggle check allocates %.1f times", a)
	}
}

func TestCounterCatalogue(t *testing.T) {
	seen := map[CounterType]bool{}
	names := map[string]bool{}
	const statLabelColumns = 56 // venue stat's label column
	for _, typ := range Catalogue() {
		if seen[typ] || !typ.IsMember() || typ == CounterErrorRecord {
			t.Fatalf("counter %d (%s): duplicate or outside the cluster's range", typ, typ)
		}
		seen[typ] = true
		name := typ.String()
		if names[name] || strings.HasPrefix(name, "CounterType(") {
			t.Fatalf("counter %d: name %q duplicate or missing", typ, name)
		}
		names[name] = true
		if l := CounterLabel(name, AppendPositionCountersMax-1); len(l) > statLabelColumns {
			t.Errorf("label %q is %d columns, venue stat shows %d", l, len(l), statLabelColumns)
		}
	}
	for k := range consensus.MemberID(AppendPositionCountersMax) {
		typ, ok := AppendPositionCounter(k)
		if !ok || seen[typ] || !typ.IsMember() {
			t.Fatalf("append position counter of member %d: %d", k, typ)
		}
	}
	if _, ok := AppendPositionCounter(AppendPositionCountersMax); ok {
		t.Fatal("an append position counter beyond the reserved range")
	}
	if last := counterClusterLimit - 1; last >= transport.CounterTypeVenueBase {
		t.Fatalf("cluster counters reach %d, the venue's range", last)
	}
}

func TestControlToggleValues(t *testing.T) {
	for _, tc := range []struct {
		v                   ControlToggle
		request, busy, free bool
		name                string
	}{
		{ToggleNeutral, false, false, true, "neutral"},
		{ToggleSnapshot, true, false, false, "snapshot"},
		{ToggleAbort, true, false, false, "abort"},
		{TogglePurge, true, false, false, "purge"},
		{ToggleActingOffset + TogglePurge, false, true, false, "acting on purge"},
		{ToggleDone, false, false, true, "done"},
		{ToggleNotLeader, false, false, true, "not-leader"},
		{ToggleFailed, false, false, true, "failed"},
		{ToggleUnknown, false, false, true, "unknown-request"},
		{ToggleActingOffset + ToggleSnapshot, false, true, false, "acting on snapshot"},
		{ToggleActingOffset, false, true, false, "acting on neutral"},
		{77, true, false, false, "ControlToggle(77)"},
		{-5, false, false, false, "ControlToggle(-5)"},
		{toggleActingMax + 1, false, false, false, "ControlToggle(1007)"},
	} {
		if tc.v.IsRequest() != tc.request || tc.v.IsBusy() != tc.busy || tc.v.IsFree() != tc.free ||
			tc.v.String() != tc.name {
			t.Errorf("%d: request %v busy %v free %v name %q", tc.v, tc.v.IsRequest(), tc.v.IsBusy(),
				tc.v.IsFree(), tc.v.String())
		}
	}
}

func TestLabelMember(t *testing.T) {
	for _, tc := range []struct {
		label string
		name  string
		id    consensus.MemberID
		ok    bool
	}{
		{"commit position: member 2", "commit position", 2, true},
		{CounterLabel("error: x: member 3 failed", 1), "error: x: member 3 failed", 1, true},
		{"commit position: member ", "", 0, false},
		{"commit position: member -1", "", 0, false},
		{"commit position: member 1x", "", 0, false},
		{"commit position: member 12345", "", 0, false},
		{"commit position: member 01", "", 0, false},
		{"commit position: member 0", "commit position", 0, true},
		{"Bytes sent", "", 0, false},
	} {
		name, id, ok := LabelMember(tc.label)
		if ok != tc.ok || ok && (name != tc.name || id != tc.id) {
			t.Errorf("%q: %q %d %v", tc.label, name, id, ok)
		}
	}
}

func TestErrorLabelKeepsTheMember(t *testing.T) {
	for _, msg := range []string{"short", strings.Repeat("é", 300), strings.Repeat("x", 1000)} {
		l := errorLabel(msg, 4)
		if len(l) > transport.CounterLabelLengthMax {
			t.Fatalf("label of %d bytes", len(l))
		}
		if _, id, ok := LabelMember(l); !ok || id != 4 {
			t.Fatalf("label %q lost its member", l)
		}
		if !strings.HasPrefix(l, "error: ") || strings.ToValidUTF8(l, "") != l {
			t.Fatalf("label %q", l)
		}
	}
}

// FuzzLabelMember: labels come from a counters file another process
// wrote; parsing one never panics and what it accepts round-trips.
func FuzzLabelMember(f *testing.F) {
	f.Add("commit position: member 2") // a member counter
	f.Add("Bytes sent")                // a transport counter
	f.Add(": member 9999")             // empty name, largest id
	f.Add("x: member 0: member 1")     // the suffix twice
	f.Add("error: \xff\xfe: member 1") // invalid UTF-8 in the name
	f.Fuzz(func(t *testing.T, label string) {
		name, id, ok := LabelMember(label)
		if !ok {
			return
		}
		if id < 0 || CounterLabel(name, id) != label {
			t.Fatalf("%q parsed as %q member %d", label, name, id)
		}
	})
}
