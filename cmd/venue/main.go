// Command venue is the one binary of the trading venue. Each subcommand lives in
// its own file and registers itself in init; this file only dispatches.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"runtime/trace"
	"sort"
	"strings"
)

// command is one subcommand. Run receives the arguments after the command's
// name (for "venue bench orderbook --json" the bench command receives
// ["orderbook", "--json"]) and writes its normal output to stdout.
type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

// register adds a subcommand; it is called from init functions only.
func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("venue: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// errUsage marks an error caused by the command line rather than by the work;
// main exits 2 for it, as the flag package does.
var errUsage = errors.New("usage")

func main() {
	os.Exit(profiled(func() int { return runMain(os.Args[1:], os.Stdout, os.Stderr) }))
}

// profiled runs f with a CPU profile written to $VENUE_CPUPROFILE and an
// execution trace (scheduling, network wake-ups, GC) to $VENUE_TRACE, each
// if set: any command can be profiled without a flag of its own.
func profiled(f func() int) int {
	if path := os.Getenv("VENUE_CPUPROFILE"); path != "" {
		stop, err := startProfile(path, pprof.StartCPUProfile, pprof.StopCPUProfile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "venue: VENUE_CPUPROFILE: %v\n", err)
			return 1
		}
		defer stop()
	}
	if path := os.Getenv("VENUE_TRACE"); path != "" {
		stop, err := startProfile(path, trace.Start, trace.Stop)
		if err != nil {
			fmt.Fprintf(os.Stderr, "venue: VENUE_TRACE: %v\n", err)
			return 1
		}
		defer stop()
	}
	return f()
}

// startProfile creates path and starts writing a profile into it; the
// returned function stops the profile and closes the file.
func startProfile(path string, start func(io.Writer) error, stop func()) (func(), error) {
	out, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := start(out); err != nil {
		out.Close()
		return nil, err
	}
	return func() { stop(); out.Close() }, nil
}

func runMain(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printHelp(stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "venue: unknown command %q; run 'venue help' for the list\n", args[0])
		return 2
	}
	if err := c.run(args[1:], stdout, stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(stderr, "venue %s: %v\n", c.name, err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "venue: a fault-tolerant electronic trading venue")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: venue <command> [arguments]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "  help       show this list")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'venue <command> -h' for a command's flags.")
}

// newFlagSet returns a flag set that reports errors instead of exiting, with
// a usage line naming the full command.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("venue "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args into fs and turns a parse failure into errUsage.
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected arguments: %s", errUsage, strings.Join(fs.Args(), " "))
	}
	return nil
}
