package main

import (
	"encoding/json"
	"fmt"
	"io"

	"venue/engine/flowbench"
	"venue/orderbook/orderflow"
)

func init() {
	registerBench(benchTarget{
		name:    "engine",
		summary: "replay an OBSTRM01 order-flow file through the engine and the bare book (--input FILE)",
		run:     runBenchEngine,
	})
}

func runBenchEngine(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench engine", stderr)
	input := fs.String("input", "", "OBSTRM01 order-flow file to replay (required)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a summary")
	passes := fs.Int("passes", flowbench.DefaultPasses, "timed passes of each path; the fastest is reported")
	// On by default: the cluster's service container hints the engine a
	// committed batch ahead (cluster.MessageHinter), so this is what the
	// venue's own path does; --lookahead=false times each command alone.
	lookahead := fs.Bool("lookahead", true,
		"hint each command ahead of applying it, on both paths: the engine with Engine.Hint (as the service container does), the book with Book.Prefetch")
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
	if *passes < 1 {
		return fmt.Errorf("%w: --passes must be at least 1", errUsage)
	}
	res, err := flowbench.Measure(f, flowbench.Options{Passes: *passes, Lookahead: *lookahead})
	if err != nil {
		return err
	}
	res.Input = *input
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%s: %d records (%d warm-up), %d instruments, %d users, %d commands timed, lookahead %v\n",
		*input, res.Records, res.Warmup, res.Instruments, res.Users, res.Commands, res.Lookahead)
	fmt.Fprintf(stdout, "engine: %.2f M ops/s, %.4f allocs/op, latency ns p50 %d p90 %d p99 %d p99.9 %d max %d\n",
		res.EngineOpsPerSec/1e6, res.AllocsPerOp, res.P50Ns, res.P90Ns, res.P99Ns, res.P999Ns, res.MaxNs)
	fmt.Fprintf(stdout, "book:   %.2f M ops/s (engine/book %.0f%%), p50 %d p99 %d\n",
		res.BookOpsPerSec/1e6, 100*res.EngineToBook, res.BookP50Ns, res.BookP99Ns)
	fmt.Fprintf(stdout, "per CPU second: engine %.2f M ops, book %.2f M ops (engine/book %.0f%%); best of %d passes\n",
		res.EngineCPUOpsPerSec/1e6, res.BookCPUOpsPerSec/1e6, 100*res.EngineToBookCPU, res.Passes)
	fmt.Fprintf(stdout, "trades %d  volume %d  reports %d\n", res.Trades, res.Volume, res.Reports)
	return nil
}
