package surveil

import (
	"bytes"
	"strconv"
	"testing"

	"venue/engine"
)

// The same log gives the same alerts, byte for byte.
func TestDeterminism(t *testing.T) {
	var out [2][]byte
	for i := range out {
		s := New(DayRules())
		res, err := GenerateDay(DayConfig{Seed: 7, Events: scenarioEvents / 2, Inject: true}, s)
		if err != nil {
			t.Fatal(err)
		}
		rep := NewReport("determinism", s, s.Finish(), res.Events)
		var b bytes.Buffer
		if err := rep.WriteJSON(&b); err != nil {
			t.Fatal(err)
		}
		if err := rep.WriteCSV(&b); err != nil {
			t.Fatal(err)
		}
		out[i] = b.Bytes()
	}
	if !bytes.Equal(out[0], out[1]) {
		t.Fatal("two runs over the same day wrote different alerts")
	}
	if !bytes.Contains(out[0], []byte(`"type": "spoofing"`)) {
		t.Fatal("the determinism day raised no spoofing alert: the comparison proves little")
	}
}

// stateProbe samples the detectors' state as a day runs.
type stateProbe struct {
	s      *Surveillance
	n      int
	states []State
}

func (p *stateProbe) OnEvent(ev *Event, m *Market) {
	p.s.OnEvent(ev, m)
	if p.n++; p.n%5_000 == 0 {
		p.states = append(p.states, p.s.State())
	}
}

// A long day does not grow the state: what is kept at the end of a day
// four times as long is about what was kept a quarter of the way in.
func TestStateBounded(t *testing.T) {
	events := 4 * scenarioEvents
	if testing.Short() || raceEnabled {
		events = 2 * scenarioEvents
	}
	p := &stateProbe{s: New(DayRules())}
	if _, err := GenerateDay(DayConfig{Seed: 3, Events: events}, p); err != nil {
		t.Fatal(err)
	}
	early, late := p.states[len(p.states)/4], p.states[len(p.states)-1]
	if late.Pairs > early.Pairs+len(accountsOfDay) || late.SideOrders > 2*early.SideOrders+100 || late.SpoofCandidates > spoofCandidatesMax*late.Pairs {
		t.Fatalf("state grew with the day: %+v at a quarter, %+v at the end", early, late)
	}
	if late.SideOrders > late.Pairs*2*sideOrdersMax {
		t.Fatalf("side orders %d past the cap for %d pairs", late.SideOrders, late.Pairs)
	}
}

// Past sideOrdersMax live orders on a side the oldest are forgotten.
func TestSideOrdersCap(t *testing.T) {
	f := newFeed(DefaultRules())
	for range sideOrdersMax + 10 {
		f.order("A", engine.SideBuy, 90, 1)
	}
	if st, d := f.s.State(), f.s.Dropped(); st.SideOrders != sideOrdersMax || d.SideOrders != 10 {
		t.Fatalf("tracked %d, dropped %d; want %d and 10", st.SideOrders, d.SideOrders, sideOrdersMax)
	}
}

// Past accountsMax accounts, new accounts are counted, not kept.
func TestAccountsCap(t *testing.T) {
	f := newFeed(DefaultRules())
	for i := range accountsMax + 5 {
		f.ioc("A"+strconv.Itoa(i), engine.SideBuy, 90, 1)
	}
	if st, d := f.s.State(), f.s.Dropped(); st.Accounts != accountsMax || d.Accounts != 10 {
		// 5 accounts past the cap, two events (new and IOC remainder) each
		t.Fatalf("kept %d accounts, dropped %d events; want %d and 10", st.Accounts, d.Accounts, accountsMax)
	}
}

// The limits relate as the code assumes.
func TestLimits(t *testing.T) {
	if layeringOrdersMax > sideOrdersMax || momentumOrdersMax != burstRingLen || tapePointsMax > tapeLen ||
		chartMarginMinNs > chartMarginMaxNs || accountInstrumentsMax < accountsMax || alertEventsMax < 3 {
		t.Fatal("limits out of relation")
	}
}
