package logstore

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"venue/archive"
	"venue/cluster/consensus"
)

// subject is one LogStore implementation under the conformance test.
type subject struct {
	name   string
	open   func(t *testing.T) consensus.LogStore
	sync   func(t *testing.T, s consensus.LogStore)
	reopen func(t *testing.T, s consensus.LogStore) consensus.LogStore // nil: cannot
}

func subjects() []subject {
	store := func(fsys func(t *testing.T) archive.FS, fsync archive.FsyncPolicy) subject {
		var cfg Config
		return subject{
			name: fmt.Sprintf("Store/%T/%s", fsys(nil), fsync),
			open: func(t *testing.T) consensus.LogStore {
				cfg = testConfig(fsys(t), fsync)
				if _, ok := cfg.FS.(archive.OSFS); ok {
					cfg.Dir = t.TempDir()
				}
				return mustOpen(t, cfg)
			},
			sync: func(t *testing.T, s consensus.LogStore) {
				if err := s.(*Store).Sync(); err != nil {
					t.Fatalf("sync: %v", err)
				}
			},
			reopen: func(t *testing.T, s consensus.LogStore) consensus.LogStore {
				if err := s.(*Store).Close(); err != nil {
					t.Fatalf("close: %v", err)
				}
				return mustOpen(t, cfg)
			},
		}
	}
	sim := func(*testing.T) archive.FS { return archive.NewSimFS(1) }
	osfs := func(*testing.T) archive.FS { return archive.OSFS{} }
	return []subject{
		{
			name: "MemLogStore",
			open: func(*testing.T) consensus.LogStore { return consensus.NewMemLogStore() },
			sync: func(_ *testing.T, s consensus.LogStore) { s.(*consensus.MemLogStore).Sync() },
		},
		store(sim, archive.FsyncNone),
		store(sim, archive.FsyncData),
		store(osfs, archive.FsyncData),
	}
}

// TestConformance runs random Append/Truncate/Read/Terms sequences against
// every LogStore and a byte-slice model: the same bytes, the same terms,
// DurablePosition an entry boundary <= End, Read results stable until the
// next change, and (for Store) the same after every reopen.
func TestConformance(t *testing.T) {
	for _, sub := range subjects() {
		t.Run(sub.name, func(t *testing.T) {
			seeds := uint64(4)
			if raceEnabled {
				seeds = 2
			}
			for seed := uint64(1); seed <= seeds; seed++ {
				conform(t, sub, seed, 250)
			}
		})
	}
}

func conform(t *testing.T, sub subject, seed uint64, ops int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	gen := newEntryGen(seed)
	s := sub.open(t)
	m := newModel()
	for op := range ops {
		var what string
		switch k := rng.IntN(20); {
		case k < 11:
			term := m.lastTerm()
			var lead consensus.TermID
			if term == 0 || rng.IntN(8) == 0 {
				term++
				lead = term
			}
			data := gen.batch(12, 600, lead)
			if rng.IntN(10) == 0 {
				data = gen.batch(120, 2000, lead) // larger than a test segment's share
			}
			what = fmt.Sprintf("append term %d, %d bytes", term, len(data))
			if err := s.Append(term, data); err != nil {
				t.Fatalf("seed %d op %d %s: %v", seed, op, what, err)
			}
			m.append(term, data)
		case k < 13 && len(m.bounds) > 1:
			pos := m.bounds[len(m.bounds)-1-rng.IntN(min(len(m.bounds), 30))]
			what = fmt.Sprintf("truncate to %d of %d", pos, m.end())
			if err := s.Truncate(pos); err != nil {
				t.Fatalf("seed %d op %d %s: %v", seed, op, what, err)
			}
			m.truncate(pos)
		case k < 15:
			what = "sync"
			sub.sync(t, s)
			if s.DurablePosition() != s.End() {
				t.Fatalf("seed %d op %d: durable %d after sync, end %d", seed, op, s.DurablePosition(), s.End())
			}
		case k < 16 && sub.reopen != nil:
			what = "reopen"
			sub.sync(t, s)
			s = sub.reopen(t, s)
		default:
			what = "read"
			checkReads(t, rng, s, m)
		}
		if op%8 == 0 || what == "reopen" {
			checkAgainst(t, fmt.Sprintf("seed %d op %d (%s)", seed, op, what), s, m)
		} else {
			checkPositions(t, fmt.Sprintf("seed %d op %d (%s)", seed, op, what), s, m)
		}
	}
	if sub.reopen != nil {
		sub.sync(t, s)
		s = sub.reopen(t, s)
		checkAgainst(t, fmt.Sprintf("seed %d final reopen", seed), s, m)
		checkSegments(t, s.(*Store))
		s.(*Store).Close()
	}
}

// checkReads reads two random ranges and checks the first is unchanged by
// the second.
func checkReads(t *testing.T, rng *rand.Rand, s consensus.LogStore, m *model) {
	t.Helper()
	if m.end() == 0 {
		return
	}
	span := func() (consensus.Position, consensus.Position) {
		from := consensus.Position(rng.Int64N(int64(m.end())))
		to := from + consensus.Position(rng.Int64N(int64(m.end()-from)+1))
		return from, to
	}
	f1, t1 := span()
	a, err := s.Read(f1, t1, nil)
	if err != nil || !bytes.Equal(a, m.buf[f1:t1]) {
		t.Fatalf("read [%d,%d): %v, equal %t", f1, t1, err, bytes.Equal(a, m.buf[f1:t1]))
	}
	f2, t2 := span()
	b, err := s.Read(f2, t2, make([]byte, 0, 64))
	if err != nil || !bytes.Equal(b, m.buf[f2:t2]) {
		t.Fatalf("read [%d,%d): %v", f2, t2, err)
	}
	if !bytes.Equal(a, m.buf[f1:t1]) {
		t.Fatalf("read [%d,%d) changed by a later read", f1, t1)
	}
}

func checkAgainst(t *testing.T, at string, s consensus.LogStore, m *model) {
	t.Helper()
	checkPositions(t, at, s, m)
	if got := readAll(t, s, 0); !bytes.Equal(got, m.buf) {
		t.Fatalf("%s: log differs from the model (%d bytes)", at, len(got))
	}
}

// checkPositions compares End, Terms and DurablePosition with the model.
func checkPositions(t *testing.T, at string, s consensus.LogStore, m *model) {
	t.Helper()
	if s.End() != m.end() {
		t.Fatalf("%s: end %d, model %d", at, s.End(), m.end())
	}
	if !equalTerms(s.Terms(), m.terms) {
		t.Fatalf("%s: terms %v, model %v", at, s.Terms(), m.terms)
	}
	d := s.DurablePosition()
	if _, found := slices.BinarySearch(m.bounds, d); !found || d > s.End() {
		t.Fatalf("%s: durable %d is not an entry boundary <= end %d", at, d, s.End())
	}
}

// TestAppendRejects: bad input is refused and changes nothing.
func TestAppendRejects(t *testing.T) {
	for _, sub := range subjects()[1:2] {
		s := sub.open(t).(*Store)
		gen := newEntryGen(3)
		if err := s.Append(2, gen.batch(3, 100, 2)); err != nil {
			t.Fatal(err)
		}
		end := s.End()
		good := gen.batch(2, 100, 0)
		cases := map[string]struct {
			term consensus.TermID
			data []byte
		}{
			"lower term":      {1, good},
			"partial entry":   {2, good[:len(good)-8]},
			"garbage":         {2, bytes.Repeat([]byte{0xff}, 64)},
			"zero frame":      {2, make([]byte, 64)},
			"entry plus junk": {2, append(slices.Clone(good), 1, 2, 3, 4, 5, 6, 7, 8)},
		}
		for name, c := range cases {
			if err := s.Append(c.term, c.data); err == nil {
				t.Errorf("%s: accepted", name)
			}
			if s.End() != end || s.Err() != nil {
				t.Fatalf("%s: end %d (want %d), err %v", name, s.End(), end, s.Err())
			}
		}
		if err := s.Truncate(end - 8); err == nil {
			t.Error("truncate inside an entry accepted")
		}
		if _, err := s.Read(0, end+1, nil); err == nil {
			t.Error("read past the end accepted")
		}
		s.Close()
	}
}
