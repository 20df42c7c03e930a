// Package archive records streams of transport frames to disk and replays
// them: the durable log of the venue's Raft cluster. Every member records
// the log here, the commit rule counts only what is durable here, recovery
// replays it from here, and surveillance replays a whole day from here.
//
// # What archive owns
//
//   - Recording a stream, handed over as blocks of whole frames at a stream
//     position (Recording.Append, or a Recorder agent polling a
//     BlockSource), into fixed-size, preallocated segment files named
//     "<recordingID>-<segmentBasePosition>.rec". The stored bytes are the
//     frames themselves, so a replay is a copy.
//   - The catalog: a durable list of recordings (Descriptor) with list,
//     find-last-matching and describe.
//   - Replay from a position, to a length, following a live recording, or
//     bounded by a limit position (the cluster's commit position): Replay
//     for in-process readers, Replayer to drive replays into a BlockSink.
//   - Truncate, extend, purge and delete recordings; replicate one from
//     another archive in the same process (Replicate), the pipeline remote
//     replication will run with the transport in the middle.
//   - The fsync policy, the recorded- and durable-position counters, crash
//     recovery that trims torn tails, and the behaviour on a full disk.
//   - The control protocol codec and its in-process server (Control).
//   - The file layer (FS, File) with the real OS implementation and a
//     simulated one (SimFS) that loses unsynced writes on power loss.
//
// What archive does not own: it never decides what is committed (the
// cluster does, and bounds replays with its commit position); it does not
// parse message payloads; it owns no sockets, goroutines or clocks.
//
// # Using it
//
//	a, err := archive.Open(archive.Config{Dir: dir, Fsync: archive.FsyncData})
//	rec, err := a.StartRecording(archive.RecordingParams{...})   // or a.ExtendRecording(id)
//	err = rec.Append(pos, block)          // whole frames at rec.RecordedPosition()
//	appendPos := rec.DurablePosition()    // what the cluster may report as appended
//	recorded, durable, active, err := a.RecordingPosition(id)
//	err = rec.Stop()
//	r, err := a.OpenReplay(archive.ReplayParams{RecordingID: id, Position: from,
//		Length: archive.ReplayLengthUnbounded, Follow: true, Limit: commitCounter})
//	n, err := r.Poll(handler, fragmentLimit)  // io.EOF at the end
//	err = a.Truncate(id, pos); start, err := a.Purge(id, pos); err = a.Delete(id)
//	ds := a.List(0, 100); id, ok := a.FindLastMatching(0, "alias=log", streamID)
//
// # Durability
//
// The durable position of a recording moves only after the sync that covers
// its bytes returns (FsyncData: fdatasync per write batch; FsyncDataAndMetadata:
// fsync). Under FsyncNone it follows the write, which survives a process
// crash but not a power loss. Catalog updates and directory changes (new,
// renamed, removed files) are always synced before the operation returns.
// A segment is synced before the writer moves to the next one, so recovery
// only ever scans the last segment. Data frames carry a CRC32C of their
// payload in the header's reserved value by default (see frameChecksum).
//
// On Open, each recording's tail is scanned and trimmed to the last whole,
// valid frame, garbage after it is zeroed, and the catalog's stop position
// is reconciled with the files (recovery.go). A full disk refuses an append
// with ErrDiskFull without recording any of it; the Recorder retries it
// every diskFullRetryIntervalNs. A failed sync fails the recording at its
// durable position (ErrRecordingFailed); extend it to continue.
//
// # Where the network parts plug in (next)
//
//   - Recording a network Image or a publication's spy: an adapter from the
//     Image's block poll to BlockSource, added to a Recorder.
//   - Replay to a transport publication (a follower catching up): a
//     BlockSink over an exclusive publication (OfferBlock, AppendPadding),
//     added to a Replayer with the Replay.
//   - The remote control protocol: a control session that reads request
//     messages from a subscription, passes them to Control.Handle and
//     publishes the responses; ControlMessage already decodes both ways and
//     ControlError maps remote errors to the same sentinels.
//   - Replicate from a remote archive: Replicate's pipeline with a remote
//     replay (the control protocol) received through an Image into
//     StartRecording/ExtendRecording via a Recorder; for a live source, a
//     hand-off from the replay image to the live image once both reach a
//     common position.
package archive
