package failover

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/cluster/member"
	"venue/transport"
)

// Process bounds.
const (
	// stopTimeoutDefault: a member asked to stop (SIGTERM) that has not
	// exited in this long is killed.
	stopTimeoutDefault = 10 * time.Second
	// killTimeout bounds the wait for a killed process to be reaped.
	killTimeout = 5 * time.Second
	// replyLineMax bounds one control reply line from a member.
	replyLineMax = 4096
	// repliesMax bounds control replies read but not yet taken.
	repliesMax = 16
	// PollInterval is how often waits re-read the members' counters.
	PollInterval = 5 * time.Millisecond
)

// Errors.
var (
	// ErrNotRunning: the member's process is not running.
	ErrNotRunning = errors.New("failover: member not running")
	// ErrTimeout: a wait ran out of time.
	ErrTimeout = errors.New("failover: timed out")
	// ErrNoControl: the member was started without a control channel.
	ErrNoControl = errors.New("failover: member has no control channel")
)

// Command builds the command that runs member id of the cluster described
// by the file at configPath. Procs sets its output, input and process
// attributes; the command sets everything else (arguments, environment).
type Command func(configPath string, id consensus.MemberID) *exec.Cmd

// NodeCommand returns a Command running `exe node --config F --id N
// --service service` (the venue binary's member).
func NodeCommand(exe, service string) Command {
	return func(configPath string, id consensus.MemberID) *exec.Cmd {
		return exec.Command(exe, "node", "--config", configPath, "--id", fmt.Sprint(int(id)), "--service", service)
	}
}

// ProcsConfig configures Procs.
type ProcsConfig struct {
	// Cluster is the cluster; Procs writes it to ConfigPath.
	Cluster    config.Cluster
	ConfigPath string
	// Command runs one member.
	Command Command
	// LogDir receives member-<id>.log, each member's stdout and stderr
	// (appended across restarts); with Control only its stderr.
	LogDir string
	// Control pipes each member's stdin and stdout: Request writes a line
	// and reads the member's one-line reply (test members), and a member
	// sees end of file on stdin when Procs closes or its own process dies.
	Control bool
	// StopTimeout: Stop kills a member that has not exited this long after
	// SIGTERM (0: 10 s).
	StopTimeout time.Duration
}

// Procs runs a cluster's members as child processes. It is used from one
// goroutine.
type Procs struct {
	cfg     ProcsConfig
	members []*proc
}

// proc is one member's current process (nil cmd: never started).
type proc struct {
	id      consensus.MemberID
	cmd     *exec.Cmd
	done    chan struct{} // closed once the process is reaped
	waitErr error
	log     *os.File
	stdin   io.WriteCloser
	replies chan string
	starts  int
}

// NewProcs writes the cluster file and returns Procs with no member
// running.
func NewProcs(cfg ProcsConfig) (*Procs, error) {
	if cfg.Command == nil || cfg.ConfigPath == "" || cfg.LogDir == "" {
		return nil, errors.New("failover: procs need a command, a config path and a log directory")
	}
	if err := os.MkdirAll(cfg.LogDir, 0o755); err != nil {
		return nil, fmt.Errorf("failover: log directory: %w", err)
	}
	if err := config.WriteFile(cfg.ConfigPath, cfg.Cluster); err != nil {
		return nil, fmt.Errorf("failover: %w", err)
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = stopTimeoutDefault
	}
	p := &Procs{cfg: cfg}
	for i := range cfg.Cluster.Members {
		p.members = append(p.members, &proc{id: consensus.MemberID(i)})
	}
	return p, nil
}

// Members returns the number of members.
func (p *Procs) Members() int { return len(p.members) }

// Cluster returns the cluster the members run.
func (p *Procs) Cluster() config.Cluster { return p.cfg.Cluster }

// DataDir returns member id's data directory.
func (p *Procs) DataDir(id consensus.MemberID) string { return member.DataDir(p.cfg.Cluster, id) }

// LogPath returns the file holding member id's output.
func (p *Procs) LogPath(id consensus.MemberID) string {
	return filepath.Join(p.cfg.LogDir, fmt.Sprintf("member-%d.log", id))
}

// Running reports whether member id's process is running (started and not
// yet reaped).
func (p *Procs) Running(id consensus.MemberID) bool {
	m := p.members[id]
	if m.cmd == nil {
		return false
	}
	select {
	case <-m.done:
		return false
	default:
		return true
	}
}

// Start starts member id's process. Its stale counters file (left by a
// killed process) is removed first, so that a view never shows a dead
// process's values and the new process never truncates a file this one
// has mapped.
func (p *Procs) Start(id consensus.MemberID) error {
	if p.Running(id) {
		return fmt.Errorf("failover: member %d already running", id)
	}
	m := p.members[id]
	if m.log != nil {
		m.log.Close()
		m.log = nil
	}
	if err := os.Remove(CountersPath(p.cfg.Cluster, id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("failover: member %d: remove stale counters: %w", id, err)
	}
	log, err := os.OpenFile(p.LogPath(id), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("failover: member %d: %w", id, err)
	}
	m.starts++
	fmt.Fprintf(log, "--- failover: start %d of member %d at %s\n", m.starts, id, time.Now().Format(time.RFC3339Nano))
	cmd := p.cfg.Command(p.cfg.ConfigPath, id)
	cmd.Stderr = log
	// The member dies with this process (Linux): no member outlives a
	// benchmark or test that crashed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	// The control channel is a pair of os.Pipes rather than exec's pipes,
	// so that reaping the process never races the reader of its replies.
	var stdinR, stdoutR, stdoutW *os.File
	if p.cfg.Control {
		if stdinR, m.stdin, err = os.Pipe(); err != nil {
			log.Close()
			return fmt.Errorf("failover: member %d: %w", id, err)
		}
		if stdoutR, stdoutW, err = os.Pipe(); err != nil {
			log.Close()
			stdinR.Close()
			m.stdin.Close()
			m.stdin = nil
			return fmt.Errorf("failover: member %d: %w", id, err)
		}
		cmd.Stdin, cmd.Stdout = stdinR, stdoutW
	} else {
		cmd.Stdout = log
	}
	err = cmd.Start()
	if p.cfg.Control { // the child holds its ends now
		stdinR.Close()
		stdoutW.Close()
	}
	if err != nil {
		log.Close()
		if p.cfg.Control {
			m.stdin.Close()
			m.stdin = nil
			stdoutR.Close()
		}
		return fmt.Errorf("failover: start member %d: %w", id, err)
	}
	m.cmd, m.log, m.done, m.waitErr = cmd, log, make(chan struct{}), nil
	if stdoutR != nil {
		m.replies = make(chan string, repliesMax)
		go readReplies(stdoutR, m.replies)
	}
	go func(m *proc, cmd *exec.Cmd, done chan struct{}) {
		err := cmd.Wait()
		m.waitErr = err
		close(done)
	}(m, cmd, m.done)
	return nil
}

// readReplies hands the member's stdout lines to replies until the pipe
// closes; a reply nobody takes is dropped once replies is full.
func readReplies(r io.ReadCloser, replies chan<- string) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, replyLineMax), replyLineMax)
	for sc.Scan() {
		select {
		case replies <- sc.Text():
		default: // unread replies: the member answers requests only, so this is a stray line
		}
	}
}

// Kill sends SIGKILL to member id and waits until the process is reaped. It
// returns the monotonic time (transport.MonotonicNanos) just before the
// signal was sent.
func (p *Procs) Kill(id consensus.MemberID) (int64, error) {
	if !p.Running(id) {
		return 0, fmt.Errorf("%w: member %d", ErrNotRunning, id)
	}
	m := p.members[id]
	t := transport.MonotonicNanos()
	if err := m.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return t, fmt.Errorf("failover: kill member %d: %w", id, err)
	}
	return t, p.reap(m, killTimeout)
}

// Stop asks member id to stop (SIGTERM: the member closes in order) and
// waits; after StopTimeout it kills it.
func (p *Procs) Stop(id consensus.MemberID) error {
	if !p.Running(id) {
		return nil
	}
	m := p.members[id]
	if err := m.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return fmt.Errorf("failover: stop member %d: %w", id, err)
	}
	if err := p.reap(m, p.cfg.StopTimeout); err == nil {
		return nil
	}
	_ = m.cmd.Process.Signal(syscall.SIGKILL)
	if err := p.reap(m, killTimeout); err != nil {
		return err
	}
	return fmt.Errorf("failover: member %d ignored SIGTERM for %v and was killed", id, p.cfg.StopTimeout)
}

// StopAll stops every running member, the first error returned.
func (p *Procs) StopAll() error {
	var errs []error
	for i := range p.members {
		errs = append(errs, p.Stop(consensus.MemberID(i)))
	}
	return errors.Join(errs...)
}

// Close kills every running member and releases what Procs holds.
func (p *Procs) Close() {
	for _, m := range p.members {
		if p.Running(m.id) {
			_ = m.cmd.Process.Signal(syscall.SIGKILL)
			_ = p.reap(m, killTimeout)
		}
		if m.stdin != nil {
			m.stdin.Close()
		}
		if m.log != nil {
			m.log.Close()
			m.log = nil
		}
	}
}

func (p *Procs) reap(m *proc, timeout time.Duration) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-m.done:
		if m.stdin != nil {
			m.stdin.Close()
			m.stdin = nil
		}
		return nil
	case <-t.C:
		return fmt.Errorf("%w: member %d not reaped after %v", ErrTimeout, m.id, timeout)
	}
}

// Exited returns how member id's last process ended (nil while running or
// if it exited with status 0).
func (p *Procs) Exited(id consensus.MemberID) error {
	m := p.members[id]
	if m.cmd == nil || p.Running(id) {
		return nil
	}
	return m.waitErr
}

// Request sends line to member id's control channel and returns its reply
// line (test members started with Control).
func (p *Procs) Request(id consensus.MemberID, line string, timeout time.Duration) (string, error) {
	m := p.members[id]
	if !p.cfg.Control {
		return "", ErrNoControl
	}
	if !p.Running(id) || m.stdin == nil {
		return "", fmt.Errorf("%w: member %d", ErrNotRunning, id)
	}
	for len(m.replies) > 0 { // a stray reply from an earlier request that timed out
		<-m.replies
	}
	if _, err := io.WriteString(m.stdin, strings.TrimSpace(line)+"\n"); err != nil {
		return "", fmt.Errorf("failover: member %d request %q: %w", id, line, err)
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case r := <-m.replies:
		return r, nil
	case <-m.done:
		return "", fmt.Errorf("%w: member %d exited during request %q", ErrNotRunning, id, line)
	case <-t.C:
		return "", fmt.Errorf("%w: member %d did not answer %q in %v", ErrTimeout, id, line, timeout)
	}
}

// View reads member id's counters; it fails unless the member is running
// and has published them.
func (p *Procs) View(id consensus.MemberID) (MemberView, error) {
	if !p.Running(id) {
		return MemberView{}, fmt.Errorf("%w: member %d", ErrNotRunning, id)
	}
	return ReadMemberView(CountersPath(p.cfg.Cluster, id), id)
}

// Views returns the views of the running members that have published
// counters.
func (p *Procs) Views() []MemberView {
	var vs []MemberView
	for i := range p.members {
		if v, err := p.View(consensus.MemberID(i)); err == nil {
			vs = append(vs, v)
		}
	}
	return vs
}

// Leader returns the member every running member agrees leads (the leader
// itself in the role of leader, the others following it in its term), and
// its view. ok is false while there is none or they disagree.
func (p *Procs) Leader() (MemberView, bool) {
	running := 0
	for i := range p.members {
		if p.Running(consensus.MemberID(i)) {
			running++
		}
	}
	vs := p.Views()
	if len(vs) != running || running == 0 {
		return MemberView{}, false
	}
	var leader MemberView
	found := false
	for _, v := range vs {
		if v.Role == consensus.RoleLeader && (!found || v.Term > leader.Term) {
			leader, found = v, true
		}
	}
	if !found {
		return MemberView{}, false
	}
	for _, v := range vs {
		if v.Leader != leader.ID || v.Term != leader.Term {
			return MemberView{}, false
		}
	}
	return leader, true
}

// WaitLeader polls until Leader reports one or timeout passes.
func (p *Procs) WaitLeader(timeout time.Duration) (MemberView, error) {
	var l MemberView
	err := PollUntil(timeout, func() bool {
		var ok bool
		l, ok = p.Leader()
		return ok
	})
	if err != nil {
		return l, fmt.Errorf("%w: no leader all running members agree on (%s)", err, p.Describe())
	}
	return l, nil
}

// Describe summarises every member's process and view, for errors.
func (p *Procs) Describe() string {
	var b strings.Builder
	for i, m := range p.members {
		id := consensus.MemberID(i)
		if i > 0 {
			b.WriteString("; ")
		}
		switch {
		case m.cmd == nil:
			fmt.Fprintf(&b, "member %d: never started", id)
		case !p.Running(id):
			fmt.Fprintf(&b, "member %d: exited (%v)", id, m.waitErr)
		default:
			v, err := p.View(id)
			if err != nil {
				fmt.Fprintf(&b, "member %d: pid %d, no view (%v)", id, m.cmd.Process.Pid, err)
				continue
			}
			fmt.Fprintf(&b, "member %d: pid %d %v term %d leader %d commit %d applied %d end %d",
				id, v.PID, v.Role, v.Term, v.Leader, v.Commit, v.Applied, v.LogEnd)
		}
	}
	return b.String()
}

// PollUntil calls cond every PollInterval until it reports true or timeout
// passes (ErrTimeout).
func PollUntil(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("%w after %v", ErrTimeout, timeout)
		}
		time.Sleep(PollInterval) // poll interval
	}
	return nil
}
