package archive

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"venue/transport"
)

// Small geometry so tests cross many terms and segments cheaply.
const (
	testTermLength    = 4 << 10
	testSegmentLength = 16 << 10
	testMTU           = 1408
)

func testParams() RecordingParams {
	return RecordingParams{Channel: "venue:ipc?alias=log", StreamID: 7, SessionID: 42,
		InitialTermID: 100, TermLength: testTermLength, MTULength: testMTU}
}

func openTestArchive(t testing.TB, fsys FS, dir string, policy FsyncPolicy) *Archive {
	t.Helper()
	a, err := Open(Config{Dir: dir, FS: fsys, Fsync: policy, SegmentLength: testSegmentLength,
		EpochClockNs: func() int64 { return 1_700_000_000_000_000_000 }})
	if err != nil {
		t.Fatalf("open archive: %v", err)
	}
	return a
}

// stream generates a recording's frames and remembers them, so tests can
// compare what a replay returns with what was recorded.
type stream struct {
	b      *frameBuilder
	rng    *rand.Rand
	frames [][]byte // every data frame generated, in order
	starts []transport.Position
}

func newStream(t testing.TB, rec *Recording, seed uint64) *stream {
	d := rec.Descriptor()
	return &stream{b: newFrameBuilder(&d, rec.RecordedPosition()), rng: rand.New(rand.NewPCG(seed, 1))}
}

// block makes a block of n messages with random payload lengths.
func (s *stream) block(n int) (transport.Position, []byte) {
	pos := s.b.position
	var blk []byte
	for range n {
		payload := make([]byte, s.rng.IntN(testMTU-transport.HeaderLength+1))
		for i := range payload {
			payload[i] = byte(s.rng.Uint32())
		}
		blk = s.b.appendMessage(blk, payload)
		// The data frame is the last frame appended (after an optional pad).
		frameLen := transport.Align(transport.HeaderLength+len(payload), transport.FrameAlignment)
		start := len(blk) - frameLen
		s.frames = append(s.frames, bytes.Clone(blk[start:start+transport.HeaderLength+len(payload)]))
		s.starts = append(s.starts, pos+transport.Position(start))
	}
	return pos, blk
}

// record appends n blocks of up to messagesMax messages each.
func (s *stream) record(t testing.TB, rec *Recording, blocks, messagesMax int) {
	t.Helper()
	for range blocks {
		pos, blk := s.block(1 + s.rng.IntN(messagesMax))
		if err := rec.Append(pos, blk); err != nil {
			t.Fatalf("append at %d: %v", pos, err)
		}
	}
}

type replayedFrame struct {
	pos   transport.Position
	frame []byte
}

// replayAll replays to the end and returns every data frame.
func replayAll(t testing.TB, a *Archive, p ReplayParams) []replayedFrame {
	t.Helper()
	r, err := a.OpenReplay(p)
	if err != nil {
		t.Fatalf("open replay %+v: %v", p, err)
	}
	defer r.Close()
	var out []replayedFrame
	h := func(frame []byte, pos transport.Position) {
		out = append(out, replayedFrame{pos, bytes.Clone(frame)})
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := r.Poll(h, 64)
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("poll: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("replay did not end by the deadline at position %d", r.Position())
		}
	}
}

// checkReplay asserts that replayed frames equal the generated ones from
// index first, byte for byte.
func checkReplay(t testing.TB, got []replayedFrame, s *stream, first, count int) {
	t.Helper()
	if len(got) != count {
		t.Fatalf("replayed %d frames, want %d", len(got), count)
	}
	for i, g := range got {
		if g.pos != s.starts[first+i] || !bytes.Equal(g.frame, s.frames[first+i]) {
			t.Fatalf("frame %d at %d differs from the recorded frame at %d", i, g.pos, s.starts[first+i])
		}
	}
}

func mustNotErr(t testing.TB, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func wantErr(t testing.TB, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: %v, want %v", what, err, target)
	}
}

// rewind forgets generated frames at or after pos: the stream continues
// from pos, as a recording extended at pos does.
func (s *stream) rewind(pos transport.Position) {
	i := 0
	for i < len(s.starts) && s.starts[i] < pos {
		i++
	}
	s.frames, s.starts = s.frames[:i], s.starts[:i]
	s.b.position = pos
}

// countBefore returns how many generated frames end at or before pos, and
// whether pos is exactly a frame end (or a pad end) of the stream.
func (s *stream) countBefore(pos transport.Position) int {
	n := 0
	for i, st := range s.starts {
		if st+transport.Position(transport.Align(len(s.frames[i]), transport.FrameAlignment)) <= pos {
			n = i + 1
		}
	}
	return n
}
