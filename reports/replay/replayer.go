package replay

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"venue/cluster/member"

	"venue/cluster"
	"venue/cluster/consensus"
	"venue/cluster/container"
	"venue/cluster/logstore"
	"venue/engine"
	"venue/engine/clustered"
	"venue/reports/surveil"
)

// Replay bounds and defaults.
const (
	// DefaultAdmin is the engine's bootstrap admin unless told otherwise:
	// the principal `venue node` and `venue run` configure ([venue] admin
	// in the cluster file, default ADMIN). Every member and every replay
	// must use the same, or the replay is of another venue.
	DefaultAdmin = "ADMIN"
	// readChunkBytes is how much log a Replayer reads at a time: its
	// memory besides the engine, the detectors and the store's tail
	// mirror (one segment).
	readChunkBytes = 1 << 20
	// replayMember is the member id the replay's container reports; the
	// service never depends on it.
	replayMember cluster.MemberID = 0
)

// ErrCorrupt marks a log that does not decode or does not continue where
// it should; the error says at which position.
var ErrCorrupt = errors.New("replay: corrupt log")

// ErrPurged: the log no longer holds its beginning and no snapshot was
// given to start from.
var ErrPurged = errors.New("replay: the log's beginning was purged; start from a snapshot")

// PositionError is a failure at one log position: where the log parts
// from what it should be.
type PositionError struct {
	Position consensus.Position
	Err      error
}

func (e *PositionError) Error() string {
	return fmt.Sprintf("at log position %d: %v", e.Position, e.Err)
}

func (e *PositionError) Unwrap() error { return e.Err }

// Config configures a Replayer. The engine settings must be the cluster's.
type Config struct {
	// Admin is engine.Config.BootstrapAdmin ("" means DefaultAdmin).
	Admin string
	// CancelOnDisconnectDefault is engine.Config's.
	CancelOnDisconnectDefault bool
	// Handler receives the order event history as the engine reports it
	// (nil: none).
	Handler surveil.Handler
	// Snapshot, if set, is where replay starts: a member snapshot whose
	// container state and engine snapshot are loaded, and the log replayed
	// from its position. Nil: from position 0.
	Snapshot *logstore.SnapshotRecord
	// Progress, if set, is called after every chunk the replay applies.
	Progress func(Progress)
}

// Progress is how far a replay has come.
type Progress struct {
	Position   consensus.Position // applied up to here
	Start, End consensus.Position // the replay's first position and the log's end
	Entries    uint64             // log entries applied
	Events     uint64             // order events reported
	TimeNs     int64              // cluster time of the last entry
}

// Stats count what a replay applied, by entry type.
type Stats struct {
	Start          consensus.Position `json:"start_position"` // where the replay began (0 or a snapshot's position)
	Position       consensus.Position `json:"position"`       // applied up to here
	Entries        uint64             `json:"entries"`
	SessionOpens   uint64             `json:"session_opens"`
	SessionCloses  uint64             `json:"session_closes"`
	Messages       uint64             `json:"session_messages"`
	Timers         uint64             `json:"timers"`
	ClusterActions uint64             `json:"cluster_actions"`
	Terms          uint64             `json:"new_leadership_terms"`
	Events         uint64             `json:"order_events"`
	FirstTimeNs    int64              `json:"first_time_ns"`
	LastTimeNs     int64              `json:"last_time_ns"`
}

// Replayer runs the cluster's engine over a Source's log offline: the same
// container and clustered service a member runs, fed the committed log in
// order, with a surveil.Recorder on the engine's report tap and market
// data. It is single-goroutine and deterministic, and its memory is one
// read chunk plus the engine's and the handler's.
type Replayer struct {
	src   *Source
	cfg   Config
	svc   *clustered.Service
	cont  *container.Container
	rec   *surveil.Recorder
	pos   consensus.Position
	stats Stats
	buf   []byte
	entry consensus.LogEntry
}

type nopHandler struct{}

func (nopHandler) OnEvent(*surveil.Event, *surveil.Market) {}

// NewReplayer starts the engine at the log's beginning, or from
// cfg.Snapshot.
func NewReplayer(src *Source, cfg Config) (*Replayer, error) {
	if cfg.Admin == "" {
		cfg.Admin = DefaultAdmin
	}
	h := cfg.Handler
	if h == nil {
		h = nopHandler{}
	}
	r := &Replayer{src: src, cfg: cfg, rec: surveil.NewRecorder(h), buf: make([]byte, readChunkBytes)}
	svc, err := clustered.New(engine.Config{BootstrapAdmin: cfg.Admin, CancelOnDisconnectDefault: cfg.CancelOnDisconnectDefault,
		ReportTap: r.rec, MarketData: r.rec})
	if err != nil {
		return nil, fmt.Errorf("replay: engine: %w", err)
	}
	r.svc = svc
	r.cont = container.New(replayMember, r.svc, nil)
	if cfg.Snapshot == nil {
		if src.Start() > 0 {
			return nil, fmt.Errorf("%w (the log starts at %d)", ErrPurged, src.Start())
		}
		if err := r.cont.Start(nil, 0); err != nil {
			return nil, fmt.Errorf("replay: start: %w", err)
		}
		return r, nil
	}
	if err := r.startFromSnapshot(*cfg.Snapshot); err != nil {
		return nil, err
	}
	return r, nil
}

// startFromSnapshot loads a member snapshot as a member's recovery does:
// the container's state (sessions, timers, cluster time) and the engine's
// snapshot, at the snapshot's position.
func (r *Replayer) startFromSnapshot(rec logstore.SnapshotRecord) error {
	if rec.Position < r.src.Start() || rec.Position > r.src.End() {
		return fmt.Errorf("replay: snapshot at %d is outside the log [%d, %d)", rec.Position, r.src.Start(), r.src.End())
	}
	blob, err := readSnapshotBytes(r.src, rec)
	if err != nil {
		return err
	}
	ms, err := member.DecodeSnapshotBlob(blob)
	if err != nil {
		return fmt.Errorf("replay: snapshot at %d: %w", rec.Position, err)
	}
	if ms.Position != rec.Position {
		return fmt.Errorf("replay: %w: the snapshot recorded at %d says position %d", ErrMemberSnapshot, rec.Position, ms.Position)
	}
	if _, err := readSnapView(ms.Service); err != nil { // a readable engine snapshot, or say which part is not
		return fmt.Errorf("replay: snapshot at %d: %w", rec.Position, err)
	}
	// The engine hands its sink (the recorder) every instrument and level
	// of the restored books (engine.RepublishMarketData), so the detectors
	// and the event writer start from the same market.
	if err := r.cont.StartFrom(ms.Container, bytes.NewReader(ms.Service), rec.Position); err != nil {
		return fmt.Errorf("replay: start from the snapshot at %d: %w", rec.Position, err)
	}
	r.pos, r.stats.Start, r.stats.Position = rec.Position, rec.Position, rec.Position
	return nil
}

// level is one aggregated price level of a book snapshot, with the range
// of its orders in the snapshot's order list.
type level struct {
	buy        bool
	price, qty int64
	n          int
	first      int // index of its first order
}

// levelsOf groups a book snapshot's orders (bids best first, then asks
// best first, each level in queue order) into levels.
func levelsOf(orders []bookOrder) []level {
	var out []level
	for i, o := range orders {
		if n := len(out); n == 0 || out[n-1].buy != o.buy || out[n-1].price != o.price {
			out = append(out, level{buy: o.buy, price: o.price, first: i})
		}
		lv := &out[len(out)-1]
		lv.qty += o.qty - o.filled
		lv.n++
	}
	return out
}

// readSnapshotBytes reads a whole snapshot, checked against its record.
func readSnapshotBytes(src *Source, rec logstore.SnapshotRecord) ([]byte, error) {
	rc, err := src.ReadSnapshot(rec)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, clustered.SnapshotBytesMax+1))
	if err != nil {
		return nil, fmt.Errorf("replay: read the snapshot at %d: %w", rec.Position, err)
	}
	if int64(len(data)) > clustered.SnapshotBytesMax {
		return nil, fmt.Errorf("replay: the snapshot at %d is larger than %d bytes", rec.Position, clustered.SnapshotBytesMax)
	}
	return data, nil
}

// Position returns the log position the engine has applied up to.
func (r *Replayer) Position() consensus.Position { return r.pos }

// Engine returns the replayed engine (for its digest and snapshot).
func (r *Replayer) Engine() *engine.Engine { return r.svc.Engine() }

// Recorder returns the recorder on the engine's reports and market data.
func (r *Replayer) Recorder() *surveil.Recorder { return r.rec }

// Stats returns what has been applied so far.
func (r *Replayer) Stats() Stats {
	s := r.stats
	s.Events = r.rec.Events
	return s
}

// Container returns the container, for its counters.
func (r *Replayer) Container() *container.Container { return r.cont }

// AdvanceTo applies the log's entries up to p (to the log's end if p is
// no bound, or if the log ends first). A position that falls inside an
// entry stops before that entry. An entry that does not decode stops the
// replay with a *PositionError wrapping ErrCorrupt.
func (r *Replayer) AdvanceTo(p Point) error {
	end := r.src.End()
	for r.pos < end {
		b, err := r.src.store.Read(r.pos, min(end, r.pos+readChunkBytes), r.buf)
		if err != nil {
			return &PositionError{Position: r.pos, Err: fmt.Errorf("%w: %w", ErrCorrupt, err)}
		}
		n, stop, err := r.cut(b, p, r.pos+consensus.Position(len(b)) == end)
		if n > 0 {
			if aerr := r.cont.Apply(r.pos, b[:n]); aerr != nil {
				return &PositionError{Position: r.pos, Err: fmt.Errorf("%w: %w", ErrCorrupt, aerr)}
			}
			r.pos += consensus.Position(n)
			r.stats.Position = r.pos
			r.progress()
		}
		if err != nil || stop {
			return err
		}
	}
	return nil
}

// cut returns how many bytes of b, whole entries, lie at or before p, and
// whether an entry past p was reached. last says b runs to the log's end,
// so an entry that does not decode is corrupt rather than cut by the
// chunk. It counts the entries it passes.
func (r *Replayer) cut(b []byte, p Point, last bool) (int, bool, error) {
	off := 0
	for off < len(b) {
		n, err := consensus.DecodeEntry(b[off:], &r.entry)
		if err != nil {
			if off == 0 || last { // entries are far shorter than a chunk
				return off, true, &PositionError{Position: r.pos + consensus.Position(off), Err: fmt.Errorf("%w: %w", ErrCorrupt, err)}
			}
			return off, false, nil
		}
		if !p.covers(r.pos+consensus.Position(off+n), r.entry.Timestamp) {
			return off, true, nil
		}
		r.count(&r.entry)
		off += n
	}
	return off, false, nil
}

func (r *Replayer) count(e *consensus.LogEntry) {
	s := &r.stats
	s.Entries++
	if s.FirstTimeNs == 0 {
		s.FirstTimeNs = e.Timestamp
	}
	s.LastTimeNs = max(s.LastTimeNs, e.Timestamp)
	switch e.Type {
	case consensus.EntrySessionOpen:
		s.SessionOpens++
	case consensus.EntrySessionClose:
		s.SessionCloses++
	case consensus.EntrySessionMessage:
		s.Messages++
	case consensus.EntryTimer:
		s.Timers++
	case consensus.EntryClusterAction:
		s.ClusterActions++
	case consensus.EntryNewLeadershipTerm:
		s.Terms++
	}
}

func (r *Replayer) progress() {
	if r.cfg.Progress != nil {
		r.cfg.Progress(Progress{Position: r.pos, Start: r.stats.Start, End: r.src.End(), Entries: r.stats.Entries,
			Events: r.rec.Events, TimeNs: r.stats.LastTimeNs})
	}
}
