package engine

// newLiveOrder allocates the next order id and a live order for principal
// p, links it to the principal's live list (ascending ids, since ids only
// grow) and indexes its ClOrdID.
// h is the key's hash, computed for the duplicate check.
func (e *Engine) newLiveOrder(p int32, k *clKey, h uint32) int32 {
	e.nextOrderID++
	oi := e.orders.alloc(e.nextOrderID)
	o := &e.orders.slab[oi]
	o.principal, o.account, o.clOrdID, o.clHash = p, k.account, k.id, h
	e.orders.clPut(k, h, liveRef(oi))
	e.principals[p].live++
	return oi
}

// finishOrder moves an order that reached a final state out of the live
// set into the remembered ones.
func (e *Engine) finishOrder(oi int32) {
	assert(e.orders.slab[oi].done(), "finishOrder: order is not done")
	e.principals[e.orders.slab[oi].principal].live--
	e.orders.finish(oi)
}

// applyReplace gives order oi its new price, quantity and ClOrdID (from the
// context) and remembers the ClOrdID it had.
func (e *Engine) applyReplace(oi int32, price, qty int64) {
	o := &e.orders.slab[oi]
	e.orders.supersede(oi, clKey{account: o.account, id: o.clOrdID})
	e.ctx.replacedID, e.ctx.origClOrdID = o.id, o.clOrdID
	e.ctx.origPrice, e.ctx.origQty = o.price, o.qty
	o.clOrdID = e.ctx.newClOrdID
	k := clKey{account: o.account, id: o.clOrdID}
	o.clHash = hashClKey(&k)
	e.orders.clPut(&k, o.clHash, liveRef(oi))
	o.price, o.qty = price, qty
}

// replacedToFilled reports a replace that set the quantity to what the
// order had already filled: the order is done, as Filled.
func (e *Engine) replacedToFilled(oi int32) {
	o := &e.orders.slab[oi]
	e.applyReplace(oi, o.price, e.ctx.newQty)
	assert(o.qty == o.cum, "replacedToFilled: quantity is not the filled quantity")
	o.status = OrdStatusFilled
	e.execReport(o, ExecTypeReplaced, ReasonNone)
	e.finishOrder(oi)
}
