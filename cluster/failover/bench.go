package failover

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"venue/cluster/clusterbench"
	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/transport"
)

// Benchmark bounds and defaults.
const (
	// KillsMax bounds Config.Kills.
	KillsMax = 1000
	// startTimeout bounds the first election after the members start.
	startTimeout = 30 * time.Second
	// stableLeaderTimeout bounds the wait, before a kill, for every member
	// and the client to agree on the leader.
	stableLeaderTimeout = 30 * time.Second
	// commitTimeoutDefault bounds the wait for the first commit after a
	// kill.
	commitTimeoutDefault = 10 * time.Second
	// catchupTimeoutDefault bounds a restarted member's catch-up.
	catchupTimeoutDefault = 60 * time.Second
	// drainTimeout bounds the wait for the last messages' outcomes.
	drainTimeout = 10 * time.Second
	// quiesceTimeout bounds the wait for every member to apply the whole
	// committed log at the end.
	quiesceTimeout = 30 * time.Second
	// settleDefault is the steady load before the first kill and after
	// each catch-up.
	settleDefault = time.Second
)

// Config is one failover benchmark run.
type Config struct {
	// Members is the cluster size (at least 3: a kill must leave a
	// majority).
	Members int
	// Kills is how many times the leader is killed.
	Kills int
	// Rate is the client's messages per second; Size their bytes.
	Rate float64
	Size int
	// Settle is the steady load before the first kill and between a
	// restarted member's catch-up and the next kill (0: 1 s).
	Settle time.Duration
	// Fsync is the members' log policy ("" : the cluster default, data).
	Fsync config.Fsync
	// Command runs a member: NodeCommand(exe, "echo") for `venue node`, or
	// a test binary.
	Command Command
	// Control: the Command's members answer requests (test members).
	Control bool
	// Dir is the data directory ("" : a temporary one, removed after).
	Dir string
	// CommitTimeout and CatchupTimeout bound each kill's waits (0:
	// defaults of 10 s and 60 s).
	CommitTimeout, CatchupTimeout time.Duration
	// Progress receives a line per kill (nil: none).
	Progress io.Writer
}

// Result is what `venue bench failover --json` prints. Durations are in
// nanoseconds; percentiles are nearest-rank over the kills.
type Result struct {
	Members int     `json:"members"`
	Kills   int     `json:"kills"`
	Rate    float64 `json:"rate"`
	Fsync   string  `json:"fsync"`
	// P50, P99 and Max: kill to the first commit under the new leader.
	P50     int64   `json:"p50_ns"`
	P99     int64   `json:"p99_ns"`
	Max     int64   `json:"max_ns"`
	Samples []int64 `json:"samples_ns"`
	// NewLeaderMax: kill to the client's NewLeader event, the worst kill.
	NewLeaderP50 int64 `json:"new_leader_p50_ns"`
	NewLeaderMax int64 `json:"new_leader_max_ns"`
	// CatchupMax: a restarted member's start to its catch-up, the worst.
	CatchupMax int64 `json:"catchup_max_ns"`
	Safety
	LoadStats
	Committed int64 `json:"committed_position"`
	// FinalTerm is the leader's term at the end: the first leader's term
	// plus one per kill when every election succeeds at its first ballot;
	// more are split votes or leaders deposed.
	FinalTerm int64 `json:"final_term"`
}

// Run starts the members as processes, runs the load, kills the leader
// Kills times (restarting it and waiting for its catch-up after each), then
// stops everything and audits the logs.
func Run(cfg Config) (Result, error) {
	if cfg.Members < 3 || cfg.Kills < 1 || cfg.Kills > KillsMax || cfg.Command == nil || cfg.Rate <= 0 ||
		cfg.Size < loadPayloadMin || cfg.Size > consensus.PayloadLengthMax {
		return Result{}, fmt.Errorf("failover: bad config: %d members (>= 3), %d kills (1..%d), rate %v (> 0), size %d (%d..%d), command set %v",
			cfg.Members, cfg.Kills, KillsMax, cfg.Rate, cfg.Size, loadPayloadMin, consensus.PayloadLengthMax, cfg.Command != nil)
	}
	cfg.Settle = cmpOr(cfg.Settle, settleDefault)
	cfg.CommitTimeout = cmpOr(cfg.CommitTimeout, commitTimeoutDefault)
	cfg.CatchupTimeout = cmpOr(cfg.CatchupTimeout, catchupTimeoutDefault)
	dir := cfg.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "venue-bench-failover-")
		if err != nil {
			return Result{}, fmt.Errorf("failover: %w", err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	procs, err := StartCluster(ClusterConfig{Members: cfg.Members, Dir: dir, Fsync: cfg.Fsync, Command: cfg.Command,
		Control: cfg.Control})
	if err != nil {
		return Result{}, err
	}
	defer procs.Close()
	b := &bench{cfg: cfg, procs: procs}
	return b.run()
}

func cmpOr(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// ClusterConfig configures StartCluster.
type ClusterConfig struct {
	Members int
	Dir     string
	Fsync   config.Fsync
	Command Command
	Control bool
	// Edit, if set, changes the cluster before it is written.
	Edit func(*config.Cluster)
}

// StartCluster writes a loopback cluster file under cfg.Dir (free ports),
// starts every member and waits for a leader.
func StartCluster(cfg ClusterConfig) (*Procs, error) {
	base, err := clusterbench.FreeBasePort(cfg.Members)
	if err != nil {
		return nil, err
	}
	cc := config.Loopback(cfg.Members, base, cfg.Dir)
	if cfg.Fsync != "" {
		cc.Fsync = cfg.Fsync
	}
	if cfg.Edit != nil {
		cfg.Edit(&cc)
	}
	procs, err := NewProcs(ProcsConfig{Cluster: cc, ConfigPath: filepath.Join(cfg.Dir, "cluster.toml"),
		Command: cfg.Command, LogDir: cfg.Dir, Control: cfg.Control})
	if err != nil {
		return nil, err
	}
	for i := range cfg.Members {
		if err := procs.Start(consensus.MemberID(i)); err != nil {
			procs.Close()
			return nil, err
		}
	}
	if _, err := procs.WaitLeader(startTimeout); err != nil {
		procs.Close()
		return nil, err
	}
	return procs, nil
}

// Ingress returns the members' ingress endpoints by id.
func (p *Procs) Ingress() []string {
	var eps []string
	for _, m := range p.cfg.Cluster.Members {
		eps = append(eps, m.Ingress)
	}
	return eps
}

// NewLoad connects a Load to the cluster with the cluster's session ingress
// limit as its window.
func (p *Procs) NewLoad(rate float64, size int) (*Load, error) {
	return NewLoad(LoadConfig{Ingress: p.Ingress(), Rate: rate, Size: size,
		Window: p.cfg.Cluster.SessionIngressLimit})
}

type bench struct {
	cfg      Config
	procs    *Procs
	load     *Load
	samples  []int64
	leaders  []int64
	catchups []int64
}

func (b *bench) run() (Result, error) {
	l, err := b.procs.NewLoad(b.cfg.Rate, b.cfg.Size)
	if err != nil {
		return Result{}, err
	}
	defer l.Close()
	b.load = l
	l.Start()
	if err := l.RunFor(b.cfg.Settle); err != nil {
		return Result{}, err
	}
	for k := range b.cfg.Kills {
		if err := b.killOnce(k); err != nil {
			return Result{}, fmt.Errorf("failover: kill %d: %w (%s)", k+1, err, b.procs.Describe())
		}
	}
	if err := l.Drain(drainTimeout); err != nil {
		return Result{}, err
	}
	stats := l.Stats()
	sessionID := consensus.SessionID(l.SessionID())
	l.Close() // the session's close enters the log: wait for it below
	committed, err := b.procs.WaitQuiescent(quiesceTimeout)
	if err != nil {
		return Result{}, err
	}
	final, _ := b.procs.Leader()
	if err := b.procs.StopAll(); err != nil {
		return Result{}, err
	}
	res := Result{Members: b.cfg.Members, Kills: b.cfg.Kills, Rate: b.cfg.Rate, Fsync: string(b.procs.Cluster().Fsync),
		Samples: b.samples, LoadStats: stats, Committed: int64(committed), FinalTerm: int64(final.Term)}
	res.P50, res.P99, res.Max = percentile(b.samples, 50), percentile(b.samples, 99), percentile(b.samples, 100)
	res.NewLeaderP50, res.NewLeaderMax = percentile(b.leaders, 50), percentile(b.leaders, 100)
	res.CatchupMax = percentile(b.catchups, 100)
	res.Safety, err = CheckLoad(b.procs.Dirs(), l, sessionID, committed)
	return res, err
}

// killOnce kills the leader, times the first commit under the next one,
// restarts the killed member and waits for it to catch up, then runs the
// steady load for Settle.
func (b *bench) killOnce(k int) error {
	l, p := b.load, b.procs
	var leader MemberView
	err := l.RunUntil(stableLeaderTimeout, func() bool {
		var ok bool
		leader, ok = p.Leader()
		return ok && l.Leader() == leader.ID
	})
	if err != nil {
		return fmt.Errorf("no stable leader: %w", err)
	}
	l.Watch() // every message offered from here on is offered after the kill
	killNs, err := p.Kill(leader.ID)
	if err != nil {
		return err
	}
	if err := l.RunUntil(b.cfg.CommitTimeout, func() bool { c, _ := l.Watched(); return c != 0 }); err != nil {
		return fmt.Errorf("no commit after killing leader %d: %w", leader.ID, err)
	}
	commitNs, leaderNs := l.Watched()
	b.samples = append(b.samples, commitNs-killNs)
	if leaderNs != 0 {
		b.leaders = append(b.leaders, leaderNs-killNs)
	}
	next, err := b.waitLeader()
	if err != nil {
		return err
	}
	restartNs := transport.MonotonicNanos()
	if err := p.Start(leader.ID); err != nil {
		return err
	}
	err = l.RunUntil(b.cfg.CatchupTimeout, func() bool { return p.CaughtUp(leader.ID, next.Commit) })
	if err != nil {
		return fmt.Errorf("member %d did not catch up to %d: %w", leader.ID, next.Commit, err)
	}
	b.catchups = append(b.catchups, transport.MonotonicNanos()-restartNs)
	if b.cfg.Progress != nil {
		event := "no NewLeader event"
		if leaderNs != 0 {
			event = fmt.Sprintf("its NewLeader event at %.1f ms", ms(leaderNs-killNs))
		}
		fmt.Fprintf(b.cfg.Progress, "kill %d: leader %d (term %d) -> first commit %.1f ms under leader %d (%s); "+
			"restarted, caught up in %.1f ms\n", k+1, leader.ID, leader.Term, ms(commitNs-killNs), next.ID, event,
			ms(b.catchups[len(b.catchups)-1]))
	}
	return l.RunFor(b.cfg.Settle)
}

// waitLeader steps the load until the surviving members agree on a leader.
func (b *bench) waitLeader() (MemberView, error) {
	var next MemberView
	err := b.load.RunUntil(stableLeaderTimeout, func() bool {
		var ok bool
		next, ok = b.procs.Leader()
		return ok
	})
	return next, err
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }

// CaughtUp reports whether member id runs, follows the leader every running
// member agrees on, and has applied the log up to position.
func (p *Procs) CaughtUp(id consensus.MemberID, position consensus.Position) bool {
	v, err := p.View(id)
	if err != nil {
		return false
	}
	_, ok := p.Leader()
	return ok && v.Applied >= position
}

// WaitQuiescent waits until every member runs, they agree on a leader, and
// every member has applied the leader's whole log (so it is all committed),
// and returns that position.
func (p *Procs) WaitQuiescent(timeout time.Duration) (consensus.Position, error) {
	var pos consensus.Position
	err := PollUntil(timeout, func() bool {
		var ok bool
		pos, ok = p.quiescent()
		return ok
	})
	if err != nil {
		return 0, fmt.Errorf("failover: members not quiescent: %w (%s)", err, p.Describe())
	}
	return pos, nil
}

// quiescent reports whether every member runs, follows one leader and has
// applied all of the leader's log, and the position.
func (p *Procs) quiescent() (consensus.Position, bool) {
	leader, ok := p.Leader()
	if !ok {
		return 0, false
	}
	vs := p.Views()
	if len(vs) != p.Members() {
		return 0, false
	}
	for _, v := range vs {
		if v.Applied != leader.LogEnd || v.Commit != leader.LogEnd {
			return 0, false
		}
	}
	return leader.LogEnd, true
}

// Dirs returns every member's data directory.
func (p *Procs) Dirs() []string {
	dirs := make([]string, p.Members())
	for i := range dirs {
		dirs[i] = p.DataDir(consensus.MemberID(i))
	}
	return dirs
}

// percentile returns the nearest-rank q-th percentile of samples (0 if
// none).
func percentile(samples []int64, q float64) int64 {
	if len(samples) == 0 {
		return 0
	}
	s := slices.Clone(samples)
	slices.Sort(s)
	rank := int(math.Ceil(q/100*float64(len(s)))) - 1
	return s[min(max(rank, 0), len(s)-1)]
}
