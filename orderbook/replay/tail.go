package replay

import (
	"slices"
	"strconv"

	"venue/orderbook"
	"venue/orderbook/orderflow"
)

// Where the slowest commands of a latency pass go (Options.TailClasses):
// each timed command gets a class from what it did (its kind, how many
// trades it made, how many levels it emptied), found by replaying the file
// again untimed on fresh books with a listener that counts those events.
// Replays are deterministic, so the second pass sees the same commands do
// the same things.
const (
	// tailPercent: a command is slow if its latency is at or above this
	// percentile of the pass.
	tailPercent = 99
	// tailTradesMax: commands with this many trades or more share a class.
	tailTradesMax = 3
	// tailEmptiedMax: commands emptying this many levels or more share a
	// class.
	tailEmptiedMax = 2
)

// Command kinds of a class, in the order of their names.
const (
	kindGTC = iota
	kindIOC
	kindMarket
	kindCancel
	kindAmend
	kindCount
)

var kindNames = [kindCount]string{"new-gtc", "new-ioc", "new-market", "cancel", "amend"}

// tailClassCount is the number of classes: every kind, trade count and
// emptied count bucket.
const tailClassCount = kindCount * (tailTradesMax + 1) * (tailEmptiedMax + 1)

// TailClass is one class of timed commands: how many there were, how many
// of them were slow (at or above the pass's 99th percentile) and their mean
// latency.
type TailClass struct {
	// Class names the kind, trades and levels emptied, for example
	// "new-ioc trades=3+ emptied=1".
	Class  string `json:"class"`
	Count  int    `json:"count"`
	Slow   int    `json:"slow"`
	MeanNs int64  `json:"mean_ns"`
}

// classifier counts what the command being applied does.
type classifier struct {
	orderbook.NopListener
	trades, emptied int
}

// OnTrade counts a trade.
func (c *classifier) OnTrade(orderbook.Trade) { c.trades++ }

// OnLevel counts a level left empty.
func (c *classifier) OnLevel(l orderbook.Level) {
	if l.Count == 0 {
		c.emptied++
	}
}

// tailClassOf returns the class index of record rec that made trades trades
// and emptied emptied levels.
func tailClassOf(rec orderflow.Record, trades, emptied int) int {
	kind := kindAmend
	switch rec.Op() {
	case orderflow.OpNew:
		switch rec.Type() {
		case orderflow.TypeIOC:
			kind = kindIOC
		case orderflow.TypeMarket:
			kind = kindMarket
		default:
			kind = kindGTC
		}
	case orderflow.OpCancel:
		kind = kindCancel
	}
	t, e := min(trades, tailTradesMax), min(emptied, tailEmptiedMax)
	return (kind*(tailTradesMax+1)+t)*(tailEmptiedMax+1) + e
}

// tailClassName returns the name of class index c.
func tailClassName(c int) string {
	e := c % (tailEmptiedMax + 1)
	t := c / (tailEmptiedMax + 1) % (tailTradesMax + 1)
	kind := c / ((tailEmptiedMax + 1) * (tailTradesMax + 1))
	name := kindNames[kind] + " trades=" + strconv.Itoa(t)
	if t == tailTradesMax {
		name += "+"
	}
	name += " emptied=" + strconv.Itoa(e)
	if e == tailEmptiedMax {
		name += "+"
	}
	return name
}

// tailClasses classifies the timed records of f, whose latencies are ns
// (ns[i] for record warm-up+i), and returns the classes that occurred,
// those with the most slow commands first (ties by class order).
func tailClasses(f *orderflow.File, ns []int64) []TailClass {
	if len(ns) == 0 {
		return nil
	}
	sorted := slices.Clone(ns)
	slices.Sort(sorted)
	slow := sorted[len(sorted)*tailPercent/100]

	var c classifier
	r := New(f.Header, &c)
	warm := int(f.Header.Warmup)
	r.ApplyRange(f, 0, warm)
	var count, slowCount [tailClassCount]int
	var sum [tailClassCount]int64
	for i, d := range ns {
		rec := f.Record(warm + i)
		c.trades, c.emptied = 0, 0
		r.Apply(rec)
		k := tailClassOf(rec, c.trades, c.emptied)
		count[k]++
		sum[k] += d
		if d >= slow {
			slowCount[k]++
		}
	}
	var out []TailClass
	for k := range count {
		if count[k] > 0 {
			out = append(out, TailClass{Class: tailClassName(k), Count: count[k], Slow: slowCount[k], MeanNs: sum[k] / int64(count[k])})
		}
	}
	slices.SortStableFunc(out, func(a, b TailClass) int { return b.Slow - a.Slow })
	return out
}
