package logstore

import (
	"fmt"
	"hash/crc32"
	"slices"

	"venue/cluster/consensus"
)

// Truncate implements consensus.LogStore: it removes the bytes at and after
// pos (an entry boundary, at least Start) and every term record with
// Base >= pos, durably before it returns.
//
// Order of effects, so that a crash at any point leaves a prefix of the old
// log at least pos long (or the new log): segment files wholly after pos
// are removed last first, each removal synced; then the index slots of the
// segment holding pos are cut (the slot holding pos rewritten to end at
// pos, later slots zeroed) and synced; the term records go last, and
// recovery drops any whose bytes are gone.
func (s *Store) Truncate(pos consensus.Position) error {
	if err := s.writable(); err != nil {
		return storeError(fmt.Errorf("logstore: truncate: %w", err))
	}
	switch {
	case pos < 0 || pos > s.end:
		return storeError(fmt.Errorf("%w: truncate to %d of [%d, %d]", ErrInvalid, pos, s.start, s.end))
	case pos < s.start:
		return storeError(fmt.Errorf("%w: truncate to %d: the log starts at %d", ErrPurged, pos, s.start))
	}
	if pos < s.end {
		if err := s.checkBoundary(pos); err != nil {
			return storeError(err)
		}
		if err := s.truncateSynced(pos); err != nil {
			return storeError(s.fail(err))
		}
	}
	if err := s.rl.truncateTerms(pos); err != nil {
		return storeError(s.fail(err))
	}
	s.terms = s.rl.Terms()
	return nil
}

// checkBoundary checks that pos is an entry boundary by walking the entries
// from the start of the batch holding it (batches start on boundaries).
func (s *Store) checkBoundary(pos consensus.Position) error {
	from := s.segs[s.segmentIndex(pos)].base
	if t := s.tail; t != nil && pos >= t.base {
		for i := 0; i < s.slots; i++ {
			sl, _ := decodeSlot(s.idx[i*slotLength:])
			if sl.start <= pos {
				from = sl.start
			}
		}
	}
	b, err := s.Read(from, pos, nil)
	if err != nil {
		return err
	}
	for p := 0; p < len(b); {
		n, err := consensus.EntryFrameLength(b[p:])
		if err != nil {
			return fmt.Errorf("%w: truncate to %d: not an entry boundary", ErrInvalid, pos)
		}
		p += n
	}
	return nil
}

// truncateSynced cuts the log at pos with no sync in flight (it closes
// files a sync may use) and no roll owed: an owed roll is finished first,
// so that the segments it cuts back to are whole on disk.
func (s *Store) truncateSynced(pos consensus.Position) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if pr := s.rolled.Load(); pr != nil {
		if err := s.finishRoll(pr); err != nil {
			return err
		}
	}
	s.ioMu.Lock()
	defer s.ioMu.Unlock()
	return s.truncateLocked(pos)
}

// truncateLocked cuts the segments at pos < end. The caller holds ioMu.
func (s *Store) truncateLocked(pos consensus.Position) error {
	k := s.segmentIndex(pos)
	want := s.end // where segment k's slots must end
	if k+1 < len(s.segs) {
		want = s.segs[k+1].base
	}
	for i := len(s.segs) - 1; i > k; i-- {
		if err := s.removeSegment(s.segs[i]); err != nil {
			return err
		}
		s.segs = s.segs[:i]
	}
	seg := s.segs[k]
	if seg != s.tail {
		if err := s.loadTail(seg, want); err != nil {
			return err
		}
	}
	return s.cutTail(pos)
}

// removeSegment closes and deletes seg's file and syncs the directory.
func (s *Store) removeSegment(seg *segment) error {
	if seg.file != nil {
		seg.file.Close()
		seg.file = nil
	}
	s.openLRU = slices.DeleteFunc(s.openLRU, func(o *segment) bool { return o == seg })
	if seg == s.tail {
		s.tail = nil
	}
	if err := s.cfg.FS.Remove(seg.path); err != nil {
		return fmt.Errorf("logstore: remove segment %d: %w", seg.base, err)
	}
	if err := s.cfg.FS.SyncDir(s.cfg.Dir); err != nil {
		return fmt.Errorf("logstore: sync %s after removing segment %d: %w", s.cfg.Dir, seg.base, err)
	}
	return nil
}

// loadTail makes an older, complete segment the tail again: its data and
// index are read into memory. Its end was the old end of the log or the
// next segment's base; either way every slot up to there is on disk.
func (s *Store) loadTail(seg *segment, want consensus.Position) error {
	f, err := s.segmentFile(seg)
	if err != nil {
		return err
	}
	s.openLRU = slices.DeleteFunc(s.openLRU, func(o *segment) bool { return o == seg })
	sc, err := scanSegmentInto(f, &seg.segHeader, s.spare)
	if err != nil {
		return err
	}
	if sc.end != want {
		return fmt.Errorf("%w: segment %d holds the log to %d, want %d", ErrCorrupt, seg.base, sc.end, want)
	}
	s.end = sc.end
	s.idx = sc.idx
	if int64(len(s.mirror)) == seg.dataLen { // the two mirrors keep alternating
		s.spare = s.mirror
	}
	s.setTail(seg, sc.data, sc.slots)
	return nil
}

// cutTail cuts the tail at pos (tail.base <= pos < end): the slot holding
// pos is rewritten to end there, later slots are cleared, and what the file
// held of them is overwritten in one write and synced.
func (s *Store) cutTail(pos consensus.Position) error {
	t := s.tail
	r := 0
	var sl slot
	for ; r < s.slots; r++ {
		sl, _ = decodeSlot(s.idx[r*slotLength:])
		if pos < sl.end() {
			break
		}
	}
	assertf(r < s.slots && sl.start <= pos, "truncate to %d: no slot holds it in segment %d", pos, t.base)
	keep := r
	if pos > sl.start {
		sl.length = int64(pos - sl.start)
		sl.dataCRC = crc32.Checksum(s.mirror[sl.start-t.base:pos-t.base], castagnoli)
		encodeSlot(s.idx[r*slotLength:], sl)
		keep = r + 1
	}
	clear(s.idx[keep*slotLength : s.slots*slotLength])
	if lo, hi := r, s.flushedSlots; lo < hi {
		if _, err := t.file.WriteAt(s.idx[lo*slotLength:hi*slotLength], t.indexOffset()+int64(lo*slotLength)); err != nil {
			return fmt.Errorf("logstore: cut segment %d at %d: %w", t.base, pos, err)
		}
		s.flushedSlots = keep
		s.flushed = pos
	}
	if err := t.file.SyncData(); err != nil {
		return fmt.Errorf("logstore: sync segment %d cut at %d: %w", t.base, pos, err)
	}
	s.flushed = min(s.flushed, pos)
	s.flushedSlots = min(s.flushedSlots, keep)
	s.slots, s.end = keep, pos
	s.mu.Lock()
	s.pubEnd, s.pubSlots = pos, keep
	s.mu.Unlock()
	if consensus.Position(s.durable.Load()) > pos {
		s.durable.Store(int64(pos))
	}
	return nil
}

// PurgeBefore deletes the segment files that lie wholly below pos (never
// the tail) and raises Start to the first kept segment's base. pos must not
// pass the newest valid snapshot, whose state replaces the purged log.
// End and Terms are unchanged. Retain calls it; call it from the writer's
// goroutine.
func (s *Store) PurgeBefore(pos consensus.Position) error {
	if err := s.writable(); err != nil {
		return fmt.Errorf("logstore: purge: %w", err)
	}
	if latest, ok := s.rl.latestPosition(); !ok || pos > latest {
		return fmt.Errorf("%w: purge before %d: newest valid snapshot is at %d (found %t)", ErrNoSnapshot, pos, latest, ok)
	}
	for len(s.segs) > 1 && s.segs[1].base <= pos && !s.pinned(s.segs[0]) {
		// An owed roll's old tail stays (the syncer may be syncing it, and
		// the new segment's name may not be durable yet): the next purge
		// takes it.
		if err := s.removeSegment(s.segs[0]); err != nil {
			return s.fail(err)
		}
		s.segs = s.segs[1:]
		s.start = s.segs[0].base
	}
	return nil
}
