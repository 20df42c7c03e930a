package engine

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// mdBook folds market-data lines into the book a subscriber would hold:
// instrument states and the last quantity of every level.
func mdBook(lines []string) []string {
	state := map[string]string{}
	for _, l := range lines {
		f := strings.Fields(l)
		switch f[0] {
		case "I", "S":
			state[f[0]+" "+f[1]] = strings.Join(f[2:len(f)-1], " ")
		case "L":
			key := strings.Join(f[1:4], " ")
			if strings.HasPrefix(f[4], "0/") {
				delete(state, key)
			} else {
				state[key] = f[4]
			}
		}
	}
	var out []string
	for k, v := range state {
		out = append(out, k+" = "+v)
	}
	slices.Sort(out)
	return out
}

// TestRepublishAfterRestoreRebuildsTheBook: an engine restored from a
// snapshot hands its sink the same book a subscriber of the original held.
func TestRepublishAfterRestoreRebuildsTheBook(t *testing.T) {
	h := newHarness(t)
	h.md.lines = nil
	for i, o := range []no{
		{seq: 1, px: 100, qty: 5, acct: "A1", cl: "a"},
		{seq: 2, px: 101, qty: 3, acct: "A1", cl: "b"},
		{seq: 3, px: 105, qty: 7, acct: "A1", cl: "c", side: SideSell},
		{seq: 4, px: 100, qty: 2, acct: "A1", cl: "d", inst: 2},
	} {
		h.send(sT1, newOrderCmd(o))
		_ = i
	}
	h.send(sT2, newOrderCmd(no{seq: 1, px: 101, qty: 1, acct: "A2", cl: "x", side: SideSell})) // trades 1 of "b"
	// The whole history from the start: instruments were defined before
	// newHarness cleared the lines, so fold their definitions in too.
	want := mdBook(append(instrumentLines(h), h.md.lines...))

	snap := h.e.AppendSnapshot(nil)
	sink := &recSink{}
	e2, err := New(Config{BootstrapAdmin: "ADMIN", MarketData: sink})
	if err != nil {
		t.Fatal(err)
	}
	if err := e2.Restore(snap); err != nil {
		t.Fatal(err)
	}
	e2.RepublishMarketData(h.pos, h.now)
	if got := mdBook(sink.lines); !slices.Equal(got, want) {
		t.Fatalf("republished book\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if n := len(want); n < 6 {
		t.Fatalf("only %d book entries: the scenario lost its levels", n)
	}
}

// instrumentLines is what the harness's instruments looked like to market
// data when they were defined.
func instrumentLines(h *harness) []string {
	var out []string
	for _, in := range h.e.state.instruments {
		out = append(out, fmt.Sprintf("I %d %s %v @0", in.info.ID, in.info.SymbolString(), in.info.State))
	}
	return out
}
