package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"venue/cluster/config"
	"venue/cluster/failover"
)

func init() {
	registerBench(benchTarget{
		name:    "failover",
		summary: "members as processes, kill -9 of the leader under load: time to the first commit under the new leader, lost messages",
		run:     runBenchFailover,
	})
}

func runBenchFailover(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench failover", stderr)
	members := fs.Int("members", 3, "cluster members (processes), at least 3")
	kills := fs.Int("kills", 5, "times the leader is killed (and restarted)")
	rate := fs.Float64("rate", 2000, "client messages per second, open loop")
	size := fs.Int("size", 64, "message size in bytes (at least 16)")
	settle := fs.Duration("settle", time.Second, "steady load before the first kill and after each catch-up")
	fsync := fs.String("fsync", "data", "log durability: none (page cache) or data (fdatasync per batch)")
	dir := fs.String("dir", "", "data directory, kept afterwards (default: a temporary one, removed)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a summary")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *fsync != string(config.FsyncNone) && *fsync != string(config.FsyncData) {
		return fmt.Errorf("%w: --fsync must be none or data, not %q", errUsage, *fsync)
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this binary to run members: %w", err)
	}
	res, err := failover.Run(failover.Config{Members: *members, Kills: *kills, Rate: *rate, Size: *size,
		Settle: *settle, Fsync: config.Fsync(*fsync), Command: failover.NodeCommand(exe, "echo"), Dir: *dir,
		Progress: stderr})
	if err != nil {
		return err
	}
	if *asJSON {
		if err := json.NewEncoder(stdout).Encode(res); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "%d members, %d kills of the leader, %.0f msgs/s of %d B, fsync %s\n",
			res.Members, res.Kills, res.Rate, *size, res.Fsync)
		fmt.Fprintf(stdout, "kill -> first commit: p50 %.1f ms  p99 %.1f ms  max %.1f ms (new leader event p50 %.1f ms)\n",
			ms(res.P50), ms(res.P99), ms(res.Max), ms(res.NewLeaderP50))
		fmt.Fprintf(stdout, "sent %d, acked %d, echoed %d, unknown outcome %d; lost %d, duplicates %d, divergent members %d\n",
			res.Sent, res.Acked, res.Echoed, res.Unknown, res.Lost, res.Duplicates, res.Divergent)
	}
	return res.Check()
}

func ms(ns int64) float64 { return float64(ns) / 1e6 }
