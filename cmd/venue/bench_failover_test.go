package main

import (
	"bytes"
	"testing"
)

// TestBenchFailoverBadFlags: bad flags fail before any member starts (a
// whole run needs the venue binary as its members: cluster/failover's
// tests run it with test members).
func TestBenchFailoverBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"--fsync", "sometimes"}, 2},
		{[]string{"--members", "2"}, 1},
		{[]string{"--kills", "0"}, 1},
		{[]string{"--no-such-flag"}, 2},
	} {
		var out, errOut bytes.Buffer
		if code := runMain(append([]string{"bench", "failover"}, tc.args...), &out, &errOut); code != tc.code {
			t.Errorf("%v: exit %d, want %d (%s)", tc.args, code, tc.code, errOut.String())
		}
	}
}
