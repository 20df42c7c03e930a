package surveil

import (
	"fmt"
	"strings"
	"testing"
)

// scenarioEvents is the length of the suite's day: long enough for every
// detector's typical sizes to settle, short enough for -race.
const scenarioEvents = 60_000

// cleanAlertsMax is the documented ceiling on alerts from clean
// background flow of scenarioEvents (see doc.go).
const cleanAlertsMax = 2

func runDay(t testing.TB, cfg DayConfig, r Rules) ([]Alert, DayResult, *Surveillance) {
	t.Helper()
	s := New(r)
	res, err := GenerateDay(cfg, s)
	if err != nil {
		t.Fatal(err)
	}
	return s.Finish(), res, s
}

func describe(alerts []Alert) string {
	var b strings.Builder
	for _, a := range alerts {
		fmt.Fprintf(&b, "  %s %s/%s inst %d score %.2f x%d: %s\n", a.Type, a.Account, a.Counterparty, a.Instrument, a.Score, a.Count, a.Summary)
	}
	return b.String()
}

// Every injected case is found with its type, account and instrument, and
// nothing else is raised beyond the clean-flow allowance.
func TestScenarioRecall(t *testing.T) {
	seeds := []uint64{1, 2, 3, 4, 5}
	if raceEnabled {
		seeds = seeds[:2] // the engine is several times slower under -race
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) { scenarioRecall(t, seed) })
	}
}

func scenarioRecall(t *testing.T, seed uint64) {
	alerts, res, _ := runDay(t, DayConfig{Seed: seed, Events: scenarioEvents, Inject: true}, DayRules())
	if len(res.Injected) != len(Types())+2 {
		t.Fatalf("injected %d cases, want one per type plus two more wash trades", len(res.Injected))
	}
	matched := make([]bool, len(alerts))
	for _, in := range res.Injected {
		found := false
		for i, a := range alerts {
			if a.Type == in.Type && a.Account == in.Account && a.Instrument == in.Instrument {
				found, matched[i] = true, true
			}
		}
		if !found {
			t.Errorf("missed %s by %s on %d at %d", in.Type, in.Account, in.Instrument, in.Time)
		}
	}
	var extra []Alert
	for i, a := range alerts {
		if !matched[i] {
			extra = append(extra, a)
		}
	}
	if len(extra) > cleanAlertsMax {
		t.Errorf("%d alerts beyond the injected cases:\n%s", len(extra), describe(extra))
	}
	if t.Failed() {
		t.Logf("all alerts:\n%s", describe(alerts))
	}
}

// Clean background flow raises at most cleanAlertsMax alerts.
func TestScenarioClean(t *testing.T) {
	seeds := []uint64{1, 2, 3}
	if raceEnabled {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		alerts, _, _ := runDay(t, DayConfig{Seed: seed, Events: scenarioEvents}, DayRules())
		if len(alerts) > cleanAlertsMax {
			t.Errorf("seed %d: %d alerts on clean flow:\n%s", seed, len(alerts), describe(alerts))
		}
	}
}
