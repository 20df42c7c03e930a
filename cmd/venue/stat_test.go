package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"venue/transport"
)

func TestStatOncePrintsEveryCountersFile(t *testing.T) {
	dir := t.TempDir()
	for i, label := range []string{"member 0 commit position", "member 1 commit position"} {
		sub := filepath.Join(dir, "node"+string(rune('0'+i)))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		m, err := transport.CreateCountersFile(filepath.Join(sub, transport.CountersFileName), 4)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		m.MustAllocate(1, label).Set(int64(1000 + i))
	}
	var out, errOut bytes.Buffer
	if code := runMain([]string{"stat", "--dir", dir, "--once"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	for _, want := range []string{"member 0 commit position", "1000", "member 1 commit position", "1001", "running"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestStatNamesAMissingDirectory(t *testing.T) {
	var out, errOut bytes.Buffer
	missing := filepath.Join(t.TempDir(), "nope")
	if code := runMain([]string{"stat", "--dir", missing, "--once"}, &out, &errOut); code != 1 {
		t.Fatalf("exit %d, want 1", code)
	}
	if !strings.Contains(errOut.String(), missing) {
		t.Fatalf("error does not name the directory: %s", errOut.String())
	}
}
