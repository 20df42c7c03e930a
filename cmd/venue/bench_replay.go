package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"venue/reports/surveil"
)

func init() {
	registerBench(benchTarget{
		name:    "replay",
		summary: "replay a generated day's log through the engine and every surveillance detector (--events N)",
		run:     runBenchReplay,
	})
}

func runBenchReplay(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench replay", stderr)
	events := fs.Int("events", 1_000_000, "order events in the generated day")
	seed := fs.Uint64("seed", 1, "generator seed")
	dir := fs.String("dir", os.TempDir(), "directory for the day's recorded log (removed afterwards)")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a summary")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *events <= 0 {
		return fmt.Errorf("%w: --events must be positive", errUsage)
	}
	res, err := surveil.BenchReplay(*events, *seed, *dir)
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%s, seed %d: %d log records (%d MB), %d order events\n",
		res.Source, res.Seed, res.Records, res.LogBytes>>20, res.Events)
	fmt.Fprintf(stdout, "replay + detectors: %.2f s wall, %.2f s CPU; %.2f M events/s wall, %.2f M events/s CPU (%.2f M records/s wall); %d alerts\n",
		res.Seconds, res.CPUSeconds, res.EventsPerSec/1e6, res.EventsPerCPUSec/1e6, res.RecordsPerSec/1e6, res.Alerts)
	fmt.Fprintf(stdout, "peak RSS %d MB, heap in use after %d MB\n", res.PeakRSSBytes>>20, res.HeapBytes>>20)
	return nil
}
