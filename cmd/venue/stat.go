package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"
	"time"

	"venue/transport"
)

func init() {
	register(command{name: "stat", summary: "print the live counters of every component under a data directory", run: runStat})
}

// statRefreshMin bounds how often the live view redraws.
const statRefreshMin = 100 * time.Millisecond

func runStat(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("stat", stderr)
	dir := fs.String("dir", "venue-data", "directory to search for counters files ("+transport.CountersFileName+")")
	once := fs.Bool("once", false, "print the counters once and exit")
	interval := fs.Duration("interval", time.Second, "refresh interval of the live view")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *once {
		return printCounters(stdout, *dir)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	tick := time.NewTicker(max(*interval, statRefreshMin))
	defer tick.Stop()
	for {
		fmt.Fprint(stdout, "\x1b[H\x1b[2J") // home + clear: redraw in place
		fmt.Fprintf(stdout, "venue stat — %s — %s (Ctrl-C to quit)\n\n", *dir, time.Now().Format(time.TimeOnly))
		if err := printCounters(stdout, *dir); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// printCounters prints every counter of every counters file below dir,
// grouped by file.
func printCounters(w io.Writer, dir string) error {
	files, err := findCountersFiles(dir)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no %s under %s: is a venue running with that data directory? (--dir to change)", transport.CountersFileName, dir)
	}
	for _, path := range files {
		r, err := transport.OpenCountersFile(path)
		if err != nil {
			fmt.Fprintf(w, "%s: %v\n", path, err)
			continue
		}
		state := "running"
		if !processAlive(r.OwnerPID()) {
			state = "not running (last values)"
		}
		fmt.Fprintf(w, "%s  pid %d %s\n", path, r.OwnerPID(), state)
		r.ForEach(func(c transport.CounterInfo) {
			fmt.Fprintf(w, "  %4d  %-56s %20d\n", c.ID, c.Label, c.Value)
		})
		r.Close()
	}
	return nil
}

func findCountersFiles(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && d.Name() == transport.CountersFileName {
			files = append(files, path)
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("data directory %s does not exist (--dir to choose another)", dir)
	}
	if err != nil {
		return nil, fmt.Errorf("search %s for counters: %w", dir, err)
	}
	sort.Strings(files)
	return files, nil
}

func processAlive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil
}
