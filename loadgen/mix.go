package loadgen

import "math/rand/v2"

// source decides what each scheduled message is: the default mix or a
// replayed order-flow file. It runs on the sender goroutine only.
type source interface {
	// pick chooses the session that sends the next message; false when
	// there is nothing more to send.
	pick() (s int, ok bool)
	// warm reports whether the message just picked belongs to the
	// source's own warm-up (an order-flow file's book-building records).
	warm() bool
	// plan fills req for ses (the caller holds ses.mu, checked
	// ses.roomLocked and set req.ClOrdID) and registers it with
	// ses.beginLocked. False means there is nothing to send for this pick
	// after all; the caller picks again.
	plan(ses *session, req *Request, intendedNs int64, measured bool) bool
}

// The default mix, in percent of messages. Passive orders rest on both
// sides a few ticks away from the reference price; IOC and market orders
// cross them, so fills happen; cancels and replaces work on the session's
// own resting orders.
const (
	mixPassivePct = 55 // limit DAY, 1..mixOffsetTicksMax ticks on the passive side of the reference
	mixIOCPct     = 10 // limit IOC, 1..mixOffsetTicksMax ticks through the reference
	mixMarketPct  = 5  // market (IOC)
	mixCancelPct  = 20 // cancel one of the session's resting orders
	mixReplacePct = 10 // re-price and re-size one of them, staying passive
	mixPctTotal   = 100
	// mixOffsetTicksMax is how far from the reference prices go, in ticks.
	mixOffsetTicksMax = 20
	// mixQtyLotsMax is the largest order, in lots.
	mixQtyLotsMax = 10
	// mixRestingPerSessionMax is where a session stops adding passive
	// orders and cancels instead, so its resting book stays about this
	// size rather than growing for the whole run.
	mixRestingPerSessionMax = 256
)

// mixAction is one kind of message of the mix.
type mixAction uint8

const (
	mixPassive mixAction = iota + 1
	mixIOC
	mixMarket
	mixCancel
	mixReplace
)

// mixSource is the default mix: message i goes to session i mod N.
type mixSource struct {
	rng      *rand.Rand
	sessions int
	next     int64
	inst     []Instrument
}

func newMixSource(seed uint64, sessions int, inst []Instrument) *mixSource {
	return &mixSource{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), sessions: sessions, inst: inst}
}

func (m *mixSource) pick() (int, bool) {
	s := int(m.next % int64(m.sessions))
	m.next++
	return s, true
}

func (m *mixSource) warm() bool { return false }

// draw chooses the next action, adjusted to what the session can do: no
// cancel or replace without a resting order; a cancel instead of a passive
// order once mixRestingPerSessionMax rest, or of any new order once the
// session tracks OrdersPerSessionMax; an IOC instead of a passive order
// while many orders wait for their acknowledgement. False: nothing fits.
func (m *mixSource) draw(ses *session) (mixAction, bool) {
	a := mixActionOf(m.rng.IntN(mixPctTotal))
	resting := len(ses.idle)
	switch {
	case (a == mixCancel || a == mixReplace) && resting == 0:
		a = mixPassive
	case a == mixPassive && resting >= mixRestingPerSessionMax:
		a = mixCancel
	}
	if a == mixPassive && len(ses.orders) >= 2*mixRestingPerSessionMax {
		a = mixIOC
	}
	if a != mixCancel && a != mixReplace && !ses.orderRoomLocked() {
		if resting == 0 {
			return 0, false
		}
		a = mixCancel
	}
	return a, true
}

// mixActionOf maps a roll in [0, mixPctTotal) to an action.
func mixActionOf(roll int) mixAction {
	switch {
	case roll < mixPassivePct:
		return mixPassive
	case roll < mixPassivePct+mixIOCPct:
		return mixIOC
	case roll < mixPassivePct+mixIOCPct+mixMarketPct:
		return mixMarket
	case roll < mixPassivePct+mixIOCPct+mixMarketPct+mixCancelPct:
		return mixCancel
	}
	return mixReplace
}

func (m *mixSource) plan(ses *session, req *Request, intendedNs int64, measured bool) bool {
	a, ok := m.draw(ses)
	if !ok {
		return false
	}
	switch a {
	case mixCancel, mixReplace:
		o := ses.idle[m.rng.IntN(len(ses.idle))]
		m.amend(a, o, req)
		ses.beginLocked(req, o, intendedNs, measured)
	default:
		m.newOrder(a, req)
		ses.beginLocked(req, nil, intendedNs, measured)
	}
	return true
}

// newOrder fills req with a new order of action a on a random instrument
// and side.
func (m *mixSource) newOrder(a mixAction, req *Request) {
	req.Kind = RequestNew
	req.Instrument = m.rng.IntN(len(m.inst))
	in := m.inst[req.Instrument]
	req.Side = Buy + Side(m.rng.IntN(2))
	req.Qty = m.qty(in)
	switch a {
	case mixPassive:
		req.OrdType, req.TIF, req.Price = Limit, Day, m.passivePrice(in, req.Side)
	case mixIOC:
		req.OrdType, req.TIF, req.Price = Limit, IOC, m.passivePrice(in, req.Side.opposite()) // crosses the other side's resting orders
	default:
		req.OrdType, req.TIF, req.Price = Market, IOC, 0
	}
}

// amend fills req with a cancel or a replace of resting order o. A replace
// keeps the order passive and its quantity above what already filled.
func (m *mixSource) amend(a mixAction, o *order, req *Request) {
	req.OrigClOrdID, req.Instrument, req.Side = o.lastID, o.inst, o.side
	req.OrdType, req.TIF, req.Qty, req.Price = o.ordType, o.tif, o.qty, o.price
	if a == mixCancel {
		req.Kind = RequestCancel
		return
	}
	in := m.inst[o.inst]
	req.Kind = RequestReplace
	req.Price = m.passivePrice(in, o.side)
	req.Qty = o.cum + m.qty(in)
}

func (m *mixSource) qty(in Instrument) int64 {
	return int64(1+m.rng.IntN(mixQtyLotsMax)) * in.LotSize
}

// passivePrice is a price on side's passive side of the reference: below it
// for a buy, above it for a sell, within the band.
func (m *mixSource) passivePrice(in Instrument, side Side) int64 {
	off := int64(1+m.rng.IntN(mixOffsetTicksMax)) * in.TickSize
	lo, hi := in.band()
	if side == Buy {
		return max(in.ReferencePrice-off, lo)
	}
	return min(in.ReferencePrice+off, hi)
}
