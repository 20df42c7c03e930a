package surveil

import (
	"fmt"
	"math"

	"venue/engine"
)

// otrStats are one account's order and trade totals on one instrument.
type otrStats struct {
	orders, orderVolume int64 // new, replace and cancel messages; their quantities
	trades, tradeVolume int64 // fills; their quantities
	first, last         int64 // cluster time of the first and last message
	firstPos, lastPos   int64
}

// clientMessage reports whether an event answers a message the account
// sent: engine-made cancels (IOC remainders, self-trade prevention,
// disconnects, admin) are not the account's orders.
func clientMessage(ev *Event) bool {
	switch ev.Kind {
	case KindNew, KindReplace, KindReject:
		return true
	case KindCancel:
		return ev.Reason == engine.ReasonClientRequest || ev.Reason == engine.ReasonMassCancel
	}
	return false
}

// countMessage feeds the order-to-trade totals and the burst detector.
func (s *Surveillance) countMessage(ai *acctInst, ev *Event) {
	o := &ai.otr
	if ev.Kind == KindFill {
		o.trades++
		o.tradeVolume += ev.LastQty
		return
	}
	if !clientMessage(ev) {
		return
	}
	if o.orders == 0 {
		o.first, o.firstPos = ev.ClusterTime, ev.LogPosition
	}
	o.last, o.lastPos = ev.ClusterTime, ev.LogPosition
	if ev.Kind != KindReject {
		o.orders++
		o.orderVolume += ev.Quantity
	}
	if s.rules.enabled(TypeBurst) {
		s.burstMessage(ai.acct, ai.inst, ev)
	}
}

// otrRatio is MiFID RTS 9's (orders / trades) − 1; with no trades it is
// the order count itself (as if one trade), so that an account that only
// quotes still has a finite, comparable ratio.
func otrRatio(orders, trades int64) float64 {
	return float64(orders)/float64(max(trades, 1)) - 1
}

// otrFinish raises an alert for a pair over either limit.
func (s *Surveillance) otrFinish(ai *acctInst) {
	o := &ai.otr
	r := &s.rules.OTR
	if o.orders < r.OrdersMin {
		return
	}
	byCount, byVolume := otrRatio(o.orders, o.trades), otrRatio(o.orderVolume, o.tradeVolume)
	if byCount < r.CountLimit && byVolume < r.VolumeLimit {
		return
	}
	score := math.Max(byCount/math.Max(r.CountLimit, 1), byVolume/math.Max(r.VolumeLimit, 1))
	sum := fmt.Sprintf("order-to-trade ratio %.1f by count (%d orders, %d trades; limit %g), %.1f by volume (%d ordered, %d traded; limit %g)",
		byCount, o.orders, o.trades, r.CountLimit, byVolume, o.orderVolume, o.tradeVolume, r.VolumeLimit)
	a := s.newAlert(TypeOTR, ai, o.first, o.last, o.firstPos, o.lastPos, score, sum)
	s.raise(a, Name{})
}
