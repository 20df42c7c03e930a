// Package archive records streams of transport frames to disk and replays
// them: the durable log of the venue's Raft cluster.
//
// What archive owns:
//
//   - Recording a stream, handed over as blocks of whole frames at a stream
//     position, into fixed-size, preallocated segment files named
//     "<recordingID>-<segmentBasePosition>.rec". The stored bytes are the
//     frames themselves, so a replay is a copy.
//   - The catalog: a durable list of recordings and their descriptors.
//   - Replay from a position, to a length, following a live recording, or
//     bounded by a limit position (the cluster's commit position).
//   - Truncate, extend, purge and delete recordings.
//   - The fsync policy and the durable-position counter; crash recovery that
//     trims torn tails; the behaviour on a full disk.
//   - The file layer (FS, File) with the real OS implementation and a
//     simulated one (SimFS) that loses unsynced writes on power loss.
//
// What archive does not own: it never decides what is committed (the
// cluster does, and bounds replays with its commit position); it does not
// parse message payloads; it does not own network transport — blocks arrive
// through a BlockSource and replays leave through a handler or a BlockSink,
// so that a transport Image and Publication plug in without changes here.
package archive
