package orderbook

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"unsafe"
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
	// findBest steps up to nextBestProbes ticks (each at most PriceMax)
	// past a price.
	if PriceMax > math.MaxInt64/(nextBestProbes+1) {
		t.Error("findBest's probes could overflow int64")
	}
	// prefetchBehind steps up to prefetchBehindPrices ticks past a price,
	// and fetches the lines of the first and the last price only.
	if PriceMax > math.MaxInt64/(prefetchBehindPrices+1) || prefetchBehindPrices > 1<<tableGroupBits {
		t.Error("prefetchBehind's prices could overflow int64 or span more than two lines")
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
	// Tree priming: the sentinels outnumber a node's keys, a two-level
	// priming tree ends with its last leaf full and fills a root's children
	// but one, and a side has room for levels beside its sentinels.
	if treeSentinels <= treeNodeKeysMax || sentinelKeyMin <= PriceMax {
		t.Error("sentinels must not fit one node and must come after every price")
	}
	if treePrimeKeys(treeKeysTwoLevels) != treeKeysTwoLevels || treeNodes(treeKeysTwoLevels) != 2*btreeDegree {
		t.Error("treeKeysTwoLevels is not a two-level tree with a full last leaf")
	}
	if levelsPerSidePrimedMax <= 0 || treeSentinels+levelsPerSidePrimedMax > treeKeysTwoLevels {
		t.Error("a side's primed levels do not fit its primed tree")
	}
}

// TestHotStructSizes keeps two orders and two levels in one 64-byte cache
// line and index slots at 8 bytes, which the layout of the slabs relies on
// for speed.
func TestHotStructSizes(t *testing.T) {
	if n := unsafe.Sizeof(order{}); n != 32 {
		t.Errorf("order is %d bytes, want 32", n)
	}
	if n := unsafe.Sizeof(tableSlot{}); n != 8 {
		t.Errorf("table slot is %d bytes, want 8", n)
	}
	if n := unsafe.Sizeof(level{}); n != 32 {
		t.Errorf("level is %d bytes, want 32", n)
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

// keyedTable is a table with its keys kept beside it by index, as the book
// keeps ids in orders and prices in levels, so that lookups can confirm a
// tag match the way Book.lookupOrder does.
type keyedTable struct {
	t       table
	grouped bool             // groupTag, not hashTag
	keys    map[int32]uint64 // index -> key
}

func (k *keyedTable) tag(key uint64) uint32 {
	if k.grouped {
		return groupTag(key)
	}
	return hashTag(key)
}

func (k *keyedTable) find(key uint64) (uint64, int32, bool) {
	tag := k.tag(key)
	for i := k.t.home(tag); ; i = k.t.next(i) {
		s := k.t.slots[i]
		if s.val1 == 0 {
			return 0, 0, false
		}
		if s.tag == tag && k.keys[s.val1-1] == key {
			return i, s.val1 - 1, true
		}
	}
}

// sameTag returns a key other than key with the same tag, which only the
// confirmation against the stored keys tells apart: the key (its group
// number, with groupTag) differs by a multiple of the inverse of
// fibonacciHash (by Newton's iteration), which moves its hash by a little.
func (k *keyedTable) sameTag(key uint64) uint64 {
	inv := uint64(fibonacciHash)
	for range 6 {
		inv *= 2 - fibonacciHash*inv
	}
	var bits uint64
	if k.grouped {
		bits = tableGroupBits
	}
	for x := uint64(1); ; x++ {
		other := (key>>bits+inv*x)<<bits | key&(1<<bits-1)
		if other != key && k.tag(other) == k.tag(key) {
			return other
		}
	}
}

// TestTableAgainstMap checks the open-addressing table against a Go map
// through growth and many deletions (backward shifts), with either tag
// function and keys that cluster (sequential), keys that collide in their
// low bits, and chains of keys with the same tag, which only the
// confirmation tells apart.
func TestTableAgainstMap(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 1))
		kt := keyedTable{t: newTable(int(seed % 3)), grouped: seed%2 == 0, keys: map[int32]uint64{}}
		want := map[uint64]int32{}
		for i := range 20_000 {
			var key uint64
			switch rng.IntN(8) {
			case 0, 1, 2:
				key = uint64(rng.IntN(2000))
			case 3:
				key = uint64(rng.IntN(64)) << 32
			case 4:
				key = uint64(rng.IntN(16))
				for range rng.IntN(4) {
					key = kt.sameTag(key)
				}
			default:
				key = rng.Uint64()
			}
			if _, ok := want[key]; ok && rng.IntN(2) == 0 {
				delete(want, key)
				pos, _, found := kt.find(key)
				if !found {
					t.Fatalf("seed %d op %d: find(%d) missed a present key", seed, i, key)
				}
				kt.t.delAt(pos)
			} else if !ok {
				want[key] = int32(i)
				kt.keys[int32(i)] = key
				kt.t.put(kt.tag(key), int32(i))
			}
			if int(kt.t.count) != len(want) {
				t.Fatalf("seed %d op %d: count %d, want %d", seed, i, kt.t.count, len(want))
			}
		}
		for k, v := range want {
			if _, got, ok := kt.find(k); !ok || got != v {
				t.Fatalf("seed %d: find(%d) = %d %v, want %d", seed, k, got, ok, v)
			}
		}
		if _, _, ok := kt.find(1<<63 + 12345); ok {
			t.Fatal("found an absent key")
		}
	}
}

// TestGroupTagKeepsNeighbours checks that groupTag puts keys that differ in
// their last tableGroupBits bits in adjacent home slots, and that hashTag
// does not.
func TestGroupTagKeepsNeighbours(t *testing.T) {
	tb := newTable(1000)
	for base := uint64(0); base < 1<<20; base += 1 << 12 {
		h := tb.home(groupTag(base))
		for i := uint64(1); i <= tableGroupMask; i++ {
			if got := tb.home(groupTag(base + i)); got != h+i {
				t.Fatalf("home of %d is %d, want %d", base+i, got, h+i)
			}
		}
	}
	adjacent := 0
	for key := uint64(0); key < 1000; key++ {
		if tb.home(hashTag(key+1)) == tb.home(hashTag(key))+1 {
			adjacent++
		}
	}
	if adjacent > 50 {
		t.Fatalf("hashTag put %d of 1000 consecutive keys next to each other", adjacent)
	}
}

func TestAccessors(t *testing.T) {
	b := New(Config{}, nil)
	for _, line := range []string{"buy 1 100 5", "buy 2 100 6", "buy 3 99 1", "sell 4 101 2", "sell 5 103 3", "cancel 3"} {
		parseCommand(line).apply(b)
	}
	bid, okBid := b.Best(Buy)
	ask, okAsk := b.Best(Sell)
	if !okBid || bid != (Level{Side: Buy, Price: 100, Quantity: 11, Count: 2}) || !okAsk || ask.Price != 101 {
		t.Fatalf("best bid %+v %v, ask %+v %v", bid, okBid, ask, okAsk)
	}
	if b.Levels(Buy) != 1 || b.Levels(Sell) != 2 || b.Len() != 4 {
		t.Fatalf("levels %d/%d, len %d", b.Levels(Buy), b.Levels(Sell), b.Len())
	}
	depth := b.AppendDepth(nil, Sell, 5)
	want := []Level{{Side: Sell, Price: 101, Quantity: 2, Count: 1}, {Side: Sell, Price: 103, Quantity: 3, Count: 1}}
	if len(depth) != 2 || depth[0] != want[0] || depth[1] != want[1] {
		t.Fatalf("ask depth %+v", depth)
	}
	if d := b.AppendDepth(depth[:0], Sell, 1); len(d) != 1 || d[0] != want[0] {
		t.Fatalf("ask depth limited to 1: %+v", d)
	}
	if allocs := testing.AllocsPerRun(100, func() { depth = b.AppendDepth(depth[:0], Sell, 5) }); allocs != 0 {
		t.Fatalf("AppendDepth allocates %v times", allocs)
	}
	if _, ok := b.Order(3); ok {
		t.Fatal("cancelled order still visible")
	}
	if o, ok := b.Order(2); !ok || o.Remaining != 6 || o.Price != 100 || o.Side != Buy {
		t.Fatalf("order 2: %+v %v", o, ok)
	}
}

// TestZeroAllocs checks the hot paths do not allocate once the book has
// reached its size.
func TestZeroAllocs(t *testing.T) {
	b := New(Config{OrdersHint: 64}, nil)
	id := OrderID(1)
	run := func() {
		b.Submit(Order{ID: id, Side: Sell, Price: 101, Quantity: 10, Account: 1})
		b.Submit(Order{ID: id + 1, Side: Buy, Price: 99, Quantity: 10, Account: 2, TIF: Day})
		b.Amend(id+1, 100, 12)
		b.Replace(id+1, 99, 11)
		b.Submit(Order{ID: id + 2, Side: Buy, Price: 101, Quantity: 4, TIF: IOC, Account: 3})
		b.Submit(Order{ID: id + 3, Side: Sell, Type: Market, Quantity: 30, Account: 4})
		b.Cancel(id)
		b.ExpireDay()
		b.Digest()
		id += 4
	}
	run()
	if allocs := testing.AllocsPerRun(200, run); allocs != 0 {
		t.Fatalf("%v allocations per run", allocs)
	}
}
