package surveil

import "fmt"

// washFill checks one trade (seen on its aggressive side, so once per
// trade): both sides under one account, one principal, or linked accounts.
func (s *Surveillance) washFill(ai *acctInst, ev *Event) {
	if !ev.Counter.Known || ev.LastQty < s.rules.Wash.QuantityMin {
		return
	}
	var why string
	var score float64
	switch {
	case ev.Counter.Account == ev.Account:
		why, score = "same account", 1
	case ev.Counter.Principal == ev.Principal:
		why, score = "same principal "+ev.Principal.String(), 1
	case s.isLinked(ev.Account, ev.Counter.Account):
		why, score = "linked accounts", 1
	default:
		return
	}
	sum := fmt.Sprintf("%d @ %d between %s and %s (%s)", ev.LastQty, ev.LastPx, ev.Account, ev.Counter.Account, why)
	a := s.newAlert(TypeWash, ai, ev.ClusterTime, ev.ClusterTime, ev.LogPosition, ev.LogPosition, score, sum)
	a.Counterparty = ev.Counter.Account.String()
	a.Events = []AlertEvent{alertEvent(ev, "aggressive side")}
	s.raise(a, ev.Counter.Account)
}

func (s *Surveillance) isLinked(a, b Name) bool {
	ga, oka := s.linked[a]
	gb, okb := s.linked[b]
	return oka && okb && ga == gb
}
