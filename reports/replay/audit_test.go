package replay

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"venue/cluster/member"

	"venue/cluster/consensus"
	"venue/cluster/logstore"
)

// segmentFiles lists a directory's segments by base.
func segmentFiles(t testing.TB, dir string) []segName {
	t.Helper()
	names, err := segmentNames(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 4 {
		t.Fatalf("only %d segments", len(names))
	}
	return names
}

// A flipped byte anywhere in the log is reported with the first position
// where the log parts, whether logstore trims the log before it (the last
// two segments, which its recovery validates), reads it as if intact (an
// older segment), or refuses the directory (a damaged header).
func TestAuditFindsAFlippedByte(t *testing.T) {
	dir, _ := smallDay(t)
	segs := segmentFiles(t, dir)
	const dataOff = segHeaderRegion + 200 // inside the segment's first batch
	for _, c := range []struct {
		name string
		seg  segName
		off  int64
	}{
		{"validated segment", segs[len(segs)-2], dataOff},
		{"older segment", segs[1], dataOff},
		{"first segment", segs[0], dataOff},
		{"older segment's header", segs[len(segs)/2], segBaseOff},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := copyDir(t, dir)
			flipByte(t, filepath.Join(d, c.seg.name), c.off)
			rep, err := Audit(d, AuditConfig{})
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK || rep.First == nil {
				t.Fatalf("a flipped byte went unnoticed: %+v", rep)
			}
			flipped := c.seg.base + consensus.Position(c.off-segHeaderRegion)
			p := rep.Verify.Problem
			if p == nil || !p.DataFollows {
				t.Fatalf("segment verification: %+v", rep.Verify)
			}
			if c.off >= segHeaderRegion && (p.Position > flipped || p.Position+consensus.Position(p.Length) <= flipped) {
				t.Fatalf("verification blames [%d, +%d), the flip is at %d", p.Position, p.Length, flipped)
			}
			if rep.First.Position != p.Position {
				t.Fatalf("first divergence %+v, want the damaged batch at %d", rep.First, p.Position)
			}
			for _, d := range rep.Divergences {
				t.Logf("%s: at %d (since %d): %s", c.name, d.Position, d.Since, d.What)
			}
		})
	}
}

// The audit compares the replayed state at every snapshot with the
// snapshot: a snapshot recording another state is found, and the report
// says where the log last agreed.
func TestAuditFindsADifferentSnapshot(t *testing.T) {
	h := writeByHand(t, 3000, 1000)
	s, err := logstore.Open(logstore.Config{Dir: h.dir, SegmentLength: testSegmentLength})
	if err != nil {
		t.Fatal(err)
	}
	early, err := member.DecodeSnapshotBlob(loadSnapshot(t, h.dir, h.snap))
	if err != nil {
		t.Fatal(err)
	}
	end := s.End()
	early.Position = end // the early state, claimed for the end of the log
	blob := member.AppendSnapshotBlob(nil, &early)
	if _, err := s.WriteSnapshot(logstore.SnapshotMeta{Term: writerTerm, Position: end}, bytes.NewReader(blob)); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	rep, err := Audit(h.dir, AuditConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if rep.OK || len(rep.Checks) != 2 || !rep.Checks[0].Match || rep.Checks[1].Match {
		t.Fatalf("checks %+v", rep.Checks)
	}
	if rep.First == nil || rep.First.Position != end || rep.First.Since != h.snap {
		t.Fatalf("first divergence %+v, want at %d since %d", rep.First, end, h.snap)
	}
	t.Log(rep.First.What)

	// Bounded by To, the audit stops before the bad snapshot.
	rep, err = Audit(h.dir, AuditConfig{To: AtPosition(end - 1)})
	if err != nil || !rep.OK || len(rep.Checks) != 1 {
		t.Fatalf("audit to before the bad snapshot: ok %v, %d checks (%v)", rep.OK, len(rep.Checks), err)
	}
	// Started from the good snapshot, it checks only the bad one.
	rep, err = Audit(h.dir, AuditConfig{FromSnapshot: true, From: AtPosition(h.snap)})
	if err != nil || rep.OK || rep.Replay.Start != h.snap || len(rep.Checks) != 1 {
		t.Fatalf("audit from the snapshot: %+v (%v)", rep, err)
	}
}

func loadSnapshot(t testing.TB, dir string, pos consensus.Position) []byte {
	t.Helper()
	src := mustOpen(t, dir)
	for _, s := range src.Snapshots(0) {
		if s.Position == pos {
			b, err := readSnapshotBytes(src, s)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	t.Fatalf("no snapshot at %d", pos)
	return nil
}

// The shared day's audit: every segment verifies and every snapshot
// matches.
func TestAuditIntactDay(t *testing.T) {
	dir, res := sharedDay(t)
	rep, err := Audit(dir, AuditConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || len(rep.Checks) != len(res.Snapshots) || rep.Verify.End != res.End || rep.End != res.End {
		t.Fatalf("audit: %+v", rep)
	}
	if rep.Digest != fmt.Sprintf("%x", res.Digest) {
		t.Fatalf("replayed digest %s, the writer's engine %x", rep.Digest, res.Digest)
	}
}
