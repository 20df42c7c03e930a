package failover

import (
	"testing"

	"venue/cluster/config"
)

// TestRunRecovery: a small log recovered by replay and from a snapshot;
// the benchmark checks the echo counts itself.
func TestRunRecovery(t *testing.T) {
	const entries = 20_000
	res, err := RunRecovery(RecoveryConfig{Entries: entries, Snapshot: true, Fsync: config.FsyncNone, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.Entries != entries || res.Seconds <= 0 || res.EntriesPerSec <= 0 || res.LaunchSeconds > res.Seconds ||
		res.LogBytes < entries*int64(res.Payload) || res.SnapshotReplayed != entries || res.SnapshotSeconds <= 0 {
		t.Fatalf("result %+v", res)
	}
}

func TestRunRecoveryRejectsBadConfig(t *testing.T) {
	for _, cfg := range []RecoveryConfig{{Entries: 0}, {Entries: RecoveryEntriesMax + 1}, {Entries: 1, Payload: -1},
		{Entries: 1, Payload: 1 << 20}} {
		if _, err := RunRecovery(cfg); err == nil {
			t.Errorf("%+v accepted", cfg)
		}
	}
}

// TestBuildLogRefusesAnExistingLog: the builder only writes fresh logs.
func TestBuildLogRefusesAnExistingLog(t *testing.T) {
	dir := t.TempDir()
	if _, err := BuildLog(dir, 10, 8); err != nil {
		t.Fatal(err)
	}
	if _, err := BuildLog(dir, 10, 8); err == nil {
		t.Fatal("a second build over the same log succeeded")
	}
}
