package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"venue/transport/transportbench"
)

func init() {
	registerBench(benchTarget{name: "transport",
		summary: "transport latency/throughput: --media udp|ipc|mcast --mode pingpong|stream --size N --count N",
		run:     runBenchTransport})
}

func runBenchTransport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench transport", stderr)
	var cfg transportbench.Config
	fs.StringVar(&cfg.Media, "media", "udp", "medium: udp, ipc or mcast")
	fs.StringVar(&cfg.Mode, "mode", "pingpong", "pingpong (round-trip latency) or stream (throughput)")
	fs.IntVar(&cfg.Size, "size", 200, "message size in bytes")
	fs.IntVar(&cfg.Count, "count", 100000, "measured messages")
	fs.IntVar(&cfg.Warmup, "warmup", 0, "unmeasured messages first (default count/10, at most 10000)")
	fs.StringVar(&cfg.Idle, "idle", "block", "idle strategy: spin, yield, backoff or block")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	res, err := transportbench.Run(cfg)
	if errors.Is(err, transportbench.ErrConfig) {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%s %s size=%d count=%d idle=%s: %.0f msgs/s %.1f MB/s p50=%dns p90=%dns p99=%dns p99.9=%dns max=%dns\n",
		res.Media, res.Mode, res.Size, res.Count, res.Idle, res.MsgsPerSec, res.MBPerSec,
		res.P50Ns, res.P90Ns, res.P99Ns, res.P999Ns, res.MaxNs)
	return nil
}
