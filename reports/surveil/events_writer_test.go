package surveil

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"testing"
)

// The event history of one account: every order event of it (and the
// fills against it), in log order, as CSV and as JSON lines that agree.
func TestEventWriter(t *testing.T) {
	var log bytes.Buffer
	if _, err := GenerateDay(DayConfig{Seed: 1, Events: 20_000, Inject: true, Log: &log}, nopHandler{}); err != nil {
		t.Fatal(err)
	}
	filter := EventFilter{Account: MakeName("SPOOF1")}
	var csvOut, jsonOut bytes.Buffer
	for _, c := range []struct {
		out    *bytes.Buffer
		format EventFormat
	}{{&csvOut, FormatCSV}, {&jsonOut, FormatJSONL}} {
		w := NewEventWriter(c.out, c.format, filter)
		if _, err := Replay(bytes.NewReader(log.Bytes()), w); err != nil {
			t.Fatal(err)
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := csv.NewReader(&csvOut).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	sc := bufio.NewScanner(&jsonOut)
	var last int64
	for sc.Scan() {
		var r eventRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r.LogPosition < last || (r.Account != "SPOOF1" && r.CounterAcct != "SPOOF1") {
			t.Fatalf("row out of order or of another account: %+v", r)
		}
		last = r.LogPosition
		kinds = append(kinds, r.Kind.String())
	}
	want := []string{"new", "new", "fill", "fill", "cancel"} // big bid, IOC sell filled against two bids, big bid cancelled
	if len(rows) != len(kinds)+1 || len(rows[0]) != len(eventColumns) || !equalStrings(kinds, want) {
		t.Fatalf("csv %d rows, json kinds %v; want %v", len(rows), kinds, want)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
