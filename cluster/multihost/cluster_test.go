package multihost

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/cluster/failover"
	"venue/cluster/member"
	"venue/transport"
)

// Cluster test layout and bounds. Every member listens on the same ports,
// each on its own host's address, as on real machines.
const (
	testMembers   = 3
	ingressPort   = 9010
	consensusPort = 9020
	logPort       = 9030
	catchupPort   = 9040
	archivePort   = 9050
	// testSecret is the members' MAC key: hosts on a shared network must
	// not accept each other's forged consensus traffic.
	testSecret = "multihost-test-secret-0123456789"
	// testWait bounds every wait, far above what a loaded 2-core machine
	// needs, so that only a real failure ends a test by time.
	testWait = 20 * time.Second
	// warmEchoes: echoes seen before a fault, proving the path works.
	warmEchoes = 200
	// resumeEchoes: echoes of messages offered after a fault that show the
	// client carries on.
	resumeEchoes = 200
	// freshMarginMs: a publication counts as made after an instant when
	// its heartbeat is this much later (the heartbeat is stamped after the
	// positions are read).
	freshMarginMs = 2
	// auditExamplesMax bounds the messages an audit failure names.
	auditExamplesMax = 8
	// logTailBytes is how much of a member's output a failure shows.
	logTailBytes = 8 << 10
)

// harness is a lab of testMembers hosts, a member process in each and a
// tracker in the root namespace.
type harness struct {
	t     *testing.T
	lab   *Lab
	dir   string
	cc    config.Cluster
	procs *failover.Procs
	tr    *tracker
}

// newHarness builds the lab, starts every member inside its host, waits
// for a leader and connects the client. It skips when no lab can be made.
// Cleanup stops the members, deletes the lab and fails the test if any of
// it is left.
func newHarness(t *testing.T) *harness {
	t.Helper()
	if testing.Short() {
		t.Skip("builds network namespaces and starts member processes")
	}
	start := time.Now()
	lab, err := NewLab(LabConfig{Hosts: testMembers, Logf: t.Logf})
	if errors.Is(err, ErrUnavailable) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeLab(t, lab) })
	t.Logf("lab %v: %d hosts built in %v", lab.Subnet(), lab.Hosts(), time.Since(start).Round(time.Millisecond))
	h := &harness{t: t, lab: lab, dir: t.TempDir()}
	h.cc = labCluster(t, lab, h.dir)
	h.procs, err = failover.NewProcs(failover.ProcsConfig{Cluster: h.cc, ConfigPath: filepath.Join(h.dir, "cluster.toml"),
		Command: memberCommand(lab), LogDir: h.dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.procs.Close()
		if t.Failed() {
			h.dumpLogs()
		}
	})
	start = time.Now()
	for i := range testMembers {
		if err := h.procs.Start(consensus.MemberID(i)); err != nil {
			t.Fatal(err)
		}
	}
	ld, err := h.procs.WaitLeader(testWait)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("members started in their namespaces; member %d leads term %d after %v", ld.ID, ld.Term,
		time.Since(start).Round(time.Millisecond))
	for i := range testMembers {
		h.logFirstLine(consensus.MemberID(i))
	}
	h.tr = newTracker(t, h.procs.Ingress(), lab.ClientAddr(), h.cc.SessionIngressLimit)
	return h
}

// labCluster is the cluster file: member i on host i, every endpoint on the
// host's address.
func labCluster(t *testing.T, l *Lab, dir string) config.Cluster {
	t.Helper()
	c := config.Cluster{Settings: config.DefaultSettings()}
	c.DataDir = dir
	// A kill -9 loses nothing the kernel holds, so no fsync is needed to
	// keep what was acknowledged; a host crash would need "data".
	c.Fsync = config.FsyncNone
	c.Secret = testSecret
	for i := range l.Hosts() {
		host := l.HostAddr(i)
		ep := func(port uint16) string { return netip.AddrPortFrom(host, port).String() }
		c.Members = append(c.Members, config.Member{ID: consensus.MemberID(i), Host: host.String(),
			Ingress: ep(ingressPort), Consensus: ep(consensusPort), Log: ep(logPort), Catchup: ep(catchupPort),
			Archive: ep(archivePort)})
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// closeLab deletes the lab and fails the test if anything of it is left.
func closeLab(t *testing.T, l *Lab) {
	start := time.Now()
	if err := l.Close(); err != nil {
		t.Errorf("lab close: %v", err)
	}
	left, err := l.Leftovers()
	switch {
	case err != nil:
		t.Errorf("lab leftovers: %v", err)
	case len(left) > 0:
		t.Errorf("lab left behind %v", left)
	}
	t.Logf("lab deleted in %v; nothing left", time.Since(start).Round(time.Millisecond))
}

// logFirstLine logs the first line of member id's output: the addresses
// it sees from inside its namespace.
func (h *harness) logFirstLine(id consensus.MemberID) {
	b, err := os.ReadFile(h.procs.LogPath(id))
	if err != nil {
		h.t.Fatal(err)
	}
	for line := range strings.Lines(string(b)) {
		if strings.HasPrefix(line, "member ") {
			h.t.Logf("in %s: %s", h.lab.Namespace(int(id)), strings.TrimSpace(line))
			return
		}
	}
}

func (h *harness) dumpLogs() {
	for i := range h.procs.Members() {
		b, err := os.ReadFile(h.procs.LogPath(consensus.MemberID(i)))
		if err != nil {
			continue
		}
		if len(b) > logTailBytes {
			b = b[len(b)-logTailBytes:]
		}
		h.t.Logf("member %d output (tail):\n%s", i, b)
	}
}

// until steps the client until cond holds.
func (h *harness) until(what string, cond func() bool) {
	h.t.Helper()
	if err := h.tr.runUntil(testWait, cond); err != nil {
		h.t.Fatalf("%s: %v (client: %v; members: %s)", what, err, h.tr, h.procs.Describe())
	}
}

// majorityLeader returns the leader of the highest term that a majority of
// the members' views follow (the leader's own view included). Unlike
// Procs.Leader it holds while a partitioned member still believes in an
// older term.
func (h *harness) majorityLeader() (failover.MemberView, bool) {
	vs := h.procs.Views()
	var leader failover.MemberView
	found := false
	for _, v := range vs {
		if v.Role == consensus.RoleLeader && (!found || v.Term > leader.Term) {
			leader, found = v, true
		}
	}
	if !found {
		return leader, false
	}
	follow := 0
	for _, v := range vs {
		if v.Leader == leader.ID && v.Term == leader.Term {
			follow++
		}
	}
	return leader, follow > h.procs.Members()/2
}

// leader waits for a majority leader and returns it.
func (h *harness) leader() failover.MemberView {
	h.t.Helper()
	var ld failover.MemberView
	h.until("a leader a majority follows", func() bool {
		var ok bool
		ld, ok = h.majorityLeader()
		return ok
	})
	return ld
}

// newLeader waits for a majority leader other than old in a later term;
// it returns it and when it was first seen.
func (h *harness) newLeader(old failover.MemberView) (failover.MemberView, int64) {
	h.t.Helper()
	var nl failover.MemberView
	h.until(fmt.Sprintf("a leader other than member %d after term %d", old.ID, old.Term), func() bool {
		v, ok := h.majorityLeader()
		nl = v
		return ok && v.ID != old.ID && v.Term > old.Term
	})
	return nl, transport.MonotonicNanos()
}

// resume waits until messages offered since the last watch are committed
// and resumeEchoes of them echoed; it returns when the first was seen.
func (h *harness) resume(what string) int64 {
	h.t.Helper()
	h.until(what+": echoes resume", func() bool { return h.tr.watchEchoes >= resumeEchoes })
	return h.tr.watchHitNs
}

// caughtUp waits until member id follows the majority's leader and has
// applied position.
func (h *harness) caughtUp(id consensus.MemberID, position consensus.Position) {
	h.t.Helper()
	h.until(fmt.Sprintf("member %d following the leader and applied to %d", id, position), func() bool {
		ld, ok := h.majorityLeader()
		v, err := h.procs.View(id)
		return ok && err == nil && v.Leader == ld.ID && v.Term == ld.Term && v.Applied >= position
	})
}

// cutOff steps the client until member id shows that it lost leader ld
// (it follows no one, runs for election, or moved to a later term), and
// returns its view then.
func (h *harness) cutOff(id consensus.MemberID, ld failover.MemberView) failover.MemberView {
	h.t.Helper()
	var v failover.MemberView
	h.until(fmt.Sprintf("member %d noticing it is cut off", id), func() bool {
		var err error
		v, err = h.procs.View(id)
		return err == nil && (v.Leader != ld.ID || v.Role != consensus.RoleFollower || v.Term > ld.Term)
	})
	return v
}

func ms(ns int64) string { return time.Duration(ns).Round(100 * time.Microsecond).String() }

// finish drains the client, waits for every member to apply the whole log,
// checks the members agree (echo state, no dropped peer traffic), stops
// them and audits their logs against what the client was told.
func (h *harness) finish() {
	h.t.Helper()
	if err := h.tr.drain(testWait); err != nil {
		h.t.Fatalf("%v (client: %v; members: %s)", err, h.tr, h.procs.Describe())
	}
	h.waitFresh(time.Now())
	committed, err := h.procs.WaitQuiescent(testWait)
	if err != nil {
		h.t.Fatal(err)
	}
	vs := h.procs.Views()
	for _, v := range vs {
		h.t.Logf("member %d at the end: %v term %d commit %d applied %d log end %d, echo applied %d", v.ID, v.Role,
			v.Term, v.Commit, v.Applied, v.LogEnd, v.EchoApplied)
	}
	for _, v := range vs[1:] {
		if v.EchoApplied != vs[0].EchoApplied || v.EchoDigest != vs[0].EchoDigest {
			h.t.Errorf("member %d applied %d (digest %x), member %d applied %d (digest %x)", v.ID, v.EchoApplied,
				v.EchoDigest, vs[0].ID, vs[0].EchoApplied, vs[0].EchoDigest)
		}
	}
	h.checkPeerCounters()
	if err := h.procs.StopAll(); err != nil {
		h.t.Fatal(err)
	}
	h.audit(committed)
	h.t.Logf("client: %v; log committed to %d, %d messages applied on every member", h.tr, committed,
		vs[0].EchoApplied)
}

// waitFresh waits until every member has published its counters since t
// (their heartbeat counter, written last in each publication, is past t by
// freshMarginMs). Members publish at most every millisecond, so right after
// the client drained all of them may still show the positions from before
// its last message: all equal, so that Procs.WaitQuiescent would take the
// stale position for the end of the log and the audit would miss the last
// message.
func (h *harness) waitFresh(t time.Time) {
	h.t.Helper()
	after := t.UnixMilli() + freshMarginMs
	h.until("every member publishing its counters anew", func() bool {
		for i := range h.procs.Members() {
			if ms, err := h.heartbeatMs(consensus.MemberID(i)); err != nil || ms <= after {
				return false
			}
		}
		return true
	})
}

// heartbeatMs reads member id's last publication time (unix ms).
func (h *harness) heartbeatMs(id consensus.MemberID) (int64, error) {
	r, err := transport.OpenCountersFile(failover.CountersPath(h.cc, id))
	if err != nil {
		return 0, err
	}
	defer r.Close()
	ms := int64(-1)
	r.ForEach(func(c transport.CounterInfo) {
		if _, cid, ok := member.LabelMember(c.Label); ok && cid == id && c.TypeID == int32(member.CounterHeartbeat) {
			ms = c.Value
		}
	})
	if ms < 0 {
		return 0, fmt.Errorf("member %d publishes no heartbeat", id)
	}
	return ms, nil
}

// checkPeerCounters fails the test if a member dropped consensus traffic
// for its source or its MAC (hosts that cannot tell each other apart), and
// logs every other non-zero drop or error counter.
func (h *harness) checkPeerCounters() {
	h.t.Helper()
	for i := range h.procs.Members() {
		id := consensus.MemberID(i)
		r, err := transport.OpenCountersFile(failover.CountersPath(h.cc, id))
		if err != nil {
			h.t.Fatalf("member %d counters: %v", id, err)
		}
		var notable []string
		r.ForEach(func(c transport.CounterInfo) {
			switch c.TypeID {
			case int32(member.CounterPeerWrongSource), int32(member.CounterConsensusWrongSource),
				int32(member.CounterPeerBadMAC):
				if c.Value != 0 {
					h.t.Errorf("member %d: %s = %d", id, c.Label, c.Value)
				}
			}
			if l := strings.ToLower(c.Label); c.Value != 0 && (strings.Contains(l, "drop") || strings.Contains(l, "error")) {
				notable = append(notable, fmt.Sprintf("%s = %d", c.Label, c.Value))
			}
		})
		r.Close()
		if len(notable) > 0 {
			h.t.Logf("member %d counters: %s", id, strings.Join(notable, "; "))
		}
	}
}

// audit reads every member's log (read-only, members stopped): the
// committed bytes must be identical on all, and every message acknowledged
// or echoed must be there exactly once, and none handed back.
func (h *harness) audit(committed consensus.Position) {
	h.t.Helper()
	tr := h.tr
	inLog := make([]int, tr.sent)
	at := make([]consensus.Position, tr.sent) // where each message is in the log
	foreign := 0
	a, err := failover.AuditLogs(h.procs.Dirs(), committed, func(pos consensus.Position, e *consensus.LogEntry) {
		if e.Type != consensus.EntrySessionMessage || e.SessionID != tr.sessionID() {
			return
		}
		if len(e.Payload) < 8 {
			foreign++
			return
		}
		seq := int64(binary.LittleEndian.Uint64(e.Payload))
		if seq < 0 || seq >= tr.sent || e.CorrelationID != seq+1 {
			foreign++
			return
		}
		inLog[seq]++
		at[seq] = pos
	})
	if err != nil {
		h.t.Fatal(err)
	}
	if a.Divergent != 0 || a.Short != 0 || a.OutOfOrder != 0 || foreign != 0 {
		h.t.Errorf("audit: %d divergent members, %d short, %d out of order, %d foreign messages: %+v",
			a.Divergent, a.Short, a.OutOfOrder, foreign, a.Members)
	}
	var lost, dup, unknownInLog int
	var examples []string
	example := func(format string, args ...any) {
		if len(examples) < auditExamplesMax {
			examples = append(examples, fmt.Sprintf(format, args...))
		}
	}
	for seq, n := range inLog {
		st := tr.status[seq]
		switch {
		case n == 0 && st&(msgAcked|msgEchoed) != 0:
			lost++
			example("message %d (status %#x) missing: %s", seq, st, neighbours(at, inLog, seq))
		case n > 1:
			dup++
			example("message %d (status %#x) %d times, the last at %d", seq, st, n, at[seq])
		}
		if n > 0 && st&msgUnknown != 0 {
			unknownInLog++
			example("message %d handed back but at %d", seq, at[seq])
		}
	}
	if lost != 0 || dup != 0 || unknownInLog != 0 {
		h.t.Errorf("audit: %d acknowledged messages lost, %d duplicated, %d handed back but in the log: %q", lost, dup,
			unknownInLog, examples)
	}
	ends := make([]consensus.Position, len(a.Members))
	for i, m := range a.Members {
		ends[i] = m.End
	}
	h.t.Logf("audit: %d log entries, %d session messages, members %d/%d identical to %d (log ends %v)", a.Entries,
		a.SessionMessages, len(a.Members)-a.Divergent, len(a.Members), committed, ends)
}

// neighbours says where the messages around seq are in the log.
func neighbours(at []consensus.Position, inLog []int, seq int) string {
	var b strings.Builder
	for _, s := range []int{seq - 1, seq + 1} {
		if s >= 0 && s < len(at) && inLog[s] > 0 {
			fmt.Fprintf(&b, "message %d at %d; ", s, at[s])
		}
	}
	return b.String()
}

// 3 members on 3 hosts: the leader's process is killed (-9); the other two
// elect a leader, the client follows it and nothing acknowledged is lost;
// the killed member restarts in its namespace and catches up.
func TestLeaderKilledOnItsHost(t *testing.T) {
	h := newHarness(t)
	h.until("warm-up echoes", func() bool { return h.tr.echoed >= warmEchoes })
	old, ok := h.procs.Leader()
	if !ok {
		t.Fatalf("no leader: %s", h.procs.Describe())
	}
	killNs, err := h.procs.Kill(old.ID)
	if err != nil {
		t.Fatal(err)
	}
	h.tr.watch()
	nl, seenNs := h.newLeader(old)
	hitNs := h.resume("after the kill")
	t.Logf("kill -9 of leader %d (term %d): member %d leads term %d, seen %s after the kill; first commit the client saw %s after",
		old.ID, old.Term, nl.ID, nl.Term, ms(seenNs-killNs), ms(hitNs-killNs))

	ld := h.leader()
	start := time.Now()
	if err := h.procs.Start(old.ID); err != nil {
		t.Fatal(err)
	}
	h.caughtUp(old.ID, ld.Commit)
	t.Logf("member %d restarted in %s and caught up to %d in %v", old.ID, h.lab.Namespace(int(old.ID)), ld.Commit,
		time.Since(start).Round(time.Millisecond))
	h.finish()
}

// 3 members on 3 hosts: the leader's cable is pulled (its switch port
// down: what it sends vanishes); the other two elect a leader and the client
// follows; the cable back, the old leader steps down and catches up. Then a
// follower's own interface goes down (its sends fail); the cluster carries
// on and the follower catches up once it is back.
func TestLeaderCablePulledAndFollowerInterfaceDown(t *testing.T) {
	h := newHarness(t)
	h.until("warm-up echoes", func() bool { return h.tr.echoed >= warmEchoes })
	old, ok := h.procs.Leader()
	if !ok {
		t.Fatalf("no leader: %s", h.procs.Describe())
	}
	cutNs := transport.MonotonicNanos()
	if err := h.lab.SetSwitchPort(int(old.ID), false); err != nil {
		t.Fatal(err)
	}
	h.tr.watch()
	nl, seenNs := h.newLeader(old)
	hitNs := h.resume("after the cable pull")
	t.Logf("leader %d (term %d) cut off: member %d leads term %d, seen %s after the cut; first commit the client saw %s after",
		old.ID, old.Term, nl.ID, nl.Term, ms(seenNs-cutNs), ms(hitNs-cutNs))

	ld := h.leader()
	isolated, err := h.procs.View(old.ID)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := h.lab.SetSwitchPort(int(old.ID), true); err != nil {
		t.Fatal(err)
	}
	h.caughtUp(old.ID, ld.Commit)
	t.Logf("cable back: member %d (was %v in term %d, log end %d) follows leader %d and applied %d within %v",
		old.ID, isolated.Role, isolated.Term, isolated.LogEnd, ld.ID, ld.Commit, time.Since(start).Round(time.Millisecond))

	ld = h.leader()
	f := (ld.ID + 1) % testMembers
	if err := h.lab.SetHostInterface(int(f), false); err != nil {
		t.Fatal(err)
	}
	h.tr.watch()
	h.resume(fmt.Sprintf("member %d's interface down", f))
	cut := h.cutOff(f, ld)
	ld = h.leader()
	start = time.Now()
	if err := h.lab.SetHostInterface(int(f), true); err != nil {
		t.Fatal(err)
	}
	h.caughtUp(f, ld.Commit)
	after := h.leader()
	t.Logf("interface back: member %d (was %v in term %d, leader %d) follows leader %d in term %d and applied %d within %v",
		f, cut.Role, cut.Term, cut.Leader, after.ID, after.Term, ld.Commit, time.Since(start).Round(time.Millisecond))
	h.finish()
}
