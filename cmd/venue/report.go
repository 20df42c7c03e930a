package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"venue/reports"
)

func init() {
	register(command{name: "report", summary: "read latency reports: compare runs (table + overlay chart), show one run", run: runReport})
}

func runReport(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdout, "Usage:")
		fmt.Fprintln(stdout, "  venue report compare [--out DIR] [--paths P1,P2] [--chart=false] RUN_DIR1 RUN_DIR2 ...")
		fmt.Fprintln(stdout, "      percentiles of every path per run, ratios to the first run, and one chart")
		fmt.Fprintln(stdout, "      overlaying the runs (compare.png, compare.svg in --out, default the current directory)")
		fmt.Fprintln(stdout, "  venue report show RUN_DIR")
		fmt.Fprintln(stdout, "      one run's configuration, counts and percentiles")
		return nil
	}
	switch args[0] {
	case "compare":
		return runReportCompare(args[1:], stdout, stderr)
	case "show":
		return runReportShow(args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: unknown subcommand %q (have: compare, show)", errUsage, args[0])
}

func runReportCompare(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report compare", stderr)
	out := fs.String("out", ".", "directory to write the overlay chart (compare.png, compare.svg) to")
	chart := fs.Bool("chart", true, "write the overlay chart")
	paths := fs.String("paths", "", "comma-separated paths to compare (default: all), e.g. order→new,cancel→canceled")
	dirs, err := parseFlagsAndArgs(fs, args)
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		return fmt.Errorf("%w: give one or more report directories", errUsage)
	}
	c, err := reports.LoadComparison(dirs)
	if err != nil {
		return err
	}
	if *paths != "" {
		if err := c.KeepPaths(strings.Split(*paths, ",")); err != nil {
			return err
		}
	}
	if err := c.WriteTable(stdout); err != nil {
		return err
	}
	if !*chart {
		return nil
	}
	files, err := c.WriteChart(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nchart: %s\n", strings.Join(files, ", "))
	return nil
}

func runReportShow(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report show", stderr)
	dirs, err := parseFlagsAndArgs(fs, args)
	if err != nil {
		return err
	}
	if len(dirs) != 1 {
		return fmt.Errorf("%w: give exactly one report directory", errUsage)
	}
	c, err := reports.LoadComparison(dirs)
	if err != nil {
		return err
	}
	s := c.Runs[0].Summary
	fmt.Fprintf(stdout, "run %s: started %s, %s\n", dirs[0], s.Start.Format(time.RFC3339), time.Duration(s.DurationNs))
	fmt.Fprintf(stdout, "sent %d (%.0f/s), completed %d, errors %d, timeouts %d, saturated %d\n",
		s.Sent, s.AchievedRatePerS, s.Count, s.Errors, s.Timeouts, s.Saturated)
	var cfg bytes.Buffer
	if json.Compact(&cfg, s.Config) == nil && cfg.Len() > 0 {
		fmt.Fprintf(stdout, "config %s\n", cfg.String())
	}
	fmt.Fprintln(stdout)
	return c.WriteTable(stdout)
}

// parseFlagsAndArgs parses flags that may come before, between or after the
// positional arguments (the flag package stops at the first positional one)
// and returns the positional arguments.
func parseFlagsAndArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		positional, args = append(positional, rest[0]), rest[1:]
	}
}
