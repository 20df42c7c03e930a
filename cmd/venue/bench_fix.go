package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"venue/cluster/config"
	"venue/fixgateway/fixbench"
)

func init() {
	registerBench(benchTarget{
		name:    "fix",
		summary: "orders through FIX -> gateway -> cluster (embedded 3 members, or in-process) -> ExecutionReport",
		run:     runBenchFix,
	})
}

func runBenchFix(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench fix", stderr)
	sessions := fs.Int("sessions", 4, "FIX sessions")
	rate := fs.Int("rate", 10000, "orders per second over all sessions (0: as fast as possible, a closed loop with --window orders in flight per session)")
	window := fs.Int("window", fixbench.DefaultWindow, "with --rate 0: orders in flight per session")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	store := fs.String("store", fixbench.StoreJournal, "gateway FIX store: journal (the gateway's, no fsync per message: what 'venue run' uses), file (quickfixgo's, likewise), journal-sync or file-sync (an fsync per stored message) or memory (nothing survives a crash)")
	client := fs.String("client", fixbench.ClientRaw, "FIX clients: raw (a lean initiator, cheap next to the gateway on the same cores) or quickfixgo")
	clusterKind := fs.String("cluster", fixbench.ClusterEmbedded, "embedded (3 members on loopback UDP in this process, replicated, each running the engine: what 'venue run' runs) or in-process (fakecluster: one log, no replication; isolates the gateway)")
	fsync := fs.String("fsync", string(config.DefaultSettings().Fsync), "embedded cluster's log durability: data or none")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	switch *store {
	case fixbench.StoreJournal, fixbench.StoreJournalSync, fixbench.StoreFile, fixbench.StoreFileSync, fixbench.StoreMemory:
	default:
		return fmt.Errorf("%w: --store %s|%s|%s|%s|%s", errUsage, fixbench.StoreJournal, fixbench.StoreJournalSync,
			fixbench.StoreFile, fixbench.StoreFileSync, fixbench.StoreMemory)
	}
	if *clusterKind != fixbench.ClusterEmbedded && *clusterKind != fixbench.ClusterInProcess {
		return fmt.Errorf("%w: --cluster %s|%s", errUsage, fixbench.ClusterEmbedded, fixbench.ClusterInProcess)
	}
	if f := config.Fsync(*fsync); f != config.FsyncData && f != config.FsyncNone {
		return fmt.Errorf("%w: --fsync %s|%s", errUsage, config.FsyncData, config.FsyncNone)
	}
	res, err := fixbench.Run(context.Background(), fixbench.Config{Sessions: *sessions, Rate: *rate, Window: *window, Duration: *duration, Store: *store, Client: *client,
		Cluster: *clusterKind, Fsync: config.Fsync(*fsync)})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	cluster := res.Cluster
	if res.Members > 0 {
		cluster = fmt.Sprintf("%s, %d members on loopback UDP, fsync %s", res.Cluster, res.Members, res.Fsync)
	}
	fmt.Fprintf(stdout, "cluster: %s (engine: %s), FIX store %s, %s clients, %d sessions, target %d orders/s\n",
		cluster, res.Engine, res.FIXStore, res.FIXClient, res.Sessions, res.Rate)
	fmt.Fprintf(stdout, "%d sent, %d acked, %d refused in %.2f s = %.0f orders/s\n", res.Sent, res.Acked, res.Refused, res.DurationSec, res.OrdersPerSec)
	fmt.Fprintf(stdout, "order -> ExecutionReport New, ns: p50 %d  p90 %d  p99 %d  p99.9 %d  max %d\n",
		res.P50Ns, res.P90Ns, res.P99Ns, res.P999Ns, res.MaxNs)
	fmt.Fprintf(stdout, "of which (as the gateway timed them), ns: quickfixgo in p50 %d p99 %d; gateway in p50 %d p99 %d; cluster p50 %d p99 %d; gateway out p50 %d p99 %d; quickfixgo out p50 %d p99 %d\n",
		res.FIXInP50Ns, res.FIXInP99Ns, res.GatewayInP50Ns, res.GatewayInP99Ns, res.ClusterP50Ns, res.ClusterP99Ns, res.GatewayOutP50Ns, res.GatewayOutP99Ns,
		res.FIXOutP50Ns, res.FIXOutP99Ns)
	if res.Refused > 0 || res.LeaderChanges > 0 || res.UnknownOutcomes > 0 {
		fmt.Fprintf(stdout, "gateway saw: %d leader changes, %d unknown outcomes, %d refused as unavailable, %d refused with a full queue\n",
			res.LeaderChanges, res.UnknownOutcomes, res.Unavailable, res.QueueFull)
	}
	if res.Rate > 0 {
		fmt.Fprintf(stdout, "pacer woke late for its 1 ms ticks (not in the latencies above), ns: p50 %d  p99 %d  max %d\n",
			res.PacerLateP50Ns, res.PacerLateP99Ns, res.PacerLateMaxNs)
	}
	return nil
}
