package clustertool

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/cluster/member"
	"venue/transport"
)

// HeartbeatStaleAfter is how old a member's heartbeat counter may be before
// the tool takes the member for hung: the member refreshes it every
// millisecond or so while its duty cycle runs.
const HeartbeatStaleAfter = 5 * time.Second

// Tool works on the members of one cluster file, on this host.
type Tool struct {
	cluster config.Cluster
	// StaleAfter overrides HeartbeatStaleAfter (tests).
	StaleAfter time.Duration
	now        func() time.Time
}

// New returns a tool for cluster c (as config.Load returns it).
func New(c config.Cluster) *Tool {
	return &Tool{cluster: c, StaleAfter: HeartbeatStaleAfter, now: time.Now}
}

// Cluster returns the cluster file's contents.
func (t *Tool) Cluster() config.Cluster { return t.cluster }

// CountersPath returns where member id's counters file is.
func (t *Tool) CountersPath(id consensus.MemberID) string {
	return filepath.Join(member.DataDir(t.cluster, id), transport.CountersFileName)
}

// Counter is one of a member's counters as the file shows it.
type Counter struct {
	// ID is the counter's record in the file.
	ID   int32
	Type member.CounterType
	// Name is the label without the member suffix.
	Name  string
	Value int64
}

// ErrorRecord is a distinct error a member kept, with how often it occurred.
type ErrorRecord struct {
	Message string
	Count   int64
}

// Status is one member as its counters file shows it.
type Status struct {
	ID consensus.MemberID
	// Path is the counters file.
	Path string
	// Running: the file's process is alive, the member's counters are in
	// it and its heartbeat is fresh. Otherwise NotRunning says why.
	Running    bool
	NotRunning string
	// PID is the process that created the counters file (0: unknown).
	PID int
	// HeartbeatAge is how long ago the member last refreshed its counters.
	HeartbeatAge time.Duration
	// Counters are the member's counters in file order; Errors its error
	// records.
	Counters []Counter
	Errors   []ErrorRecord
}

// Value returns the value of the member's counter of type typ.
func (s *Status) Value(typ member.CounterType) (int64, bool) {
	for _, c := range s.Counters {
		if c.Type == typ {
			return c.Value, true
		}
	}
	return 0, false
}

// value is Value with a default for a missing counter.
func (s *Status) value(typ member.CounterType, missing int64) int64 {
	if v, ok := s.Value(typ); ok {
		return v
	}
	return missing
}

func (s *Status) counterID(typ member.CounterType) (int32, bool) {
	for _, c := range s.Counters {
		if c.Type == typ {
			return c.ID, true
		}
	}
	return 0, false
}

// Role returns the member's role.
func (s *Status) Role() consensus.Role { return consensus.Role(s.value(member.CounterRole, 0)) }

// Leads reports whether the member is running and leads.
func (s *Status) Leads() bool {
	return s.Running && s.Role() == consensus.RoleLeader &&
		consensus.ElectionState(s.value(member.CounterElectionState, 0)) == consensus.StateLeaderReady
}

// Term returns the member's leadership term.
func (s *Status) Term() consensus.TermID { return consensus.TermID(s.value(member.CounterTerm, 0)) }

// Leader returns the leader the member knows (consensus.NoMember: none).
func (s *Status) Leader() consensus.MemberID {
	return consensus.MemberID(s.value(member.CounterLeader, int64(consensus.NoMember)))
}

// State returns the member's election state.
func (s *Status) State() consensus.ElectionState {
	return consensus.ElectionState(s.value(member.CounterElectionState, 0))
}

// Applied returns the log position the member has applied.
func (s *Status) Applied() consensus.Position {
	return consensus.Position(s.value(member.CounterAppliedPosition, 0))
}

// Closed reports whether the member is running with its consensus node
// closed: it applied a shutdown and stopped in order.
func (s *Status) Closed() bool {
	return s.Running && s.State() == consensus.StateClosed
}

// Summary is one phrase for the member's state: "leader in term 3",
// "follower of 0 in term 3", or why it is not running.
func (s *Status) Summary() string {
	if !s.Running {
		return "not running: " + s.NotRunning
	}
	switch st := s.State(); {
	case st == consensus.StateClosed:
		return fmt.Sprintf("stopped in order (term %d, applied %d)", s.Term(), s.Applied())
	case s.Role() == consensus.RoleLeader:
		return fmt.Sprintf("leader in term %d", s.Term())
	case s.Leader() == consensus.NoMember:
		return fmt.Sprintf("%s in term %d, no leader known (%s)", s.Role(), s.Term(), st)
	default:
		return fmt.Sprintf("%s of %d in term %d (%s)", s.Role(), s.Leader(), s.Term(), st)
	}
}

// Status reads member id's counters file.
func (t *Tool) Status(id consensus.MemberID) Status {
	s := Status{ID: id, Path: t.CountersPath(id)}
	cf, err := openCountersFile(s.Path, false)
	if err != nil {
		s.NotRunning = notRunningReason(s.Path, err)
		return s
	}
	defer cf.close()
	t.readStatus(cf, &s)
	return s
}

// Statuses reads every member's counters file, in id order.
func (t *Tool) Statuses() []Status {
	out := make([]Status, len(t.cluster.Members))
	for i, m := range t.cluster.Members {
		out[i] = t.Status(m.ID)
	}
	return out
}

func notRunningReason(path string, err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf("no counters file %s (start it with venue node or venue run)", path)
	}
	return fmt.Sprintf("cannot read %s: %v", path, err)
}

// readStatus fills s from an open counters file.
func (t *Tool) readStatus(cf *countersFile, s *Status) {
	s.PID = cf.reader.OwnerPID()
	s.Counters, s.Errors = s.Counters[:0], s.Errors[:0]
	cf.reader.ForEach(func(ci transport.CounterInfo) {
		typ := member.CounterType(ci.TypeID)
		name, id, ok := member.LabelMember(ci.Label)
		if !ok || id != s.ID || !typ.IsMember() {
			return
		}
		if typ == member.CounterErrorRecord {
			msg := strings.TrimPrefix(name, member.CounterErrorRecord.String()+": ")
			s.Errors = append(s.Errors, ErrorRecord{Message: msg, Count: ci.Value})
			return
		}
		s.Counters = append(s.Counters, Counter{ID: ci.ID, Type: typ, Name: name, Value: ci.Value})
	})
	hb, haveHB := s.Value(member.CounterHeartbeat)
	if haveHB {
		s.HeartbeatAge = max(0, t.now().Sub(time.UnixMilli(hb)))
	}
	switch {
	case !processAlive(s.PID):
		s.NotRunning = fmt.Sprintf("its process (pid %d) has exited; %s holds its last values", s.PID, s.Path)
	case !haveHB:
		s.NotRunning = fmt.Sprintf("member %d stopped: its counters are gone from %s (pid %d)", s.ID, s.Path, s.PID)
	case s.HeartbeatAge > t.StaleAfter:
		s.NotRunning = fmt.Sprintf("not responding: last heartbeat %v ago (pid %d)",
			s.HeartbeatAge.Round(time.Millisecond), s.PID)
	default:
		s.Running = true
	}
}

// processAlive reports whether pid is a live process (EPERM: alive, not
// ours to signal).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// members returns ids, or every member of the cluster when ids is empty,
// and rejects an id the cluster file does not have.
func (t *Tool) members(ids []consensus.MemberID) ([]consensus.MemberID, error) {
	if len(ids) == 0 {
		for _, m := range t.cluster.Members {
			ids = append(ids, m.ID)
		}
		return ids, nil
	}
	for _, id := range ids {
		if _, ok := t.cluster.Member(id); !ok {
			return nil, fmt.Errorf("%w: member %d is not in the cluster file (%d members)", ErrNoMember, id,
				len(t.cluster.Members))
		}
	}
	return ids, nil
}

// ErrNoMember: a member id the cluster file does not have.
var ErrNoMember = errors.New("clustertool: no such member")
