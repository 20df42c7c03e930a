// Package replay rebuilds the venue offline from a cluster member's data
// directory (or a copy of one): it feeds the committed log, in order, to
// the same service container and clustered engine a member runs, and
// audits, inspects and surveils what comes out. It is what `venue replay`
// runs; no cluster is needed.
//
// # What it reads
//
// A member's data directory as cluster/logstore writes it: log segments,
// the recording log (term and snapshot records) and the snapshot archive.
// Source opens it with logstore.OpenReadOnly through a file layer that
// opens every file O_RDONLY and refuses every change, so replay never
// writes to it (tested by hashing the tree before and after). Snapshot
// bytes sit in an archive that logstore only opens writable, so the first
// snapshot read copies the recording log and the archive into a temporary
// directory and reads them there.
//
// # Replaying
//
// A Replayer starts the engine empty at position 0 (engine.Config with
// the cluster's bootstrap admin, DefaultAdmin unless told) or from a
// member snapshot, as a member's recovery does: the snapshot blob
// (cluster/member: "VNSNAP01", the consensus module's session state, the
// container's state and the engine's snapshot) restores the container
// (container.StartFrom) and the engine. Retention purges the log below
// the oldest kept snapshot, so a member's directory that has taken a few
// snapshots can only be replayed from one. AdvanceTo applies entries up to
// a Point: a log position (@P on the command line: the state after every
// entry ending at or before P, so a snapshot's position names its state)
// or a cluster time (RFC 3339 or ns: every entry stamped at or before
// it). It reads 1 MiB of log at a time and hands whole entries to
// container.Apply; its memory is that chunk, logstore's tail mirror (one
// segment) and the engine's own. Reports reach a surveil.Recorder through
// the engine's ReportTap (which sees every report, delivered or not) and
// market data through its MarketDataSink, so the order event history, the
// detectors and the event writer are package surveil's, unchanged. After
// a snapshot start the recorder's market is seeded from the snapshot's
// books through the same market-data calls.
//
// # The determinism audit
//
// Audit checks a directory three ways and reports the first position
// where the log parts from what it should be:
//
//   - every batch of every segment against its CRC32C (VerifySegments,
//     which reads logstore's segment layout directly: logstore validates
//     only the last two segments and, read-only, just ends the log before
//     a bad batch there);
//   - every entry decodes as the container applies it;
//   - at every snapshot record in range, the replayed engine's digest
//     (SHA-256 of its canonical snapshot) against the digest of the
//     snapshot's engine section, and the replayed container's state
//     against its container section. A difference is reported with the
//     last position known to agree. The record's own length and CRC32C
//     cannot stand in for the bytes: they cover the consensus module's
//     section too, which replay does not reproduce.
//
// # Views
//
// BookAt shows a book at a point from the engine's own canonical
// snapshot (levels, and each level's orders in priority order with
// account, principal and ClOrdID; acceptance and last-change times come
// from the event history). WriteEvents writes the event history of a
// symbol and/or account in a window as CSV or JSON lines. Surveil runs
// every detector and returns surveil's report. WriteDay and LogWriter
// write a data directory from surveil's scenario generator, for tests,
// demos and benchmarks (`venue replay generate`).
//
// # What it does not own
//
// The log store and the member's formats (logstore, cluster/member;
// replay mirrors the segment, member snapshot and engine snapshot layouts
// only to verify and read them, and refuses other versions), the engine,
// the detectors and the reports (surveil).
package replay
