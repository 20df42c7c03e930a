package engine

import (
	"errors"
	"fmt"
)

// ErrInvariant marks a failed consistency check.
var ErrInvariant = errors.New("engine: invariant violated")

// Check verifies the engine's invariants: every live order rests in its
// book with the open quantity, price, side and account the engine
// remembers, is indexed by id and named by its ClOrdID; principals count
// their live orders right; every book holds exactly the engine's live
// orders and passes its own Check. It is O(n), for tests, fuzzing and debug checks.
func (e *Engine) Check() error { return checkOrders(&e.state) }

func checkOrders(s *state) error {
	perBook := make(map[uint32]int, len(s.instruments))
	perPrincipal := make([]int, len(s.principals))
	total := 0
	for i := range s.orders.slab {
		o := &s.orders.slab[i]
		if o.id == 0 {
			continue // a free slot
		}
		if o.done() || o.principal < 0 || int(o.principal) >= len(s.principals) {
			return fmt.Errorf("%w: order %d in the live slab is done or has no principal", ErrInvariant, o.id)
		}
		if err := checkLiveOrder(s, o); err != nil {
			return err
		}
		perBook[o.instrument]++
		perPrincipal[o.principal]++
		total++
	}
	if total != s.orders.live {
		return fmt.Errorf("%w: %d orders in the live slab, %d counted live", ErrInvariant, total, s.orders.live)
	}
	for p, n := range perPrincipal {
		if s.principals[p].live != n {
			return fmt.Errorf("%w: principal %d counts %d live orders, has %d", ErrInvariant, p, s.principals[p].live, n)
		}
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
