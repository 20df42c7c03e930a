package orderbook

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// TestLimitsFitInt64 asserts the relationships the code relies on.
func TestLimitsFitInt64(t *testing.T) {
	// A level total is at most OrdersMax orders of QuantityMax lots.
	if QuantityMax > math.MaxInt64/ordersMaxLimit {
		t.Error("a level total could overflow int64")
	}
	// Band arithmetic adds two prices; btree keys negate one.
	if PriceMax > math.MaxInt64/4 {
		t.Error("reference ± band could overflow int64")
	}
	if ordersMaxLimit > math.MaxInt32-1 || OrdersMaxDefault > ordersMaxLimit {
		t.Error("slab indexes must fit int32 with room for nilIndex")
	}
	if tableSlotsMin&(tableSlotsMin-1) != 0 || tableLoadNum >= tableLoadDen {
		t.Error("hash tables need a power-of-two size and a load below 1")
	}
	if btreeDegree < 2 || btreeFreeListNodes < 1 {
		t.Error("btree degree and free list size out of range")
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []Config{
		{TickSize: -1}, {LotSize: -1}, {BandTicks: -1}, {TickSize: PriceMax + 1},
		{LotSize: QuantityMax + 1}, {OrdersMax: -1}, {OrdersMax: ordersMaxLimit + 1},
	}
	for _, c := range bad {
		if err := c.Validate(); !errors.Is(err, ErrConfig) {
			t.Errorf("%+v: Validate returned %v", c, err)
		}
	}
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
}

// TestTableAgainstMap checks the open-addressing table against a Go map
// through growth and many deletions (backward shifts), with keys that
// cluster (sequential) and keys that collide in their low bits.
func TestTableAgainstMap(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		tb := newTable(int(seed % 3))
		want := map[uint64]int32{}
		for i := range 20_000 {
			var key uint64
			switch rng.IntN(3) {
			case 0:
				key = uint64(rng.IntN(2000))
			case 1:
				key = uint64(rng.IntN(64)) << 32
			default:
				key = rng.Uint64()
			}
			if _, ok := want[key]; ok && rng.IntN(2) == 0 {
				delete(want, key)
				if !tb.del(key) {
					t.Fatalf("seed %d op %d: del(%d) missed a present key", seed, i, key)
				}
			} else if !ok {
				want[key] = int32(i)
				tb.put(key, int32(i))
			}
			if int(tb.count) != len(want) {
				t.Fatalf("seed %d op %d: count %d, want %d", seed, i, tb.count, len(want))
			}
		}
		for k, v := range want {
			if got, ok := tb.get(k); !ok || got != v {
				t.Fatalf("seed %d: get(%d) = %d %v, want %d", seed, k, got, ok, v)
			}
		}
		if tb.del(1<<63 + 12345) {
			t.Fatal("deleted an absent key")
		}
	}
}
