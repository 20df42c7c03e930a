package replay

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"venue/cluster/member"

	"venue/cluster/consensus"
	"venue/cluster/logstore"
)

// AuditConfig configures Audit.
type AuditConfig struct {
	Config // the engine settings and progress; Handler and Snapshot are ignored
	// From and To bound the snapshots checked and the log replayed.
	From, To Point
	// ServiceID is the service whose snapshots are checked (the engine: 0).
	ServiceID int32
	// FromSnapshot starts the replay from the newest snapshot at or before
	// From instead of from the log's start (a purged log always does).
	FromSnapshot bool
}

// SnapshotCheck is the audit of one snapshot: the replayed engine's state
// at its position against the state it recorded.
type SnapshotCheck struct {
	Position       consensus.Position `json:"position"`
	Term           consensus.TermID   `json:"term"`
	TimestampNs    int64              `json:"timestamp_ns"`
	RecordingID    int64              `json:"recording_id"`
	Length         int64              `json:"length"`
	ReplayedDigest string             `json:"replayed_digest,omitempty"` // SHA-256 of the replayed state's snapshot
	SnapshotDigest string             `json:"snapshot_digest,omitempty"` // SHA-256 of the recorded snapshot's engine section ("-": no member snapshot)
	Match          bool               `json:"match"`
	Note           string             `json:"note,omitempty"` // why it does not match, or was not compared
}

// Divergence is where the log parts from what it should be.
type Divergence struct {
	// Position is the first position known to be affected: a damaged
	// batch's start, an entry that does not decode, or a snapshot whose
	// state differs.
	Position consensus.Position `json:"position"`
	// Since, for a snapshot that differs, is the last position known to
	// agree (an earlier matching snapshot or where the replay began): the
	// log parts somewhere in (Since, Position]. -1 when Position is exact.
	Since consensus.Position `json:"since"`
	What  string             `json:"what"`
}

// AuditReport is the determinism audit of a data directory.
type AuditReport struct {
	Dir    string             `json:"dir"`
	Start  consensus.Position `json:"log_start"`
	End    consensus.Position `json:"log_end"`
	Terms  int                `json:"terms"`
	Verify Verification       `json:"segments"`
	Replay Stats              `json:"replay"`
	Digest string             `json:"digest,omitempty"` // the replayed state where the replay stopped
	Checks []SnapshotCheck    `json:"snapshots"`
	// Divergences lists every finding, earliest first; First is the
	// earliest.
	Divergences []Divergence `json:"divergences,omitempty"`
	First       *Divergence  `json:"first_divergence,omitempty"`
	// Unchecked counts snapshots in range whose bytes could not be read,
	// so that the audit could not compare them.
	Unchecked int `json:"unchecked_snapshots"`
	// OK: no divergence, and every snapshot in range was compared.
	OK bool `json:"ok"`
}

// Audit replays a data directory and checks it: every segment batch's
// checksum (VerifySegments), every entry's decoding, and at every snapshot
// of cfg.ServiceID in [From, To] the replayed engine's digest against the
// snapshot's. A damaged or diverging log is a finding in the report (OK
// false), not an error; the error is for a directory that cannot be read.
func Audit(dir string, cfg AuditConfig) (AuditReport, error) {
	rep := AuditReport{Dir: dir}
	v, err := VerifySegments(dir)
	if err != nil {
		return rep, err
	}
	rep.Verify = v
	if v.Problem != nil && v.Problem.DataFollows {
		rep.diverge(Divergence{Position: v.Problem.Position, Since: -1, What: "damaged log: " + v.Problem.What})
	}
	src, err := Open(dir, "")
	if err != nil {
		if !errors.Is(err, logstore.ErrCorrupt) {
			return rep, err
		}
		rep.diverge(Divergence{Position: v.End, Since: -1, What: err.Error()})
		return rep.finish(), nil
	}
	defer src.Close()
	rep.Start, rep.End, rep.Terms = src.Start(), src.End(), len(src.Store().Terms())
	if v.Problem == nil && v.Skipped == "" && v.End != src.End() {
		rep.diverge(Divergence{Position: min(v.End, src.End()), Since: -1,
			What: fmt.Sprintf("the segments verify to %d but the log store reads to %d", v.End, src.End())})
	}
	if err := rep.replay(src, cfg); err != nil {
		return rep, err
	}
	return rep.finish(), nil
}

func (rep *AuditReport) diverge(d Divergence) { rep.Divergences = append(rep.Divergences, d) }

func (rep *AuditReport) finish() AuditReport {
	slices.SortStableFunc(rep.Divergences, func(a, b Divergence) int { return int(a.Position - b.Position) })
	if len(rep.Divergences) > 0 {
		rep.First = &rep.Divergences[0]
	}
	rep.OK = len(rep.Divergences) == 0 && rep.Unchecked == 0
	return *rep
}

// replay runs the engine through the range, checking snapshots.
func (rep *AuditReport) replay(src *Source, cfg AuditConfig) error {
	snaps := src.Snapshots(cfg.ServiceID)
	rcfg := cfg.Config
	rcfg.Handler, rcfg.Snapshot = nil, nil
	if cfg.FromSnapshot || src.Start() > 0 {
		start, ok := startSnapshot(snaps, cfg.From, src.Start(), src.End())
		if !ok && src.Start() > 0 {
			return fmt.Errorf("%w: no snapshot of service %d at or before %s", ErrPurged, cfg.ServiceID, cfg.From)
		}
		if ok {
			rcfg.Snapshot = &start
		}
	}
	r, err := NewReplayer(src, rcfg)
	if err != nil {
		rep.diverge(Divergence{Position: src.Start(), Since: -1, What: err.Error()})
		return nil
	}
	agreed := r.Position()
	for _, s := range snaps {
		if s.Position <= r.Position() || !inRange(s, cfg.From, cfg.To) {
			continue
		}
		if s.Position > src.End() {
			rep.Checks = append(rep.Checks, SnapshotCheck{Position: s.Position, Term: s.Term, TimestampNs: s.TimestampNs,
				RecordingID: s.RecordingID, Length: s.Length, Note: "past the log's end: the log lost bytes it had"})
			rep.diverge(Divergence{Position: src.End(), Since: -1,
				What: fmt.Sprintf("a snapshot was taken at %d, past the log's end %d", s.Position, src.End())})
			continue
		}
		if err := r.AdvanceTo(AtPosition(s.Position)); err != nil {
			return rep.replayFailed(r, err)
		}
		c := check(src, r, s)
		rep.Checks = append(rep.Checks, c)
		switch {
		case c.Match:
			agreed = s.Position
		case c.SnapshotDigest == "" && r.Position() == s.Position:
			rep.Unchecked++
		default:
			rep.diverge(Divergence{Position: s.Position, Since: agreed, What: "snapshot differs: " + c.Note})
		}
	}
	if err := r.AdvanceTo(cfg.To); err != nil {
		return rep.replayFailed(r, err)
	}
	rep.Replay = r.Stats()
	d := r.Engine().Digest()
	rep.Digest = hex.EncodeToString(d[:])
	return nil
}

// replayFailed records a replay stopped by a bad entry; other errors are
// returned.
func (rep *AuditReport) replayFailed(r *Replayer, err error) error {
	rep.Replay = r.Stats()
	var pe *PositionError
	if !errors.As(err, &pe) {
		return err
	}
	rep.diverge(Divergence{Position: pe.Position, Since: -1, What: pe.Err.Error()})
	return nil
}

// startSnapshot picks the newest snapshot at or before from (any, if from
// is no bound: the newest) that the log can continue from.
func startSnapshot(snaps []logstore.SnapshotRecord, from Point, start, end consensus.Position) (logstore.SnapshotRecord, bool) {
	for i := len(snaps) - 1; i >= 0; i-- {
		s := snaps[i]
		if s.Position >= start && s.Position <= end && (from.IsZero() || from.covers(s.Position, s.TimestampNs)) {
			return s, true
		}
	}
	return logstore.SnapshotRecord{}, false
}

// inRange reports whether a snapshot lies in [from, to].
func inRange(s logstore.SnapshotRecord, from, to Point) bool {
	switch from.Kind {
	case PointPosition:
		if int64(s.Position) < from.Value {
			return false
		}
	case PointTime:
		if s.TimestampNs < from.Value {
			return false
		}
	}
	return to.covers(s.Position, s.TimestampNs)
}

// check compares the replayed state at a snapshot's position with it: the
// engine's digest with the digest of the snapshot's engine section, and
// the container's state (cluster time, sessions, timers) with its
// container section. The consensus module's section is not compared:
// replay does not run the module.
func check(src *Source, r *Replayer, s logstore.SnapshotRecord) SnapshotCheck {
	c := SnapshotCheck{Position: s.Position, Term: s.Term, TimestampNs: s.TimestampNs, RecordingID: s.RecordingID,
		Length: s.Length}
	replayed := r.Engine().AppendSnapshot(nil)
	d := sha256.Sum256(replayed)
	c.ReplayedDigest = hex.EncodeToString(d[:])
	if r.Position() != s.Position {
		c.Note = fmt.Sprintf("its position is not an entry boundary (the replay stops at %d)", r.Position())
		return c
	}
	blob, err := readSnapshotBytes(src, s)
	if err != nil {
		// The record's length and CRC32C cannot stand in for the bytes:
		// they cover the consensus module's section too, which replay does
		// not reproduce.
		c.Note = fmt.Sprintf("snapshot bytes unreadable, not compared (%v)", err)
		return c
	}
	ms, err := member.DecodeSnapshotBlob(blob)
	if err != nil {
		c.SnapshotDigest = "-"
		c.Note = err.Error()
		return c
	}
	sd := sha256.Sum256(ms.Service)
	c.SnapshotDigest = hex.EncodeToString(sd[:])
	state := r.Container().AppendState(nil)
	switch {
	case ms.Position != s.Position:
		c.Note = fmt.Sprintf("the snapshot recorded at %d says position %d", s.Position, ms.Position)
	case sd != d:
		c.Note = diffStates(replayed, ms.Service)
	case !bytes.Equal(state, ms.Container):
		c.Note = "the engine matches, the container's state (cluster time, sessions, timers) differs"
	default:
		c.Match = true
	}
	return c
}

// diffStates names the first difference between two engine snapshots.
func diffStates(replayed, recorded []byte) string {
	a, err := readSnapView(replayed)
	if err != nil {
		return fmt.Sprintf("replayed state unreadable: %v", err)
	}
	b, err := readSnapView(recorded)
	if err != nil {
		return fmt.Sprintf("recorded snapshot unreadable: %v", err)
	}
	switch {
	case len(a.instruments) != len(b.instruments):
		return fmt.Sprintf("instruments: replayed %d, recorded %d", len(a.instruments), len(b.instruments))
	case len(a.accounts) != len(b.accounts):
		return fmt.Sprintf("accounts: replayed %d, recorded %d", len(a.accounts), len(b.accounts))
	case len(a.principals) != len(b.principals):
		return fmt.Sprintf("principals: replayed %d, recorded %d", len(a.principals), len(b.principals))
	case len(a.sessions) != len(b.sessions):
		return fmt.Sprintf("sessions: replayed %d, recorded %d", len(a.sessions), len(b.sessions))
	}
	for i := range a.instruments {
		x, y := &a.instruments[i], &b.instruments[i]
		if x.info != y.info {
			return fmt.Sprintf("instrument %d (%s): definition or trading state differs", x.info.ID, x.info.SymbolString())
		}
	}
	for i := 0; i < max(len(a.live), len(b.live)); i++ {
		switch {
		case i >= len(a.live):
			return fmt.Sprintf("live orders: replayed %d, recorded %d (first extra recorded order %d)", len(a.live), len(b.live), b.live[i].id)
		case i >= len(b.live):
			return fmt.Sprintf("live orders: replayed %d, recorded %d (first extra replayed order %d)", len(a.live), len(b.live), a.live[i].id)
		case a.live[i] != b.live[i]:
			return fmt.Sprintf("live order %d differs (replayed %+v, recorded %+v)", a.live[i].id, a.live[i], b.live[i])
		}
	}
	for i := range a.instruments {
		if string(a.instruments[i].book) != string(b.instruments[i].book) {
			return fmt.Sprintf("instrument %d: book differs", a.instruments[i].info.ID)
		}
	}
	return "states differ beyond instruments, parties and live orders (finished orders, ids or pending changes)"
}
