package archive

import (
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"venue/transport"
)

// Benchmark bounds and defaults. MB in results is 10^6 bytes.
const (
	benchTermLength       = 16 << 20
	benchMessageLengthMax = mtuLengthMax - transport.HeaderLength
	bytesPerMB            = 1e6
)

// BenchConfig configures RunBench (venue bench archive).
type BenchConfig struct {
	// Dir is where the benchmark makes its temporary directory ("" means
	// the system temp dir); everything is removed at the end.
	Dir string
	// MessageLength is each message's payload length in bytes.
	MessageLength int
	// Fsync is the archive's policy; the raw baseline syncs the same way.
	Fsync FsyncPolicy
	// TotalBytes is how much stream to record.
	TotalBytes int64
	// BatchLength is the bytes per write batch (one Append, one sync).
	BatchLength int
	// SegmentLength is the segment file length; 0 means the default.
	SegmentLength int32
	// DisableChecksums records without per-frame CRC32C.
	DisableChecksums bool
	// Replicate also copies the recording to a second archive over loopback
	// UDP (RemoteReplication) and reports its throughput.
	Replicate bool
}

// BenchResult is one run's numbers; the JSON keys are stable.
type BenchResult struct {
	Fsync         string `json:"fsync"`
	Checksums     bool   `json:"checksums"`
	MessageLength int    `json:"message_length"`
	BatchLength   int    `json:"batch_length"`
	Messages      int64  `json:"messages"`
	Bytes         int64  `json:"bytes"`
	Rounds        int    `json:"rounds"`
	// Throughputs are medians over rounds (see medianMBPerSec); the _mean
	// figures are total bytes over total time.
	RecordMsgsPerSec   float64 `json:"record_msgs_per_sec"`
	RecordMBPerSec     float64 `json:"record_mb_per_sec"`
	RawMBPerSec        float64 `json:"raw_mb_per_sec"`
	RecordMBPerSecMean float64 `json:"record_mb_per_sec_mean"`
	RawMBPerSecMean    float64 `json:"raw_mb_per_sec_mean"`
	// RawPreallocMBPerSec is the same raw write into a file preallocated
	// with fallocate, as segment files are: the stricter baseline.
	RawPreallocMBPerSec float64 `json:"raw_prealloc_mb_per_sec"`
	RecordVsRaw         float64 `json:"record_vs_raw"`
	DurableLagP50Ns     int64   `json:"durable_lag_p50_ns"`
	DurableLagP99Ns     int64   `json:"durable_lag_p99_ns"`
	DurableLagMaxNs     int64   `json:"durable_lag_max_ns"`
	ReplayMBPerSec      float64 `json:"replay_mb_per_sec"`
	ReplayMsgsPerSec    float64 `json:"replay_msgs_per_sec"`
	// Replicate figures are present with BenchConfig.Replicate: the whole
	// recording from a ControlServer to a RemoteReplication over loopback.
	ReplicateMBPerSec   float64 `json:"replicate_mb_per_sec,omitempty"`
	ReplicateMsgsPerSec float64 `json:"replicate_msgs_per_sec,omitempty"`
}

// benchTerm is one term of messages, pre-built and cut into write batches,
// so that neither the raw baseline nor the recording pays for making frames.
type benchTerm struct {
	buf      []byte
	batches  []int // end offset of each batch
	messages int64
}

func newBenchTerm(cfg BenchConfig, d *Descriptor) benchTerm {
	b := newFrameBuilder(d, 0)
	payload := make([]byte, cfg.MessageLength)
	for i := range payload {
		payload[i] = byte(i)
	}
	t := benchTerm{buf: make([]byte, 0, benchTermLength)}
	aligned := transport.Align(transport.HeaderLength+cfg.MessageLength, transport.FrameAlignment)
	for b.position+transport.Position(aligned) <= benchTermLength {
		t.buf = b.appendMessageInPlace(t.buf, payload)
		t.messages++
	}
	if len(t.buf) < benchTermLength { // pad to the end of the term
		t.buf = b.writeFrame(t.buf, transport.TypePad, benchTermLength-len(t.buf), nil)
	}
	last := 0
	for off := 0; off < len(t.buf); {
		n := transport.Align(int(transport.FrameHeader(t.buf[off:]).FrameLength()), transport.FrameAlignment)
		if off+n-last > cfg.BatchLength && off > last {
			t.batches = append(t.batches, off)
			last = off
		}
		off += n
	}
	t.batches = append(t.batches, len(t.buf))
	return t
}

// clone returns a copy with its own buffer.
func (t *benchTerm) clone() benchTerm {
	return benchTerm{buf: slices.Clone(t.buf), batches: t.batches, messages: t.messages}
}

// setTermID rewrites every frame's term id.
func (t *benchTerm) setTermID(termID int32) {
	for off := 0; off < len(t.buf); {
		h := transport.FrameHeader(t.buf[off:])
		h.SetTermID(termID)
		off += transport.Align(int(h.FrameLength()), transport.FrameAlignment)
	}
}

// benchRoundTerms is how many terms each phase writes before the next
// phase takes a turn. Interleaving the phases in short rounds makes them
// share the same disk conditions on a machine where other work comes and goes.
const benchRoundTerms = 1

// benchPhase is one way of writing the stream, timed round by round.
type benchPhase struct {
	write   func(t int64, term *benchTerm) error // writes term t from term
	ns      int64                                // over all rounds
	roundNs []int64                              // per round
}

// medianMBPerSec is the median over rounds of each round's throughput: a
// burst of interference from other processes lands on one phase's round at
// a time, and the median of many rounds is not moved by a few of them.
func (ph *benchPhase) medianMBPerSec(roundBytes int64) float64 {
	ns := slices.Clone(ph.roundNs)
	slices.Sort(ns)
	return float64(roundBytes) / bytesPerMB / seconds(ns[len(ns)/2])
}

// RunBench records cfg.TotalBytes of messages and, in the same run on the
// same disk, writes the same bytes in the same batches to a plain file (and
// to a preallocated one), syncing each batch as the policy would; the
// phases take turns every benchRoundTerms terms. Then it replays the
// recording from the page cache.
func RunBench(cfg BenchConfig) (BenchResult, error) {
	if cfg.MessageLength < 0 || cfg.MessageLength > benchMessageLengthMax || cfg.BatchLength < 1 || cfg.TotalBytes < benchRoundTerms*benchTermLength {
		return BenchResult{}, fmt.Errorf("%w: message length %d (max %d), batch %d, total %d (min %d)",
			ErrInvalidParams, cfg.MessageLength, benchMessageLengthMax, cfg.BatchLength, cfg.TotalBytes, benchRoundTerms*benchTermLength)
	}
	dir, err := os.MkdirTemp(cfg.Dir, "venue-bench-archive-")
	if err != nil {
		return BenchResult{}, fmt.Errorf("archive: bench: %w", err)
	}
	defer os.RemoveAll(dir)
	res := BenchResult{Fsync: cfg.Fsync.String(), Checksums: !cfg.DisableChecksums, MessageLength: cfg.MessageLength, BatchLength: cfg.BatchLength}
	params := RecordingParams{Channel: "bench", StreamID: 1, SessionID: 1, TermLength: benchTermLength,
		MTULength: int32(transport.Align(transport.HeaderLength+cfg.MessageLength, transport.FrameAlignment))}
	d := Descriptor{TermLength: params.TermLength, StreamID: 1, SessionID: 1}
	term := newBenchTerm(cfg, &d)
	terms := cfg.TotalBytes / benchTermLength
	terms -= terms % benchRoundTerms // whole rounds, so they compare
	res.Bytes, res.Messages = terms*benchTermLength, terms*term.messages

	raw, err := newRawPhase(dir, "raw.dat", cfg.Fsync, 0)
	if err != nil {
		return res, err
	}
	defer raw.close()
	pre, err := newRawPhase(dir, "raw-prealloc.dat", cfg.Fsync, terms*benchTermLength)
	if err != nil {
		return res, err
	}
	defer pre.close()
	a, err := Open(Config{Dir: joinPath(dir, "archive"), Fsync: cfg.Fsync, SegmentLength: cfg.SegmentLength, DisableChecksums: cfg.DisableChecksums})
	if err != nil {
		return res, err
	}
	defer a.Close()
	rec, err := a.StartRecording(params)
	if err != nil {
		return res, err
	}
	lags := make([]int64, 0, int(terms)*len(term.batches))
	record := &benchPhase{write: func(t int64, term *benchTerm) error { return benchRecordTerm(rec, term, t, &lags) }}
	if err := runRounds([]*benchPhase{&raw.benchPhase, record, &pre.benchPhase}, &term, terms, params.InitialTermID); err != nil {
		return res, err
	}
	if err := rec.Stop(); err != nil {
		return res, err
	}
	roundBytes := int64(benchRoundTerms * benchTermLength)
	res.Rounds = len(raw.roundNs)
	res.RawMBPerSec = raw.medianMBPerSec(roundBytes)
	res.RawPreallocMBPerSec = pre.medianMBPerSec(roundBytes)
	res.RecordMBPerSec = record.medianMBPerSec(roundBytes)
	res.RecordMsgsPerSec = res.RecordMBPerSec * bytesPerMB / float64(benchTermLength) * float64(term.messages)
	res.RecordVsRaw = medianRatio(raw.roundNs, record.roundNs)
	res.RecordMBPerSecMean = float64(res.Bytes) / bytesPerMB / seconds(record.ns)
	res.RawMBPerSecMean = float64(res.Bytes) / bytesPerMB / seconds(raw.ns)
	slices.Sort(lags)
	res.DurableLagP50Ns = lags[len(lags)/2]
	res.DurableLagP99Ns = lags[len(lags)*99/100]
	res.DurableLagMaxNs = lags[len(lags)-1]
	if err := benchReplay(a, rec.ID(), &res); err != nil || !cfg.Replicate {
		return res, err
	}
	return res, benchReplicate(a, rec.ID(), dir, &res)
}

// runRounds has the phases take turns writing the stream, benchRoundTerms
// terms at a time, timing each turn.
func runRounds(phases []*benchPhase, term *benchTerm, terms int64, initialTermID int32) error {
	// Each term of a round has its own buffer, its term ids set before the
	// round (untimed): a producer's cost, not the archive's.
	var round [benchRoundTerms]benchTerm
	for i := range round {
		round[i] = term.clone()
	}
	for first := int64(0); first < terms; first += benchRoundTerms {
		for i := range round {
			round[i].setTermID(initialTermID + int32(first) + int32(i))
		}
		for _, ph := range phases {
			start := time.Now()
			for t := first; t < first+benchRoundTerms; t++ {
				if err := ph.write(t, &round[t-first]); err != nil {
					return err
				}
			}
			ph.roundNs = append(ph.roundNs, int64(time.Since(start)))
			ph.ns += ph.roundNs[len(ph.roundNs)-1]
		}
	}
	return nil
}

// medianRatio is the median over rounds of base/other time: each round's
// two phases ran back to back, so their ratio cancels what drifts slowly.
func medianRatio(baseNs, otherNs []int64) float64 {
	ratios := make([]float64, len(baseNs))
	for i := range baseNs {
		ratios[i] = float64(baseNs[i]) / float64(otherNs[i])
	}
	slices.Sort(ratios)
	return ratios[len(ratios)/2]
}

func seconds(ns int64) float64 { return float64(ns) / 1e9 }

// rawPhase writes the stream to a plain file through the same File layer.
type rawPhase struct {
	benchPhase
	f    File
	path string
}

// newRawPhase creates the file, preallocated to prealloc bytes if not 0.
func newRawPhase(dir, name string, policy FsyncPolicy, prealloc int64) (*rawPhase, error) {
	p := &rawPhase{path: joinPath(dir, name)}
	f, err := OSFS{}.OpenFile(p.path, true)
	if err != nil {
		return nil, fmt.Errorf("archive: bench raw: %w", err)
	}
	p.f = f
	if prealloc > 0 {
		if err := f.Allocate(prealloc); err == nil {
			err = f.Sync()
		}
		if err != nil {
			p.close()
			return nil, fmt.Errorf("archive: bench raw preallocate: %w", err)
		}
	}
	p.write = func(t int64, term *benchTerm) error { return p.writeTerm(policy, term, t) }
	return p, nil
}

func (p *rawPhase) writeTerm(policy FsyncPolicy, term *benchTerm, t int64) error {
	off := t * benchTermLength
	prev := 0
	for _, end := range term.batches {
		if _, err := p.f.WriteAt(term.buf[prev:end], off+int64(prev)); err != nil {
			return fmt.Errorf("archive: bench raw write: %w", err)
		}
		prev = end
		var err error
		switch policy {
		case FsyncData:
			err = p.f.SyncData()
		case FsyncDataAndMetadata:
			err = p.f.Sync()
		}
		if err != nil {
			return fmt.Errorf("archive: bench raw sync: %w", err)
		}
	}
	return nil
}

func (p *rawPhase) close() {
	p.f.Close()
	os.Remove(p.path)
}

// benchRecordTerm appends term t batch by batch and notes each batch's
// durable lag: from handing the batch over to the durable position covering it.
func benchRecordTerm(rec *Recording, term *benchTerm, t int64, lags *[]int64) error {
	base := transport.Position(t * benchTermLength)
	prev := 0
	for _, end := range term.batches {
		t0 := time.Now()
		if err := rec.Append(base+transport.Position(prev), term.buf[prev:end]); err != nil {
			return err
		}
		if rec.DurablePosition() < base+transport.Position(end) {
			return fmt.Errorf("archive: bench: durable position %d behind %d after append", rec.DurablePosition(), base+transport.Position(end))
		}
		*lags = append(*lags, int64(time.Since(t0)))
		prev = end
	}
	return nil
}

func benchReplay(a *Archive, id int64, res *BenchResult) error {
	r, err := a.OpenReplay(ReplayParams{RecordingID: id, Position: NullPosition, Length: ReplayLengthUnbounded})
	if err != nil {
		return err
	}
	defer r.Close()
	var messages int64
	h := func([]byte, transport.Position) { messages++ }
	start := time.Now()
	for {
		if _, err := r.Poll(h, 4096); err == io.EOF {
			break
		} else if err != nil {
			return err
		}
	}
	seconds := time.Since(start).Seconds()
	if messages != res.Messages {
		return fmt.Errorf("archive: bench: replayed %d messages, recorded %d", messages, res.Messages)
	}
	res.ReplayMBPerSec = float64(res.Bytes) / bytesPerMB / seconds
	res.ReplayMsgsPerSec = float64(messages) / seconds
	return nil
}
