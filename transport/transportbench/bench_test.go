package transportbench

import (
	"errors"
	"strings"
	"testing"
)

func TestRunEveryMediaAndMode(t *testing.T) {
	for _, c := range []Config{
		{Media: "ipc", Mode: "pingpong", Size: 32, Count: 1000, Idle: "yield"},
		{Media: "ipc", Mode: "stream", Size: 32, Count: 20000, Idle: "yield"},
		{Media: "udp", Mode: "pingpong", Size: 200, Count: 500},
		{Media: "udp", Mode: "stream", Size: 200, Count: 5000, Idle: "backoff"},
		{Media: "udp", Mode: "stream", Size: 5000, Count: 200}, // fragmented
		{Media: "mcast", Mode: "pingpong", Size: 64, Count: 300},
	} {
		t.Run(c.Media+"-"+c.Mode, func(t *testing.T) {
			r, err := Run(c)
			if err != nil && c.Media == "mcast" && strings.Contains(err.Error(), "join") {
				t.Skipf("multicast unavailable: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.MsgsPerSec <= 0 || r.P50Ns <= 0 || r.P50Ns > r.P99Ns || r.P99Ns > r.MaxNs || r.Count != c.Count {
				t.Fatalf("implausible result %+v", r)
			}
		})
	}
}

func TestBadConfigIsErrConfig(t *testing.T) {
	for _, c := range []Config{
		{Media: "tcp", Mode: "stream", Size: 32, Count: 1},
		{Media: "ipc", Mode: "burst", Size: 32, Count: 1},
		{Media: "ipc", Mode: "stream", Size: 8, Count: 1},
		{Media: "ipc", Mode: "stream", Size: 32, Count: 0},
		{Media: "ipc", Mode: "stream", Size: 32, Count: 1, Idle: "nap"},
	} {
		if _, err := Run(c); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: got %v", c, err)
		}
	}
}
