package surveil

import (
	"fmt"

	"venue/engine"
)

// spoofCand is a large order near the touch that rested while its account
// traded on the other side: spoofing if it is now cancelled quickly.
type spoofCand struct {
	order sideOrder
	side  engine.Side
	exec  AlertEvent // the opposite-side execution
	book  BookView   // the book at the execution
}

// spoofFill marks the account's large orders near the touch on the other
// side as candidates.
func (s *Surveillance) spoofFill(ai *acctInst, ev *Event) {
	other := opposite(ev.Side)
	so := &ai.sides[sideIndex(other)]
	for i := range so.orders {
		o := &so.orders[i]
		if !o.large || !o.nearTouch || ai.spoofCand(o.id) != nil {
			continue
		}
		s.expireSpoofCands(ai, ev.ClusterTime)
		if len(ai.spoof) >= spoofCandidatesMax {
			s.dropped.SpoofCands++
			continue
		}
		c := spoofCand{order: *o, side: other, exec: alertEvent(ev, "opposite-side execution")}
		if b := s.market.Book(ev.Instrument); b != nil {
			c.book = s.bookView(b)
		}
		ai.spoof = append(ai.spoof, c)
	}
}

func (ai *acctInst) spoofCand(id uint64) *spoofCand {
	for i := range ai.spoof {
		if ai.spoof[i].order.id == id {
			return &ai.spoof[i]
		}
	}
	return nil
}

// expireSpoofCands forgets candidates whose cancel window has passed.
func (s *Surveillance) expireSpoofCands(ai *acctInst, now int64) {
	keep := ai.spoof[:0]
	for _, c := range ai.spoof {
		if now-c.exec.Time <= s.rules.Spoofing.CancelWithin.ns() {
			keep = append(keep, c)
		}
	}
	ai.spoof = keep
}

// spoofCancel raises an alert when a candidate is cancelled in time.
func (s *Surveillance) spoofCancel(ai *acctInst, ev *Event) {
	c := ai.spoofCand(ev.OrderID)
	if c == nil {
		return
	}
	r := &s.rules.Spoofing
	o := c.order
	cum := ev.Cum
	inTime := ev.ClusterTime-c.exec.Time <= r.CancelWithin.ns() && ev.ClusterTime-o.placedAt <= r.LifetimeMax.ns()
	if inTime && float64(cum) <= r.FilledRatioMax*float64(o.qty) {
		sum := fmt.Sprintf("%v %d @ %d (%.1fx typical size) placed, %v %d @ %d executed %s later, cancelled %s after that",
			c.side, o.qty, o.price, o.multiple, c.exec.Side, c.exec.LastQty, c.exec.LastPx,
			fmtNs(c.exec.Time-o.placedAt), fmtNs(ev.ClusterTime-c.exec.Time))
		a := s.newAlert(TypeSpoofing, ai, o.placedAt, ev.ClusterTime, o.placedPos, ev.LogPosition, o.multiple/r.SizeMultiple, sum)
		a.Book = c.book
		a.Events = []AlertEvent{
			{Kind: KindNew, Time: o.placedAt, LogPosition: o.placedPos, Account: a.Account, OrderID: o.id, Side: Side(c.side),
				Price: o.price, Quantity: o.qty, Leaves: o.qty, Note: "large order near the touch"},
			c.exec,
			alertEvent(ev, "large order cancelled"),
		}
		s.raise(a, Name{})
	}
	s.dropSpoofCand(ai, ev.OrderID)
}

func (s *Surveillance) dropSpoofCand(ai *acctInst, id uint64) {
	for i := range ai.spoof {
		if ai.spoof[i].order.id == id {
			ai.spoof = append(ai.spoof[:i], ai.spoof[i+1:]...)
			return
		}
	}
}

// fmtNs prints a duration of cluster time.
func fmtNs(ns int64) string {
	switch {
	case ns < 1e3:
		return fmt.Sprintf("%dns", ns)
	case ns < 1e6:
		return fmt.Sprintf("%.1fµs", float64(ns)/1e3)
	case ns < 1e9:
		return fmt.Sprintf("%.1fms", float64(ns)/1e6)
	}
	return fmt.Sprintf("%.2fs", float64(ns)/1e9)
}
