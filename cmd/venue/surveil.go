package main

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"venue/reports/surveil"
)

func init() {
	register(command{
		name:    "surveil",
		summary: "run the surveillance detectors over a recorded log (--input FILE) or a generated day (--generate N) and write a report (--report DIR)",
		run:     runSurveil,
	})
}

func runSurveil(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("surveil", stderr)
	input := fs.String("input", "", "recorded log (VSVLOG01, as --write-log writes) to replay")
	generate := fs.Int("generate", 0, "instead of --input, generate a day of about N order events with the abuse suite injected")
	seed := fs.Uint64("seed", 1, "generator seed (with --generate)")
	writeLog := fs.String("write-log", "", "with --generate, also save the day's recorded log here")
	rulesFile := fs.String("rules", "", "JSON rules file overriding the defaults")
	reportDir := fs.String("report", "", "directory for alerts.json, alerts.csv and report.html (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *reportDir == "" || (*input == "") == (*generate <= 0) {
		return fmt.Errorf("%w: need --report DIR and one of --input FILE or --generate N", errUsage)
	}
	rules, err := loadRules(*rulesFile, *generate > 0)
	if err != nil {
		return err
	}
	s := surveil.New(rules)
	source, events, err := feedSurveil(s, *input, *generate, *seed, *writeLog)
	if err != nil {
		return err
	}
	rep := surveil.NewReport(source, s, s.Finish(), events)
	paths, err := rep.WriteDir(*reportDir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d order events, %d alerts\n", source, events, len(rep.Alerts))
	for _, p := range paths {
		fmt.Fprintln(stdout, "wrote", p)
	}
	return nil
}

// loadRules reads a rules file, or returns the defaults (plus the
// generated day's linked accounts when generating).
func loadRules(path string, generated bool) (surveil.Rules, error) {
	if path == "" {
		if generated {
			return surveil.DayRules(), nil
		}
		return surveil.DefaultRules(), nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return surveil.Rules{}, fmt.Errorf("rules: %w", err)
	}
	return surveil.ParseRules(data)
}

// feedSurveil runs s over the chosen day and says where it came from.
func feedSurveil(s *surveil.Surveillance, input string, generate int, seed uint64, writeLog string) (string, uint64, error) {
	if input != "" {
		f, err := os.Open(input)
		if err != nil {
			return "", 0, err
		}
		defer f.Close()
		res, err := surveil.Replay(f, s)
		return "recorded log " + input, res.Events, err
	}
	var log bytes.Buffer
	cfg := surveil.DayConfig{Seed: seed, Events: generate, Inject: true}
	if writeLog != "" {
		cfg.Log = &log
	}
	res, err := surveil.GenerateDay(cfg, s)
	if err != nil {
		return "", 0, err
	}
	if writeLog != "" {
		if err := os.WriteFile(writeLog, log.Bytes(), 0o644); err != nil {
			return "", 0, err
		}
	}
	return fmt.Sprintf("generated day (seed %d, %d injected cases)", seed, len(res.Injected)), res.Events, nil
}
