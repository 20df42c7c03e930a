package main

import (
	"encoding/json"
	"fmt"
	"io"

	"venue/orderbook/orderflow"
	"venue/orderbook/replay"
)

func init() {
	registerBench(benchTarget{
		name:    "orderbook",
		summary: "replay an OBSTRM01 order-flow file through the order book (--input FILE)",
		run:     runBenchOrderbook,
	})
}

func runBenchOrderbook(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench orderbook", stderr)
	input := fs.String("input", "", "OBSTRM01 order-flow file to replay (required)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a summary")
	// Off by default: the engine does not hint its books yet, so timing
	// each record alone is what the venue's own path does.
	lookahead := fs.Bool("lookahead", false,
		"hint the books about the next few records while applying one (orderbook.Prefetch), as a caller holding a batch can; the default times each record alone")
	tail := fs.Bool("tail", false,
		"report where the slowest 1% of the latency pass go, by command kind, trades and levels emptied")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *input == "" {
		return fmt.Errorf("%w: --input FILE is required", errUsage)
	}
	f, err := orderflow.ReadFile(*input)
	if err != nil {
		return err
	}
	res, err := replay.Measure(f, replay.Options{Lookahead: *lookahead, TailClasses: *tail})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%s: %d records (%d warm-up), %d instruments, lookahead %v\n",
		*input, res.Records, res.Warmup, res.Instruments, res.Lookahead)
	fmt.Fprintf(stdout, "throughput: %d ops in %.3f s = %.2f M ops/s (%.2f M ops/s by CPU time), %.6f allocs/op\n",
		res.Ops, res.Seconds, res.OpsPerSec/1e6, res.CPUOpsPerSec/1e6, res.AllocsPerOp)
	fmt.Fprintf(stdout, "latency ns: p50 %d  p90 %d  p99 %d  p99.9 %d  max %d  (clock overhead %d ns taken off each)\n",
		res.P50Ns, res.P90Ns, res.P99Ns, res.P999Ns, res.MaxNs, res.ClockOverheadNs)
	fmt.Fprintf(stdout, "trades %d  volume %d  rejects %d\n", res.Trades, res.Volume, res.Rejects)
	if len(res.Tail) > 0 {
		fmt.Fprintf(stdout, "slowest 1%% by class (latency with the clock's overhead taken off):\n")
		fmt.Fprintf(stdout, "  %-36s %8s %6s %7s\n", "class", "count", "slow", "mean_ns")
		for _, c := range res.Tail {
			fmt.Fprintf(stdout, "  %-36s %8d %6d %7d\n", c.Class, c.Count, c.Slow, c.MeanNs)
		}
	}
	return nil
}
