package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The replay forms end to end on a generated directory: generate, audit,
// a book, events as JSON lines, a surveillance report; bad command lines
// are usage errors.
func TestReplayCommands(t *testing.T) {
	root := t.TempDir()
	data := filepath.Join(root, "member-0")
	run := func(want int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if code := runMain(args, &out, &errOut); code != want {
			t.Fatalf("venue %s: exit %d, want %d\nstdout %s\nstderr %s", strings.Join(args, " "), code, want,
				out.String(), errOut.String())
		}
		return out.String()
	}
	out := run(0, "replay", "generate", "--data", data, "--events", "3000", "--snapshot-every", "2000",
		"--segment-length", "65536")
	if !strings.Contains(out, "snapshots") {
		t.Fatalf("generate: %s", out)
	}
	if out = run(0, "replay", "--data", data, "--quiet"); !strings.Contains(out, "audit OK") || !strings.Contains(out, "MATCH") {
		t.Fatalf("audit: %s", out)
	}
	if out = run(0, "replay", "book", "--data", data, "--symbol", "ALPHA", "--at", "@200000", "--orders", "--quiet"); !strings.Contains(out, "ALPHA (instrument 1) at log position") {
		t.Fatalf("book: %s", out)
	}
	out = run(0, "replay", "events", "--data", data, "--account", "MM1", "--format", "jsonl", "--to", "@300000", "--quiet")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var row map[string]any
	if len(lines) < 10 || json.Unmarshal([]byte(lines[0]), &row) != nil || row["account"] != "MM1" {
		t.Fatalf("events: %d lines, first %q", len(lines), lines[0])
	}
	report := filepath.Join(root, "report")
	if out = run(0, "replay", "surveil", "--data", data, "--report", report, "--json", "--quiet"); !strings.Contains(out, "events_per_sec") {
		t.Fatalf("surveil: %s", out)
	}
	if _, err := os.Stat(filepath.Join(report, "report.html")); err != nil {
		t.Fatal(err)
	}
	run(2, "replay", "book", "--data", data)                                   // no symbol
	run(2, "replay", "events", "--data", data, "--format", "xml")              // bad format
	run(2, "replay", "--data", data, "--from", "yesterday")                    // bad point
	run(1, "replay", "--data", filepath.Join(root, "nothing-here"), "--quiet") // no directory
	if out = run(0, "replay", "help"); !strings.Contains(out, "@POSITION") {
		t.Fatalf("help: %s", out)
	}
}
