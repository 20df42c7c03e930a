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
	held := 0
	err := s.orders.eachHeld(func(r orderRef, o *order) error {
		held++
		if o.finishSeq != 0 {
			if !o.done() {
				return fmt.Errorf("%w: order %d is finished but not done", ErrInvariant, o.id)
			}
			return nil
		}
		if o.done() || o.principal < 0 || int(o.principal) >= len(s.principals) {
			return fmt.Errorf("%w: live order %d is done or has no principal", ErrInvariant, o.id)
		}
		if err := checkLiveOrder(s, r, o); err != nil {
			return err
		}
		perBook[o.instrument]++
		perPrincipal[o.principal]++
		total++
		return nil
	})
	if err != nil {
		return err
	}
	if total != s.orders.live || held != s.orders.count() {
		return fmt.Errorf("%w: %d live and %d held orders, %d and %d counted", ErrInvariant, total, held, s.orders.live, s.orders.count())
	}
	if err := checkClOrdIndex(s); err != nil {
		return err
	}
	for i := range s.orders.finished.len() {
		if _, ok := s.orders.get(s.orders.finished.buf[s.orders.finished.phys(i)].id); !ok {
			return fmt.Errorf("%w: remembered order %d is missing", ErrInvariant, s.orders.finished.buf[s.orders.finished.phys(i)].id)
		}
	}
	for p, n := range perPrincipal {
		pr := &s.principals[p]
		if pr.live != n {
			return fmt.Errorf("%w: principal %d counts %d live orders, has %d", ErrInvariant, p, pr.live, n)
		}
		if want := (principal{first: nilIndex}); len(pr.accounts) == 0 && (pr.first != want.first || pr.firstName != want.firstName) ||
			len(pr.accounts) > 0 && (pr.first != pr.accounts[0] || pr.firstName != s.accounts[pr.first].name) {
			return fmt.Errorf("%w: principal %d: first account out of step", ErrInvariant, p)
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

func checkLiveOrder(s *state, at orderRef, o *order) error {
	in := s.instrument(o.instrument)
	if in == nil {
		return fmt.Errorf("%w: order %d: unknown instrument %d", ErrInvariant, o.id, o.instrument)
	}
	info, ok := in.book.Order(orderIDToBook(o.id))
	if !ok || info.Remaining != o.qty-o.cum || info.Price != o.price || info.Side != sideToBook(o.side) ||
		info.Account != accountToBook(o.account) || info.Filled != o.cum {
		return fmt.Errorf("%w: order %d: book has %+v, engine price %d qty %d cum %d", ErrInvariant, o.id, info, o.price, o.qty, o.cum)
	}
	if info.Tag != uint32(at) {
		// Not fatal to matching (OnTrade falls back to the id lookup), but
		// every resting order is tagged with its record: on submit, and
		// again on restore.
		return fmt.Errorf("%w: order %d: book tags it %#x, its record is %#x", ErrInvariant, o.id, info.Tag, uint32(at))
	}
	r, ok := s.orders.get(o.id)
	if !ok || r != at {
		return fmt.Errorf("%w: order %d: not indexed at its slot", ErrInvariant, o.id)
	}
	k := clKey{account: o.account, id: o.clOrdID}
	if o.clHash != s.clKeyHash(&k) {
		return fmt.Errorf("%w: order %d: stale ClOrdID hash", ErrInvariant, o.id)
	}
	if ref, ok := s.orders.clGet(&k, o.clHash); !ok || ref != r {
		return fmt.Errorf("%w: order %d: its ClOrdID does not name it", ErrInvariant, o.id)
	}
	return nil
}

// checkClOrdIndex checks that every ClOrdID index entry points at a held
// order (where the id index finds it) or a superseded ring entry that
// holds the entry's key, and that the count is right.
func checkClOrdIndex(st *state) error {
	s := &st.orders
	n := 0
	for _, sl := range s.byClOrdID.slots {
		if sl.ref == 0 {
			continue
		}
		n++
		var k clKey
		if sl.ref.isSuperseded() {
			if int(sl.ref.index()) >= s.superseded.len() {
				return fmt.Errorf("%w: ClOrdID entry points past the superseded ring", ErrInvariant)
			}
			e := &s.superseded.buf[sl.ref.index()]
			if e.hash != st.clKeyHash(&e.key) {
				return fmt.Errorf("%w: superseded ClOrdID entry's hash is not its key's", ErrInvariant)
			}
			k = e.key
		} else {
			o := s.at(sl.ref)
			if r, ok := s.get(o.id); !ok || r != sl.ref {
				return fmt.Errorf("%w: ClOrdID entry points at order %d, which is not held there", ErrInvariant, o.id)
			}
			k = clKey{account: o.account, id: o.clOrdID}
		}
		if st.clKeyHash(&k) != sl.hash {
			return fmt.Errorf("%w: ClOrdID entry's hash is not its key's", ErrInvariant)
		}
	}
	if n != s.byClOrdID.count {
		return fmt.Errorf("%w: ClOrdID index holds %d entries, counts %d", ErrInvariant, n, s.byClOrdID.count)
	}
	return nil
}
