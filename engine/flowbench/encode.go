package flowbench

import (
	"fmt"
	"strconv"

	"venue/engine"
	"venue/orderbook"
	"venue/orderbook/orderflow"
	"venue/orderbook/replay"
)

// Sessions of the benchmark.
const (
	adminSession   engine.SessionID = 1
	gatewaySession engine.SessionID = 2
	adminName                       = "ADMIN"
	gatewayName                     = "GW"
)

// Flow is an order-flow file encoded as engine commands: record i became
// commands [First[i], First[i+1]) (one, or two for an amend that the
// order-flow semantics turn into cancel and new).
//
// The order-entry commands lie back to back in one buffer, Log, command j
// at Log[End[j-1]:End[j]], as entries lie in the cluster's log and as the
// order-flow file's records lie in the file the bare book reads: both
// paths read their input from one contiguous buffer built before timing.
type Flow struct {
	Setup   [][]byte // admin and logon commands, from their sessions
	SetupBy []engine.SessionID
	Log     []byte  // order entry, all from the gateway session
	End     []int64 // End[j] is where command j ends in Log
	First   []int32
	Users   int
}

// Len returns the number of order-entry commands.
func (f *Flow) Len() int { return len(f.End) }

// Command returns order-entry command j (its capacity ends with it).
func (f *Flow) Command(j int) []byte {
	start := int64(0)
	if j > 0 {
		start = f.End[j-1]
	}
	return f.Log[start:f.End[j]:f.End[j]]
}

// end ends the order-entry command just appended to Log.
func (f *Flow) end() { f.End = append(f.End, int64(len(f.Log))) }

// encoder turns records into commands, tracking each flow order's current
// ClOrdID (it changes on every replace).
type encoder struct {
	flow     *Flow
	book     *replay.Replayer // the bare book, to learn what an amend has filled
	gen      map[uint64]uint32
	seq      map[uint32]uint64
	userName map[uint32]string
}

// Encode encodes every record of f. It applies f to bare books as it goes:
// an AMEND carries the new open quantity, while a ReplaceOrder carries the
// total (FIX OrderQty), so the encoder needs what the order has filled.
func Encode(f *orderflow.File) (*Flow, error) {
	enc := &encoder{
		flow: &Flow{First: make([]int32, 0, f.Len()+1), End: make([]int64, 0, f.Len()+f.Len()/8)},
		book: replay.New(f.Header, nil), gen: map[uint64]uint32{}, seq: map[uint32]uint64{},
		userName: map[uint32]string{},
	}
	enc.setupInstruments(f.Header.Instruments)
	for i := 0; i < f.Len(); i++ {
		rec := f.Record(i)
		enc.flow.First = append(enc.flow.First, int32(enc.flow.Len()))
		if err := enc.record(rec); err != nil {
			return nil, fmt.Errorf("flowbench: record %d: %w", i, err)
		}
		enc.book.Apply(rec)
	}
	enc.flow.First = append(enc.flow.First, int32(enc.flow.Len()))
	enc.flow.Users = len(enc.userName)
	return enc.flow, nil
}

func (enc *encoder) setup(s engine.SessionID, msg []byte) {
	enc.flow.Setup = append(enc.flow.Setup, msg)
	enc.flow.SetupBy = append(enc.flow.SetupBy, s)
}

func (enc *encoder) setupInstruments(n uint32) {
	for id := range n {
		msg, m := engine.AppendAddInstrument(nil)
		m.SetInstrument(id)
		m.SetSymbol("I" + strconv.Itoa(int(id)))
		m.SetTickSize(1)
		m.SetLotSize(1)
		m.SetState(engine.TradingStateOpen)
		enc.setup(adminSession, msg)
	}
}

// user returns the principal (and account) name of a flow user, setting
// the user up on first sight.
func (enc *encoder) user(u uint32) string {
	if name, ok := enc.userName[u]; ok {
		return name
	}
	name := "U" + strconv.FormatUint(uint64(u), 10)
	enc.userName[u] = name
	msg, p := engine.AppendSetPrincipal(nil)
	p.SetPrincipal(name)
	p.SetRole(engine.RoleTrader)
	enc.setup(adminSession, msg)
	msg, a := engine.AppendSetAccount(nil)
	a.SetAccount(name)
	a.SetPrincipal(name)
	a.SetEnabled(1)
	enc.setup(adminSession, msg)
	msg, s := engine.AppendSessionStatus(nil)
	s.SetPrincipal(name)
	s.SetState(engine.SessionStateLoggedOn)
	enc.setup(gatewaySession, msg)
	return name
}

func (enc *encoder) clOrdID(id uint64) string {
	return strconv.FormatUint(id, 10) + "." + strconv.FormatUint(uint64(enc.gen[id]), 10)
}

func (enc *encoder) nextSeq(u uint32) uint64 {
	enc.seq[u]++
	return enc.seq[u]
}

func (enc *encoder) record(rec orderflow.Record) error {
	switch rec.Op() {
	case orderflow.OpNew:
		enc.newOrder(rec, int64(rec.Qty()))
	case orderflow.OpCancel:
		enc.cancel(rec)
	case orderflow.OpAmend:
		return enc.amend(rec)
	}
	return nil
}

func (enc *encoder) newOrder(rec orderflow.Record, qty int64) {
	name := enc.user(rec.User())
	var m engine.NewOrder
	enc.flow.Log, m = engine.AppendNewOrder(enc.flow.Log)
	m.SetSenderSeq(enc.nextSeq(rec.User()))
	m.SetPrice(rec.Price())
	m.SetQuantity(qty)
	m.SetInstrument(rec.Instrument())
	m.SetSide(engine.Side(rec.Side() + 1))
	m.SetOrdType(engine.OrdTypeLimit)
	m.SetTimeInForce(engine.TimeInForceGTC)
	switch rec.Type() {
	case orderflow.TypeIOC:
		m.SetTimeInForce(engine.TimeInForceIOC)
	case orderflow.TypeMarket:
		m.SetOrdType(engine.OrdTypeMarket)
		m.SetTimeInForce(engine.TimeInForceIOC)
	}
	m.SetAccount(name)
	m.SetPrincipal(name)
	m.SetClOrdID(enc.clOrdID(rec.ID()))
	enc.flow.end()
}

func (enc *encoder) cancel(rec orderflow.Record) {
	name := enc.user(rec.User())
	var m engine.CancelOrder
	enc.flow.Log, m = engine.AppendCancelOrder(enc.flow.Log)
	m.SetSenderSeq(enc.nextSeq(rec.User()))
	m.SetInstrument(rec.Instrument())
	m.SetSide(engine.Side(rec.Side() + 1))
	m.SetAccount(name)
	m.SetPrincipal(name)
	m.SetClOrdID("c" + strconv.FormatUint(rec.ID(), 10))
	m.SetOrigClOrdID(enc.clOrdID(rec.ID()))
	enc.flow.end()
}

// amend follows orderbook/replay: a same-price amend that does not raise
// the open quantity is a cancel and a new order (the flow's semantics say
// every amend goes to the back of the queue); anything else is a replace
// with the new total quantity.
func (enc *encoder) amend(rec orderflow.Record) error {
	info, ok := enc.book.Book(int(rec.Instrument())).Order(orderbook.OrderID(rec.ID()))
	if !ok {
		return fmt.Errorf("amend of order %d, which is not live", rec.ID())
	}
	if info.Price == rec.Price() && int64(rec.Qty()) <= info.Remaining {
		enc.cancel(rec)
		enc.gen[rec.ID()]++
		enc.newOrder(rec, int64(rec.Qty()))
		return nil
	}
	name := enc.user(rec.User())
	var m engine.ReplaceOrder
	enc.flow.Log, m = engine.AppendReplaceOrder(enc.flow.Log)
	m.SetSenderSeq(enc.nextSeq(rec.User()))
	m.SetPrice(rec.Price())
	m.SetQuantity(info.Filled + int64(rec.Qty()))
	m.SetInstrument(rec.Instrument())
	m.SetSide(engine.Side(rec.Side() + 1))
	m.SetOrdType(engine.OrdTypeLimit)
	m.SetTimeInForce(engine.TimeInForceGTC)
	m.SetAccount(name)
	m.SetPrincipal(name)
	m.SetOrigClOrdID(enc.clOrdID(rec.ID()))
	enc.gen[rec.ID()]++
	m.SetClOrdID(enc.clOrdID(rec.ID()))
	enc.flow.end()
	return nil
}
