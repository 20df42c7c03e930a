// Package logstore is a cluster member's durable state on disk: the
// replicated log (a consensus.LogStore), the recording log of term and
// snapshot records, the hard state (term and vote), and the service
// snapshots. consensus.MemLogStore models the same contract in memory for
// the simulator; Store is the production one.
//
// # What logstore owns
//
//   - Store: the log as segment files in Dir, named log-<base, 20 digits>.seg.
//     Each holds whole entries from its base position, a fixed header, and
//     an index region with one checksummed slot per Append batch. Open
//     recovers; OpenReadOnly reads a directory for tools (venue replay)
//     without writing; ScanEntries decodes entries in order.
//   - RecordingLog (recording.log): append-only, fixed-size, checksummed
//     records: term {term, base, timestamp} and snapshot {term, position,
//     timestamp, service id, recording id, length, checksum, valid}.
//   - The hard state (file hard-state): SaveHardState / LoadHardState.
//   - Snapshots: archive recordings in Dir/archive (an archive.Archive the
//     store opens, which also holds the directory lock): CreateSnapshot /
//     WriteSnapshot, OpenSnapshot, RecoveryPlan, Retain, PurgeBefore.
//
// It does not decide what is committed, apply entries, or replicate; it
// owns two goroutines (the syncer and the segment preparer, FsyncData only)
// and no clock: times are passed in (a term record's timestamp is its
// NewLeadershipTerm entry's).
//
// # Using it
//
//	s, err := logstore.Open(logstore.Config{Dir: dir, Fsync: archive.FsyncData})
//	hs, _ := s.LoadHardState()
//	plan, err := s.RecoveryPlan(serviceIDs...)   // snapshots to load, log to replay
//	node, err := consensus.NewNode(cfg, s, hs, plan.Position, now)
//	// the module: SaveHardState before sending, LogAppended after appends
//	// (s is a module.Durability); the node reads s.DurablePosition().
//	s.SetDurableHook(wakeTheModule)             // FsyncData: wake it when that advances
//	w, err := s.CreateSnapshot(logstore.SnapshotMeta{ServiceID: 0, Term: t, Position: p, TimestampNs: ts})
//	err = service.OnTakeSnapshot(w); rec, err := w.Commit()
//	err = s.Retain(3)                           // keep 3 snapshot positions, purge older log
//	err = s.Close()
//
// # Durability
//
// FsyncNone: Append writes (pwrite) and DurablePosition == End on return.
// The bytes are in the page cache: they survive a process crash, not a
// power loss. With Config.DeferWrites, Append only copies them into the
// tail's memory and the next LogAppended (Notify) or Close writes them;
// DurablePosition covers them only then (a member's leader sends its
// AppendLogs in between). FsyncData (and FsyncDataAndMetadata, treated alike): Append
// only copies into the tail segment's in-memory copy and publishes the new
// end — a memory copy, a CRC32C and an entry walk, no system call; the
// syncer goroutine (woken by Notify/LogAppended, or Sync called directly)
// writes everything published since its last round with one pwrite for the
// bytes and one for their index slots, fdatasyncs the file, and only then
// advances DurablePosition to the end it covered (group commit), then calls
// the hook SetDurableHook installed, so that the consensus goroutine, parked
// waiting for the network, wakes and reads the new position. A process
// crash loses what the syncer had not written yet, which was not durable
// either. Published ends are the ends of whole-entry batches, so
// DurablePosition is always an entry boundary <= End. Truncate holds the
// syncer's round mutex (syncMu) for its whole I/O, so a sync in flight
// finishes before the truncation and none can report a position past it
// afterwards. Append never waits for an fsync except when it starts a new
// term (the term record is synced before the term's bytes) and, rarely,
// at a roll: a roll to a new segment (once per SegmentLength) writes the
// old tail's last bytes and names the new segment but syncs nothing; the
// syncer owes the old tail's fdatasync, the new header's and the
// directory's, and pays them before it writes into the new segment or
// advances DurablePosition past the old one. Only a second roll before the
// syncer paid for the first waits, so at most the last two segments are
// ever incomplete on disk. New segments
// are zero-filled ahead of need by a preparer goroutine (FsyncData; see
// prepare.go; paced by the appends, so that its writes do not crowd the
// syncs), so that syncing an append into one writes no extent metadata, as
// an append into a fallocated segment would; PrepareSpare makes a fresh
// store's first one before it opens. Truncate, the
// recording log, the hard state, segment removal and snapshots always sync,
// whatever the policy; segment creation syncs under FsyncData only (under
// FsyncNone an fdatasync on the writer's goroutine waited for the disk's
// whole write cache: 26-432 ms under load).
//
// # Why recovery is crash-safe
//
// Entry bytes belong to the consensus layer (followers compare them), so
// no checksum goes into them. Instead each Append batch (split only at
// entry boundaries, one part per segment) gets an index slot {start,
// length, CRC32C of its bytes} with a CRC32C of its own. Recovery walks the
// tail's slots from the first: a slot counts only if its checksum holds,
// it starts where the previous one ended, and its bytes match their CRC
// and decode entry by entry (consensus.DecodeEntry, which Append also
// requires of everything it takes). The log ends at the first slot that
// fails. Then:
//
//   - Nothing torn is accepted: a torn data write fails its slot's CRC; a
//     torn slot fails its own; a slot without its data fails the data CRC
//     (2^-32 chance of a false match per torn batch, as with the
//     archive's frame checksums).
//   - Nothing durable is lost: DurablePosition moves only after an
//     fdatasync that covered the bytes and slots below it, so those
//     validate; an earlier segment was synced before the tail existed.
//     (Under FsyncNone, DurablePosition is End and means the page cache.)
//   - No stale write comes back: recovery zeroes (and syncs) every index
//     slot after the last valid one, Truncate rewrites the slot holding
//     its position and zeroes the later ones before it returns, and a new
//     segment file is emptied before use. A slot can therefore only be
//     valid if it was written for the log as it now is; a stale slot
//     after a gap never chains (its start is not the new end).
//   - Interrupted multi-file changes leave a prefix: Truncate removes later
//     segments last first before it cuts the segment holding its position,
//     and recovery drops any segment that does not start where the log so
//     far ends, or the last one if its header is torn (an interrupted
//     roll). Term records are appended before their bytes and removed
//     after them, and recovery drops term records at or past the recovered
//     end, so terms always match the bytes.
//   - Whatever survives is durable: recovery syncs every kept segment, so
//     a second crash cannot lose what the first left (the semantics of
//     MemLogStore.CrashKeeping).
//
// Under FsyncData only the last recoveryValidateSegments segments are
// checked in full; older ones are trusted to reach the next segment's base,
// which the sync at every roll guarantees (and Truncate removes later
// segments before it cuts an older one, so a trusted segment is never a
// cut one). Opened with FsyncNone, where no roll synced, recovery checks
// every segment: a power loss may have taken any unsynced write, and what
// it took is cut, never accepted. A term record with no bytes after it
// (an Append of no data) does not survive a reopen, as in
// MemLogStore.Crash.
//
// The recording log's records are appended and synced; a torn append is a
// bad record after the last good one, which recovery cuts. The one in-place
// write is a snapshot's invalidation: a 64-byte record in one 512-byte
// sector (assumed written atomically, as Aeron's RecordingLog assumes),
// and if torn anyway it fails its checksum between good records and is
// read as no record, which is what the invalidation wanted. Removing
// records (Truncate's terms, Retain) writes a new file under a temporary
// name, syncs it, renames it and syncs the directory. The hard state uses
// two slots in separate sectors, written alternately with a sequence
// number, so a torn save leaves the previous state valid.
//
// # Snapshots
//
// Snapshots are archive recordings, as the design asks: CreateSnapshot
// starts a recording in Dir/archive (FsyncData whatever the log's policy,
// since a snapshot replaces log that retention deletes); the writer
// records the bytes as unfragmented messages (archive.Recording.
// AppendMessages); Commit stops the recording (synced, catalogued) and only
// then appends the valid snapshot record with the length and CRC32C of the
// bytes. A crash before that leaves no valid record, and Open deletes
// recordings no valid record names. Being recordings, snapshots can be
// replicated to another member with the archive's replication. OpenSnapshot
// replays one and checks its length and checksum. A read-only store does
// not open the archive (it would take its lock and recover it), so it
// cannot read snapshots.
//
// A member that installs a snapshot from a peer (its own log was wiped or
// fell behind the peers' retention) writes it as a local snapshot and then
// calls ResetTo(position, term record): the log starts over, empty, at the
// snapshot's position (reset.go says why a crash at any step is safe).
//
// Retention: Retain(n) keeps the snapshots at the n newest snapshot
// positions, drops older records and their recordings, and purges the log
// segments wholly below the oldest kept position. Start then reports the
// first readable position; Read below it fails with ErrPurged; End and
// Terms are unchanged.
//
// # Memory and files
//
// The tail segment is mirrored in memory (SegmentLength plus 1/8 for its
// index), so a Read in the tail aliases memory and allocates nothing, and
// the syncer writes from it. Two mirrors alternate at rolls, so the store
// holds up to twice SegmentLength of memory and a slice a Read returned
// stays intact until the roll after next (the contract only promises until
// the next Append or Truncate). Older segments are read with pread into
// the caller's buffer; at most openSegmentsMax of their files stay open.
package logstore
