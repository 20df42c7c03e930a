package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// benchTarget is one "venue bench <target>" benchmark. Each target lives in
// its own file (bench_<target>.go) and registers itself in init.
type benchTarget struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var benchTargets = map[string]benchTarget{}

func registerBench(b benchTarget) {
	if _, dup := benchTargets[b.name]; dup {
		panic("venue: bench target registered twice: " + b.name)
	}
	benchTargets[b.name] = b
}

func init() {
	register(command{name: "bench", summary: "run a benchmark and print its results (--json for one JSON object)", run: runBench})
}

func runBench(args []string, stdout, stderr io.Writer) error {
	names := make([]string, 0, len(benchTargets))
	for n := range benchTargets {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdout, "Usage: venue bench <target> [flags]")
		fmt.Fprintln(stdout)
		fmt.Fprintln(stdout, "Targets:")
		for _, n := range names {
			fmt.Fprintf(stdout, "  %-10s %s\n", n, benchTargets[n].summary)
		}
		return nil
	}
	b, ok := benchTargets[args[0]]
	if !ok {
		return fmt.Errorf("%w: unknown target %q (have: %s)", errUsage, args[0], strings.Join(names, ", "))
	}
	return b.run(args[1:], stdout, stderr)
}
