package marketdata

// side is one side of an instrument's full book as the engine's OnLevel
// calls describe it: every non-empty price level, sorted so that the best
// level is last (bids ascending, asks descending). Most changes happen at or
// near the top of the book, so keeping the top at the end makes inserts and
// removals there move few elements.
type side struct {
	levels []Level
	bid    bool
}

// better reports whether price a ranks ahead of price b on this side.
func (s *side) better(a, b int64) bool {
	if s.bid {
		return a > b
	}
	return a < b
}

// search returns the index of price, or where it would be inserted.
func (s *side) search(price int64) int {
	lo, hi := 0, len(s.levels)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if s.better(price, s.levels[m].Price) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// set applies one OnLevel change; quantity 0 removes the level. It returns
// false when a new level would exceed bookLevelsPerSideMax (the change is
// dropped).
func (s *side) set(price, quantity int64, orders int32) bool {
	i := s.search(price)
	found := i < len(s.levels) && s.levels[i].Price == price
	switch {
	case quantity == 0 && found:
		s.levels = append(s.levels[:i], s.levels[i+1:]...)
	case quantity == 0:
	case found:
		s.levels[i].Quantity, s.levels[i].Orders = quantity, orders
	case len(s.levels) >= bookLevelsPerSideMax:
		return false
	default:
		s.levels = append(s.levels, Level{})
		copy(s.levels[i+1:], s.levels[i:])
		s.levels[i] = Level{Price: price, Quantity: quantity, Orders: orders}
	}
	return true
}

// top appends the best depth levels, best first, to dst[:0].
func (s *side) top(dst []Level, depth int) []Level {
	dst = dst[:0]
	for i := len(s.levels) - 1; i >= 0 && len(dst) < depth; i-- {
		dst = append(dst, s.levels[i])
	}
	return dst
}
