package clustertool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"venue/cluster/consensus"
	"venue/cluster/member"
)

// Describe prints the cluster file's settings and, for every member, its
// endpoints, data directory, state and every counter it publishes.
func (t *Tool) Describe(w io.Writer) error {
	c := t.cluster
	fmt.Fprintf(w, "cluster: %d members, data in %s, fsync %s\n", len(c.Members), c.DataDir, c.Fsync)
	fmt.Fprintf(w, "  heartbeat %v, leader heartbeat timeout %v, election timeout %v, session timeout %v\n",
		c.HeartbeatInterval, c.LeaderHeartbeatTimeout, c.ElectionTimeout, c.SessionTimeout)
	fmt.Fprintf(w, "  max sessions %d, max message %d bytes, snapshots kept %d, snapshot interval %v\n",
		c.MaxSessions, c.MaxMessageBytes, c.SnapshotKeep, c.SnapshotInterval)
	if l, ok := t.Leader(); ok {
		fmt.Fprintf(w, "leader: member %d in term %d\n", l.ID, l.Term())
	} else {
		fmt.Fprintln(w, "leader: none running")
	}
	for _, s := range t.Statuses() {
		m, _ := t.cluster.Member(s.ID)
		fmt.Fprintf(w, "\nmember %d: %s\n", s.ID, s.Summary())
		fmt.Fprintf(w, "  endpoints: ingress %s, consensus %s, log %s, catchup %s, archive %s\n",
			m.Ingress, m.Consensus, m.Log, m.Catchup, m.Archive)
		fmt.Fprintf(w, "  data: %s\n", member.DataDir(t.cluster, s.ID))
		if len(s.Counters) == 0 {
			continue
		}
		fmt.Fprintf(w, "  counters (%s, pid %d, heartbeat %v ago):\n", s.Path, s.PID,
			s.HeartbeatAge.Round(time.Millisecond))
		for _, ctr := range s.Counters {
			fmt.Fprintf(w, "    %-*s %*d  %s\n", describeNameColumns, ctr.Name, describeValueColumns, ctr.Value,
				meaning(ctr))
		}
		for _, e := range s.Errors {
			fmt.Fprintf(w, "    error ×%d: %s\n", e.Count, e.Message)
		}
	}
	return nil
}

// Describe's counter columns.
const (
	describeNameColumns  = 46
	describeValueColumns = 14
)

// meaning names an enum counter's value.
func meaning(c Counter) string {
	switch c.Type {
	case member.CounterRole:
		return consensus.Role(c.Value).String()
	case member.CounterElectionState:
		return consensus.ElectionState(c.Value).String()
	case member.CounterControlToggle:
		return member.ControlToggle(c.Value).String()
	case member.CounterHeartbeat:
		return time.UnixMilli(c.Value).Format(time.RFC3339Nano)
	}
	return ""
}

// ListMembers prints one line per member: role, term, leader, positions,
// ingress endpoint and whether it runs.
func (t *Tool) ListMembers(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEMBER\tROLE\tTERM\tLEADER\tCOMMIT\tAPPLIED\tINGRESS\tSTATUS")
	for _, s := range t.Statuses() {
		m, _ := t.cluster.Member(s.ID)
		if !s.Running {
			fmt.Fprintf(tw, "%d\t-\t-\t-\t-\t-\t%s\tnot running: %s\n", s.ID, m.Ingress, s.NotRunning)
			continue
		}
		role := s.Role().String()
		if s.State() == consensus.StateClosed {
			role = "stopped"
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%d\t%d\t%s\trunning (pid %d)\n", s.ID, role, s.Term(),
			memberName(s.Leader()), s.value(member.CounterCommitPosition, 0), s.Applied(), m.Ingress, s.PID)
	}
	return tw.Flush()
}

func memberName(id consensus.MemberID) string {
	if id == consensus.NoMember {
		return "none"
	}
	return fmt.Sprint(int(id))
}

// ErrNotLeader: is-leader's answer for a member that does not lead.
var ErrNotLeader = errors.New("not the leader")

// IsLeader prints whether member id leads; it returns nil if it does and
// an error wrapping ErrNotLeader (or ErrNoMember) if not.
func (t *Tool) IsLeader(w io.Writer, id consensus.MemberID) error {
	if _, err := t.members([]consensus.MemberID{id}); err != nil {
		return err
	}
	s := t.Status(id)
	if !s.Leads() {
		return fmt.Errorf("member %d is %w: %s", id, ErrNotLeader, s.Summary())
	}
	fmt.Fprintf(w, "member %d is the leader (term %d)\n", id, s.Term())
	return nil
}

// runningIDs returns the members that run now, and prints the others.
func (t *Tool) runningIDs(w io.Writer) []consensus.MemberID {
	var ids []consensus.MemberID
	for _, s := range t.Statuses() {
		if s.Running {
			ids = append(ids, s.ID)
		} else {
			fmt.Fprintf(w, "member %d: not running: %s\n", s.ID, s.NotRunning)
		}
	}
	return ids
}

// snapshotCounts are a member's snapshot counters.
type snapshotCounts struct {
	taken, skipped, failed int64
	last                   consensus.Position
	kept                   bool // the member keeps snapshots at all
}

func snapshotsOf(s *Status) snapshotCounts {
	taken, ok := s.Value(member.CounterSnapshotsTaken)
	return snapshotCounts{taken: taken, kept: ok, skipped: s.value(member.CounterSnapshotsSkipped, 0),
		failed: s.value(member.CounterSnapshotsFailed, 0),
		last:   consensus.Position(s.value(member.CounterLastSnapshotPosition, 0))}
}

// Snapshot asks the leader for a snapshot and waits until every running
// member has applied the action and written (or failed to write) its
// snapshot.
func (t *Tool) Snapshot(ctx context.Context, w io.Writer) error {
	ids := t.runningIDs(w)
	before := t.snapshotsBefore(ids)
	l, p, err := t.LeaderAction(ctx, member.ToggleSnapshot)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "snapshot: leader %d appended it at log position %d\n", l, p)
	return t.awaitSnapshots(ctx, w, ids, before, p)
}

func (t *Tool) snapshotsBefore(ids []consensus.MemberID) map[consensus.MemberID]snapshotCounts {
	out := map[consensus.MemberID]snapshotCounts{}
	for _, id := range ids {
		s := t.Status(id)
		out[id] = snapshotsOf(&s)
	}
	return out
}

// awaitSnapshots waits until each member in ids has applied position p and
// its snapshot counters moved past before, and prints each outcome.
func (t *Tool) awaitSnapshots(ctx context.Context, w io.Writer, ids []consensus.MemberID,
	before map[consensus.MemberID]snapshotCounts, p consensus.Position) error {
	sts, err := t.AwaitAll(ctx, ids, "snapshot", func(s *Status) bool {
		sc, b := snapshotsOf(s), before[s.ID]
		return s.Applied() >= p && (!sc.kept || sc.taken+sc.skipped+sc.failed > b.taken+b.skipped+b.failed)
	})
	var failed []consensus.MemberID
	for _, s := range sts {
		sc, b := snapshotsOf(&s), before[s.ID]
		switch {
		case !s.Running:
			fmt.Fprintf(w, "member %d: not running: %s\n", s.ID, s.NotRunning)
		case s.Applied() < p:
			fmt.Fprintf(w, "member %d: has not applied position %d yet (applied %d)\n", s.ID, p, s.Applied())
		case !sc.kept:
			fmt.Fprintf(w, "member %d: applied the snapshot action; it keeps no snapshots\n", s.ID)
		case sc.failed > b.failed || sc.skipped > b.skipped:
			fmt.Fprintf(w, "member %d: snapshot FAILED (failed %d, skipped %d): %s\n", s.ID, sc.failed, sc.skipped,
				lastError(&s))
			failed = append(failed, s.ID)
		case sc.taken > b.taken:
			fmt.Fprintf(w, "member %d: snapshot at log position %d written\n", s.ID, sc.last)
		default:
			fmt.Fprintf(w, "member %d: applied the snapshot action; snapshot not written yet\n", s.ID)
		}
	}
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return fmt.Errorf("%w: snapshot on members %v", ErrFailed, failed)
	}
	return nil
}

// Suspend asks the leader to suspend the cluster (client messages are
// refused until resume) and waits until every running member has applied
// it.
func (t *Tool) Suspend(ctx context.Context, w io.Writer) error {
	return t.simpleAction(ctx, w, member.ToggleSuspend, "suspended")
}

// Resume undoes Suspend.
func (t *Tool) Resume(ctx context.Context, w io.Writer) error {
	return t.simpleAction(ctx, w, member.ToggleResume, "resumed")
}

func (t *Tool) simpleAction(ctx context.Context, w io.Writer, req member.ControlToggle, done string) error {
	ids := t.runningIDs(w)
	l, p, err := t.LeaderAction(ctx, req)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s: leader %d appended it at log position %d\n", req, l, p)
	if _, err := t.AwaitAll(ctx, ids, string(done), func(s *Status) bool { return s.Applied() >= p }); err != nil {
		return err
	}
	fmt.Fprintf(w, "cluster %s from log position %d on members %v\n", done, p, ids)
	return nil
}

// Shutdown snapshots the cluster and stops every member in order: the
// leader appends a snapshot and a shutdown; each member snapshots, applies
// the shutdown and closes its consensus node. It waits for both on every
// running member.
func (t *Tool) Shutdown(ctx context.Context, w io.Writer) error {
	ids := t.runningIDs(w)
	before := t.snapshotsBefore(ids)
	l, p, err := t.LeaderAction(ctx, member.ToggleShutdown)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "shutdown: leader %d appended a snapshot and the shutdown, which ends the log at %d\n", l, p)
	sts, err := t.AwaitAll(ctx, ids, "shutdown", func(s *Status) bool {
		sc, b := snapshotsOf(s), before[s.ID]
		return s.Closed() && (!sc.kept || sc.taken+sc.skipped+sc.failed > b.taken+b.skipped+b.failed)
	})
	for _, s := range sts {
		sc, b := snapshotsOf(&s), before[s.ID]
		snap := "no snapshot kept"
		switch {
		case sc.taken > b.taken:
			snap = fmt.Sprintf("snapshot at %d", sc.last)
		case sc.failed > b.failed || sc.skipped > b.skipped:
			snap = "snapshot FAILED: " + lastError(&s)
		case sc.kept:
			snap = "snapshot not written yet"
		}
		if s.Running {
			fmt.Fprintf(w, "member %d: %s; %s\n", s.ID, s.Summary(), snap)
		} else {
			fmt.Fprintf(w, "member %d: not running: %s\n", s.ID, s.NotRunning)
		}
	}
	return err
}

// Abort stops the members in ids (every member if empty) at once, without
// a snapshot, and waits until each has stopped.
func (t *Tool) Abort(ctx context.Context, w io.Writer, ids []consensus.MemberID) error {
	ids, err := t.members(ids)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if s := t.Status(id); !s.Running {
			fmt.Fprintf(w, "member %d: not running: %s\n", id, s.NotRunning)
			continue
		}
		if _, err := t.Request(ctx, id, member.ToggleAbort); err != nil && !errors.Is(err, ErrNotRunning) {
			errs = append(errs, err)
			continue
		}
		if _, err := t.AwaitAll(ctx, []consensus.MemberID{id}, "abort", func(*Status) bool { return false }); err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(w, "member %d: aborted (%s)\n", id, t.Status(id).NotRunning)
	}
	return errors.Join(errs...)
}

// Purge asks the members in ids (every running member if empty) to apply
// log retention now: each keeps its newest snapshots (the cluster file's
// snapshot-keep) and purges its log below the oldest kept, as it does after
// every snapshot. It prints where each member's log starts afterwards.
func (t *Tool) Purge(ctx context.Context, w io.Writer, ids []consensus.MemberID) error {
	if len(ids) == 0 {
		ids = t.runningIDs(w)
	} else if _, err := t.members(ids); err != nil {
		return err
	}
	var failed []consensus.MemberID
	var errs []error
	for _, id := range ids {
		a, err := t.Request(ctx, id, member.TogglePurge)
		switch {
		case err != nil:
			errs = append(errs, err)
		case a.Result == member.ToggleDone:
			fmt.Fprintf(w, "member %d: log retention applied; the log starts at position %d\n", id, a.Position)
		default:
			s := t.Status(id)
			fmt.Fprintf(w, "member %d: purge %s: %s\n", id, a.Result, lastError(&s))
			failed = append(failed, id)
		}
	}
	if len(failed) > 0 {
		errs = append(errs, fmt.Errorf("%w: purge on members %v", ErrFailed, failed))
	}
	return errors.Join(errs...)
}

// Errors prints, for each member in ids (every member if empty), its error
// count, its error records and every non-zero drop or rejection counter.
func (t *Tool) Errors(w io.Writer, ids []consensus.MemberID) error {
	ids, err := t.members(ids)
	if err != nil {
		return err
	}
	for _, id := range ids {
		s := t.Status(id)
		if len(s.Counters) == 0 {
			fmt.Fprintf(w, "member %d: not running: %s\n", id, s.NotRunning)
			continue
		}
		state := "running"
		if !s.Running {
			state = "not running: " + s.NotRunning
		}
		fmt.Fprintf(w, "member %d: %d errors (%s)\n", id, s.value(member.CounterErrors, 0), state)
		for _, e := range s.Errors {
			fmt.Fprintf(w, "  ×%d  %s\n", e.Count, e.Message)
		}
		for _, c := range s.Counters {
			if c.Value != 0 && isDrop(c.Type) {
				fmt.Fprintf(w, "  %s: %d\n", c.Name, c.Value)
			}
		}
	}
	return nil
}

// isDrop reports whether t counts something refused, dropped or failed.
func isDrop(t member.CounterType) bool {
	switch {
	case t >= member.CounterConnectsAuthRejected && t <= member.CounterResponsesRefused:
		return true
	case t >= member.CounterConsensusMalformed && t <= member.CounterPeerNotConnected:
		return true
	}
	return t == member.CounterSnapshotsSkipped || t == member.CounterSnapshotsFailed ||
		t == member.CounterSessionsTimedOut
}
