package fixbench

import (
	"context"
	"testing"
	"time"
)

// TestRun: a short run acknowledges every order it sends and labels the
// cluster as the in-process fake.
func TestRun(t *testing.T) {
	r, err := Run(context.Background(), Config{Sessions: 1, Rate: 0, Duration: 300 * time.Millisecond, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent == 0 || r.Acked != r.Sent || r.Cluster != "in-process" || r.P50Ns <= 0 || r.MaxNs < r.P50Ns {
		t.Fatalf("result %+v", r)
	}
}

// TestConfigRefused: nonsense is refused, not run.
func TestConfigRefused(t *testing.T) {
	if _, err := Run(context.Background(), Config{Sessions: 0, Duration: time.Second}); err == nil {
		t.Fatal("0 sessions accepted")
	}
}
