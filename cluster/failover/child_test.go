package failover

import (
	"bufio"
	"bytes"
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"venue/archive"
	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/cluster/logstore"
	"venue/cluster/member"
	"venue/cluster/module"
	"venue/cluster/peer"
	"venue/transport"
)

// The test binary is also the member process: TestMain runs a member when
// childEnv names one ("config path|member id|mode"), so that tests kill real
// processes without building the venue binary.
const childEnv = "VENUE_FAILOVER_TEST_MEMBER"

// Child modes.
const (
	modeNormal = "normal"
	// modeStallSnapshot: the member's snapshot writer records part of each
	// snapshot, creates stallMarker in the data directory and then blocks
	// for ever, so that a kill lands in the middle of the write.
	modeStallSnapshot = "stall-snapshot"
	stallMarker       = "snapshot-stalled"
	// modeIdle runs no member: it answers "ping" with "pong" (Procs tests);
	// modeIgnoreTerm does the same but ignores SIGTERM.
	modeIdle       = "idle"
	modeIgnoreTerm = "ignore-term"
	// modeSmallLog: a normal member whose log store rolls every
	// smallLogSegmentLength bytes and which keeps one snapshot, so that
	// retention purges its log soon after a snapshot.
	modeSmallLog          = "small-log"
	smallLogSegmentLength = 64 << 10
)

// childCountersCapacity sizes a test member's counters file (venue node's
// memberCountersCapacity).
const childCountersCapacity = 256

// childErrPoll is how often a test member checks that it still runs.
const childErrPoll = 50 * time.Millisecond

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		os.Exit(runChild(spec))
	}
	os.Exit(m.Run())
}

// childMember is what a test member runs: a member of either kind.
type childMember interface {
	Snapshot() (consensus.Position, error)
	SnapshotStats() (taken, skipped, failed int64, last consensus.Position)
	Err() error
	Close() error
}

// runChild runs one member until SIGTERM, end of input, or its failure. It
// answers one line per request line on stdin:
//
//	snapshot  -> "ok <position>" | "not-leader" | "error <message>"
//	recovered -> "recovered <position>": the snapshot it started from (0: none)
func runChild(spec string) int {
	parts := strings.Split(spec, "|")
	if len(parts) != 3 {
		fmt.Fprintf(os.Stderr, "bad %s=%q\n", childEnv, spec)
		return 2
	}
	id, err := strconv.Atoi(parts[1])
	if err != nil {
		fmt.Fprintf(os.Stderr, "bad member id %q\n", parts[1])
		return 2
	}
	if parts[2] == modeIdle || parts[2] == modeIgnoreTerm {
		return serveChild(nil, 0, parts[2] == modeIgnoreTerm)
	}
	cc, err := config.Load(parts[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mid := consensus.MemberID(id)
	if err := os.MkdirAll(member.DataDir(cc, mid), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cm, err := transport.CreateCountersFile(CountersPath(cc, mid), childCountersCapacity)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cm.Close()
	echo, err := NewCountingEcho(cm, mid)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	var m childMember
	switch parts[2] {
	case modeStallSnapshot:
		m, err = launchStalling(cc, mid, echo, cm)
	case modeSmallLog:
		cc.SnapshotKeep = 1
		m, err = member.Launch(cc, mid, echo, member.Options{Counters: cm, LogSegmentLength: smallLogSegmentLength})
	default:
		m, err = member.Launch(cc, mid, echo, member.Options{Counters: cm})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_, _, _, recovered := m.SnapshotStats() // before any snapshot can be taken
	fmt.Fprintf(os.Stderr, "member %d (%s) started, recovered from snapshot at %d\n", id, parts[2], recovered)
	code := serveChild(m, recovered, false)
	if parts[2] == modeStallSnapshot {
		return code // Close would wait for the stalled writer
	}
	closeStart := time.Now()
	if err := m.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
	}
	fmt.Fprintf(os.Stderr, "member %d closed in %v\n", id, time.Since(closeStart))
	return code
}

func serveChild(m childMember, recovered consensus.Position, ignoreTerm bool) int {
	sig := make(chan os.Signal, 1)
	if ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	} else {
		signal.Notify(sig, syscall.SIGTERM)
	}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	tick := time.NewTicker(childErrPoll)
	defer tick.Stop()
	for {
		select {
		case <-sig:
			return 0
		case line, ok := <-lines:
			if !ok {
				return 0 // the test is gone
			}
			fmt.Println(answer(m, line, recovered))
		case <-tick.C:
			if m == nil {
				continue
			}
			if err := m.Err(); err != nil {
				fmt.Fprintln(os.Stderr, "member failed:", err)
				return 1
			}
		}
	}
}

func answer(m childMember, line string, recovered consensus.Position) string {
	if m == nil {
		if line == "ping" {
			return "pong"
		}
		return "error no member"
	}
	switch line {
	case "snapshot":
		p, err := m.Snapshot()
		switch {
		case errors.Is(err, member.ErrNotLeader):
			return "not-leader"
		case err != nil:
			return "error " + err.Error()
		}
		return fmt.Sprintf("ok %d", p)
	case "recovered":
		return fmt.Sprintf("recovered %d", recovered)
	}
	return "error unknown request " + strconv.Quote(line)
}

// stallingMember is member.Launch's assembly with a snapshot store that
// stalls (member.Launch has no seam for the store).
type stallingMember struct {
	*member.Member
	driver *transport.Driver
	peers  *peer.Transport
	store  *logstore.Store
}

func launchStalling(c config.Cluster, id consensus.MemberID, svc *CountingEcho, cm *transport.CountersManager) (*stallingMember, error) {
	fsync := archive.FsyncNone
	if c.Fsync == config.FsyncData {
		fsync = archive.FsyncData
	}
	dir := member.DataDir(c, id)
	store, err := logstore.Open(logstore.Config{Dir: dir, Fsync: fsync})
	if err != nil {
		return nil, err
	}
	s := &stallingMember{store: store}
	if s.driver, err = transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingInvoker, Counters: cm}); err != nil {
		return nil, err
	}
	pc, err := c.PeerConfig(s.driver, id)
	if err != nil {
		return nil, err
	}
	if s.peers, err = peer.New(pc); err != nil {
		return nil, err
	}
	var seed [16]byte
	_, _ = cryptorand.Read(seed[:])
	rnd := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	s.Member, err = member.Start(member.Config{
		Consensus: c.ConsensusConfig(id, rnd), Driver: s.driver, InvokeDriver: true, Peers: s.peers,
		Store: store, Hard: store, OnLogAppended: store.LogAppended, IngressEndpoint: c.Members[id].Ingress,
		Sessions: module.SessionConfig{SessionsMax: c.MaxSessions, SessionTimeoutNs: int64(c.SessionTimeout),
			IngressLimit: c.SessionIngressLimit},
		Service: svc, Counters: cm,
		Snapshots:    &stallingStore{Store: store, marker: filepath.Join(dir, stallMarker)},
		SnapshotKeep: c.SnapshotKeep,
	})
	return s, err
}

// stallingStore writes a snapshot's bytes and more (so that part of the
// recording is on disk), marks the stall and never returns.
type stallingStore struct {
	*logstore.Store
	marker string
}

func (s *stallingStore) WriteSnapshot(meta logstore.SnapshotMeta, r io.Reader) (logstore.SnapshotRecord, error) {
	w, err := s.CreateSnapshot(meta)
	if err != nil {
		return logstore.SnapshotRecord{}, err
	}
	if _, err := io.Copy(w, r); err != nil {
		return logstore.SnapshotRecord{}, err
	}
	// Past the writer's buffer, so that some of it is recorded in the file.
	if _, err := w.Write(bytes.Repeat([]byte{0xee}, 2*archive.BlockLengthMax)); err != nil {
		return logstore.SnapshotRecord{}, err
	}
	if err := os.WriteFile(s.marker, nil, 0o644); err != nil {
		return logstore.SnapshotRecord{}, err
	}
	select {} // killed here
}
