package replay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"venue/cluster/member"

	"venue/archive"
	"venue/cluster/consensus"
	"venue/cluster/container"
	"venue/cluster/logstore"
	"venue/engine"
	"venue/engine/clustered"
	"venue/reports/surveil"
)

// Writer bounds and defaults.
const (
	// writeBatchBytes is the log a LogWriter gathers before one Append (one
	// index slot, one checksum): about what a leader appends per batch
	// under load.
	writeBatchBytes = 64 << 10
	// writerTerm and writerLeader are the leadership term the written log
	// is in and its leader's member id.
	writerTerm   consensus.TermID   = 1
	writerLeader consensus.MemberID = 0
	// writerChannel is the response channel the written session opens name.
	writerChannel = "replay:generated"
)

// WriterConfig configures a LogWriter.
type WriterConfig struct {
	// Dir is the data directory to create (it must not hold a log yet).
	Dir string
	// SegmentLength is logstore's (0: its default).
	SegmentLength int64
	// Admin is the shadow engine's bootstrap admin ("" : DefaultAdmin).
	Admin string
	// Shadow runs the member's service beside the writer — a container
	// and the clustered engine, applying every entry as it is written — so
	// that Snapshot can record the state a member would.
	Shadow bool
}

// LogWriter writes engine input into a member data directory as a
// cluster would have committed it: a NewLeadershipTerm entry, then session
// opens, session messages and session closes stamped with cluster time,
// appended through logstore in batches; with a shadow service, snapshots
// as a member takes them (a snapshot action in the log, and at its
// position a member snapshot blob in the recording log and the snapshot
// archive). It is what tests and `venue replay generate` use to make a
// directory to replay.
type LogWriter struct {
	store   *logstore.Store
	svc     *clustered.Service // the shadow (nil: none)
	cont    *container.Container
	batch   []byte
	pos     consensus.Position // end of what was written and buffered
	timeNs  int64
	entries uint64
	term    bool // the NewLeadershipTerm entry is written
	e       consensus.LogEntry
	// open and maxID are the session layer's state for snapshots.
	open  map[consensus.SessionID]bool
	maxID consensus.SessionID
	// snap is the blob the shadow took at the last snapshot action.
	snap    []byte
	snapErr error
}

// CreateLog creates a data directory for writing.
func CreateLog(cfg WriterConfig) (*LogWriter, error) {
	s, err := logstore.Open(logstore.Config{Dir: cfg.Dir, Fsync: archive.FsyncNone, SegmentLength: cfg.SegmentLength})
	if err != nil {
		return nil, fmt.Errorf("replay: create log: %w", err)
	}
	if s.End() != 0 {
		s.Close()
		return nil, fmt.Errorf("replay: create log: %s already holds a log (to %d)", cfg.Dir, s.End())
	}
	w := &LogWriter{store: s, batch: make([]byte, 0, writeBatchBytes+consensus.EntryLengthMax),
		open: map[consensus.SessionID]bool{}}
	if cfg.Shadow {
		if err := w.startShadow(cfg.Admin); err != nil {
			s.Close()
			return nil, err
		}
	}
	return w, nil
}

func (w *LogWriter) startShadow(admin string) error {
	if admin == "" {
		admin = DefaultAdmin
	}
	svc, err := clustered.New(engine.Config{BootstrapAdmin: admin})
	if err != nil {
		return fmt.Errorf("replay: shadow engine: %w", err)
	}
	w.svc, w.cont = svc, container.New(replayMember, svc, nil)
	w.cont.OnSnapshot(w.takeSnapshot)
	if err := w.cont.Start(nil, 0); err != nil {
		return fmt.Errorf("replay: shadow service: %w", err)
	}
	return nil
}

// takeSnapshot is the shadow container's snapshot hook: it serializes the
// state as a member's takeSnapshot does, at the same point of the log.
func (w *LogWriter) takeSnapshot(position consensus.Position, timeNs int64) {
	ids := make([]consensus.SessionID, 0, len(w.open))
	for id := range w.open {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	open := make([]moduleSession, len(ids))
	for i, id := range ids {
		open[i] = moduleSession{id: id, channel: writerChannel}
	}
	var service bytes.Buffer
	w.snapErr = w.cont.TakeServiceSnapshot(&service)
	w.snap = member.AppendSnapshotBlob(nil, &member.SnapshotBlob{Position: position, TimeNs: timeNs, Term: writerTerm,
		Sessions: appendModuleState(nil, w.maxID, open), Container: w.cont.AppendState(nil), Service: service.Bytes()})
}

// Position returns the log position after the last entry written.
func (w *LogWriter) Position() consensus.Position { return w.pos }

// Entries returns how many entries were written.
func (w *LogWriter) Entries() uint64 { return w.entries }

// Shadow returns the shadow engine (nil unless configured). It has
// applied every entry written.
func (w *LogWriter) Shadow() *engine.Engine {
	if w.svc == nil {
		return nil
	}
	return w.svc.Engine()
}

// SessionOpen writes a session open for principal and returns the
// position after it.
func (w *LogWriter) SessionOpen(id engine.SessionID, principal []byte, timestampNs int64) (consensus.Position, error) {
	payload := consensus.AppendSessionOpen(nil, &consensus.SessionOpen{ResponseChannel: []byte(writerChannel),
		Principal: principal})
	w.open[consensus.SessionID(id)], w.maxID = true, max(w.maxID, consensus.SessionID(id))
	return w.add(consensus.LogEntry{Type: consensus.EntrySessionOpen, SessionID: consensus.SessionID(id),
		Timestamp: timestampNs, Payload: payload})
}

// Message writes one session's command and returns the position after it.
func (w *LogWriter) Message(id engine.SessionID, timestampNs int64, payload []byte) (consensus.Position, error) {
	return w.add(consensus.LogEntry{Type: consensus.EntrySessionMessage, SessionID: consensus.SessionID(id),
		Timestamp: timestampNs, Payload: payload})
}

// SessionClose writes a session close and returns the position after it.
func (w *LogWriter) SessionClose(id engine.SessionID, reason engine.CloseReason, timestampNs int64) (consensus.Position, error) {
	delete(w.open, consensus.SessionID(id))
	return w.add(consensus.LogEntry{Type: consensus.EntrySessionClose, SessionID: consensus.SessionID(id),
		Timestamp: timestampNs, Reason: consensus.CloseReason(reason)})
}

// add buffers one entry (after the term's first entry, if this is the
// first), has the shadow apply it, and appends the buffer when it is full.
func (w *LogWriter) add(e consensus.LogEntry) (consensus.Position, error) {
	if e.Timestamp < w.timeNs {
		return w.pos, fmt.Errorf("replay: write: cluster time %d before %d", e.Timestamp, w.timeNs)
	}
	w.timeNs = e.Timestamp
	if !w.term {
		w.term = true
		w.e = consensus.LogEntry{Type: consensus.EntryNewLeadershipTerm, TermID: writerTerm, TermBase: 0,
			Timestamp: e.Timestamp, LeaderID: writerLeader}
		if err := w.append(&w.e); err != nil {
			return w.pos, err
		}
	}
	if err := w.append(&e); err != nil {
		return w.pos, err
	}
	if len(w.batch) >= writeBatchBytes {
		return w.pos, w.Flush()
	}
	return w.pos, nil
}

func (w *LogWriter) append(e *consensus.LogEntry) error {
	start := len(w.batch)
	w.batch = consensus.AppendEntry(w.batch, e)
	if w.cont != nil {
		if err := w.cont.Apply(w.pos, w.batch[start:]); err != nil {
			return fmt.Errorf("replay: shadow: %w", err)
		}
	}
	w.pos += consensus.Position(len(w.batch) - start)
	w.entries++
	return nil
}

// Flush appends what is buffered.
func (w *LogWriter) Flush() error {
	if len(w.batch) == 0 {
		return nil
	}
	if err := w.store.Append(writerTerm, w.batch); err != nil {
		return fmt.Errorf("replay: write: %w", err)
	}
	w.batch = w.batch[:0]
	return nil
}

// Snapshot writes a snapshot action and records the member snapshot the
// shadow took at the position after it. It needs Shadow.
func (w *LogWriter) Snapshot(timestampNs int64) (logstore.SnapshotRecord, error) {
	if w.cont == nil {
		return logstore.SnapshotRecord{}, errors.New("replay: snapshot: the writer runs no shadow service")
	}
	w.snap, w.snapErr = nil, nil
	pos, err := w.add(consensus.LogEntry{Type: consensus.EntryClusterAction, Timestamp: max(timestampNs, w.timeNs),
		Action: consensus.ActionSnapshot})
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = w.snapErr
	}
	if err == nil && w.snap == nil {
		err = errors.New("replay: snapshot: the shadow container took none")
	}
	if err != nil {
		return logstore.SnapshotRecord{}, err
	}
	return w.WriteSnapshot(logstore.SnapshotMeta{ServiceID: memberSnapServiceID, Term: writerTerm, Position: pos,
		TimestampNs: w.timeNs}, w.snap)
}

// WriteSnapshot records snapshot bytes as meta describes (tests use it to
// record a wrong one).
func (w *LogWriter) WriteSnapshot(meta logstore.SnapshotMeta, data []byte) (logstore.SnapshotRecord, error) {
	rec, err := w.store.WriteSnapshot(meta, bytes.NewReader(data))
	if err != nil {
		return rec, fmt.Errorf("replay: write snapshot at %d: %w", meta.Position, err)
	}
	return rec, nil
}

// Close flushes and closes the directory.
func (w *LogWriter) Close() error {
	err := w.Flush()
	return errors.Join(err, w.store.Close())
}

// DayConfig configures WriteDay.
type DayConfig struct {
	Dir           string
	Seed          uint64
	Events        int   // order events of background flow (surveil.DayConfig.Events)
	StepNs        int64 // mean cluster time between background commands (0: the generator's 20ms)
	Inject        bool  // inject the abuse suite
	SnapshotEvery int   // record a snapshot every this many entries (0: none)
	SegmentLength int64
}

// DayResult describes a written day.
type DayResult struct {
	surveil.DayResult
	End       consensus.Position        // the log's end
	Entries   uint64                    // log entries written
	Snapshots []logstore.SnapshotRecord // snapshots recorded, in order
	Digest    [32]byte                  // the shadow engine's state at the end (zero without snapshots)
}

// WriteDay generates a trading day with surveil's scenario generator and
// writes it into a new data directory as a member's log: the generator
// drives its own engine and records its input, which streams (through a
// pipe, in bounded memory) into a LogWriter.
func WriteDay(cfg DayConfig) (DayResult, error) {
	var res DayResult
	w, err := CreateLog(WriterConfig{Dir: cfg.Dir, SegmentLength: cfg.SegmentLength, Shadow: cfg.SnapshotEvery > 0})
	if err != nil {
		return res, err
	}
	pr, pw := io.Pipe()
	type generated struct {
		res surveil.DayResult
		err error
	}
	done := make(chan generated, 1)
	go func() {
		r, err := surveil.GenerateDay(surveil.DayConfig{Seed: cfg.Seed, Events: cfg.Events, StepNs: cfg.StepNs,
			Inject: cfg.Inject, Log: pw},
			nopHandler{})
		pw.CloseWithError(err)
		done <- generated{r, err}
	}()
	_, err = surveil.ReadLog(pr, func(admin string) error {
		if admin != DefaultAdmin {
			return fmt.Errorf("the generator's admin is %q, the writer's %q", admin, DefaultAdmin)
		}
		return nil
	}, func(lr *surveil.LogRecord) error { return writeRecord(w, &res, lr, cfg.SnapshotEvery) })
	pr.CloseWithError(errors.New("replay: the log writer stopped"))
	g := <-done
	res.DayResult = g.res
	if err == nil {
		err = g.err
	}
	res.End, res.Entries = w.Position(), w.Entries()
	if e := w.Shadow(); e != nil {
		res.Digest = e.Digest()
	}
	return res, errors.Join(err, w.Close())
}

func writeRecord(w *LogWriter, res *DayResult, lr *surveil.LogRecord, every int) error {
	var err error
	switch lr.Kind {
	case surveil.LogOpen:
		_, err = w.SessionOpen(lr.Session, lr.Payload, lr.ClusterTime)
	case surveil.LogMessage:
		_, err = w.Message(lr.Session, lr.ClusterTime, lr.Payload)
	case surveil.LogClose:
		_, err = w.SessionClose(lr.Session, surveil.LogCloseReason, lr.ClusterTime)
	default:
		err = fmt.Errorf("record kind %d", lr.Kind)
	}
	if err != nil || every <= 0 || w.Entries()%uint64(every) != 0 {
		return err
	}
	rec, err := w.Snapshot(lr.ClusterTime)
	if err == nil {
		res.Snapshots = append(res.Snapshots, rec)
	}
	return err
}
