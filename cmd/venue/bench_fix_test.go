package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"testing"

	"venue/fixgateway/fixbench"
)

// TestBenchFixEmbedded: `venue bench fix --cluster embedded` starts a
// replicated 3-member cluster, sends orders through FIX, the gateway and
// the log, and reports counts that add up: every order sent is
// acknowledged (ExecutionReport New) or refused, and the rate is the
// acknowledged orders over the run's time.
func TestBenchFixEmbedded(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 3-member cluster")
	}
	var out bytes.Buffer
	args := []string{"--cluster", "embedded", "--store", "memory", "--sessions", "2", "--rate", "400", "--duration", "500ms", "--json"}
	if err := runBenchFix(args, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	var r fixbench.Result
	if err := json.Unmarshal(out.Bytes(), &r); err != nil {
		t.Fatalf("%v: %s", err, out.Bytes())
	}
	if r.Cluster != fixbench.ClusterEmbedded || r.Members != 3 || r.Fsync != "data" || r.Sessions != 2 || r.Rate != 400 {
		t.Fatalf("labels: %+v", r)
	}
	// The pacer sends rate × duration orders at most (fewer if a loaded
	// host keeps it from catching up by the end).
	if r.Sent < 20 || r.Sent > 200 || r.Acked == 0 || r.Acked+r.Refused != r.Sent {
		t.Fatalf("counts: %+v", r)
	}
	if want := float64(r.Acked) / r.DurationSec; r.OrdersPerSec < want*0.99 || r.OrdersPerSec > want*1.01 {
		t.Fatalf("orders_per_sec %.1f, want acked/duration = %.1f", r.OrdersPerSec, want)
	}
	if r.P50Ns <= 0 || r.P99Ns < r.P50Ns || r.MaxNs < r.P99Ns {
		t.Fatalf("latencies: %+v", r)
	}
}

// TestBenchFixText: the text report names the cluster that ran and the
// FIX store, by default `venue run`'s journal.
func TestBenchFixText(t *testing.T) {
	var out bytes.Buffer
	args := []string{"--cluster", "in-process", "--sessions", "1", "--rate", "200", "--duration", "200ms"}
	if err := runBenchFix(args, &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out.Bytes(), []byte("cluster: in-process ")) || !bytes.Contains(out.Bytes(), []byte("FIX store journal")) {
		t.Fatalf("output:\n%s", out.Bytes())
	}
}

// TestBenchFixFlagsRefused: an unknown cluster, fsync or store is a usage
// error.
func TestBenchFixFlagsRefused(t *testing.T) {
	for _, args := range [][]string{{"--cluster", "remote"}, {"--fsync", "sometimes"}, {"--store", "disk"}} {
		if err := runBenchFix(args, io.Discard, io.Discard); !errors.Is(err, errUsage) {
			t.Fatalf("%v: %v, want a usage error", args, err)
		}
	}
}
