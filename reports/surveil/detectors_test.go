package surveil

import (
	"testing"
	"time"

	"venue/engine"
)

func TestWashThresholds(t *testing.T) {
	cases := []struct {
		name                    string
		aggr, aggrP, pass, pasP string
		qty                     int64
		want                    bool
	}{
		{"same account below quantity_min", "A", "A", "A", "A", 4, false},
		{"same account at quantity_min", "A", "A", "A", "A", 5, true},
		{"same principal", "A", "P", "B", "P", 5, true},
		{"linked accounts", "L1", "L1", "L2", "L2", 5, true},
		{"unrelated accounts", "A", "A", "B", "B", 50, false},
		{"one linked, one not", "L1", "L1", "B", "B", 50, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := DefaultRules()
			r.Wash.QuantityMin = 5
			r.Linked = [][]string{{"L1", "L2"}}
			f := newFeed(r)
			f.trade(c.aggr, c.aggrP, engine.SideBuy, 101, c.qty, c.pass, c.pasP)
			alerts := expectAlerts(t, f, TypeWash, c.want)
			if c.want && (alerts[0].Account != c.aggr || alerts[0].Counterparty != c.pass || alerts[0].Instrument != feedInst) {
				t.Fatalf("alert names %s/%s on %d", alerts[0].Account, alerts[0].Counterparty, alerts[0].Instrument)
			}
		})
	}
}

// spoofCase: a large bid behindTicks behind the best bid of 99, a sell
// execution 100ms later, the bid cancelled cancelAfter later.
func spoofRun(t *testing.T, qty, behindTicks int64, cancelAfter time.Duration, want bool) {
	t.Helper()
	r := DefaultRules() // size multiple 5, near touch 3 ticks, cancel within 2s
	f := newFeed(r)
	f.teach("S", 10)
	big := f.order("S", engine.SideBuy, 99-behindTicks, qty)
	f.wait(100 * time.Millisecond)
	f.trade("S", "S", engine.SideSell, 99, 5, "MM", "MM")
	f.wait(cancelAfter)
	f.cancel("S", big, engine.SideBuy, 99-behindTicks, qty, 0)
	alerts := expectAlerts(t, f, TypeSpoofing, want)
	if want && (alerts[0].Account != "S" || len(alerts[0].Events) != 3) {
		t.Fatalf("alert %+v", alerts[0])
	}
}

func TestSpoofingThresholds(t *testing.T) {
	cases := []struct {
		name        string
		qty, behind int64
		after       time.Duration
		want        bool
	}{
		{"just below size multiple", 49, 0, time.Second, false},
		{"at size multiple", 50, 0, time.Second, true},
		{"at near-touch limit", 100, 3, time.Second, true},
		{"just past near-touch limit", 100, 4, time.Second, false},
		{"cancel at cancel_within", 100, 0, 2 * time.Second, true},
		{"cancel just after cancel_within", 100, 0, 2*time.Second + 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { spoofRun(t, c.qty, c.behind, c.after, c.want) })
	}
}

func TestLayeringThresholds(t *testing.T) {
	cases := []struct {
		name       string
		layers     int
		gap        int64
		cancelWait time.Duration
		mmBids     bool
		requote    bool // each cancel followed by a new offer
		want       bool
	}{
		{"just below orders_min", 2, 1, 100 * time.Millisecond, false, false, false},
		{"at orders_min", 3, 1, 100 * time.Millisecond, false, false, true},
		{"levels not consecutive", 3, 2, 100 * time.Millisecond, false, false, false},
		{"cancelled after cancel_within", 3, 1, 2*time.Second + 1, false, false, false},
		{"two-sided quotes (market maker)", 3, 1, 100 * time.Millisecond, true, false, false},
		{"re-quoted, not withdrawn", 3, 1, 100 * time.Millisecond, false, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFeed(DefaultRules()) // orders_min 3, gap 1 tick, cancel within 2s
			if c.mmBids {
				f.order("L", engine.SideBuy, 98, 20)
				f.order("L", engine.SideBuy, 97, 20)
			}
			var ids []uint64
			for k := range c.layers {
				ids = append(ids, f.order("L", engine.SideSell, 102+int64(k)*c.gap, 20))
			}
			f.trade("L", "L", engine.SideBuy, 101, 5, "MM", "MM")
			f.wait(c.cancelWait)
			for k, id := range ids {
				f.cancel("L", id, engine.SideSell, 102+int64(k)*c.gap, 20, 0)
				if c.requote {
					f.order("L", engine.SideSell, 103+int64(k)*c.gap, 20)
				}
			}
			expectAlerts(t, f, TypeLayering, c.want)
		})
	}
}

func TestMomentumThresholds(t *testing.T) {
	cases := []struct {
		name    string
		shift   int64 // the third order fills this many ticks above the first two
		sweeps  int   // orders that fill at two prices (the rest at one)
		reverse time.Duration
		want    bool
	}{
		{"just below levels_min", 1, 3, time.Second, false},
		{"at levels_min", 2, 3, time.Second, true},
		{"just below sweeps_min", 2, 1, time.Second, false},
		{"at sweeps_min", 2, 2, time.Second, true},
		{"reversal at reverse_within", 2, 3, 60 * time.Second, true},
		{"reversal after reverse_within", 2, 3, 60*time.Second + 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// 3 orders, 4 levels, 2 sweeping, 10x typical volume, within 5s; reverse within 60s
			f := newFeed(DefaultRules())
			f.teach("M", 10)
			for k := range 3 {
				base := int64(101)
				if k == 2 {
					base += c.shift
				}
				prices := []int64{base, base + 1}
				if k >= c.sweeps {
					prices = []int64{base + 1}
				}
				f.sweep("M", engine.SideBuy, prices, 60/int64(len(prices)), "MM")
				f.wait(time.Second)
			}
			f.wait(c.reverse - time.Second)
			f.trade("M", "M", engine.SideSell, 99, 5, "MM", "MM")
			expectAlerts(t, f, TypeMomentum, c.want)
		})
	}
}

func TestMarkingCloseThresholds(t *testing.T) {
	cases := []struct {
		name     string
		move     int64
		otherQty int64 // aggressive volume by someone else in the window
		want     bool
	}{
		{"just below move_ticks", 4, 0, false},
		{"at move_ticks", 5, 0, true},
		{"at share_min", 5, 70, true},     // 30 of 100
		{"below share_min", 5, 71, false}, // 30 of 101
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFeed(DefaultRules())                          // window 2m, share 0.3, move 5 ticks
			f.trade("X", "X", engine.SideBuy, 100, 1, "MM", "MM") // the price before the window
			f.wait(3 * time.Minute)
			if c.otherQty > 0 {
				f.trade("O", "O", engine.SideSell, 100, c.otherQty, "MM", "MM")
			}
			for k := range int64(3) {
				f.wait(10 * time.Second)
				f.trade("C", "C", engine.SideBuy, 100+c.move*(k+1)/3, 10, "MM", "MM")
			}
			f.wait(time.Second)
			f.close()
			alerts := expectAlerts(t, f, TypeMarkingClose, c.want)
			if c.want && alerts[0].Account != "C" {
				t.Fatalf("alert on %s", alerts[0].Account)
			}
		})
	}
}

func TestOTRThresholds(t *testing.T) {
	cases := []struct {
		name           string
		orders, trades int
		want           bool
	}{
		{"just below count_limit", 201, 2, false}, // 201/2-1 = 99.5
		{"at count_limit", 202, 2, true},          // 202/2-1 = 100
		{"below orders_min", 199, 1, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := DefaultRules() // count limit 100, orders min 200
			r.OTR.VolumeLimit = 1e9
			f := newFeed(r)
			for range c.orders {
				f.wait(time.Second) // slow enough never to be a burst
				f.order("Q", engine.SideBuy, 90, 1)
			}
			for range c.trades {
				f.trade("Q", "Q", engine.SideSell, 99, 1, "MM", "MM")
			}
			expectAlerts(t, f, TypeOTR, c.want)
		})
	}
}

func TestBurstThresholds(t *testing.T) {
	cases := []struct {
		name    string
		spacing time.Duration
		want    bool
	}{
		{"ten messages in 900ms", 100 * time.Millisecond, true},
		{"ten messages in 909ms", 101 * time.Millisecond, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := DefaultRules()
			r.Burst = BurstRules{Window: Duration(900 * time.Millisecond), MessagesMax: 10}
			f := newFeed(r)
			for range 10 {
				f.order("B", engine.SideBuy, 90, 1)
				f.wait(c.spacing)
			}
			expectAlerts(t, f, TypeBurst, c.want)
		})
	}
}

// A disabled detector raises nothing.
func TestDisabled(t *testing.T) {
	r := DefaultRules()
	r.Disabled = map[string]bool{TypeWash.String(): true}
	f := newFeed(r)
	f.trade("A", "A", engine.SideBuy, 101, 5, "A", "A")
	expectAlerts(t, f, TypeWash, false)
}
