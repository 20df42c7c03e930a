package engine

import (
	"slices"
	"sort"
)

// instrument returns the instrument with id, or nil.
func (e *Engine) instrument(id uint32) *instrument { return e.state.instrument(id) }

func (s *state) instrument(id uint32) *instrument {
	if id < uint32(len(s.instrumentByID)) {
		if i := s.instrumentByID[id]; i != nilIndex {
			return s.instruments[i]
		}
		return nil
	}
	if i, ok := s.instrumentIndex(id); ok {
		return s.instruments[i]
	}
	return nil
}

// instrumentDirectIDs bounds the ids looked up through the direct table
// (instrumentByID, 4 bytes an id); larger ids are binary-searched.
const instrumentDirectIDs = 1 << 12

// indexInstruments rebuilds the direct table after the list changed.
func (s *state) indexInstruments() {
	n := 0
	for _, id := range s.instrumentIDs {
		if id < instrumentDirectIDs {
			n = int(id) + 1
		}
	}
	s.instrumentByID = slices.Grow(s.instrumentByID[:0], n)[:n]
	for i := range s.instrumentByID {
		s.instrumentByID[i] = nilIndex
	}
	for i, id := range s.instrumentIDs {
		if id < instrumentDirectIDs {
			s.instrumentByID[id] = int32(i)
		}
	}
}

// instrumentIndex binary-searches the sorted ids: at most InstrumentsMax
// of them, so ten steps over a few cache lines.
func (s *state) instrumentIndex(id uint32) (int, bool) {
	ids := s.instrumentIDs
	lo, hi := 0, len(ids)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if ids[m] < id {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo, lo < len(ids) && ids[lo] == id
}

// insertInstrument adds in, keeping e.instruments sorted by id.
func (e *Engine) insertInstrument(in *instrument) {
	i, found := e.instrumentIndex(in.info.ID)
	assert(!found, "insertInstrument: id already listed")
	e.instruments = slices.Insert(e.instruments, i, in)
	e.instrumentIDs = slices.Insert(e.instrumentIDs, i, in.info.ID)
	e.indexInstruments()
}

// bandOf converts a band in basis points of the reference price into a
// half-width in price units (rounded down); 0 means no band.
func bandOf(ref int64, bps uint32) int64 {
	if ref <= 0 || bps == 0 {
		return 0
	}
	return ref/basisPointsPerUnit*int64(bps) + ref%basisPointsPerUnit*int64(bps)/basisPointsPerUnit
}

// Trading states form this machine (any state may also be set to itself,
// which changes nothing):
//
//	PreOpen -> Open | Halted | Closed
//	Open    -> Halted | Closed
//	Halted  -> Open | Closed | PreOpen
//	Closed  -> PreOpen | Open
//
// Entering Closed expires every resting DAY order.
func transitionAllowed(from, to TradingState) bool {
	if from == to {
		return true
	}
	switch from {
	case TradingStatePreOpen:
		return to == TradingStateOpen || to == TradingStateHalted || to == TradingStateClosed
	case TradingStateOpen:
		return to == TradingStateHalted || to == TradingStateClosed
	case TradingStateHalted:
		return to == TradingStateOpen || to == TradingStateClosed || to == TradingStatePreOpen
	case TradingStateClosed:
		return to == TradingStatePreOpen || to == TradingStateOpen
	}
	return false
}

// setState moves one instrument to state, if the machine allows it.
func (e *Engine) setState(in *instrument, to TradingState) bool {
	from := in.info.State
	if !transitionAllowed(from, to) {
		e.counters.InvalidTransition++
		return false
	}
	if from == to {
		return true
	}
	in.info.State = to
	e.md.OnTradingState(in.info.ID, to, e.ctx.logPosition, e.ctx.clusterTime)
	if to == TradingStateClosed {
		e.ctx.inst = in
		in.book.ExpireDay()
	}
	return true
}

// applyState sets one instrument, or all (in id order), to state; it
// reports whether every change was allowed.
func (e *Engine) applyState(id uint32, to TradingState) bool {
	if id != AllInstruments {
		in := e.instrument(id)
		return in != nil && e.setState(in, to)
	}
	ok := true
	for _, in := range e.instruments {
		ok = e.setState(in, to) && ok
	}
	return ok
}

// schedule records a state change for a cluster timer.
func (e *Engine) schedule(id uint32, to TradingState, deadlineNs int64) Reason {
	if e.timers == nil {
		return ReasonInvalidDefinition
	}
	if len(e.pending) >= PendingStateChangesMax {
		e.counters.LimitExceeded++
		return ReasonLimitExceeded
	}
	e.nextTimerID++
	// Correlation ids only grow, so appending keeps e.pending sorted.
	e.pending = append(e.pending, pendingState{correlationID: e.nextTimerID, deadlineNs: deadlineNs, instrument: id, state: to})
	e.timers.ScheduleTimer(e.nextTimerID, deadlineNs)
	return ReasonNone
}

// onTimer applies the pending state change of a timer that fired.
func (e *Engine) onTimer(correlationID int64) {
	i := sort.Search(len(e.pending), func(i int) bool { return e.pending[i].correlationID >= correlationID })
	if i == len(e.pending) || e.pending[i].correlationID != correlationID {
		e.counters.StaleTimers++
		return
	}
	ps := e.pending[i]
	e.pending = append(e.pending[:i], e.pending[i+1:]...)
	e.applyState(ps.instrument, ps.state)
}

// PendingTimers returns the scheduled state changes' correlation ids and
// deadlines, for a container that does not restore timers itself and must
// schedule them again after OnStart from a snapshot.
func (e *Engine) PendingTimers() (correlationIDs, deadlinesNs []int64) {
	for _, p := range e.pending {
		correlationIDs = append(correlationIDs, p.correlationID)
		deadlinesNs = append(deadlinesNs, p.deadlineNs)
	}
	return correlationIDs, deadlinesNs
}
