package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"venue/loadgen"
	"venue/reports"
)

// venue loadgen --via cluster against an in-process venue (three members
// running the engine, provisioned as `venue run` provisions a fresh venue)
// talks to the cluster directly and writes a complete report: every path
// has samples, percentiles are monotonic, and every message was answered
// without an error.
func TestLoadgenViaClusterAgainstRunningVenue(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-member venue and sends for a second")
	}
	path, c := writeTestClusterFile(t, 3)
	startTestVenue(t, c)
	ingress := make([]string, len(c.Members))
	for i, m := range c.Members {
		ingress[i] = m.Ingress
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterTestWait)
	defer cancel()
	if err := provision(ctx, ingress, adminPrincipal); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "report")
	var out, errOut bytes.Buffer
	args := []string{"loadgen", "--via", "cluster", "--target", path, "--rate", "200", "--duration", "1s",
		"--warmup", "200ms", "--charts=false", "--report", dir}
	if code := runMain(args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d\nstdout %s\nstderr %s", code, out.String(), errOut.String())
	}
	t.Logf("stdout:\n%s", out.String())
	for _, want := range []string{"sent 200 in", "order→new", "order→fill", "cancel→canceled", "replace→replaced"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	l, err := reports.ReadReport(dir)
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := json.Unmarshal(l.Summary.Config, &cfg); err != nil || cfg["via"] != "cluster" || cfg["target"] != path {
		t.Errorf("config in summary.json: %v (%v)", cfg, err)
	}
	for i, p := range l.Summary.Paths {
		v := []int64{p.P50Ns, p.P90Ns, p.P99Ns, p.P999Ns, p.MaxNs}
		for j := 1; j < len(v); j++ {
			if v[j] < v[j-1] {
				t.Errorf("%s: percentiles not monotonic: %v", p.Name, v)
			}
		}
		if p.Count == 0 || l.Hgrm[i].TotalCount != p.Count {
			t.Errorf("%s: %d samples, %d in its .hgrm", p.Name, p.Count, l.Hgrm[i].TotalCount)
		}
	}
	data, err := os.ReadFile(filepath.Join(dir, loadgen.StatsFile))
	if err != nil {
		t.Fatal(err)
	}
	var st loadgen.StatsReport
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	// How fast a loaded machine answers is not this test's business
	// (timeouts are allowed); that every message is accounted for, that
	// fills were told apart, and that the only errors are the market's
	// (a cancel or replace racing a fill) or a leader change's (a starved
	// cluster under -race elects again; its lost commands are errors) is.
	if st.Answered+st.Timeouts != l.Summary.Sent || st.FillsTimed == 0 || st.CleanupError != "" {
		t.Errorf("%s: %+v", loadgen.StatsFile, st)
	}
	for _, r := range st.Rejects {
		if !strings.HasSuffix(r.Reason, ": TooLateToCancel") && !strings.Contains(r.Reason, loadgen.ErrUnknownOutcome.Error()) {
			t.Errorf("%d errors: %s", r.Count, r.Reason)
		}
	}
}
