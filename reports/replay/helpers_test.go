package replay

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"venue/cluster/consensus"
	"venue/engine"
	"venue/reports/surveil"
)

// testSegmentLength keeps segments small, so that a day spans many and
// logstore validates only the last two in full.
const testSegmentLength = 64 << 10

// fixtureEvents is the shared day's length: long enough for every
// detector's typical sizes to settle (surveil's scenario suite uses the
// same), short enough for -race.
const fixtureEvents = 60_000

// smallStepNs spaces a small day's commands out, so that its closing
// phase (a fixed span of cluster time) is short too.
const smallStepNs = 200e6

// fixture is a generated day with the abuse suite and snapshots, written
// once per test binary and only read (tests that damage it copy it).
var fixture struct {
	once sync.Once
	dir  string
	res  DayResult
	err  error
}

func sharedDay(t testing.TB) (string, DayResult) {
	t.Helper()
	fixture.once.Do(func() {
		dir, err := os.MkdirTemp("", "venue-replay-test-")
		if err != nil {
			fixture.err = err
			return
		}
		fixture.dir = filepath.Join(dir, "member-0")
		fixture.res, fixture.err = WriteDay(DayConfig{Dir: fixture.dir, Seed: 3, Events: fixtureEvents, Inject: true,
			SnapshotEvery: 25_000, SegmentLength: testSegmentLength})
	})
	if fixture.err != nil {
		t.Fatal(fixture.err)
	}
	return fixture.dir, fixture.res
}

// small is a short day with snapshots and many segments, for the tests
// that do not need the detectors' full warm-up.
var small struct {
	once sync.Once
	dir  string
	res  DayResult
	err  error
}

func smallDay(t testing.TB) (string, DayResult) {
	t.Helper()
	small.once.Do(func() {
		dir, err := os.MkdirTemp("", "venue-replay-test-")
		if err != nil {
			small.err = err
			return
		}
		small.dir = filepath.Join(dir, "member-0")
		small.res, small.err = WriteDay(DayConfig{Dir: small.dir, Seed: 4, Events: 8000, StepNs: smallStepNs, Inject: true,
			SnapshotEvery: 3000, SegmentLength: testSegmentLength})
	})
	if small.err != nil {
		t.Fatal(small.err)
	}
	return small.dir, small.res
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range []string{fixture.dir, small.dir} {
		if d != "" {
			os.RemoveAll(filepath.Dir(d))
		}
	}
	os.Exit(code)
}

// handWritten is a log written entry by entry beside a directly driven
// engine: the reference a replay must reproduce.
type handWritten struct {
	dir     string
	direct  *engine.Engine     // fed every command directly, with the log's positions and times
	events  []surveil.Event    // what the direct engine reported, in order
	snap    consensus.Position // where the snapshot was taken
	snapDig [32]byte
	digest  [32]byte // the direct engine's state at the end
	// books are the direct engine's market at the snapshot (its
	// recorder's levels, 10 a side), by instrument.
	books map[uint32][2][]surveil.Level
}

type collect struct{ out *[]surveil.Event }

func (c collect) OnEvent(ev *surveil.Event, _ *surveil.Market) { *c.out = append(*c.out, *ev) }

// writeByHand generates a small day, writes it through a LogWriter (no
// shadow) and applies the same records to a fresh engine directly,
// recording a snapshot of that engine's state at the position after
// record snapAt.
func writeByHand(t testing.TB, events, snapAt int) *handWritten {
	t.Helper()
	var day bytes.Buffer
	if _, err := surveil.GenerateDay(surveil.DayConfig{Seed: 7, Events: events, StepNs: smallStepNs, Inject: true, Log: &day}, nopHandler{}); err != nil {
		t.Fatal(err)
	}
	h := &handWritten{dir: filepath.Join(t.TempDir(), "member")}
	w, err := CreateLog(WriterConfig{Dir: h.dir, SegmentLength: testSegmentLength, Shadow: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := surveil.NewRecorder(collect{&h.events})
	n := 0
	_, err = surveil.ReadLog(bytes.NewReader(day.Bytes()), func(admin string) error {
		h.direct, err = engine.New(engine.Config{BootstrapAdmin: admin, ReportTap: rec, MarketData: rec})
		return err
	}, func(lr *surveil.LogRecord) error {
		var pos consensus.Position
		var err error
		switch lr.Kind {
		case surveil.LogOpen:
			pos, err = w.SessionOpen(lr.Session, lr.Payload, lr.ClusterTime)
			h.direct.OnSessionOpen(lr.Session, lr.Payload, int64(pos), lr.ClusterTime)
		case surveil.LogMessage:
			pos, err = w.Message(lr.Session, lr.ClusterTime, lr.Payload)
			h.direct.OnSessionMessage(lr.Session, int64(pos), lr.ClusterTime, lr.Payload)
		case surveil.LogClose:
			pos, err = w.SessionClose(lr.Session, surveil.LogCloseReason, lr.ClusterTime)
			h.direct.OnSessionClose(lr.Session, surveil.LogCloseReason, int64(pos), lr.ClusterTime)
		}
		if n++; n != snapAt || err != nil {
			return err
		}
		s, err := w.Snapshot(lr.ClusterTime)
		if err != nil {
			return err
		}
		h.snap, h.snapDig = s.Position, h.direct.Digest()
		h.books = map[uint32][2][]surveil.Level{}
		for _, id := range rec.Market().Instruments() {
			bids, asks := rec.Market().Book(id).Snapshot(DefaultDepth)
			h.books[id] = [2][]surveil.Level{bids, asks}
		}
		return nil
	})
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	if h.snap == 0 {
		t.Fatalf("the day has fewer than %d records", snapAt)
	}
	h.digest = h.direct.Digest()
	if w.Shadow().Digest() != h.digest {
		t.Fatal("the writer's shadow service and the directly fed engine disagree")
	}
	return h
}

// treeDigest hashes every file's path, mode and content under dir.
func treeDigest(t testing.TB, dir string) string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		st, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(h, p+"\x00"+st.Mode().String()+"\x00"+st.ModTime().String()+"\x00")
		if st.Mode().IsRegular() {
			f, err := os.Open(p)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(h, f)
			f.Close()
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// copyDir copies a data directory (to damage the copy).
func copyDir(t testing.TB, from string) string {
	t.Helper()
	to := filepath.Join(t.TempDir(), "copy")
	if err := copyTree(from, to); err != nil {
		t.Fatal(err)
	}
	return to
}

// flipByte inverts one byte of a file.
func flipByte(t testing.TB, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}

func mustOpen(t testing.TB, dir string) *Source {
	t.Helper()
	src, err := Open(dir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := src.Close(); err != nil {
			t.Error(err)
		}
	})
	return src
}

func replayAll(t testing.TB, src *Source, cfg Config) *Replayer {
	t.Helper()
	r, err := NewReplayer(src, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.AdvanceTo(Point{}); err != nil {
		t.Fatal(err)
	}
	return r
}
