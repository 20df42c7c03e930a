package main

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestBenchRecoveryJSON: a small run prints the documented keys.
func TestBenchRecoveryJSON(t *testing.T) {
	var out, errOut bytes.Buffer
	code := runMain([]string{"bench", "recovery", "--entries", "5000", "--fsync", "none", "--json"}, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var res map[string]any
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	for _, k := range []string{"entries", "seconds", "entries_per_sec", "snapshot_seconds", "snapshot_entries_per_sec"} {
		if _, ok := res[k]; !ok {
			t.Errorf("no %q in %s", k, out.String())
		}
	}
	if res["entries"] != float64(5000) {
		t.Errorf("entries %v", res["entries"])
	}
}

func TestBenchRecoveryBadFlags(t *testing.T) {
	for _, args := range [][]string{{"--fsync", "sometimes"}, {"--entries", "0"}} {
		var out, errOut bytes.Buffer
		if code := runMain(append([]string{"bench", "recovery"}, args...), &out, &errOut); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
	}
}
