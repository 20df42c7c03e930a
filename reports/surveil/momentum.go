package surveil

import (
	"fmt"

	"venue/engine"
)

// burstRingLen is the aggressive fills kept per account and instrument to
// find a sweeping burst.
const burstRingLen = 64

// aggrFill is one aggressive fill of a burst.
type aggrFill struct {
	ev AlertEvent
}

// momentumState finds a burst of aggressive orders that sweeps levels,
// then waits for the account to trade the other way.
type momentumState struct {
	ring     [burstRingLen]aggrFill
	n        int
	ignited  bool
	side     engine.Side
	deadline int64
	burst    []AlertEvent
	levels   int64
}

// momentumFill records aggressive fills and checks for the reversal.
func (s *Surveillance) momentumFill(ai *acctInst, ev *Event) {
	m := &ai.momentum
	r := &s.rules.Momentum
	if m.ignited && ev.Side != m.side {
		if ev.ClusterTime <= m.deadline {
			s.raiseMomentum(ai, ev)
			m.ignited = false
			return
		}
		m.ignited = false
	}
	if !ev.Aggressor {
		return
	}
	m.ring[m.n%burstRingLen] = aggrFill{ev: compactEvent(ev)}
	m.n++
	b := m.scan(ev, r.Window.ns())
	tick := int64(1)
	if b := s.market.Book(ev.Instrument); b != nil {
		tick = b.Tick()
	}
	levels := (b.hi-b.lo)/tick + 1
	typical := s.typical(ai)
	if b.orders >= r.OrdersMin && b.sweeping >= r.SweepsMin && levels >= r.LevelsMin && typical > 0 &&
		float64(b.volume) >= r.VolumeMultiple*typical {
		m.ignited, m.side, m.deadline, m.levels = true, ev.Side, ev.ClusterTime+r.ReverseWithin.ns(), levels
		m.burst = m.burst[:0]
		for i := b.first; i < m.n; i++ {
			m.burst = append(m.burst, m.ring[i%burstRingLen].ev)
		}
	}
}

// burstScan sums up the account's latest run of same-side aggressive
// fills within the window.
type burstScan struct {
	orders, sweeping int // orders; orders that filled at two or more prices
	lo, hi, volume   int64
	first            int // ring index of the run's first fill
}

// scan walks the ring back from the newest fill. An order's fills are
// consecutive (one command), so a change of order id ends an order.
func (m *momentumState) scan(ev *Event, windowNs int64) burstScan {
	b := burstScan{lo: ev.LastPx, hi: ev.LastPx, first: m.n - 1}
	var order uint64
	var orderPx int64
	swept := false
	for i := m.n - 1; i >= max(0, m.n-burstRingLen); i-- {
		f := &m.ring[i%burstRingLen].ev
		if ev.ClusterTime-f.Time > windowNs || f.Side != Side(ev.Side) {
			break
		}
		if f.OrderID != order || b.orders == 0 {
			b.orders, order, orderPx, swept = b.orders+1, f.OrderID, f.LastPx, false
		} else if f.LastPx != orderPx && !swept {
			b.sweeping, swept = b.sweeping+1, true
		}
		b.lo, b.hi, b.first = min(b.lo, f.LastPx), max(b.hi, f.LastPx), i
		b.volume += f.LastQty
	}
	return b
}

// compactEvent is an AlertEvent without strings, so that recording every
// aggressive fill does not allocate; names are filled in when an alert is
// raised.
func compactEvent(ev *Event) AlertEvent {
	return AlertEvent{Kind: ev.Kind, Time: ev.ClusterTime, LogPosition: ev.LogPosition, OrderID: ev.OrderID,
		Side: Side(ev.Side), Price: ev.Price, Quantity: ev.Quantity, Leaves: ev.Leaves, LastPx: ev.LastPx,
		LastQty: ev.LastQty, Aggressor: ev.Aggressor}
}

func (s *Surveillance) raiseMomentum(ai *acctInst, ev *Event) {
	m := &ai.momentum
	b := m.burst
	sum := fmt.Sprintf("%d aggressive %v fills swept %d levels %d -> %d in %s, then %v %d @ %d %s later",
		len(b), m.side, m.levels, b[0].LastPx, b[len(b)-1].LastPx, fmtNs(b[len(b)-1].Time-b[0].Time),
		ev.Side, ev.LastQty, ev.LastPx, fmtNs(ev.ClusterTime-b[len(b)-1].Time))
	a := s.newAlert(TypeMomentum, ai, b[0].Time, ev.ClusterTime, b[0].LogPosition, ev.LogPosition,
		float64(m.levels)/float64(s.rules.Momentum.LevelsMin), sum)
	name := s.acct[ai.acct].name.String()
	for _, e := range b {
		e.Account, e.Note = name, "burst"
		a.Events = append(a.Events, e)
	}
	a.Events = append(a.Events, alertEvent(ev, "trade the other way"))
	s.raise(a, Name{})
}
