package loadgen

import (
	"venue/orderbook/orderflow"
)

// flowOrdersMax bounds the file order ids the replay remembers (to send
// their cancels and amends). Past it, ids of finished orders are swept; if
// it is still full, new orders go untracked and their later cancels and
// amends are skipped (counted in Stats.FlowSkipped).
const flowOrdersMax = 1 << 20

// flowSource replays an order-flow file (../shared/orderflow's OBSTRM01):
//
//   - file instrument k trades the venue's instrument k mod len(instruments);
//   - prices keep their distance in ticks from the first price the file
//     gives instrument k, which becomes the venue instrument's reference
//     price (so the file's walk stays inside the venue's price band); a
//     price beyond the band is moved to its edge and counted;
//   - quantities are lots; GTC limits stay GTC, IOC limits IOC, market
//     orders are market (IOC);
//   - a NEW goes out on session user mod N, its CANCEL and AMEND on the
//     same session, naming the order's latest ClOrdID; an AMEND (the new
//     open quantity at a new price) is a replace to cum + open;
//   - a CANCEL or AMEND of an order the venue already finished (the venue's
//     book is not the file's: other instruments share it, other traffic
//     trades with it) is skipped and counted;
//   - the file's warm-up records are sent unmeasured; the run ends when the
//     file does.
type flowSource struct {
	file     *orderflow.File
	next     int // the record pick looks at next
	cur      orderflow.Record
	curOrder *order
	sessions int
	inst     []Instrument
	anchors  []int64 // first price in ticks per file instrument; 0 = none yet
	byID     map[uint64]*order
	// sweepWait counts down the new orders remember leaves untracked
	// before it sweeps a full byID again.
	sweepWait int
	stats     *Stats
}

func newFlowSource(f *orderflow.File, sessions int, inst []Instrument, stats *Stats) *flowSource {
	return &flowSource{file: f, sessions: sessions, inst: inst, anchors: make([]int64, f.Header.Instruments),
		byID: map[uint64]*order{}, stats: stats}
}

// exhausted reports whether every record was sent or skipped.
func (f *flowSource) exhausted() bool { return f.next >= f.file.Len() }

func (f *flowSource) pick() (int, bool) {
	for f.next < f.file.Len() {
		r := f.file.Record(f.next)
		f.next++
		if r.Op() == orderflow.OpNew {
			f.cur, f.curOrder = r, nil
			return int(r.User() % uint32(f.sessions)), true
		}
		o := f.byID[r.ID()]
		if o == nil || o.done.Load() {
			delete(f.byID, r.ID())
			f.stats.FlowSkipped.Add(1)
			continue
		}
		f.cur, f.curOrder = r, o
		return o.session, true
	}
	return 0, false
}

func (f *flowSource) warm() bool { return uint64(f.next-1) < f.file.Header.Warmup }

func (f *flowSource) plan(ses *session, req *Request, intendedNs int64, measured bool) bool {
	r := f.cur
	switch r.Op() {
	case orderflow.OpNew:
		if !ses.orderRoomLocked() {
			f.stats.FlowSkipped.Add(1)
			return false
		}
		f.newOrder(r, req)
		o := ses.beginLocked(req, nil, intendedNs, measured)
		o.fileID = r.ID()
		if rests(req.OrdType, req.TIF) {
			f.remember(r.ID(), o)
		}
		return true
	}
	o := f.curOrder
	if o.done.Load() {
		f.stats.FlowSkipped.Add(1)
		return false
	}
	req.OrigClOrdID, req.Instrument, req.Side = o.lastID, o.inst, o.side
	req.OrdType, req.TIF, req.Qty, req.Price = o.ordType, o.tif, o.qty, o.price
	if r.Op() == orderflow.OpCancel {
		req.Kind = RequestCancel
		delete(f.byID, r.ID())
	} else {
		req.Kind = RequestReplace
		in := f.inst[o.inst]
		req.Price = f.price(r.Instrument(), r.Price(), in)
		req.Qty = o.cum + int64(r.Qty())*in.LotSize
	}
	ses.beginLocked(req, o, intendedNs, measured)
	return true
}

func (f *flowSource) newOrder(r orderflow.Record, req *Request) {
	k := int(r.Instrument()) % len(f.inst)
	in := f.inst[k]
	req.Kind, req.Instrument = RequestNew, k
	req.Side = Buy
	if r.Side() == orderflow.Sell {
		req.Side = Sell
	}
	req.Qty = int64(r.Qty()) * in.LotSize
	switch r.Type() {
	case orderflow.TypeMarket:
		req.OrdType, req.TIF, req.Price = Market, IOC, 0
	case orderflow.TypeIOC:
		req.OrdType, req.TIF, req.Price = Limit, IOC, f.price(r.Instrument(), r.Price(), in)
	default:
		req.OrdType, req.TIF, req.Price = Limit, GTC, f.price(r.Instrument(), r.Price(), in)
	}
}

// price maps file instrument k's price in ticks onto in's price scale.
func (f *flowSource) price(k uint32, ticks int64, in Instrument) int64 {
	if f.anchors[k] == 0 {
		f.anchors[k] = ticks
	}
	lo, hi := in.band()
	// Both are positive, so the difference cannot overflow; clamping it
	// in ticks first keeps the product in range for any file.
	d := ticks - f.anchors[k]
	dLo, dHi := (lo-in.ReferencePrice)/in.TickSize, (hi-in.ReferencePrice)/in.TickSize
	if d < dLo || d > dHi {
		f.stats.FlowClamped.Add(1)
		d = min(max(d, dLo), dHi)
	}
	return in.ReferencePrice + d*in.TickSize
}

// remember maps a file order id to the order sent for it. When the map is
// full it sweeps finished orders out; a sweep that frees less than a
// quarter of it is not repeated for that many attempts, so a map full of
// live orders costs one sweep per flowOrdersMax/4 new orders, not one each.
func (f *flowSource) remember(id uint64, o *order) {
	if len(f.byID) >= flowOrdersMax {
		if f.sweepWait > 0 {
			f.sweepWait--
			return
		}
		for k, v := range f.byID {
			if v.done.Load() {
				delete(f.byID, k)
			}
		}
		if len(f.byID) > flowOrdersMax-flowOrdersMax/4 {
			f.sweepWait = flowOrdersMax / 4
		}
		if len(f.byID) >= flowOrdersMax {
			return
		}
	}
	f.byID[id] = o
}
