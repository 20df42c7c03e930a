package failover

import (
	"errors"
	"fmt"
	"hash/crc64"

	"venue/cluster/consensus"
	"venue/cluster/logstore"
)

// auditChunkLength is how many log bytes AuditLogs reads at a time.
const auditChunkLength = 1 << 20

// MemberLog is one member's log as AuditLogs found it.
type MemberLog struct {
	Dir   string
	Start consensus.Position // first readable position (retention)
	End   consensus.Position
	// Digest is a CRC-64 of the bytes [0, committed) (of what the member
	// holds of them).
	Digest uint64
	// Short: the member's log ends before the committed position.
	Short bool
	// Divergent: the member's committed bytes differ from the reference's.
	Divergent bool
}

// LogAudit is what AuditLogs found.
type LogAudit struct {
	Committed consensus.Position
	// Reference is the index of the member whose log was scanned.
	Reference int
	Members   []MemberLog
	// Short and Divergent count members (see MemberLog).
	Short, Divergent int
	// Entries and SessionMessages count the committed log's entries.
	Entries, SessionMessages int64
	// OutOfOrder counts session messages whose correlation id is not above
	// the session's previous one in the log: a message applied twice, or
	// two out of the order the client sent them.
	OutOfOrder int64
}

// ErrPurged: a member's log no longer starts at 0, so the committed prefix
// cannot be read whole.
var ErrPurged = errors.New("failover: log purged by retention")

var crcTable = crc64.MakeTable(crc64.ECMA)

// AuditLogs reads the logs in dirs (member data directories, members
// stopped or running: read-only, no lock) up to committed, compares the
// members' committed bytes, and scans the committed log of the first member
// that holds all of it, calling fn for every entry (e.Payload valid only
// during the call). Members whose log is shorter are reported, not failed:
// a member that was down at the end holds less.
func AuditLogs(dirs []string, committed consensus.Position, fn func(pos consensus.Position, e *consensus.LogEntry)) (LogAudit, error) {
	a := LogAudit{Committed: committed, Reference: -1}
	stores := make([]*logstore.Store, len(dirs))
	defer func() {
		for _, s := range stores {
			if s != nil {
				s.Close()
			}
		}
	}()
	for i, dir := range dirs {
		s, err := logstore.OpenReadOnly(dir, nil)
		if err != nil {
			return a, fmt.Errorf("failover: audit %s: %w", dir, err)
		}
		stores[i] = s
		ml := MemberLog{Dir: dir, Start: s.Start(), End: s.End(), Short: s.End() < committed}
		if ml.Start > 0 {
			return a, fmt.Errorf("%w: %s starts at %d", ErrPurged, dir, ml.Start)
		}
		if ml.Digest, err = digestLog(s, min(committed, s.End())); err != nil {
			return a, fmt.Errorf("failover: audit %s: %w", dir, err)
		}
		if ml.Short {
			a.Short++
		} else if a.Reference < 0 {
			a.Reference = i
		}
		a.Members = append(a.Members, ml)
	}
	if a.Reference < 0 {
		return a, fmt.Errorf("failover: audit: no member holds the log up to %d", committed)
	}
	ref := a.Members[a.Reference].Digest
	for i := range a.Members {
		if m := &a.Members[i]; !m.Short && m.Digest != ref {
			m.Divergent = true
			a.Divergent++
		}
	}
	// Short members must still agree on what they hold: compare with the
	// reference's digest of the same length.
	for i := range a.Members {
		m := &a.Members[i]
		if !m.Short {
			continue
		}
		d, err := digestLog(stores[a.Reference], m.End)
		if err != nil {
			return a, fmt.Errorf("failover: audit: %w", err)
		}
		if d != m.Digest {
			m.Divergent = true
			a.Divergent++
		}
	}
	last := map[consensus.SessionID]int64{} // bounded by the sessions in the log
	err := stores[a.Reference].ScanEntries(0, committed, func(pos consensus.Position, e *consensus.LogEntry) bool {
		a.Entries++
		if e.Type == consensus.EntrySessionMessage {
			a.SessionMessages++
			if prev, ok := last[e.SessionID]; ok && e.CorrelationID <= prev {
				a.OutOfOrder++
			}
			last[e.SessionID] = max(last[e.SessionID], e.CorrelationID)
		}
		if fn != nil {
			fn(pos, e)
		}
		return true
	})
	if err != nil {
		return a, fmt.Errorf("failover: audit scan: %w", err)
	}
	return a, nil
}

// digestLog returns the CRC-64 of s's bytes [0, to).
func digestLog(s *logstore.Store, to consensus.Position) (uint64, error) {
	var d uint64
	buf := make([]byte, auditChunkLength)
	for p := consensus.Position(0); p < to; {
		n := min(to-p, auditChunkLength)
		b, err := s.Read(p, p+n, buf)
		if err != nil {
			return 0, err
		}
		d = crc64.Update(d, crcTable, b)
		p += n
	}
	return d, nil
}
