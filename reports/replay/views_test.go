package replay

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"venue/reports/surveil"
)

// The book at a position is the book the directly fed engine's market
// showed there; its order queues add up to its levels; and a replay from a
// snapshot shows the same book.
func TestBookAtPosition(t *testing.T) {
	h := writeByHand(t, 4000, 2500)
	src := mustOpen(t, h.dir)
	for id, want := range h.books {
		var views []*BookView
		for _, st := range []Start{{}, {FromSnapshot: true}} {
			bv, err := BookAt(src, BookConfig{Start: st, Instrument: id, At: AtPosition(h.snap), Orders: true})
			if err != nil {
				t.Fatal(err)
			}
			views = append(views, bv)
			if bv.Position != h.snap || !sameLevels(bv.Bids, want[0]) || !sameLevels(bv.Asks, want[1]) {
				t.Fatalf("instrument %d at %d (start %+v): bids %v asks %v; the engine's market: %v / %v",
					id, bv.Position, st, bv.Bids, bv.Asks, want[0], want[1])
			}
			if len(bv.Bids) == 0 || len(bv.Asks) == 0 || bv.Bids[0].Orders == 0 {
				t.Fatalf("instrument %d: an empty book proves nothing: %+v", id, bv)
			}
			checkQueues(t, bv, st.FromSnapshot)
		}
		var text bytes.Buffer
		if err := views[0].WriteText(&text); err != nil || !strings.Contains(text.String(), views[0].Symbol) {
			t.Fatalf("text view: %v\n%s", err, text.String())
		}
	}
	if _, err := BookAt(src, BookConfig{Symbol: "NOPE"}); err == nil {
		t.Fatal("a book of an unknown symbol")
	}
}

func sameLevels(got []LevelView, want []surveil.Level) bool {
	if len(got) != len(want) {
		return false
	}
	for i, l := range got {
		if l.Price != want[i].Price || l.Quantity != want[i].Quantity || int32(l.Orders) != want[i].Orders {
			return false
		}
	}
	return true
}

func checkQueues(t *testing.T, bv *BookView, fromSnapshot bool) {
	t.Helper()
	for _, l := range append(append([]LevelView{}, bv.Bids...), bv.Asks...) {
		var leaves int64
		for i, o := range l.Queue {
			leaves += o.Leaves
			switch {
			case o.Rank != i+1 || o.Account == "" || o.Principal == "" || o.ClOrdID == "" || o.TimeInForce == "":
				t.Fatalf("level %d: order %+v", l.Price, o)
			case !fromSnapshot && (o.AcceptedPosition <= 0 || o.AcceptedPosition > int64(bv.Position)):
				t.Fatalf("level %d: order %+v accepted outside the replay", l.Price, o)
			}
		}
		if len(l.Queue) != l.Orders || leaves != l.Quantity {
			t.Fatalf("level %d: %d orders with %d lots, the level says %d with %d", l.Price, len(l.Queue), leaves, l.Orders, l.Quantity)
		}
	}
}

// The event history of an account, or of a symbol in a window, writes as
// CSV and as JSON lines that parse back to the same rows, holding exactly
// the events a full replay reports that pass the filter.
func TestEventsParseBack(t *testing.T) {
	dir, _ := smallDay(t)
	src := mustOpen(t, dir)
	var all []surveil.Event
	full := replayAll(t, src, Config{Handler: collect{&all}})
	mid := full.Position() / 2
	for _, c := range []struct {
		name string
		cfg  EventsConfig
		keep func(*surveil.Event) bool
	}{
		{"account", EventsConfig{Account: "SPOOF1"}, func(ev *surveil.Event) bool {
			a := surveil.MakeName("SPOOF1")
			return ev.Account == a || (ev.Kind == surveil.KindFill && ev.Counter.Account == a)
		}},
		{"symbol in a window", EventsConfig{Symbol: "BETA", From: AtPosition(mid / 2), To: AtPosition(mid)},
			func(ev *surveil.Event) bool {
				return ev.Instrument == 2 && ev.LogPosition > int64(mid/2) && ev.LogPosition <= int64(mid)
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var want []surveil.Event
			for i := range all {
				if c.keep(&all[i]) {
					want = append(want, all[i])
				}
			}
			if len(want) < 3 {
				t.Fatalf("only %d events pass the filter: the test proves little", len(want))
			}
			rows := map[surveil.EventFormat][]map[string]string{}
			for _, f := range []surveil.EventFormat{surveil.FormatCSV, surveil.FormatJSONL} {
				var out bytes.Buffer
				cfg := c.cfg
				cfg.Format = f
				_, n, err := WriteEvents(src, &out, cfg)
				if err != nil {
					t.Fatal(err)
				}
				rows[f] = parseEvents(t, f, out.Bytes())
				if int(n) != len(want) || len(rows[f]) != len(want) {
					t.Fatalf("format %d: wrote %d, parsed %d rows, want %d", f, n, len(rows[f]), len(want))
				}
			}
			for i, ev := range want {
				c, j := rows[surveil.FormatCSV][i], rows[surveil.FormatJSONL][i]
				if !equalRows(c, j) || c["log_position"] != strconv.FormatInt(ev.LogPosition, 10) ||
					c["kind"] != ev.Kind.String() || c["account"] != ev.Account.String() {
					t.Fatalf("row %d: csv %v\njson %v\nevent %+v", i, c, j, ev)
				}
			}
		})
	}
}

func parseEvents(t *testing.T, f surveil.EventFormat, data []byte) []map[string]string {
	t.Helper()
	var out []map[string]string
	if f == surveil.FormatCSV {
		recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs[min(1, len(recs)):] {
			m := map[string]string{}
			for i, k := range recs[0] {
				m[k] = r[i]
			}
			out = append(out, m)
		}
		return out
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var raw map[string]any
		if err := json.Unmarshal(sc.Bytes(), &raw); err != nil {
			t.Fatal(err)
		}
		m := map[string]string{}
		for k, v := range raw {
			switch v := v.(type) {
			case string:
				m[k] = v
			case float64:
				m[k] = strconv.FormatFloat(v, 'f', -1, 64)
			case bool:
				m[k] = strconv.FormatBool(v)
			}
		}
		out = append(out, m)
	}
	return out
}

// equalRows compares a CSV row with a JSON one; JSON numbers went through
// float64, so large ids are compared only when exact.
func equalRows(c, j map[string]string) bool {
	if len(c) != len(j) {
		return false
	}
	for k, v := range c {
		if jv, ok := j[k]; !ok || (jv != v && !(len(v) > 15 && strings.Contains(jv, "e"))) {
			return false
		}
	}
	return true
}

// Surveillance over the written day finds every injected abuse case, and
// its report writes.
func TestSurveilFindsInjected(t *testing.T) {
	dir, res := sharedDay(t)
	src := mustOpen(t, dir)
	rep, stats, err := Surveil(src, SurveilConfig{Rules: surveil.DayRules()})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Injected) < len(surveil.Types()) {
		t.Fatalf("only %d cases injected", len(res.Injected))
	}
	for _, in := range res.Injected {
		found := false
		for _, a := range rep.Alerts {
			if a.Type == in.Type && a.Account == in.Account && a.Instrument == in.Instrument {
				found = true
			}
		}
		if !found {
			t.Errorf("missed %s by %s on %d", in.Type, in.Account, in.Instrument)
		}
	}
	if extra := len(rep.Alerts) - len(res.Injected); extra > 2 {
		t.Errorf("%d alerts beyond the %d injected", extra, len(res.Injected))
	}
	if stats.Events != res.Events || rep.Events != res.Events {
		t.Fatalf("replay reported %d events (%d surveilled), the generator %d", stats.Events, rep.Events, res.Events)
	}
	paths, err := rep.WriteDir(filepath.Join(t.TempDir(), "report"))
	if err != nil || len(paths) != 3 {
		t.Fatalf("report: %v %v", paths, err)
	}
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Fatalf("%s: %v", p, err)
		}
	}
}
