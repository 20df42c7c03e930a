package failover

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"venue/archive"
	"venue/cluster/clusterbench"
	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/cluster/logstore"
	"venue/cluster/member"
	"venue/cluster/module"
	"venue/transport"
)

// Recovery benchmark bounds and defaults.
const (
	// RecoveryEntriesMax bounds RecoveryConfig.Entries.
	RecoveryEntriesMax = 100_000_000
	// recoveryPayloadDefault is the default session message payload.
	recoveryPayloadDefault = 32
	// recoveryBatchBytes is how much log the builder appends at a time.
	recoveryBatchBytes = 1 << 20
	// recoveryTimeout bounds one recovery.
	recoveryTimeout = 2 * time.Minute
	// recoveryPoll is how often the bench reads the member's status.
	recoveryPoll = 100 * time.Microsecond
	// applyTimedMin: a replay shorter than this is not timed on its own.
	applyTimedMin = 10 * time.Millisecond
	// recoverySession is the session the built log's messages belong to.
	recoverySession consensus.SessionID = 1
	// recoveryTimeStepNs is the cluster time between two built entries:
	// the builder stamps from the member's clock (transport.MonotonicNanos)
	// up, so that a million entries end a millisecond ahead of it.
	recoveryTimeStepNs = 1
)

// RecoveryConfig is one recovery benchmark run.
type RecoveryConfig struct {
	// Entries is the number of session messages in the log.
	Entries int
	// Payload is each message's size in bytes (0: 32).
	Payload int
	// Fsync is the member's log policy ("" : the cluster default, data).
	Fsync config.Fsync
	// Snapshot adds the snapshot variant: the member snapshots at the end
	// of the log it recovered, Entries more messages are appended after
	// the snapshot, and a second recovery loads the snapshot and replays
	// only those.
	Snapshot bool
	// Dir is the data directory ("" : a temporary one, removed after).
	Dir      string
	Progress io.Writer
}

// RecoveryResult is what `venue bench recovery --json` prints. The member
// is the only member of its cluster (a single-member cluster commits its
// whole log as soon as it has elected itself), running CountingEcho.
type RecoveryResult struct {
	Entries  int   `json:"entries"`
	Payload  int   `json:"payload_bytes"`
	LogBytes int64 `json:"log_bytes"`
	// Seconds: from the start of member.Launch until the service has
	// applied the whole log; EntriesPerSec = Entries / Seconds.
	Seconds       float64 `json:"seconds"`
	EntriesPerSec float64 `json:"entries_per_sec"`
	// LaunchSeconds: member.Launch (log store recovery, snapshot load, the
	// consensus node's start); LeaderSeconds: until it elected itself.
	LaunchSeconds float64 `json:"launch_seconds"`
	LeaderSeconds float64 `json:"leader_seconds"`
	// ApplyEntriesPerSec: Entries over the time from the election to the
	// whole log applied (replay alone); 0 when that took less than
	// applyTimedMin, too little to tell apart from the polling.
	ApplyEntriesPerSec float64 `json:"apply_entries_per_sec"`
	BuildSeconds       float64 `json:"build_seconds"`
	// The snapshot variant (Snapshot): the recovery from the snapshot plus
	// SnapshotReplayed entries after it, and its rate over those entries.
	SnapshotSeconds       float64 `json:"snapshot_seconds,omitempty"`
	SnapshotReplayed      int     `json:"snapshot_replayed_entries,omitempty"`
	SnapshotEntriesPerSec float64 `json:"snapshot_entries_per_sec,omitempty"`
	SnapshotLaunchSeconds float64 `json:"snapshot_launch_seconds,omitempty"`
}

// RunRecovery builds the log, recovers a member from it and reports the
// times; with Snapshot it also recovers from a snapshot.
func RunRecovery(cfg RecoveryConfig) (RecoveryResult, error) {
	if cfg.Payload == 0 {
		cfg.Payload = recoveryPayloadDefault
	}
	if cfg.Entries < 1 || cfg.Entries > RecoveryEntriesMax || cfg.Payload < 0 || cfg.Payload > consensus.PayloadLengthMax {
		return RecoveryResult{}, fmt.Errorf("failover: bad recovery config: %d entries (1..%d), payload %d (0..%d)",
			cfg.Entries, RecoveryEntriesMax, cfg.Payload, consensus.PayloadLengthMax)
	}
	dir := cfg.Dir
	if dir == "" {
		d, err := os.MkdirTemp("", "venue-bench-recovery-")
		if err != nil {
			return RecoveryResult{}, fmt.Errorf("failover: %w", err)
		}
		defer os.RemoveAll(d)
		dir = d
	}
	base, err := clusterbench.FreeBasePort(1)
	if err != nil {
		return RecoveryResult{}, err
	}
	cc := config.Loopback(1, base, dir)
	if cfg.Fsync != "" {
		cc.Fsync = cfg.Fsync
	}
	res := RecoveryResult{Entries: cfg.Entries, Payload: cfg.Payload}
	t0 := time.Now()
	end, err := BuildLog(member.DataDir(cc, 0), cfg.Entries, cfg.Payload)
	if err != nil {
		return res, err
	}
	res.BuildSeconds, res.LogBytes = time.Since(t0).Seconds(), int64(end)
	progressf(cfg.Progress, "built %d entries (%d bytes) in %.2f s\n", cfg.Entries, end, res.BuildSeconds)
	r, err := recoverOnce(cc, end, uint64(cfg.Entries), cfg.Snapshot)
	if err != nil {
		return res, err
	}
	res.Seconds, res.LaunchSeconds, res.LeaderSeconds = r.total.Seconds(), r.launch.Seconds(), r.leader.Seconds()
	res.EntriesPerSec = float64(cfg.Entries) / r.total.Seconds()
	if apply := r.total - r.leader; apply >= applyTimedMin {
		res.ApplyEntriesPerSec = float64(cfg.Entries) / apply.Seconds()
	}
	progressf(cfg.Progress, "recovered %d entries in %.3f s (launch %.3f s, elected at %.3f s)\n", cfg.Entries,
		res.Seconds, res.LaunchSeconds, res.LeaderSeconds)
	if !cfg.Snapshot {
		return res, nil
	}
	end, err = AppendMessages(member.DataDir(cc, 0), cfg.Entries, cfg.Payload, int64(cfg.Entries)+1)
	if err != nil {
		return res, err
	}
	r, err = recoverOnce(cc, end, 2*uint64(cfg.Entries), false)
	if err != nil {
		return res, err
	}
	if !r.restored {
		return res, errors.New("failover: the second recovery did not start from the snapshot")
	}
	res.SnapshotSeconds, res.SnapshotLaunchSeconds = r.total.Seconds(), r.launch.Seconds()
	res.SnapshotReplayed = cfg.Entries
	res.SnapshotEntriesPerSec = float64(cfg.Entries) / r.total.Seconds()
	progressf(cfg.Progress, "recovered from the snapshot plus %d entries in %.3f s\n", cfg.Entries, res.SnapshotSeconds)
	return res, nil
}

func progressf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format, args...)
	}
}

// recovery is one measured start.
type recovery struct {
	launch, leader, total time.Duration
	restored              bool
}

// recoverOnce launches the member, waits until it has applied the log up
// to end, checks the echo count, optionally snapshots, and closes it.
func recoverOnce(cc config.Cluster, end consensus.Position, want uint64, snapshot bool) (recovery, error) {
	var r recovery
	echo, err := NewCountingEcho(nil, 0)
	if err != nil {
		return r, err
	}
	start := time.Now()
	n, err := member.Launch(cc, 0, echo, member.Options{})
	if err != nil {
		return r, err
	}
	defer n.Close()
	r.launch = time.Since(start)
	deadline := start.Add(recoveryTimeout)
	for {
		// The node's own status, read on the member's goroutine: Member.Status
		// can lag a whole apply batch behind (see the report of
		// TestRegressionStatusAppliedLagsOneBatch).
		var st consensus.Status
		if !n.Inspect(func(a *module.Agent) { st = a.Node().Status() }) {
			return r, fmt.Errorf("failover: member stopped: %v", n.Err())
		}
		if r.leader == 0 && st.Role == consensus.RoleLeader {
			r.leader = time.Since(start)
		}
		if st.Applied >= end {
			r.total = time.Since(start)
			break
		}
		if time.Now().After(deadline) {
			return r, fmt.Errorf("failover: member applied %d of %d after %v (%+v, err %v)", st.Applied, end,
				recoveryTimeout, st, n.Err())
		}
		time.Sleep(recoveryPoll) // poll interval
	}
	var applied uint64
	n.Inspect(func(_ *module.Agent) { applied, _ = echo.State(); r.restored = echo.Restored })
	if applied != want {
		return r, fmt.Errorf("failover: the service applied %d messages, want %d", applied, want)
	}
	if snapshot {
		return r, snapshotAndWait(n)
	}
	return r, nil
}

// snapshotAndWait takes a snapshot of the single member and waits until it
// is on disk.
func snapshotAndWait(n *member.Node) error {
	p, err := n.Snapshot()
	if err != nil {
		return fmt.Errorf("failover: snapshot: %w", err)
	}
	return PollUntil(recoveryTimeout, func() bool {
		taken, _, _, last := n.SnapshotStats()
		return taken > 0 && last >= p
	})
}

// BuildLog writes a fresh member log in dir: the first term's entry, a
// session open and entries session messages (payload bytes each, numbered
// correlation ids from 1), with the member's term and vote. It returns the
// log's end.
func BuildLog(dir string, entries, payload int) (consensus.Position, error) {
	st, err := logstore.Open(logstore.Config{Dir: dir, Fsync: archive.FsyncNone})
	if err != nil {
		return 0, fmt.Errorf("failover: build log: %w", err)
	}
	defer st.Close()
	if st.End() != 0 {
		return 0, fmt.Errorf("failover: build log: %s already holds a log", dir)
	}
	const term consensus.TermID = 1
	if err := st.SaveHardState(consensus.HardState{Term: term, Vote: 0}); err != nil {
		return 0, fmt.Errorf("failover: build log: %w", err)
	}
	open := consensus.AppendSessionOpen(nil, &consensus.SessionOpen{ResponseStreamID: 1,
		ResponseChannel: []byte("udp?endpoint=127.0.0.1:9"), Principal: []byte("bench")})
	b := consensus.AppendEntry(nil, &consensus.LogEntry{Type: consensus.EntryNewLeadershipTerm, TermID: term,
		LeaderID: 0, Timestamp: recoveryTimeStepNs})
	b = consensus.AppendEntry(b, &consensus.LogEntry{Type: consensus.EntrySessionOpen, SessionID: recoverySession,
		CorrelationID: 1, Timestamp: 2 * recoveryTimeStepNs, Payload: open})
	if err := st.Append(term, b); err != nil {
		return 0, fmt.Errorf("failover: build log: %w", err)
	}
	return appendMessages(st, term, entries, payload, 1)
}

// AppendMessages appends entries more session messages (correlation ids
// from firstCorr) to the log in dir, in its last term, as that term's
// leader would, and returns the log's end. The member must be stopped.
func AppendMessages(dir string, entries, payload int, firstCorr int64) (consensus.Position, error) {
	st, err := logstore.Open(logstore.Config{Dir: dir, Fsync: archive.FsyncNone})
	if err != nil {
		return 0, fmt.Errorf("failover: append to log: %w", err)
	}
	defer st.Close()
	terms := st.Terms()
	if len(terms) == 0 {
		return 0, fmt.Errorf("failover: append to log: %s holds no term", dir)
	}
	return appendMessages(st, terms[len(terms)-1].Term, entries, payload, firstCorr)
}

func appendMessages(st *logstore.Store, term consensus.TermID, entries, payload int, firstCorr int64) (consensus.Position, error) {
	p := make([]byte, payload)
	e := consensus.LogEntry{Type: consensus.EntrySessionMessage, SessionID: recoverySession, Payload: p}
	buf := make([]byte, 0, recoveryBatchBytes+consensus.EntryLengthMax)
	ts := transport.MonotonicNanos() // cluster time only has to rise past what the log holds
	for i := range entries {
		corr := firstCorr + int64(i)
		if len(p) >= 8 {
			p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7] = byte(corr), byte(corr>>8), byte(corr>>16),
				byte(corr>>24), byte(corr>>32), byte(corr>>40), byte(corr>>48), byte(corr>>56)
		}
		e.CorrelationID, e.Timestamp = corr, ts+int64(i)*recoveryTimeStepNs
		buf = consensus.AppendEntry(buf, &e)
		if len(buf) >= recoveryBatchBytes {
			if err := st.Append(term, buf); err != nil {
				return 0, fmt.Errorf("failover: build log: %w", err)
			}
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		if err := st.Append(term, buf); err != nil {
			return 0, fmt.Errorf("failover: build log: %w", err)
		}
	}
	return st.End(), nil // FsyncNone: written; the member's Open syncs what it keeps
}
