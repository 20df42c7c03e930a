package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"venue/fixgateway/fixbench"
)

func init() {
	registerBench(benchTarget{
		name:    "fix",
		summary: "orders through FIX -> gateway -> (in-process fake) cluster -> ExecutionReport",
		run:     runBenchFix,
	})
}

func runBenchFix(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench fix", stderr)
	sessions := fs.Int("sessions", 4, "FIX sessions")
	rate := fs.Int("rate", 10000, "orders per second over all sessions (0: as fast as possible, a closed loop with --window orders in flight per session)")
	window := fs.Int("window", fixbench.DefaultWindow, "with --rate 0: orders in flight per session")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	store := fs.String("store", "memory", "gateway FIX store: memory, or file (quickfixgo's, fsync on every write)")
	client := fs.String("client", fixbench.ClientRaw, "FIX clients: raw (a lean initiator, cheap next to the gateway on the same cores) or quickfixgo")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *store != "file" && *store != "memory" {
		return fmt.Errorf("%w: --store file|memory", errUsage)
	}
	res, err := fixbench.Run(context.Background(), fixbench.Config{Sessions: *sessions, Rate: *rate, Window: *window, Duration: *duration, Store: *store, Client: *client})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "cluster: %s (engine: %s), FIX store %s, %s clients, %d sessions, target %d orders/s\n",
		res.Cluster, res.Engine, res.FIXStore, res.FIXClient, res.Sessions, res.Rate)
	fmt.Fprintf(stdout, "%d sent, %d acked, %d refused in %.2f s = %.0f orders/s\n", res.Sent, res.Acked, res.Refused, res.DurationSec, res.OrdersPerSec)
	fmt.Fprintf(stdout, "order -> ExecutionReport New, ns: p50 %d  p90 %d  p99 %d  p99.9 %d  max %d\n",
		res.P50Ns, res.P90Ns, res.P99Ns, res.P999Ns, res.MaxNs)
	if res.Rate > 0 {
		fmt.Fprintf(stdout, "pacer woke late for its 1 ms ticks (not in the latencies above), ns: p50 %d  p99 %d  max %d\n",
			res.PacerLateP50Ns, res.PacerLateP99Ns, res.PacerLateMaxNs)
	}
	return nil
}
