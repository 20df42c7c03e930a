package container

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"venue/cluster"
	"venue/cluster/consensus"
)

// recorder is a service that records every callback as a line and echoes
// each session message to the session's egress.
type recorder struct {
	c     cluster.Cluster
	lines []string
}

func (r *recorder) OnStart(c cluster.Cluster, snapshot io.Reader) error {
	r.c = c
	r.lines = append(r.lines, fmt.Sprintf("start snapshot=%t", snapshot != nil))
	return nil
}
func (r *recorder) OnSessionOpen(s cluster.ClientSession, ts int64) {
	r.lines = append(r.lines, fmt.Sprintf("open %d %s t=%d", s.ID(), s.Principal(), ts))
	_ = r.c.ScheduleTimer(int64(s.ID()), ts+100)
}
func (r *recorder) OnSessionClose(s cluster.ClientSession, ts int64, reason cluster.CloseReason) {
	r.lines = append(r.lines, fmt.Sprintf("close %d %v t=%d", s.ID(), reason, ts))
}
func (r *recorder) OnSessionMessage(s cluster.ClientSession, ts int64, pos cluster.Position, p []byte) {
	id := cluster.SessionID(-1)
	if s != nil {
		id = s.ID()
		s.Offer(p)
	}
	r.lines = append(r.lines, fmt.Sprintf("message %d %q t=%d pos=%d", id, p, ts, pos))
}
func (r *recorder) OnTimerEvent(corr int64, ts int64) {
	r.lines = append(r.lines, fmt.Sprintf("timer %d t=%d", corr, ts))
}
func (r *recorder) OnTakeSnapshot(w io.Writer) error { return nil }
func (r *recorder) OnRoleChange(role cluster.Role) {
	r.lines = append(r.lines, fmt.Sprintf("role %v", role))
}
func (r *recorder) OnTerminate(cluster.Cluster) { r.lines = append(r.lines, "terminate") }

type egressLog []string

func (e *egressLog) Send(s cluster.SessionID, p []byte) cluster.OfferStatus {
	*e = append(*e, fmt.Sprintf("%d:%s", s, p))
	return cluster.OfferOK
}

func TestContainerAppliesLogInOrder(t *testing.T) {
	var log []byte
	add := func(e consensus.LogEntry) { log = consensus.AppendEntry(log, &e) }
	add(consensus.LogEntry{Type: consensus.EntryNewLeadershipTerm, TermID: 1, Timestamp: 10})
	add(consensus.LogEntry{Type: consensus.EntrySessionOpen, SessionID: 5, Timestamp: 20, Payload: consensus.AppendSessionOpen(nil, &consensus.SessionOpen{Principal: []byte("alice")})})
	half := len(log) // the first two entries
	add(consensus.LogEntry{Type: consensus.EntrySessionMessage, SessionID: 5, Timestamp: 30, Payload: []byte("hi")})
	add(consensus.LogEntry{Type: consensus.EntrySessionMessage, SessionID: 9, Timestamp: 31, Payload: []byte("who")})
	add(consensus.LogEntry{Type: consensus.EntryTimer, CorrelationID: 5, Timestamp: 120})
	add(consensus.LogEntry{Type: consensus.EntryTimer, CorrelationID: 5, Timestamp: 121})
	add(consensus.LogEntry{Type: consensus.EntrySessionClose, SessionID: 5, Timestamp: 130, Reason: consensus.CloseTimeout})
	add(consensus.LogEntry{Type: consensus.EntryClusterAction, Action: consensus.ActionShutdown, Timestamp: 140})

	r, eg := &recorder{}, &egressLog{}
	c := New(1, r, eg)
	if err := c.Start(nil, 0); err != nil {
		t.Fatal(err)
	}
	c.SetRole(consensus.RoleLeader)
	if err := c.Apply(0, log[:half]); err != nil {
		t.Fatal(err)
	}
	if due := c.DueTimers(119); len(due) != 0 {
		t.Fatalf("due early: %v", due)
	}
	if due := c.DueTimers(120); len(due) != 1 || due[0].CorrelationID != 5 {
		t.Fatalf("due %v", due)
	}
	if err := c.Apply(0, log[half:]); err == nil {
		t.Fatal("non-contiguous apply accepted")
	}
	if err := c.Apply(cluster.Position(half), log[half:]); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"start snapshot=false", "role leader", "open 5 alice t=20",
		fmt.Sprintf("message 5 \"hi\" t=30 pos=%d", half+48) /* a 2-byte message is 48 aligned */, "timer 5 t=120", "close 5 timeout t=130", "terminate",
	}
	if got := strings.Join(r.lines, "\n"); got != strings.Join(want, "\n") {
		t.Fatalf("callbacks:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if len(*eg) != 1 || (*eg)[0] != "5:hi" {
		t.Fatalf("egress %v", *eg)
	}
	if c.UnknownSession != 1 || c.StaleTimer != 1 || c.TimeNs() != 140 {
		t.Fatalf("unknown %d stale %d time %d", c.UnknownSession, c.StaleTimer, c.TimeNs())
	}
}

func TestFollowerEgressIsNoOp(t *testing.T) {
	var log []byte
	e := consensus.LogEntry{Type: consensus.EntrySessionOpen, SessionID: 1}
	log = consensus.AppendEntry(log, &e)
	e = consensus.LogEntry{Type: consensus.EntrySessionMessage, SessionID: 1, Payload: []byte("x")}
	log = consensus.AppendEntry(log, &e)
	eg := &egressLog{}
	c := New(2, &recorder{}, eg)
	_ = c.Start(nil, 0)
	if err := c.Apply(0, log); err != nil {
		t.Fatal(err)
	}
	if len(*eg) != 0 {
		t.Fatalf("follower sent egress %v", *eg)
	}
	if _, st := c.Offer([]byte("svc")); st != cluster.OfferOK || len(c.Outbox()) != 1 || len(c.Outbox()) != 0 {
		t.Fatal("outbox")
	}
}
