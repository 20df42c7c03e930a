package replay

import (
	"fmt"

	"venue/reports/surveil"
)

// SurveilConfig configures Surveil.
type SurveilConfig struct {
	Config // engine settings and progress (Handler and Snapshot are set by Surveil)
	Start
	// From and To bound the window the detectors see.
	From, To Point
	// Rules are the detectors' parameters (surveil.DefaultRules, ParseRules).
	Rules surveil.Rules
}

// Surveil replays the log through every surveillance detector and
// returns the report (write it with its WriteDir) and the replay's
// statistics.
func Surveil(src *Source, cfg SurveilConfig) (*surveil.Report, Stats, error) {
	s := surveil.New(cfg.Rules)
	win := &window{from: cfg.From, next: s}
	cfg.Handler = win
	r, err := newReplayer(src, cfg.Config, cfg.Start, cfg.From)
	if err != nil {
		return nil, Stats{}, err
	}
	if err := r.AdvanceTo(cfg.To); err != nil {
		return nil, r.Stats(), err
	}
	source := fmt.Sprintf("log of %s, positions %d to %d", src.Dir(), r.Stats().Start, r.Position())
	return surveil.NewReport(source, s, s.Finish(), win.passed), r.Stats(), nil
}
