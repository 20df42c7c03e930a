package surveil

import (
	"cmp"
	"fmt"
	"slices"

	"venue/engine"
)

// closeFill is one aggressive fill kept for the close.
type closeFill struct {
	ev   AlertEvent
	acct int32
}

// closeRing holds an instrument's most recent aggressive fills.
type closeRing struct {
	fills [closeRingLen]closeFill
	n     int
}

// closeFill records an aggressive fill on its instrument's ring.
func (s *Surveillance) closeFill(ai *acctInst, ev *Event) {
	if !s.rules.enabled(TypeMarkingClose) {
		return
	}
	c := &s.inst(ev.Instrument).close
	c.fills[c.n%closeRingLen] = closeFill{ev: compactEvent(ev), acct: ai.acct}
	c.n++
}

// closeVolume is one account's aggressive volume in the close window.
type closeVolume struct {
	acct      int32
	buy, sell int64
	fills     []AlertEvent
}

// onClose judges the last Window before an instrument closes: an account
// that did at least ShareMin of the aggressive volume, in a direction the
// closing price then moved by MoveTicks or more.
func (s *Surveillance) onClose(ev *Event) {
	in := s.insts[ev.Instrument]
	b := s.market.Book(ev.Instrument)
	if in == nil || b == nil {
		return
	}
	r := &s.rules.Close
	from := ev.ClusterTime - r.Window.ns()
	ref, okRef := lastPrintBefore(b, from)
	closePx, okClose := lastPrintBefore(b, ev.ClusterTime+1)
	if !okRef || !okClose {
		return
	}
	if c := &in.close; c.n > closeRingLen && c.fills[c.n%closeRingLen].ev.Time > from {
		s.dropped.CloseFills++ // the window held more fills than the ring: judged on the latest
	}
	vols, total := in.close.window(from, ev.ClusterTime)
	if total == 0 {
		return
	}
	for _, v := range vols {
		s.judgeClose(v, total, ref, closePx, b, ev)
	}
	in.close.n = 0
}

// window sums aggressive volume per account over [from, to], by account.
func (c *closeRing) window(from, to int64) ([]*closeVolume, int64) {
	var total int64
	by := map[int32]*closeVolume{}
	for i := max(0, c.n-closeRingLen); i < c.n; i++ {
		f := &c.fills[i%closeRingLen]
		if f.ev.Time < from || f.ev.Time > to {
			continue
		}
		v := by[f.acct]
		if v == nil {
			v = &closeVolume{acct: f.acct}
			by[f.acct] = v
		}
		if f.ev.Side == Side(engine.SideBuy) {
			v.buy += f.ev.LastQty
		} else {
			v.sell += f.ev.LastQty
		}
		if len(v.fills) < alertEventsMax {
			v.fills = append(v.fills, f.ev)
		}
		total += f.ev.LastQty
	}
	out := make([]*closeVolume, 0, len(by))
	for _, v := range by {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b *closeVolume) int { return cmp.Compare(a.acct, b.acct) })
	return out, total
}

func (s *Surveillance) judgeClose(v *closeVolume, total, ref, closePx int64, b *Book, ev *Event) {
	r := &s.rules.Close
	vol := v.buy + v.sell
	share := float64(vol) / float64(total)
	move := (closePx - ref) / b.Tick()
	if v.sell > v.buy {
		move = -move
	}
	if vol < r.VolumeMin || share < r.ShareMin || move < r.MoveTicks {
		return
	}
	ai := s.pairs[pairKey{v.acct, ev.Instrument}]
	if ai == nil {
		return
	}
	sum := fmt.Sprintf("%.0f%% of the aggressive volume in the last %s (bought %d, sold %d); price %d -> close %d (%+d ticks)",
		100*share, fmtNs(r.Window.ns()), v.buy, v.sell, ref, closePx, (closePx-ref)/b.Tick())
	a := s.newAlert(TypeMarkingClose, ai, v.fills[0].Time, ev.ClusterTime, v.fills[0].LogPosition, ev.LogPosition,
		float64(move)/float64(r.MoveTicks)*share/max(r.ShareMin, 0.01), sum)
	name := s.acct[v.acct].name.String()
	for _, e := range v.fills {
		e.Account, e.Note = name, "aggressive fill before the close"
		a.Events = append(a.Events, e)
	}
	s.raise(a, Name{})
}

// lastPrintBefore returns the price of the last print before t on the
// tape (the oldest one kept if the tape does not reach back to t).
func lastPrintBefore(b *Book, t int64) (int64, bool) {
	first := max(0, b.tapeN-tapeLen)
	for i := b.tapeN - 1; i >= first; i-- {
		if p := b.tape[i%tapeLen]; p.Time < t {
			return p.Price, true
		}
	}
	if b.tapeN > first {
		return b.tape[first%tapeLen].Price, true
	}
	return 0, false
}
