package engine

import (
	"errors"
	"fmt"
)

// ErrInvariant marks a failed consistency check.
var ErrInvariant = errors.New("engine: invariant violated")

// Check verifies the engine's invariants: every live order is on its
// principal's list (in id order), rests in its book with the open quantity,
// price, side and account the engine remembers, and is named by its
// ClOrdID; every book holds exactly the engine's live orders and passes its
// own Check. It is O(n), for tests, fuzzing and debug checks.
func (e *Engine) Check() error { return checkOrders(&e.state) }

func checkOrders(s *state) error {
	perBook := make(map[uint32]int, len(s.instruments))
	total := 0
	for p := range s.principals {
		n, err := checkPrincipalOrders(s, int32(p), perBook)
		if err != nil {
			return err
		}
		total += n
	}
	if total != s.orders.live {
		return fmt.Errorf("%w: %d orders on principal lists, %d live", ErrInvariant, total, s.orders.live)
	}
	for _, in := range s.instruments {
		if in.book.Len() != perBook[in.info.ID] {
			return fmt.Errorf("%w: instrument %d: book holds %d orders, engine %d", ErrInvariant, in.info.ID, in.book.Len(), perBook[in.info.ID])
		}
		if err := in.book.Check(); err != nil {
			return fmt.Errorf("%w: instrument %d: %v", ErrInvariant, in.info.ID, err)
		}
	}
	return nil
}

func checkPrincipalOrders(s *state, p int32, perBook map[uint32]int) (int, error) {
	pr := &s.principals[p]
	n := 0
	var last uint64
	prev := nilIndex
	for oi := pr.head; oi != nilIndex; oi = s.orders.slab[oi].next {
		o := &s.orders.slab[oi]
		if o.principal != p || o.prev != prev || o.id <= last || o.done() {
			return 0, fmt.Errorf("%w: principal %d: list broken at order %d", ErrInvariant, p, o.id)
		}
		if err := checkLiveOrder(s, o); err != nil {
			return 0, err
		}
		perBook[o.instrument]++
		last, prev = o.id, oi
		n++
		if n > s.orders.live {
			return 0, fmt.Errorf("%w: principal %d: list loops", ErrInvariant, p)
		}
	}
	if pr.tail != prev || pr.live != n {
		return 0, fmt.Errorf("%w: principal %d: tail or count wrong (%d listed, %d counted)", ErrInvariant, p, n, pr.live)
	}
	return n, nil
}

func checkLiveOrder(s *state, o *order) error {
	in := s.instrument(o.instrument)
	if in == nil {
		return fmt.Errorf("%w: order %d: unknown instrument %d", ErrInvariant, o.id, o.instrument)
	}
	info, ok := in.book.Order(orderIDToBook(o.id))
	if !ok || info.Remaining != o.qty-o.cum || info.Price != o.price || info.Side != sideToBook(o.side) ||
		info.Account != accountToBook(o.account) || info.Filled != o.cum {
		return fmt.Errorf("%w: order %d: book has %+v, engine price %d qty %d cum %d", ErrInvariant, o.id, info, o.price, o.qty, o.cum)
	}
	r, ok := s.orders.byID.get(o.id)
	if !ok || !r.isLive() || &s.orders.slab[r.index()] != o {
		return fmt.Errorf("%w: order %d: not indexed at its slot", ErrInvariant, o.id)
	}
	k := clKey{account: o.account, id: o.clOrdID}
	if o.clHash != hashClKey(&k) {
		return fmt.Errorf("%w: order %d: stale ClOrdID hash", ErrInvariant, o.id)
	}
	if ref, ok := s.orders.clGet(&k, o.clHash); !ok || ref != r {
		return fmt.Errorf("%w: order %d: its ClOrdID does not name it", ErrInvariant, o.id)
	}
	return nil
}
