package surveil

// sideOrder is a live order of one account on one side of one book, as
// the spoofing and layering detectors need it.
type sideOrder struct {
	id        uint64
	price     int64
	qty       int64
	cum       int64
	placedAt  int64
	placedPos int64
	multiple  float64 // its quantity over the account's typical size when placed
	large     bool
	nearTouch bool
}

// sideOrders are one account's live orders on one side of one book, oldest
// first, at most sideOrdersMax.
type sideOrders struct{ orders []sideOrder }

// add tracks o; it reports whether the oldest was forgotten to make room.
func (so *sideOrders) add(o sideOrder) (evicted bool) {
	if len(so.orders) >= sideOrdersMax {
		copy(so.orders, so.orders[1:])
		so.orders = so.orders[:len(so.orders)-1]
		evicted = true
	}
	so.orders = append(so.orders, o)
	return evicted
}

func (so *sideOrders) find(id uint64) *sideOrder {
	for i := range so.orders {
		if so.orders[i].id == id {
			return &so.orders[i]
		}
	}
	return nil
}

func (so *sideOrders) remove(id uint64) {
	for i := range so.orders {
		if so.orders[i].id == id {
			so.orders = append(so.orders[:i], so.orders[i+1:]...)
			return
		}
	}
}

// volume returns the open quantity of the live orders.
func (so *sideOrders) volume() int64 {
	var v int64
	for i := range so.orders {
		v += so.orders[i].qty - so.orders[i].cum
	}
	return v
}
