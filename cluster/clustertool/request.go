package clustertool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"venue/cluster/consensus"
	"venue/cluster/member"
)

// Wait bounds.
const (
	// pollInterval is how often a wait reads the counters files: the
	// members refresh them every millisecond, a person waits for seconds.
	pollInterval = 5 * time.Millisecond
	// cancelGrace: after a request's deadline the tool takes the request
	// back; if the member had already claimed it, the tool waits this long
	// more for its answer (acting takes microseconds).
	cancelGrace = time.Second
)

// Errors of the control toggle protocol.
var (
	// ErrNotRunning: the member's counters file shows no running member.
	ErrNotRunning = errors.New("clustertool: member not running")
	// ErrNoLeader: no running member leads.
	ErrNoLeader = errors.New("clustertool: no leader")
	// ErrBusy: the member's toggle holds another request.
	ErrBusy = errors.New("clustertool: control toggle busy")
	// ErrNoAnswer: the member did not answer the request in time (it was
	// taken back).
	ErrNoAnswer = errors.New("clustertool: member did not answer")
	// ErrFailed: the member answered that the action failed.
	ErrFailed = errors.New("clustertool: action failed")
)

// Answer is a member's answer to a request.
type Answer struct {
	// Result is the toggle's result value (member.ToggleDone, ...).
	Result member.ControlToggle
	// Position is, for ToggleDone on a leader action, the log position
	// after the appended action.
	Position consensus.Position
}

// Request writes req into member id's control toggle (a compare-and-set
// from a free value) and waits, until ctx ends, for the member's answer.
// If the member does not claim the request in time, the request is taken
// back (ErrNoAnswer). An aborted member that stops before the tool reads
// its answer counts as ToggleDone.
func (t *Tool) Request(ctx context.Context, id consensus.MemberID, req member.ControlToggle) (Answer, error) {
	if !req.IsRequest() {
		return Answer{}, fmt.Errorf("clustertool: %s is not a request", req)
	}
	cf, err := openCountersFile(t.CountersPath(id), true)
	if err != nil {
		if st := t.Status(id); !st.Running {
			return Answer{}, fmt.Errorf("%w: member %d: %s", ErrNotRunning, id, st.NotRunning)
		}
		return Answer{}, err
	}
	defer cf.close()
	st := Status{ID: id, Path: cf.path}
	t.readStatus(cf, &st)
	if !st.Running {
		return Answer{}, fmt.Errorf("%w: member %d: %s", ErrNotRunning, id, st.NotRunning)
	}
	toggle, ok1 := st.counterID(member.CounterControlToggle)
	position, ok2 := st.counterID(member.CounterControlPosition)
	if !ok1 || !ok2 {
		return Answer{}, fmt.Errorf("clustertool: member %d publishes no control toggle in %s", id, cf.path)
	}
	if err := t.writeRequest(ctx, cf, id, toggle, req); err != nil {
		return Answer{}, err
	}
	return t.awaitAnswer(ctx, cf, &st, toggle, position, req)
}

// writeRequest sets the toggle from a free value to req.
func (t *Tool) writeRequest(ctx context.Context, cf *countersFile, id consensus.MemberID, toggle int32,
	req member.ControlToggle) error {
	for {
		raw, err := cf.load(toggle)
		if err != nil {
			return err
		}
		v := member.ControlToggle(raw)
		if v.IsFree() {
			ok, err := cf.compareAndSet(toggle, raw, int64(req))
			if err != nil || ok {
				return err
			}
			continue // changed under us: look again
		}
		if err := sleep(ctx); err != nil {
			return fmt.Errorf("%w: member %d's control toggle holds %s (another cluster tool at work?)",
				ErrBusy, id, v)
		}
	}
}

// awaitAnswer waits for the member to replace req with a result, then
// reads the action's position and frees the toggle.
func (t *Tool) awaitAnswer(ctx context.Context, cf *countersFile, st *Status, toggle, position int32,
	req member.ControlToggle) (Answer, error) {
	var graceEnd time.Time
	for {
		raw, err := cf.load(toggle)
		if err != nil {
			return Answer{}, err
		}
		if v := member.ControlToggle(raw); !v.IsRequest() && !v.IsBusy() {
			pos, err := cf.load(position)
			if err != nil {
				return Answer{}, err
			}
			_, _ = cf.compareAndSet(toggle, raw, int64(member.ToggleNeutral)) // read: free it
			return Answer{Result: v, Position: consensus.Position(pos)}, nil
		}
		t.readStatus(cf, st)
		if !st.Running {
			if req == member.ToggleAbort {
				return Answer{Result: member.ToggleDone}, nil
			}
			return Answer{}, fmt.Errorf("%w: member %d stopped before answering %s: %s", ErrNotRunning,
				st.ID, req, st.NotRunning)
		}
		if ctx.Err() != nil {
			if graceEnd.IsZero() {
				if ok, _ := cf.compareAndSet(toggle, int64(req), int64(member.ToggleNeutral)); ok {
					return Answer{}, fmt.Errorf("%w: member %d did not take %s in time (request taken back)",
						ErrNoAnswer, st.ID, req)
				}
				graceEnd = t.now().Add(cancelGrace)
			} else if t.now().After(graceEnd) {
				return Answer{}, fmt.Errorf("%w: member %d claimed %s but gave no answer in %v", ErrNoAnswer,
					st.ID, req, cancelGrace)
			}
		}
		time.Sleep(pollInterval) // also after ctx ended: the grace period polls too
	}
}

// sleep waits pollInterval or until ctx ends.
func sleep(ctx context.Context) error {
	timer := time.NewTimer(pollInterval)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// Leader returns the running member that leads (the highest term, should
// two claim it for a moment).
func (t *Tool) Leader() (Status, bool) {
	var best Status
	found := false
	for _, s := range t.Statuses() {
		if s.Leads() && (!found || s.Term() > best.Term()) {
			best, found = s, true
		}
	}
	return best, found
}

// AwaitLeader polls until a member leads or ctx ends.
func (t *Tool) AwaitLeader(ctx context.Context) (Status, error) {
	for {
		if l, ok := t.Leader(); ok {
			return l, nil
		}
		if err := sleep(ctx); err != nil {
			return Status{}, fmt.Errorf("%w: %s", ErrNoLeader, t.describeAll())
		}
	}
}

// describeAll is one line per member's state, for errors.
func (t *Tool) describeAll() string {
	var b strings.Builder
	for i, s := range t.Statuses() {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "member %d: %s", s.ID, s.Summary())
	}
	return b.String()
}

// LeaderAction asks the leader for req (snapshot, suspend, resume or
// shutdown) and returns the leader that appended it and the log position
// after it. When leadership moves between finding the leader and its
// answer (ToggleNotLeader, or the leader stopped), it finds the leader
// again, until ctx ends.
func (t *Tool) LeaderAction(ctx context.Context, req member.ControlToggle) (consensus.MemberID, consensus.Position, error) {
	for {
		l, err := t.AwaitLeader(ctx)
		if err != nil {
			return consensus.NoMember, 0, err
		}
		ans, err := t.Request(ctx, l.ID, req)
		switch {
		case errors.Is(err, ErrNotRunning):
			continue // the leader stopped: find the next one
		case err != nil:
			return consensus.NoMember, 0, err
		}
		switch ans.Result {
		case member.ToggleDone:
			return l.ID, ans.Position, nil
		case member.ToggleNotLeader:
			if err := sleep(ctx); err != nil { // leadership is moving: give it a moment
				return consensus.NoMember, 0, fmt.Errorf("%w: leadership moved during %s: %s", ErrNoLeader, req,
					t.describeAll())
			}
		case member.ToggleFailed:
			s := t.Status(l.ID)
			return consensus.NoMember, 0, fmt.Errorf("%w: %s on leader %d: %s", ErrFailed, req, l.ID, lastError(&s))
		default:
			return consensus.NoMember, 0, fmt.Errorf("%w: %s on leader %d: answered %s", ErrFailed, req, l.ID,
				ans.Result)
		}
	}
}

// lastError names a member's newest error record.
func lastError(s *Status) string {
	if len(s.Errors) == 0 {
		return "no error recorded"
	}
	return s.Errors[len(s.Errors)-1].Message
}

// AwaitAll polls until done holds for every member in ids that is running
// (a member that stops meanwhile no longer counts), or ctx ends; it returns
// the members' last statuses.
func (t *Tool) AwaitAll(ctx context.Context, ids []consensus.MemberID, what string,
	done func(*Status) bool) ([]Status, error) {
	for {
		sts := make([]Status, len(ids))
		pending := []string{}
		for i, id := range ids {
			sts[i] = t.Status(id)
			if sts[i].Running && !done(&sts[i]) {
				pending = append(pending, fmt.Sprintf("member %d (%s)", id, sts[i].Summary()))
			}
		}
		if len(pending) == 0 {
			return sts, nil
		}
		if err := sleep(ctx); err != nil {
			return sts, fmt.Errorf("clustertool: %s: still waiting for %s: %w", what, strings.Join(pending, ", "), err)
		}
	}
}
