package main

import (
	"bytes"
	"strings"
	"testing"
)

func TestHelpListsEveryCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := runMain([]string{"help"}, &out, &errOut); code != 0 {
		t.Fatalf("help exit code %d, stderr %q", code, errOut.String())
	}
	for name := range commands {
		if !strings.Contains(out.String(), "  "+name+" ") {
			t.Errorf("help does not list %q:\n%s", name, out.String())
		}
	}
}

func TestUnknownCommandExits2(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := runMain([]string{"no-such-command"}, &out, &errOut); code != 2 {
		t.Fatalf("exit code %d, want 2", code)
	}
	if !strings.Contains(errOut.String(), "unknown command") {
		t.Fatalf("stderr %q does not say the command is unknown", errOut.String())
	}
}

func TestBenchUnknownTargetIsUsageError(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := runMain([]string{"bench", "no-such-target"}, &out, &errOut); code != 2 {
		t.Fatalf("exit code %d, want 2; stderr %q", code, errOut.String())
	}
}
