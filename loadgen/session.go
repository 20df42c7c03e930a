package loadgen

import (
	"sync"
	"sync/atomic"

	"venue/reports"
)

// The latency paths, in the order of their reports.PathID.
const (
	PathOrderNew  = "order→new"
	PathOrderFill = "order→fill"
	PathCancel    = "cancel→canceled"
	PathReplace   = "replace→replaced"
)

// PathNames are the paths every report has, indexed by reports.PathID.
func PathNames() []string { return []string{PathOrderNew, PathOrderFill, PathCancel, PathReplace} }

const (
	pathNew reports.PathID = iota
	pathFill
	pathCancel
	pathReplace
)

func pathOf(k RequestKind) reports.PathID {
	switch k {
	case RequestCancel:
		return pathCancel
	case RequestReplace:
		return pathReplace
	}
	return pathNew
}

// order is one order a session sent and has not seen finish. Its fields are
// guarded by the session's lock, except done, which the order-flow replay
// reads without it.
type order struct {
	session int
	// clOrdID is the ClOrdID the venue knows the order by now (it changes
	// when a replace takes effect); the session's orders map is keyed by it.
	clOrdID string
	// lastID is the ClOrdID of the latest request sent for the order: the
	// one a further cancel or replace names (FIX chains OrigClOrdID).
	lastID     string
	inst       int
	side       Side
	ordType    OrdType
	tif        TimeInForce
	price      int64
	qty        int64
	cum        int64
	intendedNs int64 // of its NewOrderSingle
	measured   bool
	ackNs      int64 // the venue's time of its New
	acked      bool
	filled     bool
	replaced   bool
	busy       int // its cancels and replaces in flight
	idleIdx    int // index in session.idle, -1 when not there
	fileID     uint64
	done       atomic.Bool
}

// pending is one request in flight: sent, not yet answered or given up on.
type pending struct {
	kind       RequestKind
	intendedNs int64
	measured   bool
	ord        *order
	price, qty int64 // a replace's new terms
}

// session is one session's correlator: its requests in flight (bounded by
// InFlightPerSessionMax), the orders it sent that are not finished (bounded
// by OrdersPerSessionMax), and the Recorder its latencies go to. The sender
// goroutine adds requests; the driver's goroutine for the session answers
// them; the engine's timer gives up on old ones. All under mu.
type session struct {
	idx       int
	timeoutNs int64
	rec       *reports.Recorder
	stats     *Stats
	inFlight  *atomic.Int64 // over all sessions, for the progress line
	space     chan struct{} // capacity 1: a request left pending

	mu      sync.Mutex
	pending map[string]*pending
	orders  map[string]*order // by current ClOrdID
	idle    []*order          // resting, acknowledged, nothing in flight for them
	closed  bool              // the run finished: record nothing more
}

func newSession(idx int, rec *reports.Recorder, stats *Stats, inFlight *atomic.Int64, timeoutNs int64) *session {
	return &session{idx: idx, timeoutNs: timeoutNs, rec: rec, stats: stats, inFlight: inFlight,
		space: make(chan struct{}, 1), pending: map[string]*pending{}, orders: map[string]*order{}}
}

// roomLocked reports whether another request may be sent now.
func (s *session) roomLocked() bool { return len(s.pending) < InFlightPerSessionMax }

// orderRoomLocked reports whether another new order may be tracked.
func (s *session) orderRoomLocked() bool { return len(s.orders) < OrdersPerSessionMax }

// beginLocked registers req (sent at intendedNs) as in flight. For a new
// order it creates and returns the order; for a cancel or replace o is the
// order it names. The caller checked roomLocked (and orderRoomLocked for a
// new order).
func (s *session) beginLocked(req *Request, o *order, intendedNs int64, measured bool) *order {
	p := &pending{kind: req.Kind, intendedNs: intendedNs, measured: measured}
	switch req.Kind {
	case RequestNew:
		o = &order{session: s.idx, clOrdID: req.ClOrdID, lastID: req.ClOrdID, inst: req.Instrument,
			side: req.Side, ordType: req.OrdType, tif: req.TIF, price: req.Price, qty: req.Qty,
			intendedNs: intendedNs, measured: measured, idleIdx: -1}
		s.orders[req.ClOrdID] = o
	default:
		o.busy++
		o.lastID = req.ClOrdID
		s.unlistIdle(o)
		p.price, p.qty = req.Price, req.Qty
	}
	p.ord = o
	s.pending[req.ClOrdID] = p
	s.inFlight.Add(1)
	return o
}

// take removes the request with ClOrdID id from the in-flight table.
func (s *session) take(id string) *pending {
	p := s.pending[id]
	if p == nil {
		return nil
	}
	delete(s.pending, id)
	s.inFlight.Add(-1)
	select {
	case s.space <- struct{}{}:
	default:
	}
	return p
}

// complete records a taken request's outcome at nowNs and lets go of its
// order: a new order that failed is finished, a cancel or replace no longer
// keeps its order busy.
func (s *session) complete(p *pending, nowNs int64, o reports.Outcome) {
	if p.measured && !s.closed {
		s.rec.Record(pathOf(p.kind), p.intendedNs, nowNs, o)
		switch o {
		case reports.OutcomeOK:
			s.stats.Answered.Add(1)
		case reports.OutcomeError:
			s.stats.Answered.Add(1)
			s.stats.Errors.Add(1)
		case reports.OutcomeTimeout:
			s.stats.Timeouts.Add(1)
		}
	}
	if p.kind == RequestNew {
		if o != reports.OutcomeOK {
			s.finish(p.ord)
		}
		return
	}
	p.ord.busy--
	s.relistIdle(p.ord)
}

// finish forgets a finished order.
func (s *session) finish(o *order) {
	if o.done.Load() {
		return
	}
	o.done.Store(true)
	if s.orders[o.clOrdID] == o {
		delete(s.orders, o.clOrdID)
	}
	s.unlistIdle(o)
}

// relistIdle makes o a candidate for the mix's cancels and replaces if it
// rests and nothing is in flight for it.
func (s *session) relistIdle(o *order) {
	if o.idleIdx >= 0 || o.done.Load() || !o.acked || o.busy > 0 || !rests(o.ordType, o.tif) {
		return
	}
	o.idleIdx = len(s.idle)
	s.idle = append(s.idle, o)
}

func (s *session) unlistIdle(o *order) {
	i := o.idleIdx
	if i < 0 {
		return
	}
	last := len(s.idle) - 1
	s.idle[i] = s.idle[last]
	s.idle[i].idleIdx = i
	s.idle[last] = nil
	s.idle = s.idle[:last]
	o.idleIdx = -1
}

// failSend records that the request with ClOrdID id could not be sent.
func (s *session) failSend(id string, nowNs int64, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.take(id)
	if p == nil {
		return
	}
	if p.measured && !s.closed {
		s.stats.SendFailures.Add(1)
		s.stats.reject(p.kind, "send: "+reason)
	}
	s.complete(p, nowNs, reports.OutcomeError)
}

// expire gives up on the requests whose latency passed the timeout at
// nowNs (all of them when all is set): each is recorded as a timeout, at
// no less than the timeout. It returns how many it gave up on.
func (s *session) expire(nowNs int64, all bool) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for id, p := range s.pending {
		if !all && nowNs-p.intendedNs < s.timeoutNs {
			continue
		}
		s.take(id)
		s.complete(p, nowNs, reports.OutcomeTimeout)
		n++
	}
	return n
}

// close stops recording: the run's collector has finished.
func (s *session) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
}

// pendingCount is the session's requests in flight.
func (s *session) pendingCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}
