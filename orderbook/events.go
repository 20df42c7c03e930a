package orderbook

// Listener receives everything a Book decides, synchronously, in order,
// before the command returns. Arguments are values so that no event
// allocates. A listener must not call back into the book it listens to.
//
// Event order for one command is fixed and part of the contract (replicas
// and the snapshot round trip depend on it):
//
//   - Submit: Rejected; or Accepted, then per touched opposite level its
//     Trades and self-trade Cancelled events followed by one Level event,
//     then either a Level event for the resting remainder or a Cancelled
//     event for the unfilled or self-trade-cancelled remainder.
//   - Cancel: Rejected; or Cancelled, then Level.
//   - Amend: Rejected; or Cancelled (quantity at or below filled) then Level;
//     or Replaced then Level (priority kept); or Replaced, Level for the old
//     level, then the matching and resting events of Submit.
//   - CancelAccount, CancelAll, ExpireDay: per level, bids best first then
//     asks best first, Cancelled or Expired for each removed order in queue
//     order, then one Level event for the level.
type Listener interface {
	OnAccepted(e Accepted)
	OnRejected(e Rejected)
	OnTrade(e Trade)
	OnCancelled(e Cancelled)
	OnReplaced(e Replaced)
	OnExpired(e Expired)
	OnLevel(e Level)
}

// Accepted reports a new order that passed validation.
type Accepted struct {
	ID       OrderID
	Account  Account
	Side     Side
	Type     OrderType
	TIF      TimeInForce
	PostOnly bool
	Price    int64
	Quantity int64
}

// Rejected reports a command that changed nothing.
type Rejected struct {
	ID     OrderID
	Op     Op
	Reason RejectReason
}

// Trade reports one fill between a resting maker and an incoming taker, at
// the maker's price. Remaining quantities are each side's open quantity after
// the fill. MakerTag is the maker's Order.Tag.
type Trade struct {
	Maker          OrderID
	Taker          OrderID
	MakerAccount   Account
	TakerAccount   Account
	TakerSide      Side
	Price          int64
	Quantity       int64
	MakerRemaining int64
	TakerRemaining int64
	MakerTag       uint32
}

// Cancelled reports an order leaving the book, or an incoming order's
// remainder being dropped, with the open quantity it had.
type Cancelled struct {
	ID        OrderID
	Account   Account
	Side      Side
	Price     int64
	Remaining int64
	Reason    CancelReason
}

// Replaced reports an accepted amend. Quantity is the new total quantity,
// Remaining the new open quantity, KeptPriority whether the order kept its
// place in the queue.
type Replaced struct {
	ID           OrderID
	Account      Account
	Side         Side
	Price        int64
	Quantity     int64
	Remaining    int64
	KeptPriority bool
}

// Expired reports a DAY order removed by ExpireDay.
type Expired struct {
	ID        OrderID
	Account   Account
	Side      Side
	Price     int64
	Remaining int64
}

// Level reports the new state of a price level: its total open quantity and
// number of orders. Quantity 0 and Count 0 mean the level is gone.
type Level struct {
	Side     Side
	Price    int64
	Quantity int64
	Count    int32
}

// NopListener ignores every event. Embed it to implement only some methods.
type NopListener struct{}

// OnAccepted ignores the event.
func (NopListener) OnAccepted(Accepted) {}

// OnRejected ignores the event.
func (NopListener) OnRejected(Rejected) {}

// OnTrade ignores the event.
func (NopListener) OnTrade(Trade) {}

// OnCancelled ignores the event.
func (NopListener) OnCancelled(Cancelled) {}

// OnReplaced ignores the event.
func (NopListener) OnReplaced(Replaced) {}

// OnExpired ignores the event.
func (NopListener) OnExpired(Expired) {}

// OnLevel ignores the event.
func (NopListener) OnLevel(Level) {}
