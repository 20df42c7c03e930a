package surveil

import (
	"fmt"
	"math"
	"slices"

	"venue/engine"
)

// layeringImbalanceMin is how many times the account's remaining live
// volume on the execution's side the layered volume must be: a market
// maker quotes both sides, a layerer only the side it pushes.
const layeringImbalanceMin = 4

// layerCand is a ladder of one account's orders on consecutive levels of
// one side that rested while the account traded on the other side:
// layering if enough of them are now cancelled quickly.
type layerCand struct {
	active    bool
	deadline  int64
	ids       []uint64
	prices    []int64
	cancelled int
	exec      AlertEvent
	book      BookView
	start     int64 // earliest placement of a layer
	startPos  int64
	events    []AlertEvent
	requotes  int   // new orders on the ladder's side in the window
	end       int64 // the last layer cancel
	endPos    int64
}

// layerFill looks for a ladder on the other side when the account trades.
func (s *Surveillance) layerFill(ai *acctInst, ev *Event) {
	other := opposite(ev.Side)
	c := &ai.layer[sideIndex(other)]
	if c.active && ev.ClusterTime <= c.deadline {
		return // keep the ladder already found
	}
	so := &ai.sides[sideIndex(other)]
	r := &s.rules.Layering
	if len(so.orders) < r.OrdersMin {
		c.active = false
		return
	}
	run := s.ladder(so, ai.inst, other)
	if len(run) < r.OrdersMin {
		c.active = false
		return
	}
	var layered int64
	for _, o := range run {
		layered += o.qty - o.cum
	}
	rest := ai.sides[sideIndex(ev.Side)].volume() - ev.Leaves
	if layered < layeringImbalanceMin*max(rest, 0) {
		c.active = false
		return
	}
	s.startLayer(c, run, ev) // copies what it keeps of run (s.scratch)
}

func (s *Surveillance) startLayer(c *layerCand, run []sideOrder, ev *Event) {
	*c = layerCand{active: true, deadline: ev.ClusterTime + s.rules.Layering.CancelWithin.ns(),
		ids: c.ids[:0], prices: c.prices[:0], exec: alertEvent(ev, "opposite-side execution"), start: math.MaxInt64}
	c.events = make([]AlertEvent, 0, len(run)*2+1)
	for _, o := range run {
		c.ids = append(c.ids, o.id)
		c.prices = append(c.prices, o.price)
		if o.placedAt < c.start {
			c.start, c.startPos = o.placedAt, o.placedPos
		}
		c.events = append(c.events, AlertEvent{Kind: KindNew, Time: o.placedAt, LogPosition: o.placedPos,
			Account: c.exec.Account, OrderID: o.id, Side: Side(opposite(ev.Side)), Price: o.price, Quantity: o.qty,
			Leaves: o.qty - o.cum, Note: "layer"})
	}
	c.events = append(c.events, c.exec)
	if b := s.market.Book(ev.Instrument); b != nil {
		c.book = s.bookView(b)
	}
}

// ladder returns the longest run of the side's orders on distinct levels
// each at most LevelGapMax ticks from the next, nearest the touch first.
func (s *Surveillance) ladder(so *sideOrders, inst uint32, side engine.Side) []sideOrder {
	tick := int64(1)
	if b := s.market.Book(inst); b != nil {
		tick = b.Tick()
	}
	orders := append(s.scratch[:0], so.orders...)
	s.scratch = orders
	slices.SortFunc(orders, func(a, b sideOrder) int {
		if side == engine.SideBuy {
			return int(min(max(b.price-a.price, -1), 1))
		}
		return int(min(max(a.price-b.price, -1), 1))
	})
	orders = slices.CompactFunc(orders, func(a, b sideOrder) bool { return a.price == b.price })
	gap := s.rules.Layering.LevelGapMax * tick
	best, start := 0, 0
	bestStart := 0
	for i := 1; i <= len(orders); i++ {
		if i == len(orders) || abs(orders[i].price-orders[i-1].price) > gap {
			if i-start > best {
				best, bestStart = i-start, start
			}
			start = i
		}
	}
	return orders[bestStart : bestStart+best]
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// layerCancel counts a cancelled layer; the case is judged when its
// window ends (layerSettle).
func (s *Surveillance) layerCancel(ai *acctInst, ev *Event) {
	c := &ai.layer[sideIndex(ev.Side)]
	if !c.active || ev.ClusterTime > c.deadline || !slices.Contains(c.ids, ev.OrderID) {
		return
	}
	c.cancelled++
	c.end, c.endPos = ev.ClusterTime, ev.LogPosition
	if len(c.events) < alertEventsMax {
		c.events = append(c.events, alertEvent(ev, "layer cancelled"))
	}
}

// layerRequote counts a new order on a ladder's side while its window is
// open: a market maker moving its quotes re-places what it cancels.
func (ai *acctInst) layerRequote(ev *Event) {
	if c := &ai.layer[sideIndex(ev.Side)]; c.active && ev.ClusterTime <= c.deadline {
		c.requotes++
	}
}

// layerSettle judges the ladders whose window ended before now: layering
// if at least OrdersMin layers were cancelled and fewer than half as many
// orders re-placed on that side (withdrawn, not re-quoted).
func (s *Surveillance) layerSettle(ai *acctInst, now int64) {
	for side := range ai.layer {
		c := &ai.layer[side]
		if !c.active || now <= c.deadline {
			continue
		}
		c.active = false
		r := &s.rules.Layering
		if c.cancelled < r.OrdersMin || 2*c.requotes >= c.cancelled {
			continue
		}
		sum := fmt.Sprintf("%d %v orders on %d consecutive levels %d..%d, %v %d @ %d executed, %d cancelled within %s, %d re-placed",
			len(c.ids), c.events[0].Side, len(c.prices), slices.Min(c.prices), slices.Max(c.prices), c.exec.Side,
			c.exec.LastQty, c.exec.LastPx, c.cancelled, fmtNs(c.end-c.exec.Time), c.requotes)
		a := s.newAlert(TypeLayering, ai, c.start, c.end, c.startPos, c.endPos,
			float64(len(c.ids))/float64(r.OrdersMin), sum)
		a.Book = c.book
		a.Events = c.events
		c.events = nil
		s.raise(a, Name{})
	}
}
