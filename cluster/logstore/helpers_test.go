package logstore

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"

	"venue/archive"
	"venue/cluster/consensus"
)

// testSegmentLength keeps segments small so tests roll often.
const testSegmentLength = segmentLengthMin

// testPrepareChunk makes a test segment's spare about ten chunks, so that
// a paced preparation interleaves with the appends of a crash test.
const testPrepareChunk = 8 << 10

// testConfig is a store on a simulated disk with small segments and small
// snapshot recordings, preparing segments on the writer's goroutine (so
// that a seed replays the same file operations).
func testConfig(fsys archive.FS, fsync archive.FsyncPolicy) Config {
	return Config{Dir: "/member", FS: fsys, Fsync: fsync, SegmentLength: testSegmentLength,
		snapshotSegmentLength: 64 << 10, snapshotTermLength: 64 << 10, prepareInline: true,
		prepareChunk: testPrepareChunk}
}

func mustOpen(t testing.TB, cfg Config) *Store {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

// entryGen makes random, valid log entries from a seeded source.
type entryGen struct {
	rng *rand.Rand
	ts  int64
}

func newEntryGen(seed uint64) *entryGen {
	return &entryGen{rng: rand.New(rand.NewPCG(seed, seed^0x5bd1e995))}
}

// entry appends one random entry; payloadMax bounds a message's payload.
func (g *entryGen) entry(dst []byte, payloadMax int) []byte {
	g.ts += int64(g.rng.IntN(1000) + 1)
	e := consensus.LogEntry{Timestamp: g.ts}
	switch g.rng.IntN(6) {
	case 0:
		e.Type = consensus.EntrySessionOpen
		e.SessionID = consensus.SessionID(g.rng.Int64N(100))
		e.Payload = g.payload(min(payloadMax, 64))
	case 1:
		e.Type = consensus.EntrySessionClose
		e.SessionID = consensus.SessionID(g.rng.Int64N(100))
		e.Reason = consensus.CloseClient
	case 2:
		e.Type = consensus.EntryTimer
		e.CorrelationID = g.rng.Int64()
	default:
		e.Type = consensus.EntrySessionMessage
		e.SessionID = consensus.SessionID(g.rng.Int64N(100))
		e.CorrelationID = g.rng.Int64()
		e.Payload = g.payload(payloadMax)
	}
	return consensus.AppendEntry(dst, &e)
}

func (g *entryGen) payload(max int) []byte {
	p := make([]byte, g.rng.IntN(max+1))
	for i := range p {
		p[i] = byte(g.rng.Uint32())
	}
	return p
}

// batch returns 1..n random entries, led by a NewLeadershipTerm entry when
// lead is set.
func (g *entryGen) batch(n, payloadMax int, lead consensus.TermID) []byte {
	var b []byte
	if lead > 0 {
		g.ts++
		b = consensus.AppendEntry(b, &consensus.LogEntry{Type: consensus.EntryNewLeadershipTerm,
			TermID: lead, Timestamp: g.ts})
	}
	for range 1 + g.rng.IntN(n) {
		b = g.entry(b, payloadMax)
	}
	return b
}

// model is the reference log: bytes, term records, entry boundaries.
type model struct {
	buf    []byte
	terms  []consensus.TermRecord
	bounds []consensus.Position // every entry start, plus the end
}

func newModel() *model { return &model{bounds: []consensus.Position{0}} }

func (m *model) end() consensus.Position { return consensus.Position(len(m.buf)) }

func (m *model) clone() *model {
	return &model{buf: slices.Clone(m.buf), terms: slices.Clone(m.terms), bounds: slices.Clone(m.bounds)}
}

func (m *model) append(term consensus.TermID, data []byte) {
	if n := len(m.terms); n == 0 || m.terms[n-1].Term != term {
		m.terms = append(m.terms, consensus.TermRecord{Term: term, Base: m.end()})
	}
	for p := 0; p < len(data); {
		n, err := consensus.EntryFrameLength(data[p:])
		if err != nil {
			panic(err)
		}
		p += n
		m.bounds = append(m.bounds, m.end()+consensus.Position(p))
	}
	m.buf = append(m.buf, data...)
}

func (m *model) truncate(pos consensus.Position) {
	m.buf = m.buf[:pos]
	m.terms = termsBelow(m.terms, pos)
	i, _ := slices.BinarySearch(m.bounds, pos)
	m.bounds = m.bounds[:i+1]
}

// termsBelow returns the records with Base < end.
func termsBelow(terms []consensus.TermRecord, end consensus.Position) []consensus.TermRecord {
	out := []consensus.TermRecord{}
	for _, r := range terms {
		if r.Base < end {
			out = append(out, r)
		}
	}
	return out
}

func (m *model) lastTerm() consensus.TermID {
	if len(m.terms) == 0 {
		return 0
	}
	return m.terms[len(m.terms)-1].Term
}

// readAll returns every byte of s from its start.
func readAll(t testing.TB, s consensus.LogStore, from consensus.Position) []byte {
	t.Helper()
	b, err := s.Read(from, s.End(), nil)
	if err != nil {
		t.Fatalf("read [%d, %d): %v", from, s.End(), err)
	}
	return slices.Clone(b)
}

// checkDecodes fails unless b is whole decodable entries.
func checkDecodes(t testing.TB, b []byte) {
	t.Helper()
	var e consensus.LogEntry
	if !wholeEntries(b, &e) {
		t.Fatalf("log of %d bytes does not decode entry by entry", len(b))
	}
}

func equalTerms(a, b []consensus.TermRecord) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	return slices.Equal(a, b)
}

func isPrefix(prefix, of []byte) bool {
	return len(prefix) <= len(of) && bytes.Equal(prefix, of[:len(prefix)])
}

// checkSegments scans every segment file in full and fails unless its
// slots chain from its base exactly to where the next segment (or the
// log) begins: trusted segments must really be what recovery trusts.
func checkSegments(t testing.TB, s *Store) {
	t.Helper()
	for i, seg := range s.segs {
		want := s.end
		if i+1 < len(s.segs) {
			want = s.segs[i+1].base
		}
		f, err := s.cfg.FS.OpenFile(seg.path, false)
		if err != nil {
			t.Fatalf("segment %d: %v", seg.base, err)
		}
		sc, err := scanSegment(f, &seg.segHeader)
		f.Close()
		if err != nil {
			t.Fatalf("segment %d: %v", seg.base, err)
		}
		if seg == s.tail && sc.end < s.DurablePosition() || seg != s.tail && sc.end != want {
			t.Fatalf("segment %d: slots reach %d, want %d (durable %d)", seg.base, sc.end, want, s.DurablePosition())
		}
	}
}
