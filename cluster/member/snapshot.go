package member

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"venue/cluster"
	"venue/cluster/consensus"
	"venue/cluster/logstore"
)

// SnapshotStore keeps a member's snapshots (logstore.Store implements it).
type SnapshotStore interface {
	WriteSnapshot(meta logstore.SnapshotMeta, r io.Reader) (logstore.SnapshotRecord, error)
	OpenSnapshot(rec logstore.SnapshotRecord) (io.ReadCloser, error)
	RecoveryPlan(serviceIDs ...int32) (logstore.RecoveryPlan, error)
	Retain(keep int) error
	DurablePosition() consensus.Position
}

// Snapshot layout: a member's snapshot is one blob holding the consensus
// module's session state, the container's state and the service's
// snapshot, taken on the member's goroutine at the log position of a
// snapshot action — the same position on every member.
//
//	0        8          16        24      32           36          40
//	+--------+----------+---------+-------+------------+-----------+-------+---------+---------+
//	| magic  | position | time ns | term  | sessions n | container | sess. | contain.| service |
//	+--------+----------+---------+-------+------------+-----n-----+-------+---------+---------+
const (
	snapshotMagic        = "VNSNAP01"
	snapshotHeaderLength = 40
	// snapshotServiceID is the recording log's service id for the blob.
	snapshotServiceID = 0
	// snapshotQueueMax bounds snapshots serialized but not yet on disk; a
	// snapshot that finds the queue full is skipped (counted): it was a
	// local copy, the log still holds everything.
	snapshotQueueMax = 1
	// snapshotDurableWait bounds the wait for the log to be durable up to
	// a snapshot's position before the snapshot is written (a snapshot
	// must never be ahead of the log a restart replays from it).
	snapshotDurableWait = 30 * time.Second
	// snapshotBytesMax bounds a snapshot blob read back at recovery.
	snapshotBytesMax = 4 << 30
	// defaultSnapshotKeep is how many snapshots retention keeps.
	defaultSnapshotKeep = 3
)

// ErrBadSnapshot: a snapshot blob did not decode.
var ErrBadSnapshot = errors.New("member: bad snapshot")

// SnapshotBlob is a member snapshot's parts; byte sections alias the blob
// they were decoded from. Offline tools (venue replay) read and write it.
type SnapshotBlob struct {
	Position  consensus.Position
	TimeNs    int64
	Term      consensus.TermID
	Sessions  []byte // module.Sessions.AppendState
	Container []byte // container.AppendState
	Service   []byte // the service's OnTakeSnapshot
}

// AppendSnapshotBlob appends the encoding of b to dst.
func AppendSnapshotBlob(dst []byte, b *SnapshotBlob) []byte {
	le := binary.LittleEndian
	dst = append(dst, snapshotMagic...)
	dst = le.AppendUint64(dst, uint64(b.Position))
	dst = le.AppendUint64(dst, uint64(b.TimeNs))
	dst = le.AppendUint64(dst, uint64(b.Term))
	dst = le.AppendUint32(dst, uint32(len(b.Sessions)))
	dst = le.AppendUint32(dst, uint32(len(b.Container)))
	dst = append(dst, b.Sessions...)
	dst = append(dst, b.Container...)
	return append(dst, b.Service...)
}

// DecodeSnapshotBlob splits a snapshot blob into its parts. It never
// panics.
func DecodeSnapshotBlob(blob []byte) (SnapshotBlob, error) {
	if len(blob) < snapshotHeaderLength || string(blob[:8]) != snapshotMagic {
		return SnapshotBlob{}, fmt.Errorf("%w: no %s header (%d bytes)", ErrBadSnapshot, snapshotMagic, len(blob))
	}
	le := binary.LittleEndian
	b := SnapshotBlob{Position: consensus.Position(le.Uint64(blob[8:])), TimeNs: int64(le.Uint64(blob[16:])),
		Term: consensus.TermID(le.Uint64(blob[24:]))}
	ns, nc := uint64(le.Uint32(blob[32:])), uint64(le.Uint32(blob[36:]))
	body := blob[snapshotHeaderLength:]
	if ns+nc > uint64(len(body)) {
		return SnapshotBlob{}, fmt.Errorf("%w: sections of %d and %d bytes in %d", ErrBadSnapshot, ns, nc, len(body))
	}
	b.Sessions, b.Container, b.Service = body[:ns:ns], body[ns:ns+nc:ns+nc], body[ns+nc:]
	return b, nil
}

type snapshotJob struct {
	position consensus.Position
	timeNs   int64
	term     consensus.TermID
	blob     []byte
}

// takeSnapshot runs on the member's goroutine when a snapshot action is
// applied: it serializes the whole state in memory (the only pause the
// cluster sees) and hands the bytes to the writer goroutine.
func (m *Member) takeSnapshot(position cluster.Position, timeNs int64) {
	m.lastSnapshotNs = m.nowNs
	if m.snapshots == nil {
		return
	}
	term := m.agent.Status().Term
	var service bytes.Buffer
	if err := m.container.TakeServiceSnapshot(&service); err != nil {
		m.snapshotErrors.Add(1)
		return
	}
	b := AppendSnapshotBlob(nil, &SnapshotBlob{Position: position, TimeNs: timeNs, Term: term,
		Sessions: m.sessions.AppendState(nil), Container: m.container.AppendState(nil), Service: service.Bytes()})
	select {
	case m.snapshotJobs <- snapshotJob{position: position, timeNs: timeNs, term: term, blob: b}:
	default:
		m.snapshotsSkipped.Add(1)
	}
}

// writeSnapshots is the writer goroutine: it waits until the log is durable
// up to the snapshot's position, writes it (the store records it only once
// it is durable), and has the member goroutine apply retention.
func (m *Member) writeSnapshots() {
	defer close(m.snapshotDone)
	for job := range m.snapshotJobs {
		deadline := time.Now().Add(snapshotDurableWait)
		for m.snapshots.DurablePosition() < job.position && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond) // the syncer's pace; bounded by snapshotDurableWait
		}
		if m.snapshots.DurablePosition() < job.position {
			m.snapshotErrors.Add(1)
			continue
		}
		_, err := m.snapshots.WriteSnapshot(logstore.SnapshotMeta{ServiceID: snapshotServiceID, Term: job.term,
			Position: job.position, TimestampNs: job.timeNs}, bytes.NewReader(job.blob))
		if err != nil {
			m.snapshotErrors.Add(1)
			continue
		}
		m.snapshotsTaken.Add(1)
		m.lastSnapshotPosition.Store(int64(job.position))
		keep := m.cfg.SnapshotKeep
		m.do(func(int64) { // retention purges log segments: the store's writer goroutine does it
			// First: the node may offer this snapshot to a follower that
			// needs log retention is about to purge.
			m.serve(job.blob, job.position)
			if err := m.snapshots.Retain(keep); err != nil {
				m.snapshotErrors.Add(1)
			}
		})
	}
}

// recover finds the newest usable snapshot, if any: it returns the position
// the log replays from and keeps the snapshot for startService, which the
// consensus module runs when the member first applies entries or leads
// (module.Agent.DeferStart) — so that a snapshot installed from a peer
// before then can take its place.
func (m *Member) recover() (consensus.Position, error) {
	if m.snapshots == nil {
		return 0, nil
	}
	plan, err := m.snapshots.RecoveryPlan(snapshotServiceID)
	if err != nil {
		return 0, fmt.Errorf("recovery plan: %w", err)
	}
	if len(plan.Snapshots) == 0 {
		return 0, nil
	}
	rec := plan.Snapshots[0]
	r, err := m.snapshots.OpenSnapshot(rec)
	if err != nil {
		return 0, fmt.Errorf("open snapshot at %d: %w", rec.Position, err)
	}
	defer r.Close()
	blob, err := io.ReadAll(io.LimitReader(r, snapshotBytesMax))
	if err != nil {
		return 0, fmt.Errorf("read snapshot at %d: %w", rec.Position, err)
	}
	b, err := DecodeSnapshotBlob(blob)
	if err != nil {
		return 0, fmt.Errorf("snapshot at %d: %w", rec.Position, err)
	}
	if b.Position != rec.Position {
		return 0, fmt.Errorf("%w: recorded at %d, says %d", ErrBadSnapshot, rec.Position, b.Position)
	}
	m.pending = pendingStart{snapshot: &b}
	m.serve(blob, b.Position)
	m.lastSnapshotPosition.Store(int64(b.Position))
	return b.Position, nil
}

// pendingStart is what the service starts from: a snapshot, or (nil)
// nothing, at log position 0.
type pendingStart struct{ snapshot *SnapshotBlob }

// startService restores the session layer and the container from the
// pending snapshot and starts the service (OnStart). The consensus module
// calls it once, on the member's goroutine (module.Agent.DeferStart).
func (m *Member) startService(nowNs int64) error {
	b := m.pending.snapshot
	m.pending = pendingStart{}
	if b == nil {
		return m.container.Start(nil, 0)
	}
	if err := m.sessions.RestoreState(b.Sessions, nowNs); err != nil {
		return fmt.Errorf("member %d: snapshot at %d: %w", m.ID(), b.Position, err)
	}
	if err := m.container.StartFrom(b.Container, bytes.NewReader(b.Service), b.Position); err != nil {
		return fmt.Errorf("member %d: snapshot at %d: %w", m.ID(), b.Position, err)
	}
	return nil
}

// ErrNoSnapshots: the member keeps no snapshots (Config.Snapshots is nil).
var ErrNoSnapshots = errors.New("member: keeps no snapshots")

// purge applies log retention now (on the member's goroutine): it keeps the
// newest SnapshotKeep snapshots and purges the log below the oldest kept,
// as happens after every snapshot, and returns where the log now starts.
func (m *Member) purge() (consensus.Position, error) {
	if m.snapshots == nil {
		return 0, ErrNoSnapshots
	}
	if err := m.snapshots.Retain(m.cfg.SnapshotKeep); err != nil {
		m.snapshotErrors.Add(1)
		return 0, fmt.Errorf("member %d: retain %d snapshots: %w", m.ID(), m.cfg.SnapshotKeep, err)
	}
	if st, ok := m.cfg.Store.(interface{ Start() consensus.Position }); ok {
		return st.Start(), nil
	}
	return 0, nil
}

// Purge applies log retention now (see the control toggle's TogglePurge)
// and returns where the log starts afterwards.
func (m *Member) Purge() (consensus.Position, error) {
	var p consensus.Position
	var err error
	if !m.do(func(int64) { p, err = m.purge() }) {
		return 0, ErrClosed
	}
	return p, err
}

// SnapshotStats reports snapshots taken, skipped (writer busy), failed, and
// the position of the newest one (taken or recovered from).
func (m *Member) SnapshotStats() (taken, skipped, failed int64, last consensus.Position) {
	return m.snapshotsTaken.Load(), m.snapshotsSkipped.Load(), m.snapshotErrors.Load(),
		consensus.Position(m.lastSnapshotPosition.Load())
}
