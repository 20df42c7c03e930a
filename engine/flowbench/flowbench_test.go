package flowbench

import (
	"os"
	"testing"

	"venue/orderbook/orderflow"
)

const orderflowDir = "../../../shared/orderflow/"

func readFlow(tb testing.TB, name string) *orderflow.File {
	tb.Helper()
	path := orderflowDir + name
	if _, err := os.Stat(path); err != nil {
		tb.Skipf("%s not present: %v", path, err)
	}
	f, err := orderflow.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

// The engine must trade exactly what the bare book (and the README) does.
func TestEngineMatchesReadme(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("replays a million records (skipped in -short and -race)")
	}
	f := readFlow(t, "s100.bin")
	for _, lookahead := range []bool{false, true} {
		res, err := Measure(f, Options{Passes: 1, Lookahead: lookahead})
		if err != nil {
			t.Fatal(err)
		}
		if res.Trades != 184226 || res.Volume != 1934363 || res.BookTrades != res.Trades || res.BookVolume != res.Volume ||
			res.Lookahead != lookahead || res.Rejects != 0 {
			t.Fatalf("%+v", res)
		}
		t.Logf("%+v", res)
	}
}

// A tiny flow runs everywhere, race detector included: the encoding and
// the engine path agree with the bare book on it.
func TestTinyFlow(t *testing.T) {
	f := readFlow(t, "tiny.bin")
	for _, lookahead := range []bool{false, true} {
		res, err := Measure(f, Options{Passes: 1, Lookahead: lookahead})
		if err != nil {
			t.Fatal(err)
		}
		if res.Trades != res.BookTrades || res.Volume != res.BookVolume || res.Reports == 0 || res.Rejects != 0 {
			t.Fatalf("lookahead %v: %+v", lookahead, res)
		}
	}
}
