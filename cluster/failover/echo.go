package failover

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"venue/cluster"
	"venue/transport"
)

// Counter types of CountingEcho, in the venue's range: a tool (Procs) finds
// them by type id in a member's counters file.
const (
	CounterEchoApplied int32 = transport.CounterTypeVenueBase + 90
	CounterEchoDigest  int32 = transport.CounterTypeVenueBase + 91
)

// Echo snapshot layout: magic, applied count, digest, little-endian.
const (
	echoSnapshotMagic  = "VNECHO01"
	echoSnapshotLength = 8 + 8 + 8
	// fnvOffset64 and fnvPrime64 are FNV-1a's 64-bit parameters.
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// ErrBadEchoSnapshot: a CountingEcho snapshot did not decode.
var ErrBadEchoSnapshot = errors.New("failover: bad echo snapshot")

// CountingEcho is an echo service that keeps state worth comparing: how many
// session messages it applied and an FNV-1a digest of them (session id,
// length and payload, in log order). Every member applying the same log
// holds the same pair, whether it got there by replay or from a snapshot.
// It echoes each message to its session like clusterbench.Echo.
type CountingEcho struct {
	applied uint64
	digest  uint64
	// Restored reports whether OnStart loaded a snapshot.
	Restored bool
	// appliedCtr and digestCtr publish the state (nil: not published).
	appliedCtr, digestCtr *transport.Counter
}

// NewCountingEcho returns an empty CountingEcho that publishes its state in
// cm (nil: nowhere) for member id.
func NewCountingEcho(cm *transport.CountersManager, id cluster.MemberID) (*CountingEcho, error) {
	e := &CountingEcho{digest: fnvOffset64}
	if cm == nil {
		return e, nil
	}
	var err error
	if e.appliedCtr, err = cm.Allocate(CounterEchoApplied, fmt.Sprintf("echo messages applied: member %d", id)); err != nil {
		return nil, fmt.Errorf("failover: echo counters: %w", err)
	}
	if e.digestCtr, err = cm.Allocate(CounterEchoDigest, fmt.Sprintf("echo digest: member %d", id)); err != nil {
		return nil, fmt.Errorf("failover: echo counters: %w", err)
	}
	e.publish()
	return e, nil
}

// State returns the messages applied and their digest. Call it from the
// member's goroutine (or once the member stopped).
func (e *CountingEcho) State() (applied, digest uint64) { return e.applied, e.digest }

func (e *CountingEcho) publish() {
	if e.appliedCtr != nil {
		e.appliedCtr.Set(int64(e.applied))
		e.digestCtr.Set(int64(e.digest))
	}
}

// OnStart implements cluster.ClusteredService.
func (e *CountingEcho) OnStart(_ cluster.Cluster, snapshot io.Reader) error {
	e.applied, e.digest, e.Restored = 0, fnvOffset64, false
	if snapshot != nil {
		b, err := io.ReadAll(io.LimitReader(snapshot, echoSnapshotLength+1))
		if err != nil {
			return fmt.Errorf("failover: read echo snapshot: %w", err)
		}
		if e.applied, e.digest, err = DecodeEchoSnapshot(b); err != nil {
			return err
		}
		e.Restored = true
	}
	e.publish()
	return nil
}

// OnSessionOpen implements cluster.ClusteredService.
func (e *CountingEcho) OnSessionOpen(cluster.ClientSession, int64) {}

// OnSessionClose implements cluster.ClusteredService.
func (e *CountingEcho) OnSessionClose(cluster.ClientSession, int64, cluster.CloseReason) {}

// OnSessionMessage implements cluster.ClusteredService: count, digest, echo.
func (e *CountingEcho) OnSessionMessage(s cluster.ClientSession, _ int64, _ cluster.Position, p []byte) {
	var id cluster.SessionID
	if s != nil {
		id = s.ID()
	}
	var hdr [16]byte
	binary.LittleEndian.PutUint64(hdr[:], uint64(id))
	binary.LittleEndian.PutUint64(hdr[8:], uint64(len(p)))
	e.digest = fnv1a(fnv1a(e.digest, hdr[:]), p)
	e.applied++
	e.publish()
	if s != nil {
		s.Offer(p)
	}
}

func fnv1a(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime64
	}
	return h
}

// OnTimerEvent implements cluster.ClusteredService.
func (e *CountingEcho) OnTimerEvent(int64, int64) {}

// OnTakeSnapshot implements cluster.ClusteredService.
func (e *CountingEcho) OnTakeSnapshot(w io.Writer) error {
	_, err := w.Write(AppendEchoSnapshot(nil, e.applied, e.digest))
	return err
}

// OnRoleChange implements cluster.ClusteredService.
func (e *CountingEcho) OnRoleChange(cluster.Role) {}

// OnTerminate implements cluster.ClusteredService.
func (e *CountingEcho) OnTerminate(cluster.Cluster) {}

// AppendEchoSnapshot appends a CountingEcho snapshot of applied and digest.
func AppendEchoSnapshot(dst []byte, applied, digest uint64) []byte {
	dst = append(dst, echoSnapshotMagic...)
	dst = binary.LittleEndian.AppendUint64(dst, applied)
	return binary.LittleEndian.AppendUint64(dst, digest)
}

// DecodeEchoSnapshot decodes a CountingEcho snapshot: exactly
// echoSnapshotLength bytes with the magic first.
func DecodeEchoSnapshot(b []byte) (applied, digest uint64, err error) {
	if len(b) != echoSnapshotLength || string(b[:len(echoSnapshotMagic)]) != echoSnapshotMagic {
		return 0, 0, fmt.Errorf("%w: %d bytes", ErrBadEchoSnapshot, len(b))
	}
	return binary.LittleEndian.Uint64(b[8:]), binary.LittleEndian.Uint64(b[16:]), nil
}
