package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"syscall"
	"time"

	"venue/reports/replay"
	"venue/reports/surveil"
)

func init() {
	register(command{
		name:    "replay",
		summary: "replay a member's data directory offline: determinism audit, book, events, surveil (venue replay help)",
		run:     runReplay,
	})
}

// replayProgressEvery is how often progress is redrawn on stderr.
const replayProgressEvery = 500 * time.Millisecond

// replaySubcommands are the forms of `venue replay`; without one it
// audits.
var replaySubcommands = map[string]struct {
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}{
	"book":     {"the book at a point: levels, and with --orders each level's queue", runReplayBook},
	"events":   {"the order event history of a symbol and/or account as CSV or JSON lines", runReplayEvents},
	"surveil":  {"run the surveillance detectors and write a report directory", runReplaySurveil},
	"generate": {"write a data directory from the scenario generator (for tests, demos, benchmarks)", runReplayGenerate},
}

const replayPointsHelp = `Points (--from, --to, --at): @POSITION is a log position in bytes (the state after
every entry ending at or before it; a snapshot's position names its state); a time
is RFC 3339 (2024-03-01T16:30:00Z) or nanoseconds since the Unix epoch (the state
after every entry stamped at or before it). As --from, @P admits entries ending
after P and a time T those stamped at or after T.`

func runReplay(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		if args[0] == "help" {
			printReplayHelp(stdout)
			return nil
		}
		if sub, ok := replaySubcommands[args[0]]; ok {
			return sub.run(args[1:], stdout, stderr)
		}
	}
	return runReplayAudit(args, stdout, stderr)
}

func printReplayHelp(w io.Writer) {
	fmt.Fprintln(w, "Usage: venue replay [audit flags] | venue replay <form> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "  (none)     determinism audit: segment checksums, every entry, every snapshot's digest")
	names := make([]string, 0, len(replaySubcommands))
	for n := range replaySubcommands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, replaySubcommands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, replayPointsHelp)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'venue replay [form] -h' for the flags. The data directory is never written to.")
}

// replayFlags are the flags every form shares.
type replayFlags struct {
	data         *string
	admin        *string
	fromSnapshot *bool
	serviceID    *int
	tempDir      *string
	quiet        *bool
}

func addReplayFlags(fs *flag.FlagSet) replayFlags {
	return replayFlags{
		data:  fs.String("data", "", "the member's data directory (or a copy): log segments, recording.log, archive/ (required)"),
		admin: fs.String("admin", replay.DefaultAdmin, "the engine's bootstrap admin principal: the cluster file's [venue] admin"),
		fromSnapshot: fs.Bool("from-snapshot", false,
			"start from the newest snapshot at or before the point of interest instead of the log's start"),
		serviceID: fs.Int("service-id", 0, "the service id of the engine's snapshots"),
		tempDir:   fs.String("tmp", "", "where to copy snapshots to read them (default: the system's temporary directory)"),
		quiet:     fs.Bool("quiet", false, "no progress on stderr"),
	}
}

func (f replayFlags) open() (*replay.Source, error) {
	if *f.data == "" {
		return nil, fmt.Errorf("%w: --data DIR is required", errUsage)
	}
	return replay.Open(*f.data, *f.tempDir)
}

func (f replayFlags) config(stderr io.Writer) (replay.Config, *progressLine) {
	p := &progressLine{w: stderr, quiet: *f.quiet, start: time.Now()}
	return replay.Config{Admin: *f.admin, Progress: p.update}, p
}

func (f replayFlags) start() replay.Start {
	return replay.Start{FromSnapshot: *f.fromSnapshot, ServiceID: int32(*f.serviceID)}
}

// parsePoints reads point flags.
func parsePoints(vals ...string) ([]replay.Point, error) {
	out := make([]replay.Point, len(vals))
	for i, v := range vals {
		p, err := replay.ParsePoint(v)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		out[i] = p
	}
	return out, nil
}

// progressLine redraws one progress line on stderr, at most every
// replayProgressEvery.
type progressLine struct {
	w     io.Writer
	quiet bool
	start time.Time
	last  time.Time
	drawn bool
}

func (p *progressLine) update(pr replay.Progress) {
	now := time.Now()
	if p.quiet || now.Sub(p.last) < replayProgressEvery {
		return
	}
	p.last, p.drawn = now, true
	pct := 100.0
	if span := pr.End - pr.Start; span > 0 {
		pct = 100 * float64(pr.Position-pr.Start) / float64(span)
	}
	secs := max(now.Sub(p.start).Seconds(), 1e-9)
	fmt.Fprintf(p.w, "\rreplay: %5.1f%%  @%d of %d  %s  %d entries  %d events  %.2f M events/s ",
		pct, pr.Position, pr.End, surveil.FormatTime(pr.TimeNs), pr.Entries, pr.Events, float64(pr.Events)/secs/1e6)
}

// done ends the progress line.
func (p *progressLine) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

func runReplayAudit(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("replay", stderr)
	rf := addReplayFlags(fs)
	from := fs.String("from", "", "audit snapshots from this point (@POSITION or TIME)")
	to := fs.String("to", "", "replay and audit up to this point (default: the log's end)")
	asJSON := fs.Bool("json", false, "print the audit report as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pts, err := parsePoints(*from, *to)
	if err != nil {
		return err
	}
	if *rf.data == "" {
		return fmt.Errorf("%w: --data DIR is required (venue replay help)", errUsage)
	}
	cfg, prog := rf.config(stderr)
	start := time.Now()
	rep, err := replay.Audit(*rf.data, replay.AuditConfig{Config: cfg, From: pts[0], To: pts[1],
		ServiceID: int32(*rf.serviceID), FromSnapshot: *rf.fromSnapshot})
	prog.done()
	if err != nil {
		return err
	}
	if *asJSON {
		if err := json.NewEncoder(stdout).Encode(rep); err != nil {
			return err
		}
	} else {
		printAudit(stdout, &rep, time.Since(start))
	}
	if !rep.OK {
		if rep.First != nil {
			return fmt.Errorf("audit failed: the log parts at position %d: %s", rep.First.Position, rep.First.What)
		}
		return fmt.Errorf("audit incomplete: %d snapshots could not be compared", rep.Unchecked)
	}
	return nil
}

func printAudit(w io.Writer, rep *replay.AuditReport, took time.Duration) {
	fmt.Fprintf(w, "log %s: positions [%d, %d), %d terms\n", rep.Dir, rep.Start, rep.End, rep.Terms)
	v := rep.Verify
	switch {
	case v.Skipped != "":
		fmt.Fprintf(w, "segments: not verified: %s\n", v.Skipped)
	case v.Problem == nil:
		fmt.Fprintf(w, "segments: %d, %d batches, every checksum holds to %d\n", v.Segments, v.Batches, v.End)
	default:
		kind := "torn tail (nothing follows; logstore trims it on open)"
		if v.Problem.DataFollows {
			kind = "DAMAGE"
		}
		fmt.Fprintf(w, "segments: %s at %d in %s: %s\n", kind, v.Problem.Position, v.Problem.Segment, v.Problem.What)
	}
	s := rep.Replay
	fmt.Fprintf(w, "replayed [%d, %d): %d entries (%d messages, %d session opens, %d closes, %d timers, %d actions, %d terms), %d order events in %.2fs\n",
		s.Start, s.Position, s.Entries, s.Messages, s.SessionOpens, s.SessionCloses, s.Timers, s.ClusterActions, s.Terms,
		s.Events, took.Seconds())
	if s.Entries > 0 {
		fmt.Fprintf(w, "cluster time %s to %s\n", surveil.FormatTime(s.FirstTimeNs), surveil.FormatTime(s.LastTimeNs))
	}
	for _, c := range rep.Checks {
		verdict := "MATCH"
		if !c.Match {
			verdict = "DIFFERS"
			if c.SnapshotDigest == "" {
				verdict = "NOT COMPARED"
			}
		}
		fmt.Fprintf(w, "snapshot @%d (term %d, %s): %s  replayed %.16s  recorded %.16s %s\n", c.Position, c.Term,
			surveil.FormatTime(c.TimestampNs), verdict, c.ReplayedDigest, c.SnapshotDigest, c.Note)
	}
	if len(rep.Checks) == 0 {
		fmt.Fprintln(w, "no snapshot in range: the audit covers checksums and decoding only")
	}
	fmt.Fprintf(w, "state digest at %d: %s\n", s.Position, rep.Digest)
	for _, d := range rep.Divergences {
		if d.Since >= 0 {
			fmt.Fprintf(w, "DIVERGENCE in (%d, %d]: %s\n", d.Since, d.Position, d.What)
		} else {
			fmt.Fprintf(w, "DIVERGENCE at %d: %s\n", d.Position, d.What)
		}
	}
	if rep.OK {
		fmt.Fprintln(w, "audit OK")
	}
}

func runReplayBook(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("replay book", stderr)
	rf := addReplayFlags(fs)
	symbol := fs.String("symbol", "", "the instrument's symbol (required)")
	at := fs.String("at", "", "the point to show the book at (default: the log's end)")
	depth := fs.Int("depth", replay.DefaultDepth, "price levels per side")
	orders := fs.Bool("orders", false, "list each level's orders in time priority, with owner")
	asJSON := fs.Bool("json", false, "print the book as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *symbol == "" || *depth <= 0 {
		return fmt.Errorf("%w: --symbol S is required and --depth must be positive", errUsage)
	}
	pts, err := parsePoints(*at)
	if err != nil {
		return err
	}
	src, err := rf.open()
	if err != nil {
		return err
	}
	defer src.Close()
	cfg, prog := rf.config(stderr)
	bv, err := replay.BookAt(src, replay.BookConfig{Config: cfg, Start: rf.start(), Symbol: *symbol, At: pts[0],
		Depth: *depth, Orders: *orders})
	prog.done()
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(bv)
	}
	return bv.WriteText(stdout)
}

func runReplayEvents(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("replay events", stderr)
	rf := addReplayFlags(fs)
	symbol := fs.String("symbol", "", "only this instrument's events")
	account := fs.String("account", "", "only this account's events (and the fills against it)")
	from := fs.String("from", "", "events from this point")
	to := fs.String("to", "", "events up to this point")
	format := fs.String("format", "csv", "csv or jsonl")
	out := fs.String("out", "", "write to this file instead of stdout")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pts, err := parsePoints(*from, *to)
	if err != nil {
		return err
	}
	var f surveil.EventFormat
	switch *format {
	case "csv":
		f = surveil.FormatCSV
	case "jsonl":
		f = surveil.FormatJSONL
	default:
		return fmt.Errorf("%w: --format is csv or jsonl, not %q", errUsage, *format)
	}
	src, err := rf.open()
	if err != nil {
		return err
	}
	defer src.Close()
	w, closeOut, err := outputFile(*out, stdout)
	if err != nil {
		return err
	}
	cfg, prog := rf.config(stderr)
	stats, n, err := replay.WriteEvents(src, w, replay.EventsConfig{Config: cfg, Start: rf.start(), Symbol: *symbol,
		Account: *account, From: pts[0], To: pts[1], Format: f})
	prog.done()
	if cerr := closeOut(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if !*rf.quiet {
		fmt.Fprintf(stderr, "replay: %d of %d order events written (log [%d, %d))\n", n, stats.Events, stats.Start, stats.Position)
	}
	return nil
}

// outputFile returns path opened for writing, or stdout for "".
func outputFile(path string, stdout io.Writer) (io.Writer, func() error, error) {
	if path == "" {
		return stdout, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	return f, f.Close, nil
}

// replaySurveilResult is what `venue replay surveil --json` prints: the
// run's numbers (the report itself is in the directory).
type replaySurveilResult struct {
	Data            string       `json:"data"`
	Replay          replay.Stats `json:"replay"`
	Alerts          int          `json:"alerts"`
	Seconds         float64      `json:"seconds"`        // replay + detectors, wall clock
	CPUSeconds      float64      `json:"cpu_seconds"`    // the same, user + system CPU of the process
	ReportSeconds   float64      `json:"report_seconds"` // writing the report (charts), wall clock
	EventsPerSec    float64      `json:"events_per_sec"`
	EventsPerCPUSec float64      `json:"events_per_cpu_sec"`
	EntriesPerSec   float64      `json:"entries_per_sec"`
	LogBytes        int64        `json:"log_bytes"`
	PeakRSSBytes    int64        `json:"peak_rss_bytes"`
	Report          []string     `json:"report_files"`
}

func runReplaySurveil(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("replay surveil", stderr)
	rf := addReplayFlags(fs)
	rulesFile := fs.String("rules", "", "JSON rules file overriding the defaults")
	reportDir := fs.String("report", "", "directory for alerts.json, alerts.csv and report.html (required)")
	from := fs.String("from", "", "surveil from this point")
	to := fs.String("to", "", "surveil up to this point")
	asJSON := fs.Bool("json", false, "print the run's numbers as JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *reportDir == "" {
		return fmt.Errorf("%w: --report DIR is required", errUsage)
	}
	pts, err := parsePoints(*from, *to)
	if err != nil {
		return err
	}
	rules, err := loadRules(*rulesFile, false)
	if err != nil {
		return err
	}
	src, err := rf.open()
	if err != nil {
		return err
	}
	defer src.Close()
	cfg, prog := rf.config(stderr)
	start, cpu0 := time.Now(), processCPU()
	rep, stats, err := replay.Surveil(src, replay.SurveilConfig{Config: cfg, Start: rf.start(), From: pts[0], To: pts[1],
		Rules: rules})
	prog.done()
	if err != nil {
		return err
	}
	res := replaySurveilResult{Data: *rf.data, Replay: stats, Alerts: len(rep.Alerts), Seconds: time.Since(start).Seconds(),
		CPUSeconds: (processCPU() - cpu0).Seconds(), LogBytes: int64(stats.Position - stats.Start)}
	written := time.Now()
	if res.Report, err = rep.WriteDir(*reportDir); err != nil {
		return err
	}
	res.ReportSeconds, res.PeakRSSBytes = time.Since(written).Seconds(), processPeakRSS()
	res.EventsPerSec = float64(stats.Events) / res.Seconds
	res.EntriesPerSec = float64(stats.Entries) / res.Seconds
	if res.CPUSeconds > 0 {
		res.EventsPerCPUSec = float64(stats.Events) / res.CPUSeconds
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "%s: %d entries (%d MB of log), %d order events, %d alerts\n", rep.Source, stats.Entries,
		res.LogBytes>>20, stats.Events, len(rep.Alerts))
	fmt.Fprintf(stdout, "replay + detectors: %.2f s wall, %.2f s CPU; %.2f M events/s wall, %.2f M events/s CPU; report %.2f s; peak RSS %d MB\n",
		res.Seconds, res.CPUSeconds, res.EventsPerSec/1e6, res.EventsPerCPUSec/1e6, res.ReportSeconds, res.PeakRSSBytes>>20)
	for _, p := range res.Report {
		fmt.Fprintln(stdout, "wrote", p)
	}
	return nil
}

func runReplayGenerate(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("replay generate", stderr)
	data := fs.String("data", "", "the data directory to create (required; must not hold a log)")
	events := fs.Int("events", 100_000, "order events of background flow")
	seed := fs.Uint64("seed", 1, "generator seed")
	clean := fs.Bool("clean", false, "no injected abuse cases")
	every := fs.Int("snapshot-every", 0, "record an engine snapshot every N log entries (0: none)")
	segment := fs.Int64("segment-length", 0, "log segment length in bytes (0: logstore's default)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *data == "" || *events <= 0 || *every < 0 {
		return fmt.Errorf("%w: --data DIR and a positive --events are required", errUsage)
	}
	start := time.Now()
	res, err := replay.WriteDay(replay.DayConfig{Dir: *data, Seed: *seed, Events: *events, Inject: !*clean,
		SnapshotEvery: *every, SegmentLength: *segment})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s: %d log entries, %d bytes of log, %d order events, %d snapshots, %d injected cases in %.1fs\n",
		*data, res.Entries, res.End, res.Events, len(res.Snapshots), len(res.Injected), time.Since(start).Seconds())
	for _, in := range res.Injected {
		fmt.Fprintf(stdout, "  injected %s by %s on instrument %d at %s\n", in.Type, in.Account, in.Instrument,
			surveil.FormatTime(in.Time))
	}
	return nil
}

// processCPU returns the process's user + system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// processPeakRSS returns the process's peak resident set size in bytes.
func processPeakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024 // kilobytes on Linux
}
