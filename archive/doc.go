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
//     another archive in the same process (Replicate) or from a remote one
//     over the transport (ReplicateRemote), following the live recording or
//     handing off to its live stream; a client may ask a destination
//     archive's ControlServer to run one (RemoteArchive.Replicate,
//     StopReplication).
//   - The network half: recording a transport Image or spy (ImageSource),
//     replay to a transport publication at the recorded positions
//     (PublicationSink, ReplayChannel), and the control protocol served over
//     the transport (ControlServer) with its client (RemoteArchive).
//   - The fsync policy, the recorded- and durable-position counters, crash
//     recovery that trims torn tails, and the behaviour on a full disk.
//   - The control protocol codec and its in-process server (Control).
//   - An exclusive lock on the directory (flock on archive.lock, which
//     holds the owner's pid): a second Open fails with ErrLocked.
//   - The file layer (FS, File) with the real OS implementation and a
//     simulated one (SimFS) that loses unsynced writes on power loss.
//
// What archive does not own: it never decides what is committed (the
// cluster does, and bounds replays with its commit position); it does not
// parse message payloads; it owns no goroutines or clocks (its agents take
// the time in DoWork; RemoteArchive's blocking calls take a clock in their
// config), and its sockets are the transport's.
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
// # Over the network
//
// Record a network image or a local publication's spy:
//
//	img := sub.ImageBySessionID(sessionID)             // udp?endpoint=... or spy:udp?endpoint=...
//	rec, err := a.StartRecording(archive.RecordingParamsOf(img, channel))
//	err = recorder.Add(rec, archive.NewImageSource(img)) // blocks exactly as in the term buffer
//
// Replay to a publication (a follower catching up): the publication starts
// at the replay position with the recording's session id, term length and
// MTU, so the subscriber sees the recorded positions.
//
//	pub, err := d.AddPublication(archive.ReplayChannel("udp?endpoint=f:9", &desc, from), desc.StreamID)
//	sink, err := archive.NewPublicationSink(pub, &desc, from)
//	err = replayer.Add(replay, sink)                     // pub.Close() when the replay ends
//
// Serve and use the control protocol over the transport: each client
// connects (its request publication's session id is its control session)
// and names its response channel; responses carry the correlation id and
// errors come back as *ControlError matching the sentinels.
//
//	srv, err := archive.NewControlServer(a, archive.ControlServerConfig{Driver: d,
//		RequestChannel: "udp?endpoint=a:8010", RequestStreamID: 10})   // an agent: srv.DoWork(now)
//	c, err := archive.ConnectRemote(archive.RemoteArchiveConfig{Driver: d2,
//		RequestChannel: "udp?endpoint=a:8010", RequestStreamID: 10,
//		ResponseChannel: "udp?endpoint=b:8020", ResponseStreamID: 11})
//	ds, err := c.List(0, 100); id, err := c.StartRecording(params)
//	replayID, err := c.Replay(archive.ReplayParams{...}, archive.NoLimitCounter, "udp?endpoint=b:8030", streamID)
//
// Replicate from a remote archive (catch-up of a lagging or empty member):
//
//	r, err := archive.ReplicateRemote(archive.RemoteReplicationParams{Source: c, SourceRecordingID: id,
//		Destination: a2, DestinationRecordingID: archive.NullRecordingID, Driver: d2,
//		ReplayChannel: "udp?endpoint=b:8030", Follow: true})   // or LiveChannel for the hand-off
//	for !r.Done() { r.DoWork(now) }                           // r.Err() says why it ended
//
// The replay comes on the recording's stream id and session id (on its own
// endpoint), so its frames are byte for byte the recorded ones and the
// replica equals the source. With LiveChannel the replica also subscribes
// to the live stream the source records; once the replay reaches the live
// image's position it records the live image and stops the replay (Aeron's
// live merge). A replay stream lost before its end of stream is requested
// again from the recorded position.
//
// Transport limits these rely on (see the transport package): keep a
// receiver window below half a term (a quarter works), and let a new live
// receiver join before the publisher runs a window ahead of it.
package archive
