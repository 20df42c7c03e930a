package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"venue/cluster/clusterbench"
	"venue/cluster/config"
)

func init() {
	registerBench(benchTarget{
		name:    "cluster",
		summary: "members on loopback UDP, an echo service, one client sending bursts open-loop: msgs/s and latency",
		run:     runBenchCluster,
	})
}

func runBenchCluster(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench cluster", stderr)
	members := fs.Int("members", 3, "cluster members")
	size := fs.Int("size", 200, "message size in bytes")
	burst := fs.Int("burst", 20, "messages per burst")
	rate := fs.Float64("rate", 0, "messages per second, open loop (0: as fast as the in-flight window allows)")
	duration := fs.Duration("duration", 10*time.Second, "measured run length")
	warmup := fs.Duration("warmup", time.Second, "load before measuring")
	fsync := fs.String("fsync", "none", "log durability: none (page cache) or data (fdatasync per batch)")
	window := fs.Int("window", 0, "messages in flight when --rate is 0 (0: the default)")
	dir := fs.String("dir", "", "data directory (default: a temporary one, removed afterwards)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a summary")
	mtu := fs.Int("mtu", 0, "datagram size in bytes for members and client (0: automatic, 8192 on loopback)")
	multicast := fs.String("multicast", "", "replicate the log on this multicast GROUP:PORT over lo (default: unicast to each follower)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *fsync != string(config.FsyncNone) && *fsync != string(config.FsyncData) {
		return fmt.Errorf("%w: --fsync must be none or data, not %q", errUsage, *fsync)
	}
	res, err := clusterbench.Run(clusterbench.Config{Members: *members, Size: *size, Burst: *burst, Rate: *rate,
		Duration: *duration, Warmup: *warmup, Fsync: config.Fsync(*fsync), Window: *window, Dir: *dir,
		Multicast: *multicast, MTU: *mtu, Progress: stderr})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%d members, %d B messages in bursts of %d, rate %.0f/s, fsync %s\n",
		res.Members, res.Size, res.Burst, res.Rate, res.Fsync)
	fmt.Fprintf(stdout, "%.0f msgs/s echoed; p50 %.1f µs  p90 %.1f µs  p99 %.1f µs  p99.9 %.1f µs  max %.1f µs\n",
		res.MsgsPerSec, us(res.P50), us(res.P90), us(res.P99), us(res.P999), us(res.Max))
	fmt.Fprintf(stdout, "sent %d, echoed %d, unanswered %d, unknown outcome %d, leader changes %d\n",
		res.Sent, res.Received, res.Unanswered, res.Unknown, res.LeaderChanges)
	if res.Multicast != "" {
		fmt.Fprintf(stdout, "log multicast on %s: %d AppendLogs on the group, %d unicast copies saved, %d still unicast\n",
			res.Multicast, res.MulticastSent, res.MulticastSkipped, res.MulticastUnicast)
	}
	return nil
}

func us(ns int64) float64 { return float64(ns) / 1e3 }
