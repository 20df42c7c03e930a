package logstore

import (
	"sync"
	"testing"
	"time"

	"venue/archive"
	"venue/cluster/consensus"
)

// TestRollDoesNotWaitForTheDisk: under FsyncData, an Append that rolls to
// a new segment returns while the syncer's fdatasync is stuck in the
// disk; the roll's own syncs are owed and paid by the syncer once the disk
// answers, and what was appended is then durable and survives a power
// loss.
func TestRollDoesNotWaitForTheDisk(t *testing.T) {
	fsys := archive.NewSimFS(31)
	disk := &stuckFS{FS: fsys}
	cfg := testConfig(disk, archive.FsyncData)
	cfg.prepareInline = false // as a member runs it: the preparer's syncs are its own
	s := mustOpen(t, cfg)
	defer s.Close()
	defer disk.unstick() // before Close, which waits for the syncer
	m := newModel()
	gen := newEntryGen(31)
	appendBatch := func(n int) {
		t.Helper()
		lead := consensus.TermID(0)
		if m.end() == 0 {
			lead = 1
		}
		b := gen.batch(n, 900, lead)
		if err := s.Append(1, b); err != nil {
			t.Fatal(err)
		}
		m.append(1, b)
	}
	for m.end() < testSegmentLength-8000 {
		appendBatch(10)
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	segments := len(s.segs)

	disk.stick()
	appendBatch(4)
	s.Notify()
	select {
	case <-disk.stuckNow:
	case <-time.After(testWait):
		t.Fatal("no fdatasync reached the stuck disk")
	}
	rolled := make(chan struct{})
	go func() {
		defer close(rolled)
		for len(s.segs) == segments {
			appendBatch(10)
		}
	}()
	select {
	case <-rolled:
	case <-time.After(testWait):
		t.Fatal("an Append that rolled waited for the stuck fdatasync")
	}
	if s.rolled.Load() == nil {
		t.Fatal("the roll owes no syncs")
	}
	if d := s.DurablePosition(); d >= s.End() {
		t.Fatalf("durable %d with the disk stuck, end %d", d, s.End())
	}

	disk.unstick()
	s.Notify()
	waitDurable(t, s, s.End())
	if s.rolled.Load() != nil {
		t.Fatal("the roll's syncs are still owed after a sync to the end")
	}
	fsys.PowerLoss()
	r := mustOpen(t, cfg)
	defer r.Close()
	checkAgainst(t, "after the power loss", r, m)
}

// testWait bounds a wait for something a test expects to happen soon.
const testWait = 10 * time.Second

// stuckFS holds every fdatasync of a file, once stuck, until unstuck: a
// disk that stops answering. stuckNow receives when an fdatasync starts
// waiting.
type stuckFS struct {
	archive.FS
	mu       sync.Mutex
	cond     *sync.Cond
	isStuck  bool
	stuckNow chan struct{}
}

func (f *stuckFS) stick() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.cond == nil {
		f.cond = sync.NewCond(&f.mu)
		f.stuckNow = make(chan struct{}, 1)
	}
	f.isStuck = true
}

func (f *stuckFS) unstick() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.isStuck = false
	if f.cond != nil {
		f.cond.Broadcast()
	}
}

func (f *stuckFS) OpenFile(name string, create bool) (archive.File, error) {
	file, err := f.FS.OpenFile(name, create)
	if err != nil {
		return nil, err
	}
	return stuckFile{file, f}, nil
}

type stuckFile struct {
	archive.File
	fs *stuckFS
}

func (f stuckFile) SyncData() error {
	f.fs.mu.Lock()
	for f.fs.isStuck {
		select {
		case f.fs.stuckNow <- struct{}{}:
		default:
		}
		f.fs.cond.Wait()
	}
	f.fs.mu.Unlock()
	return f.File.SyncData()
}
