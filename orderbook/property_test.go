package orderbook

import (
	"flag"
	"math/rand/v2"
	"testing"
)

var (
	propertySeeds    = flag.Int("seeds", 2000, "random command streams in TestAgainstReference (200 with -short)")
	propertyCommands = flag.Int("commands", 200, "commands per stream in TestAgainstReference")
)

// TestAgainstReference drives the book and the naive reference book with
// the same random command streams and requires the complete event sequence
// to be identical and the book's invariants to hold after every command.
// Run more with: go test ./orderbook -run AgainstReference -seeds 100000
func TestAgainstReference(t *testing.T) {
	seeds := *propertySeeds
	if testing.Short() {
		seeds = min(seeds, 200)
	}
	for seed := range uint64(seeds) {
		if !compareWithReference(t, seed, *propertyCommands) {
			return
		}
	}
}

// TestEmptyLevelsPurged builds wide books and takes them apart in waves,
// so that the book keeps, reuses and purges many empty levels, with random
// matching in between; it must still agree with the reference book.
func TestEmptyLevelsPurged(t *testing.T) {
	var rec, refRec recorder
	b := New(Config{}, &rec)
	ref := newRefBook(Config{}, &refRec)
	g := newGenerator(7)
	g.cfg, g.spread = Config{}, 3
	purges := 0
	id := OrderID(1_000_000)
	for wave := range 6 {
		var cmds []command
		for i := range 4 * emptyLevelsSlack {
			side, price := Buy, int64(900-i-wave)
			if i%2 == 1 {
				side, price = Sell, int64(1100+i+wave)
			}
			cmds = append(cmds, command{kind: cmdSubmit, order: Order{ID: id + OrderID(i), Side: side, Price: price, Quantity: 1}})
		}
		for i := range 4 * emptyLevelsSlack {
			cmds = append(cmds, command{kind: cmdCancel, id: id + OrderID(i)})
			cmds = append(cmds, g.next())
		}
		id += 10_000
		for i, c := range cmds {
			c.apply(b)
			c.apply(ref)
			if d := diffRecorded(rec.take(), refRec.take()); d != "" {
				t.Fatalf("wave %d command %d (%v): %s", wave, i, c, d)
			}
			if err := b.Check(); err != nil {
				t.Fatalf("wave %d command %d (%v): %v", wave, i, c, err)
			}
			if b.purgeDue {
				purges++
			}
		}
	}
	if purges == 0 {
		t.Fatal("no purge of empty levels happened")
	}
}

func compareWithReference(t *testing.T, seed uint64, n int) bool {
	t.Helper()
	return compareGenerated(t, newGenerator(seed), seed, n, nil)
}

// compareGenerated runs n commands from g on a book and the reference book;
// after each, the events must agree and the invariants hold. each, if not
// nil, sees the book after every command.
func compareGenerated(t *testing.T, g *generator, seed uint64, n int, each func(*Book)) bool {
	t.Helper()
	var rec, refRec recorder
	b := New(g.cfg, &rec)
	ref := newRefBook(g.cfg, &refRec)
	for i := 0; i < n; i++ {
		c := g.next()
		c.apply(b)
		c.apply(ref)
		if d := diffRecorded(rec.take(), refRec.take()); d != "" {
			t.Errorf("seed %d command %d (%v), config %+v: %s", seed, i, c, g.cfg, d)
			return false
		}
		if err := b.Check(); err != nil {
			t.Errorf("seed %d command %d (%v): %v", seed, i, c, err)
			return false
		}
		if b.Len() != len(ref.orders) {
			t.Errorf("seed %d command %d: book holds %d orders, reference %d", seed, i, b.Len(), len(ref.orders))
			return false
		}
		if each != nil {
			each(b)
		}
	}
	return true
}

// generator produces random but plausible command streams: prices a few
// ticks around a mid, a handful of accounts, ids that are mostly new and
// sometimes reused, every order type, and now and then an invalid value.
type generator struct {
	rng    *rand.Rand
	cfg    Config
	nextID OrderID
	mid    int64
	spread int // prices are mid ± spread ticks
}

func newGenerator(seed uint64) *generator {
	rng := rand.New(rand.NewPCG(seed, 0x6f72646572626f6f))
	cfg := Config{
		TickSize:  []int64{1, 1, 1, 5}[rng.IntN(4)],
		LotSize:   []int64{1, 1, 2}[rng.IntN(3)],
		BandTicks: []int64{0, 0, 40}[rng.IntN(3)],
		OrdersMax: []int{0, 0, 0, 12}[rng.IntN(4)],
	}
	return &generator{rng: rng, cfg: cfg, nextID: 1, mid: 1000 * cfg.TickSize, spread: 5}
}

func (g *generator) pct(p int) bool { return g.rng.IntN(100) < p }

func (g *generator) price() int64 {
	p := g.mid + g.cfg.TickSize*int64(g.rng.IntN(2*g.spread+1)-g.spread)
	switch {
	case g.pct(2) && g.cfg.TickSize > 1:
		p++
	case g.pct(2):
		p += 100 * g.cfg.TickSize
	}
	return p
}

func (g *generator) qty() int64 {
	q := g.cfg.LotSize * int64(1+g.rng.IntN(10))
	switch {
	case g.pct(2):
		q = -q
	case g.pct(2):
		q = 0
	case g.pct(2) && g.cfg.LotSize > 1:
		q++
	}
	return q
}

// id returns an id that was issued before (live or not) or, rarely, one
// never issued.
func (g *generator) id() OrderID {
	if g.nextID == 1 || g.pct(3) {
		return g.nextID + 1000
	}
	return OrderID(1 + g.rng.IntN(int(g.nextID-1)))
}

func (g *generator) next() command {
	switch r := g.rng.IntN(100); {
	case r < 58:
		return command{kind: cmdSubmit, order: g.order()}
	case r < 76:
		return command{kind: cmdCancel, id: g.id()}
	case r < 88:
		return command{kind: cmdAmend, id: g.id(), price: g.price(), qty: g.qty() + g.cfg.LotSize*int64(g.rng.IntN(3))}
	case r < 93:
		return command{kind: cmdReplace, id: g.id(), price: g.price(), qty: g.qty()}
	case r < 95:
		g.mid += g.cfg.TickSize * int64(g.rng.IntN(5)-2)
		return command{kind: cmdReference, price: g.mid}
	case r < 97:
		return command{kind: cmdCancelAccount, account: Account(1 + g.rng.IntN(3))}
	case r < 98:
		return command{kind: cmdCancelAll}
	default:
		return command{kind: cmdExpire}
	}
}

// genTag is the tag the generator gives its nth order: derived from n,
// not drawn from the random stream (which would change every seed's
// commands), and from n rather than the id, so that an order submitted
// again under a live order's id carries another tag than that order.
func genTag(n OrderID) uint32 { return uint32(n) * 0x9e3779b1 }

func (g *generator) order() Order {
	o := Order{
		ID:       g.nextID,
		Account:  Account(1 + g.rng.IntN(3)),
		Side:     Side(g.rng.IntN(2)),
		TIF:      []TimeInForce{GTC, GTC, GTC, Day, Day, IOC, FOK}[g.rng.IntN(7)],
		Price:    g.price(),
		Quantity: g.qty(),
		PostOnly: g.pct(10),
		Tag:      genTag(g.nextID),
	}
	g.nextID++
	if g.pct(3) && g.nextID > 2 {
		o.ID = g.id()
	}
	if g.pct(12) {
		o.Type = Market
	}
	if g.pct(40) {
		o.STP = STPMode(1 + g.rng.IntN(3))
	}
	if g.pct(1) {
		o.Side, o.Type, o.TIF, o.STP = Side(g.rng.IntN(4)), OrderType(g.rng.IntN(3)), TimeInForce(g.rng.IntN(5)), STPMode(g.rng.IntN(5))
	}
	return o
}
