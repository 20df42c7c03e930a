package logstore

import (
	"fmt"

	"venue/archive"
	"venue/cluster/consensus"
)

// Notify tells the syncer that the log has new bytes. It never blocks:
// notifications while a sync runs coalesce into one more sync. Safe from
// any goroutine; a no-op under FsyncNone and after Close. Under FsyncNone
// with Config.DeferWrites it writes what Append left in memory instead,
// and must be called on the writer's goroutine; a failed write fails the
// store (the next Append reports it).
func (s *Store) Notify() {
	if s.deferring() {
		if !s.closed && !s.readOnly && s.tail != nil && s.Err() == nil {
			if err := s.flushNow(); err != nil {
				_ = s.fail(err)
			}
		}
		return
	}
	if s.notify == nil {
		return
	}
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// LogAppended is Notify under the name module.Durability gives it.
func (s *Store) LogAppended() { s.Notify() }

// syncLoop is the store's one background goroutine (FsyncData only): on
// each notification it writes and fdatasyncs what was appended and
// advances DurablePosition. A failure is recorded (Err) and ends nothing:
// the next Append reports it.
func (s *Store) syncLoop() {
	defer close(s.syncDone)
	for {
		select {
		case <-s.closing:
			return
		case <-s.notify:
			_ = s.Sync()
		}
	}
}

// Sync writes what was appended to the tail segment file and fdatasyncs
// it, then advances DurablePosition to the end it covered. Callers that run
// no syncer (tests, tools) call it directly; it serialises with the syncer.
// Under FsyncNone it does nothing (Append already wrote). A failed write or
// sync fails the store: after a failed fdatasync the kernel may have
// dropped the dirty pages, so nothing past the durable position can be
// trusted until recovery reads the disk again.
//
// An owed roll (pendingRoll) is finished first: the old tail's bytes, then
// the new segment's header and name are durable before any byte is written
// into the new segment. The fdatasyncs run without ioMu, so that a roll
// on the writer's goroutine never waits for the disk.
func (s *Store) Sync() error {
	if s.readOnly {
		return fmt.Errorf("logstore: sync: %w", ErrReadOnly)
	}
	if s.cfg.Fsync == archive.FsyncNone {
		return s.Err()
	}
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	var (
		end  consensus.Position
		f    archive.File
		base consensus.Position
	)
	for {
		if err := s.Err(); err != nil {
			return err
		}
		if pr := s.rolled.Load(); pr != nil {
			if err := s.finishRoll(pr); err != nil {
				return s.fail(err)
			}
			continue
		}
		s.ioMu.Lock()
		if s.rolled.Load() != nil {
			// A roll since the check: its new segment may hold no byte
			// before its name is durable.
			s.ioMu.Unlock()
			continue
		}
		if s.tail == nil || s.tail.file == nil {
			s.ioMu.Unlock()
			return nil // nothing appended yet, or closed
		}
		var err error
		if end, err = s.flushLocked(); err != nil {
			s.ioMu.Unlock()
			return s.fail(err)
		}
		f, base = s.tail.file, s.tail.base
		s.ioMu.Unlock()
		break
	}
	if int64(end) == s.durable.Load() {
		return nil
	}
	// f stays open: what closes a tail's file takes syncMu (Truncate,
	// ResetTo, Close), and a tail retired meanwhile is an owed roll's
	// pinned old tail (trimOpen, PurgeBefore keep it).
	if err := f.SyncData(); err != nil {
		return s.fail(fmt.Errorf("logstore: sync segment %d: %w", base, err))
	}
	// Every segment before this one was synced when its roll was finished,
	// so the whole log up to end is durable. end is a chunk end: an entry
	// boundary, as DurablePosition must be.
	s.ioMu.Lock() // the hook runs with ioMu held (SetDurableHook)
	defer s.ioMu.Unlock()
	s.durable.Store(int64(end))
	if fn := s.onDurable.Load(); fn != nil {
		(*fn)()
	}
	return nil
}

// SetDurableHook sets fn to be called after each advance of
// DurablePosition by a sync (the syncer's, or a direct Sync), after the new
// position is visible; nil removes it. Safe from any goroutine.
//
// It is how the consensus goroutine learns of an advance without polling:
// a member parked in its network poller reads DurablePosition only when it
// wakes, so without a wake-up a follower's acknowledgement and the
// leader's own quorum wait for the next datagram or the poll's timeout
// (up to a millisecond, measured as a commit p50 of ~2 ms where the
// fdatasync itself took ~0.3 ms). fn runs on the syncer's goroutine with
// the store's I/O lock held: it must not block or call back into the
// store; a wake-up (an eventfd write) is what it is for. Under FsyncNone
// Append advances DurablePosition on the writer's own goroutine and fn is
// never called.
//
// When SetDurableHook returns, the previous hook is not running and will
// not be called again (it waits for a sync in flight), so a member can
// remove its hook and then close what the hook wakes.
func (s *Store) SetDurableHook(fn func()) {
	s.ioMu.Lock() // Sync calls the hook with ioMu held
	defer s.ioMu.Unlock()
	if fn == nil {
		s.onDurable.Store(nil)
		return
	}
	s.onDurable.Store(&fn)
}

// flushLocked writes the tail's published bytes and index slots that are
// not yet in its file: the data first, then the slots that describe it (a
// crash may keep either, both or neither; recovery checks each slot's
// checksum over its data). It returns the log end it covered. The caller
// holds ioMu.
func (s *Store) flushLocked() (consensus.Position, error) {
	t := s.tail
	if t == nil {
		return s.end, nil
	}
	s.mu.Lock()
	end, slots := s.pubEnd, s.pubSlots
	s.mu.Unlock()
	if end > s.flushed {
		from, to := int64(s.flushed-t.base), int64(end-t.base)
		if _, err := t.file.WriteAt(s.mirror[from:to], segHeaderRegion+from); err != nil {
			return 0, fmt.Errorf("logstore: write segment %d at %d: %w", t.base, s.flushed, err)
		}
	}
	if slots > s.flushedSlots {
		from, to := s.flushedSlots*slotLength, slots*slotLength
		if _, err := t.file.WriteAt(s.idx[from:to], t.indexOffset()+int64(from)); err != nil {
			return 0, fmt.Errorf("logstore: write segment %d index: %w", t.base, err)
		}
	}
	s.flushed, s.flushedSlots = end, slots
	return end, nil
}

// deferring reports whether Append leaves its write to Notify
// (Config.DeferWrites, which only FsyncNone honours).
func (s *Store) deferring() bool {
	return s.cfg.DeferWrites && s.cfg.Fsync == archive.FsyncNone
}

// flushNow is Append's write under FsyncNone: the bytes reach the page
// cache, which survives a process crash, and count as durable.
func (s *Store) flushNow() error {
	s.ioMu.Lock()
	defer s.ioMu.Unlock()
	end, err := s.flushLocked()
	if err != nil {
		return err
	}
	s.durable.Store(int64(end))
	return nil
}
