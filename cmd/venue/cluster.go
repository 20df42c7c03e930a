package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"venue/cluster/clustertool"
	"venue/cluster/config"
	"venue/cluster/consensus"
)

func init() {
	register(command{name: "cluster", summary: "operate a running cluster: describe, snapshot, shutdown, ... (--config FILE <command>)",
		run: runCluster})
}

// clusterTimeoutDefault bounds a command's waits (a leader to be found, an
// action to be applied everywhere, members to stop).
const clusterTimeoutDefault = 30 * time.Second

// clusterCommand is one `venue cluster` command.
type clusterCommand struct {
	summary string
	// needsID: the command works on one member and --id is required.
	needsID bool
	run     func(ctx context.Context, t *clustertool.Tool, ids []consensus.MemberID, w io.Writer) error
}

var clusterCommands = map[string]clusterCommand{
	"describe": {summary: "the cluster file's settings and every member's counters",
		run: func(_ context.Context, t *clustertool.Tool, _ []consensus.MemberID, w io.Writer) error {
			return t.Describe(w)
		}},
	"list-members": {summary: "one line per member: role, term, leader, positions, running or why not",
		run: func(_ context.Context, t *clustertool.Tool, _ []consensus.MemberID, w io.Writer) error {
			return t.ListMembers(w)
		}},
	"is-leader": {summary: "exit 0 if member --id leads, 1 if not", needsID: true,
		run: func(_ context.Context, t *clustertool.Tool, ids []consensus.MemberID, w io.Writer) error {
			return t.IsLeader(w, ids[0])
		}},
	"snapshot": {summary: "every member takes a snapshot at the same log position",
		run: func(ctx context.Context, t *clustertool.Tool, _ []consensus.MemberID, w io.Writer) error {
			return t.Snapshot(ctx, w)
		}},
	"suspend": {summary: "the cluster refuses client messages until resume",
		run: func(ctx context.Context, t *clustertool.Tool, _ []consensus.MemberID, w io.Writer) error {
			return t.Suspend(ctx, w)
		}},
	"resume": {summary: "undo suspend",
		run: func(ctx context.Context, t *clustertool.Tool, _ []consensus.MemberID, w io.Writer) error {
			return t.Resume(ctx, w)
		}},
	"shutdown": {summary: "snapshot, then stop every member in order",
		run: func(ctx context.Context, t *clustertool.Tool, _ []consensus.MemberID, w io.Writer) error {
			return t.Shutdown(ctx, w)
		}},
	"abort": {summary: "stop member --id (default: every member) now, without a snapshot",
		run: func(ctx context.Context, t *clustertool.Tool, ids []consensus.MemberID, w io.Writer) error {
			return t.Abort(ctx, w, ids)
		}},
	"purge": {summary: "member --id (default: every running member) applies log retention now: keeps snapshot_keep snapshots, purges the log below",
		run: func(ctx context.Context, t *clustertool.Tool, ids []consensus.MemberID, w io.Writer) error {
			return t.Purge(ctx, w, ids)
		}},
	"errors": {summary: "each member's errors and non-zero drop counters (--id: one member)",
		run: func(_ context.Context, t *clustertool.Tool, ids []consensus.MemberID, w io.Writer) error {
			return t.Errors(w, ids)
		}},
	"recovery-plan": {summary: "the snapshot each member would load and the log it would replay (--id: one)",
		run: func(_ context.Context, t *clustertool.Tool, ids []consensus.MemberID, w io.Writer) error {
			return t.RecoveryPlan(w, ids)
		}},
	"recording-log": {summary: "each member's term and snapshot records (--id: one member)",
		run: func(_ context.Context, t *clustertool.Tool, ids []consensus.MemberID, w io.Writer) error {
			return t.RecordingLog(w, ids)
		}},
}

func runCluster(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("cluster", stderr)
	path := fs.String("config", "", "the cluster file (TOML), as given to venue node; venue run writes <dir>/"+clusterFileName)
	id := fs.Int("id", -1, "the member a command is about (is-leader: required; abort, purge, errors, recovery-plan, recording-log: default every member)")
	timeout := fs.Duration("timeout", clusterTimeoutDefault, "how long a command waits for the cluster")
	fs.Usage = func() { clusterUsage(fs) }
	name, err := parseClusterArgs(fs, args)
	if err != nil {
		return err
	}
	cmd := clusterCommands[name]
	if *path == "" {
		return fmt.Errorf("%w: --config is required", errUsage)
	}
	if cmd.needsID && *id < 0 {
		return fmt.Errorf("%w: %s needs --id", errUsage, name)
	}
	cc, err := config.Load(*path)
	if err != nil {
		return err
	}
	var ids []consensus.MemberID
	if *id >= 0 {
		if _, ok := cc.Member(consensus.MemberID(*id)); !ok {
			return fmt.Errorf("%w: member %d is not in %s", errUsage, *id, *path)
		}
		ids = []consensus.MemberID{consensus.MemberID(*id)}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	return cmd.run(ctx, clustertool.New(cc), ids, stdout)
}

// parseClusterArgs parses flags before and after the command name and
// returns the name.
func parseClusterArgs(fs *flag.FlagSet, args []string) (string, error) {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return "", err
		}
		return "", fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() == 0 {
		return "", fmt.Errorf("%w: no command; one of %s", errUsage, strings.Join(clusterCommandNames(), ", "))
	}
	name := fs.Arg(0)
	if _, ok := clusterCommands[name]; !ok {
		return "", fmt.Errorf("%w: unknown command %q; one of %s", errUsage, name, strings.Join(clusterCommandNames(), ", "))
	}
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		if err == flag.ErrHelp {
			return "", err
		}
		return "", fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return "", fmt.Errorf("%w: unexpected arguments: %s", errUsage, strings.Join(fs.Args(), " "))
	}
	return name, nil
}

func clusterCommandNames() []string {
	names := make([]string, 0, len(clusterCommands))
	for n := range clusterCommands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func clusterUsage(fs *flag.FlagSet) {
	w := fs.Output()
	fmt.Fprintln(w, "Usage: venue cluster --config FILE [--id N] [--timeout D] <command>")
	fmt.Fprintln(w, "\nWorks on the running members of this host through their counters files.")
	fmt.Fprintln(w, "\nCommands:")
	for _, n := range clusterCommandNames() {
		fmt.Fprintf(w, "  %-14s %s\n", n, clusterCommands[n].summary)
	}
	fmt.Fprintln(w, "\nFlags:")
	fs.PrintDefaults()
}
