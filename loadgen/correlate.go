package loadgen

import "venue/reports"

// onReport matches one report from the venue with what the session sent,
// by ClOrdID, at nowNs, and records the latency it completes.
func (s *session) onReport(r *Report, nowNs int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	switch r.Kind {
	case ReportNew:
		s.onNew(r, nowNs)
	case ReportTrade:
		s.onTrade(r, nowNs)
	case ReportCanceled:
		s.onCanceled(r, nowNs)
	case ReportReplaced:
		s.onReplaced(r, nowNs)
	case ReportRejected, ReportCancelRejected, ReportRequestRejected:
		s.onReject(r, nowNs)
	case ReportExpired:
		if o := s.orders[r.ClOrdID]; o != nil {
			s.finish(o)
		}
	}
}

// pendingOf takes the request with ClOrdID id if it is of one of kinds.
func (s *session) pendingOf(id string, kinds ...RequestKind) *pending {
	p := s.pending[id]
	if p == nil {
		return nil
	}
	for _, k := range kinds {
		if p.kind == k {
			return s.take(id)
		}
	}
	return nil
}

func (s *session) onNew(r *Report, nowNs int64) {
	p := s.pendingOf(r.ClOrdID, RequestNew)
	if p == nil {
		s.stats.Unmatched.Add(1) // late: given up on already
		return
	}
	o := p.ord
	o.acked, o.ackNs = true, r.EventNs
	s.complete(p, nowNs, reports.OutcomeOK)
	s.relistIdle(o)
}

// onTrade times an order's first fill if the order traded on arrival: the
// venue says it took liquidity (and no replace moved it), or, where the
// transport does not say (FIX without LastLiquidityInd), the fill carries
// the event time of the order's own New: both answer the same command.
func (s *session) onTrade(r *Report, nowNs int64) {
	o := s.orders[r.ClOrdID]
	if o == nil {
		s.stats.Unmatched.Add(1)
		return
	}
	if !o.filled {
		o.filled = true
		switch {
		case !o.measured:
		case tradedOnArrival(o, r):
			s.rec.Record(pathFill, o.intendedNs, nowNs, reports.OutcomeOK)
			s.stats.FillsTimed.Add(1)
		default:
			s.stats.FillsLater.Add(1)
		}
	}
	o.cum = r.CumQty
	if r.Done {
		s.finish(o)
	}
}

func tradedOnArrival(o *order, r *Report) bool {
	switch r.Aggressor {
	case AggressorYes:
		return !o.replaced
	case AggressorNo:
		return false
	}
	return o.acked && !o.replaced && r.EventNs != 0 && r.EventNs == o.ackNs
}

// onCanceled completes a cancel, or finishes an order the venue cancelled
// on its own (an IOC or market remainder, a self-trade, a mass cancel).
func (s *session) onCanceled(r *Report, nowNs int64) {
	if p := s.pendingOf(r.ClOrdID, RequestCancel); p != nil {
		s.finish(p.ord)
		s.complete(p, nowNs, reports.OutcomeOK)
		return
	}
	o := s.orders[r.ClOrdID]
	if o == nil && r.OrigClOrdID != "" {
		o = s.orders[r.OrigClOrdID]
	}
	if o == nil {
		s.stats.Unmatched.Add(1)
		return
	}
	if !o.filled && !rests(o.ordType, o.tif) && o.measured {
		s.stats.MarketableUnfilled.Add(1)
	}
	s.finish(o)
}

// onReplaced completes a replace: the order now goes by the new ClOrdID.
// A replace given up on that took effect after all still renames it.
func (s *session) onReplaced(r *Report, nowNs int64) {
	p := s.pendingOf(r.ClOrdID, RequestReplace)
	o := s.orders[r.OrigClOrdID]
	if o == nil && p != nil {
		o = p.ord
	}
	if o != nil && !o.done.Load() {
		delete(s.orders, o.clOrdID)
		o.clOrdID = r.ClOrdID
		s.orders[o.clOrdID] = o
		o.replaced = true
		if p != nil {
			o.price, o.qty = p.price, p.qty
		}
		o.cum = r.CumQty
	}
	if p == nil {
		s.stats.Unmatched.Add(1)
		return
	}
	if r.Done {
		s.finish(p.ord)
	}
	s.complete(p, nowNs, reports.OutcomeOK)
}

// onReject completes a refused request as an error.
func (s *session) onReject(r *Report, nowNs int64) {
	var p *pending
	switch r.Kind {
	case ReportRejected:
		p = s.pendingOf(r.ClOrdID, RequestNew)
	case ReportCancelRejected:
		p = s.pendingOf(r.ClOrdID, RequestCancel, RequestReplace)
	default:
		p = s.pendingOf(r.ClOrdID, RequestNew, RequestCancel, RequestReplace)
	}
	if p == nil {
		if o := s.orders[r.ClOrdID]; o != nil && r.Kind == ReportRejected {
			s.finish(o) // a late reject of a new order given up on
		}
		s.stats.Unmatched.Add(1)
		return
	}
	if p.measured {
		s.stats.reject(p.kind, r.Reason)
	}
	s.complete(p, nowNs, reports.OutcomeError)
}
