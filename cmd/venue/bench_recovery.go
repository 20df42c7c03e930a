package main

import (
	"encoding/json"
	"fmt"
	"io"

	"venue/cluster/config"
	"venue/cluster/failover"
)

func init() {
	registerBench(benchTarget{
		name:    "recovery",
		summary: "one member replays a log of N session messages into an echo service (and from a snapshot): entries/s",
		run:     runBenchRecovery,
	})
}

func runBenchRecovery(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench recovery", stderr)
	entries := fs.Int("entries", 1_000_000, "session messages in the log")
	payload := fs.Int("payload", 32, "message payload in bytes")
	snapshot := fs.Bool("snapshot", true, "also recover from a snapshot followed by --entries more messages")
	fsync := fs.String("fsync", "data", "the member's log durability: none or data")
	dir := fs.String("dir", "", "data directory, kept afterwards (default: a temporary one, removed)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a summary")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *fsync != string(config.FsyncNone) && *fsync != string(config.FsyncData) {
		return fmt.Errorf("%w: --fsync must be none or data, not %q", errUsage, *fsync)
	}
	res, err := failover.RunRecovery(failover.RecoveryConfig{Entries: *entries, Payload: *payload,
		Fsync: config.Fsync(*fsync), Snapshot: *snapshot, Dir: *dir, Progress: stderr})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%d entries of %d B payload (%d log bytes): recovered in %.3f s, %.0f entries/s (replay alone %.0f entries/s)\n",
		res.Entries, res.Payload, res.LogBytes, res.Seconds, res.EntriesPerSec, res.ApplyEntriesPerSec)
	if res.SnapshotReplayed > 0 {
		fmt.Fprintf(stdout, "from a snapshot plus %d entries: %.3f s, %.0f entries/s\n",
			res.SnapshotReplayed, res.SnapshotSeconds, res.SnapshotEntriesPerSec)
	}
	return nil
}
