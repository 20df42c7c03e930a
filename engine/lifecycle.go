package engine

// newLiveOrder allocates the next order id and a live order for principal
// p, and makes its ClOrdID (account a, *id) name it. cl and found are what
// clFind returned for the key (whose hash is h): alloc may grow the table
// or spill an order, which repoints index entries but never moves or adds
// one, so the slot is still the key's, or still empty.
func (e *Engine) newLiveOrder(p, a int32, id *[clOrdIDBytes]byte, h, cl uint32, found bool) (orderRef, *order) {
	e.nextOrderID++
	r := e.orders.alloc(e.nextOrderID)
	o := e.orders.at(r)
	o.principal, o.account, o.clOrdID, o.clHash = p, a, *id, h
	assert(found == (e.orders.byClOrdID.slots[cl].ref != 0), "newLiveOrder: the ClOrdID index moved")
	e.orders.clPutAt(cl, found, h, r)
	e.principals[p].live++
	return r, o
}

// finishOrder moves an order that reached a final state out of the live
// set into the remembered ones.
func (e *Engine) finishOrder(r orderRef) {
	o := e.orders.at(r)
	e.principals[o.principal].live--
	e.orders.finish(r)
}

// applyReplace gives order r its new price, quantity and ClOrdID (from the
// context) and remembers the ClOrdID it had.
func (e *Engine) applyReplace(r orderRef, price, qty int64) {
	o := e.orders.at(r)
	e.orders.supersede(r, clKey{account: o.account, id: o.clOrdID})
	e.ctx.replacedID, e.ctx.origClOrdID = o.id, o.clOrdID
	e.ctx.origPrice, e.ctx.origQty = o.price, o.qty
	o.clOrdID = e.ctx.newClOrdID
	k := clKey{account: o.account, id: o.clOrdID}
	o.clHash = e.clKeyHash(&k)
	e.orders.clPut(&k, o.clHash, r)
	o.price, o.qty = price, qty
}

// replacedToFilled reports a replace that set the quantity to what the
// order had already filled: the order is done, as Filled.
func (e *Engine) replacedToFilled(r orderRef) {
	o := e.orders.at(r)
	e.applyReplace(r, o.price, e.ctx.newQty)
	assert(o.qty == o.cum, "replacedToFilled: quantity is not the filled quantity")
	o.status = OrdStatusFilled
	e.execReport(o, ExecTypeReplaced, ReasonNone)
	e.finishOrder(r)
}
