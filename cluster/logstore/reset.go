package logstore

import (
	"fmt"

	"venue/cluster/consensus"
)

// positionAlignment: log entries (and so snapshot positions and segment
// bases) start on multiples of this many bytes.
const positionAlignment = 8

// ResetTo discards the whole log and starts an empty one at pos, after a
// snapshot of the state at pos was installed from a peer (it must already
// be durable in this store: see below). rec is the term record of the
// byte before pos (the term that wrote it and that term's base, as the
// leader's log has them): afterwards Start == End == DurablePosition ==
// pos and Terms == [rec]. Snapshot records are kept. Call it from the
// writer's goroutine.
//
// Order of effects, so that a crash at any point leaves either the old
// log's prefix (a Truncate's guarantee), an empty log at 0, or the new
// log: the segment files are removed last first, each removal synced; the
// term records are replaced (old ones dropped durably, then rec appended);
// last an empty segment at pos is created (and the directory synced).
// Until that segment exists, recovery finds no segment and drops every
// term record: an empty log at 0. The installed snapshot at pos is
// usable only once the log reaches pos (RecoveryPlan), that is, once the
// reset completed; before, the member starts without it and fetches it
// again.
func (s *Store) ResetTo(pos consensus.Position, rec consensus.TermRecord) error {
	if err := s.writable(); err != nil {
		return fmt.Errorf("logstore: reset: %w", err)
	}
	if pos <= 0 || pos%positionAlignment != 0 || rec.Term <= 0 || rec.Base < 0 || rec.Base >= pos {
		return fmt.Errorf("%w: reset to %d with term record %+v", ErrInvalid, pos, rec)
	}
	s.syncMu.Lock() // no sync in flight on the files removed here
	s.ioMu.Lock()
	for i := len(s.segs) - 1; i >= 0; i-- {
		if err := s.removeSegment(s.segs[i]); err != nil {
			s.ioMu.Unlock()
			s.syncMu.Unlock()
			return s.fail(err)
		}
		s.segs = s.segs[:i]
	}
	s.rolled.Store(nil) // its files are gone
	s.tail, s.openLRU, s.slots = nil, nil, 0
	s.start, s.end = pos, pos
	s.flushed, s.flushedSlots = pos, 0
	s.mu.Lock()
	s.pubEnd, s.pubSlots = pos, 0
	s.mu.Unlock()
	s.durable.Store(int64(pos))
	s.ioMu.Unlock()
	s.syncMu.Unlock()
	if err := s.rl.resetTerms(rec, 0); err != nil {
		return s.fail(err)
	}
	s.terms = s.rl.Terms()
	if err := s.rollNext(true); err != nil { // the empty segment at pos, durable
		return s.fail(err)
	}
	return nil
}
