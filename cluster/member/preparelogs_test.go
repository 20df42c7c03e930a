package member

import (
	"os"
	"path/filepath"
	"testing"

	"venue/cluster/config"
	"venue/cluster/consensus"
)

// PrepareLogs leaves a complete spare segment in every member's log
// directory under data fsync, and nothing at all without it.
func TestPrepareLogs(t *testing.T) {
	const segment = 1 << 20
	for _, tc := range []struct {
		fsync config.Fsync
		want  bool
	}{{config.FsyncData, true}, {config.FsyncNone, false}} {
		t.Run(string(tc.fsync), func(t *testing.T) {
			c := config.Loopback(3, 20_000, t.TempDir())
			c.Fsync = tc.fsync
			if err := PrepareLogs(c, Options{LogSegmentLength: segment}); err != nil {
				t.Fatal(err)
			}
			for i := range c.Members {
				fi, err := os.Stat(filepath.Join(DataDir(c, consensus.MemberID(i)), "log-prepared.tmp"))
				switch {
				case tc.want && err != nil:
					t.Fatalf("member %d: no spare: %v", i, err)
				case tc.want && fi.Size() < segment:
					t.Fatalf("member %d: spare of %d bytes, want at least %d", i, fi.Size(), segment)
				case !tc.want && err == nil:
					t.Fatalf("member %d: a spare without data fsync", i)
				}
			}
		})
	}
}
