package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"venue/loadgen"
	"venue/reports"
)

func init() {
	register(command{name: "loadgen", summary: "send open-loop order load and write a latency report (--target, --rate, --report DIR)", run: runLoadgen})
}

func runLoadgen(args []string, stdout, stderr io.Writer) error {
	cfg, err := loadgenConfig(args, stderr)
	if err != nil {
		return err
	}
	cfg.Progress = stderr
	d, err := loadgen.NewDriver(cfg)
	if err != nil {
		return err
	}
	// The first Ctrl-C stops sending and waits for the answers still
	// outstanding (up to --timeout); a second one stops waiting. Either
	// way the report is written.
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	abort := make(chan struct{})
	cfg.Abort = abort
	go func() {
		if _, ok := <-sigs; !ok {
			return
		}
		fmt.Fprintln(stderr, "loadgen: stopping; waiting for outstanding answers (Ctrl-C again to stop waiting)")
		stop()
		if _, ok := <-sigs; ok {
			close(abort)
		}
	}()
	fmt.Fprintf(stderr, "loadgen: %d %s sessions to %s, %d msg/s for %v after %v warm-up; report in %s\n",
		cfg.Sessions, cfg.Via, cfg.Target, cfg.RatePerS, cfg.Duration, cfg.Warmup, cfg.ReportDir)
	res, err := loadgen.Run(ctx, cfg, d)
	if err != nil {
		return err
	}
	printLoadgenResult(stdout, cfg, res)
	return nil
}

// loadgenConfig parses the command line into a run configuration.
func loadgenConfig(args []string, stderr io.Writer) (loadgen.Config, error) {
	fs := newFlagSet("loadgen", stderr)
	target := fs.String("target", loadgenFIXTarget, "--via fix: the FIX gateway, HOST:PORT (venue run and venue gateway --demo listen on 9878); "+
		"--via cluster: the cluster file (venue run --dir D writes D/cluster.toml; default "+loadgenClusterTarget+
		") or the members' client ingress endpoints, HOST:PORT,... in member id order")
	sessions := fs.Int("sessions", 4, "sessions, each one SenderCompID of --comp-ids (--via cluster: one cluster session per principal)")
	rate := fs.Int("rate", 1000, "messages per second over all sessions (orders, cancels and replaces), open loop")
	duration := fs.Duration("duration", 10*time.Second, "how long the measured part sends")
	warmup := fs.Duration("warmup", time.Second, "sent before the measured part, not measured")
	flowFile := fs.String("flow", "", "replay an OBSTRM01 order-flow file (../shared/orderflow) instead of the default mix")
	report := fs.String("report", "", "report directory (summary.json, .hgrm per path, charts, loadgen.json); required")
	via := fs.String("via", string(loadgen.ViaFIX), "fix (through the FIX gateway) or cluster (engine commands on the cluster client directly, skipping FIX: the difference is the gateway's cost)")
	timeout := fs.Duration("timeout", loadgen.DefaultTimeout, "a request unanswered this long after its intended send time is a timeout (recorded at this value)")
	seed := fs.Uint64("seed", 1, "seed of the default mix")
	compIDs := fs.String("comp-ids", strings.Join(loadgen.DemoCompIDs(), ","), "SenderCompIDs, comma-separated, one per session (--via cluster: trader principals, each trading the account of its own name)")
	targetCompID := fs.String("target-comp-id", loadgen.DefaultTargetCompID, "the venue's CompID")
	password := fs.String("password", loadgen.DefaultPassword, "logon password (tag 554; --via cluster: the credentials' principal:password, ignored by a cluster without [venue] passwords)")
	cleanup := fs.Bool("cleanup", true, "mass-cancel the sessions' remaining orders after the run")
	charts := fs.Bool("charts", true, "draw the PNG and SVG charts")
	if err := parseFlags(fs, args); err != nil {
		return loadgen.Config{}, err
	}
	if *report == "" {
		return loadgen.Config{}, fmt.Errorf("%w: --report DIR is required", errUsage)
	}
	if loadgen.Via(*via) == loadgen.ViaCluster && !loadgenFlagGiven(fs, "target") {
		*target = loadgenClusterTarget
	}
	cfg := loadgen.Config{
		Target: *target, Via: loadgen.Via(*via), Sessions: *sessions, RatePerS: *rate, Duration: *duration,
		Warmup: *warmup, Timeout: *timeout, FlowFile: *flowFile, Seed: *seed, CompIDs: splitComma(*compIDs),
		TargetCompID: *targetCompID, Password: *password, Cleanup: *cleanup, ReportDir: *report, SkipCharts: !*charts,
	}
	if err := cfg.Validate(); err != nil {
		return loadgen.Config{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	return cfg, nil
}

// The default targets: the FIX gateway and the cluster file of a `venue
// run` with its default --dir.
const (
	loadgenFIXTarget     = "127.0.0.1:9878"
	loadgenClusterTarget = "venue-data/" + clusterFileName
)

// loadgenFlagGiven reports whether the command line set flag name.
func loadgenFlagGiven(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// printLoadgenResult prints the run's headline numbers: rate, counts, and
// each path's percentiles.
func printLoadgenResult(w io.Writer, cfg loadgen.Config, res *loadgen.Result) {
	st := res.Stats
	if s := res.Summary; s != nil {
		fmt.Fprintf(w, "sent %d in %.2f s = %.0f msg/s (target %d); %d answered, %d errors, %d timeouts\n",
			s.Sent, float64(s.DurationNs)/1e9, s.AchievedRatePerS, cfg.RatePerS, st.Answered, s.Errors, s.Timeouts)
		for _, p := range s.Paths {
			fmt.Fprintf(w, "  %-17s %s  errors %d  timeouts %d\n", p.Name, p.Latency, p.Errors, p.Timeouts)
		}
	}
	fmt.Fprintf(w, "fills timed %d, later (not timed) %d; marketable unfilled %d; send lag p99 %s max %s\n",
		st.FillsTimed, st.FillsLater, st.MarketableUnfilled, reports.FormatNs(st.SendLag.P99Ns), reports.FormatNs(st.SendLag.MaxNs))
	for i, r := range st.Rejects {
		if i == 0 {
			fmt.Fprintln(w, "rejects:")
		}
		fmt.Fprintf(w, "  %6d  %s\n", r.Count, r.Reason)
	}
	if st.Interrupted {
		fmt.Fprintln(w, "interrupted: the report covers what was sent before the stop")
	}
	if st.CleanupError != "" {
		fmt.Fprintf(w, "cleanup: %s\n", st.CleanupError)
	}
	fmt.Fprintf(w, "report: %s\n", cfg.ReportDir)
}
