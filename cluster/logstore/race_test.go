package logstore

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"venue/archive"
	"venue/cluster/consensus"
	"venue/cluster/module"
)

// TestSyncerRaces drives appends and truncations on one goroutine while
// the store's syncer writes and syncs on its own (woken by Notify) and
// another goroutine watches DurablePosition. After every operation the
// durable position must be an entry boundary <= End (a sync that started
// before a Truncate must not report a position past it); at the end the
// syncer catches up, and a power loss keeps at least what it reported.
// Run with -race.
func TestSyncerRaces(t *testing.T) {
	for seed := uint64(1); seed <= 6; seed++ {
		fsys := archive.NewSimFS(seed)
		cfg := testConfig(fsys, archive.FsyncData)
		s := mustOpen(t, cfg)
		rng := rand.New(rand.NewPCG(seed, 13))
		gen := newEntryGen(seed)
		m := newModel()
		var stop atomic.Bool
		var wg sync.WaitGroup
		wg.Add(1)
		go func() { // a reader of the durable position, as counters are
			defer wg.Done()
			for !stop.Load() {
				if d := s.DurablePosition(); d < 0 || d%8 != 0 {
					t.Errorf("durable %d", d)
					return
				}
			}
		}()
		for op := range 400 {
			if k := rng.IntN(10); k < 8 || len(m.bounds) < 2 {
				term := max(m.lastTerm(), 1)
				if rng.IntN(20) == 0 {
					term++
				}
				lead := consensus.TermID(0)
				if term != m.lastTerm() {
					lead = term
				}
				b := gen.batch(6, 400, lead)
				if err := s.Append(term, b); err != nil {
					t.Fatal(err)
				}
				m.append(term, b)
				s.Notify()
			} else {
				pos := m.bounds[len(m.bounds)-1-rng.IntN(min(len(m.bounds), 20))]
				if err := s.Truncate(pos); err != nil {
					t.Fatal(err)
				}
				m.truncate(pos)
				if d := s.DurablePosition(); d > pos {
					t.Fatalf("seed %d op %d: durable %d after truncating to %d", seed, op, d, pos)
				}
			}
			d := s.DurablePosition()
			if _, ok := slices.BinarySearch(m.bounds, d); !ok || d > s.End() {
				t.Fatalf("seed %d op %d: durable %d not an entry boundary <= end %d", seed, op, d, s.End())
			}
		}
		waitDurable(t, s, s.End())
		stop.Store(true)
		wg.Wait()
		d := s.DurablePosition()
		fsys.PowerLoss()
		s.Close()
		r := mustOpen(t, cfg)
		if got := readAll(t, r, 0); consensus.Position(len(got)) < d || !isPrefix(got, m.buf) {
			t.Fatalf("seed %d: recovered %d bytes, durable was %d", seed, len(got), d)
		}
		r.Close()
	}
}

// waitDurable polls (with a deadline, never a fixed sleep) until the
// syncer has made pos durable.
func waitDurable(t *testing.T, s *Store, pos consensus.Position) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for s.DurablePosition() < pos {
		if time.Now().After(deadline) {
			t.Fatalf("durable %d, want %d: the syncer did not catch up (err %v)", s.DurablePosition(), pos, s.Err())
		}
		s.Notify()
		time.Sleep(time.Millisecond) // poll interval
	}
}

// TestSyncerStopsOnClose: Close stops the syncer goroutine and makes what
// was appended durable; Notify after Close is harmless.
func TestSyncerStopsOnClose(t *testing.T) {
	fsys := archive.NewSimFS(1)
	cfg := testConfig(fsys, archive.FsyncData)
	s := mustOpen(t, cfg)
	gen := newEntryGen(1)
	b := gen.batch(20, 500, 1)
	s.Append(1, b)
	s.Notify()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.Notify()
	select {
	case <-s.syncDone:
	default:
		t.Fatal("syncer still running after Close")
	}
	fsys.PowerLoss()
	r := mustOpen(t, cfg)
	defer r.Close()
	if r.End() != consensus.Position(len(b)) {
		t.Fatalf("recovered %d of %d bytes appended before Close", r.End(), len(b))
	}
}

// TestSnapshotsBesideAppends: a service goroutine writes and reads
// snapshots while the consensus goroutine appends and truncates and the
// syncer syncs. Run with -race.
func TestSnapshotsBesideAppends(t *testing.T) {
	fsys := archive.NewSimFS(3)
	s := mustOpen(t, testConfig(fsys, archive.FsyncData))
	defer s.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 8 {
			data := randomBytes(uint64(i), 10000*i)
			r, err := s.WriteSnapshot(SnapshotMeta{Term: 1, Position: consensus.Position(8 * i)}, bytesReader(data))
			if err != nil {
				t.Error(err)
				return
			}
			got, err := readSnapshot(t, s, r)
			if err != nil || len(got) != len(data) {
				t.Errorf("snapshot %d: %v", i, err)
				return
			}
		}
	}()
	gen := newEntryGen(3)
	m := newModel()
	for i := range 300 {
		b := gen.batch(5, 300, 0)
		if i == 0 {
			b = gen.batch(5, 300, 1)
		}
		if err := s.Append(1, b); err != nil {
			t.Fatal(err)
		}
		m.append(1, b)
		s.Notify()
		if i%50 == 49 {
			pos := m.bounds[len(m.bounds)-3]
			if err := s.Truncate(pos); err != nil {
				t.Fatal(err)
			}
			m.truncate(pos)
		}
	}
	wg.Wait()
	waitDurable(t, s, s.End())
	if n := len(s.RecordingLog().Snapshots()); n != 8 {
		t.Fatalf("%d snapshots", n)
	}
	checkAgainst(t, "after concurrent snapshots", s, m)
}

// Store is the module's Durability: SaveHardState and LogAppended.
var _ module.Durability = (*Store)(nil)

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// TestDurableHook: the hook runs after each advance the syncer makes, with
// the new position already visible and on disk (a power loss right after
// keeps it), so a parked consensus goroutine woken by it reads a fresh
// DurablePosition; it is never called under FsyncNone; nil removes it.
func TestDurableHook(t *testing.T) {
	fsys := archive.NewSimFS(5)
	cfg := testConfig(fsys, archive.FsyncData)
	s := mustOpen(t, cfg)
	seen := make(chan consensus.Position, 1024) // more than the appends below
	s.SetDurableHook(func() {
		select {
		case seen <- s.DurablePosition():
		default: // a hook must never block
		}
	})
	gen := newEntryGen(5)
	var highest consensus.Position
	for i := range 20 {
		lead := consensus.TermID(0)
		if i == 0 {
			lead = 1 // the term's first batch opens it
		}
		b := gen.batch(4, 300, lead)
		if err := s.Append(1, b); err != nil {
			t.Fatal(err)
		}
		s.Notify()
		deadline := time.After(10 * time.Second)
		for highest < s.End() {
			select {
			case p := <-seen:
				highest = max(highest, p)
			case <-deadline:
				t.Fatalf("append %d: hook reported %d, want %d (err %v)", i, highest, s.End(), s.Err())
			}
		}
	}
	s.SetDurableHook(nil)
	s.Append(1, gen.batch(2, 300, 0))
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	select {
	case p := <-seen:
		t.Fatalf("removed hook still called (position %d)", p)
	default:
	}
	fsys.PowerLoss()
	_ = s.Close() // its files died with the power
	r := mustOpen(t, cfg)
	defer r.Close()
	if r.End() < highest {
		t.Fatalf("recovered %d bytes, the hook reported %d durable", r.End(), highest)
	}

	none := mustOpen(t, testConfig(archive.NewSimFS(6), archive.FsyncNone))
	defer none.Close()
	none.SetDurableHook(func() { t.Error("hook called under FsyncNone") })
	if err := none.Append(1, newEntryGen(6).batch(3, 300, 1)); err != nil {
		t.Fatal(err)
	}
	none.Notify()
	if err := none.Sync(); err != nil {
		t.Fatal(err)
	}
}
