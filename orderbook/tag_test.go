package orderbook

import (
	"bytes"
	"slices"
	"testing"
)

// copyTags gives every resting order of dst the tag its namesake has in
// src, as an owner does after restoring dst from src's snapshot. It walks
// src's slab in slot order, and fails if dst lacks one of src's orders.
func copyTags(t *testing.T, dst, src *Book) {
	t.Helper()
	for i := range src.orders {
		o := &src.orders[i]
		if !o.used {
			continue // a free slot
		}
		if !dst.SetTag(o.id, o.tag) {
			t.Fatalf("SetTag(%d): the restored book lacks the order", o.id)
		}
	}
}

// tradeTags returns the maker and maker tag of every trade in events.
func tradeTags(events []event) (makers []OrderID, tags []uint32) {
	for _, e := range events {
		if e.kind == 'T' {
			makers = append(makers, e.trade.Maker)
			tags = append(tags, e.trade.MakerTag)
		}
	}
	return makers, tags
}

// tagOf is the tag the tests below give order id.
func tagOf(id OrderID) uint32 { return 0xa0000000 | uint32(id)*7 }

// TestMakerTagOnEveryFill sweeps several makers on several levels with one
// market order: every fill, partial or full, names its maker's tag.
func TestMakerTagOnEveryFill(t *testing.T) {
	var rec recorder
	b := New(Config{}, &rec)
	var want []uint32
	var wantMakers []OrderID
	for i, px := range []int64{101, 101, 102, 103, 103, 103} {
		id := OrderID(10 + i)
		if r := b.Submit(Order{ID: id, Account: Account(1 + i%2), Side: Sell, Price: px, Quantity: int64(1 + i), Tag: tagOf(id)}); r != RejectNone {
			t.Fatalf("submit %d: %v", id, r)
		}
		wantMakers, want = append(wantMakers, id), append(want, tagOf(id))
	}
	rec.take()
	// 1+2+...+5 fills the first five makers; 3 more lots fill the sixth in part.
	if r := b.Submit(Order{ID: 99, Account: 3, Side: Buy, Type: Market, Quantity: 15 + 3, Tag: 0xdead}); r != RejectNone {
		t.Fatalf("sweep: %v", r)
	}
	makers, tags := tradeTags(rec.take())
	if !slices.Equal(makers, wantMakers) || !slices.Equal(tags, want) {
		t.Fatalf("trades: makers %v tags %#x, want %v %#x", makers, tags, wantMakers, want)
	}
	if o, ok := b.Order(15); !ok || o.Tag != tagOf(15) || o.Remaining != 3 {
		t.Fatalf("partly filled maker: %+v %v", o, ok)
	}
}

// TestTagSurvivesAmend amends and replaces resting orders every way there
// is: in place, to another price (losing priority) and back to the same
// price with more quantity (losing priority too); an order that trades
// while it is requeued, and later as a maker, still carries its tag.
func TestTagSurvivesAmend(t *testing.T) {
	var rec recorder
	b := New(Config{}, &rec)
	for id := OrderID(1); id <= 4; id++ {
		b.Submit(Order{ID: id, Account: 1, Side: Buy, Price: 100, Quantity: 10, Tag: tagOf(id)})
	}
	b.Submit(Order{ID: 5, Account: 2, Side: Sell, Price: 105, Quantity: 2, Tag: tagOf(5)})
	steps := []struct {
		name string
		do   func() RejectReason
	}{
		{"amend in place", func() RejectReason { return b.Amend(1, 100, 8) }},
		{"amend to another price", func() RejectReason { return b.Amend(2, 99, 10) }},
		{"amend up at the same price", func() RejectReason { return b.Amend(3, 100, 12) }},
		{"replace", func() RejectReason { return b.Replace(4, 98, 5) }},
		// Crosses the sell at 105 as it is requeued: order 4 is the taker,
		// 5 the maker, and 4 rests with the rest.
		{"replace that trades", func() RejectReason { return b.Replace(4, 105, 7) }},
	}
	for _, s := range steps {
		if r := s.do(); r != RejectNone {
			t.Fatalf("%s: %v", s.name, r)
		}
	}
	if makers, tags := tradeTags(rec.take()); !slices.Equal(makers, []OrderID{5}) || !slices.Equal(tags, []uint32{tagOf(5)}) {
		t.Fatalf("requeue trade: makers %v tags %#x", makers, tags)
	}
	for id := OrderID(1); id <= 4; id++ {
		if o, ok := b.Order(id); !ok || o.Tag != tagOf(id) {
			t.Fatalf("order %d after amends: %+v %v", id, o, ok)
		}
	}
	// Priority now: 4 at 105, then 1 and 3 at 100 (1 kept its place), then
	// 2 at 99.
	b.Submit(Order{ID: 50, Account: 3, Side: Sell, Type: Market, Quantity: 5 + 8 + 12 + 10})
	makers, tags := tradeTags(rec.take())
	wantMakers := []OrderID{4, 1, 3, 2}
	want := []uint32{tagOf(4), tagOf(1), tagOf(3), tagOf(2)}
	if !slices.Equal(makers, wantMakers) || !slices.Equal(tags, want) {
		t.Fatalf("sweep: makers %v tags %#x, want %v %#x", makers, tags, wantMakers, want)
	}
}

// TestTagNotInSnapshot builds the same book twice with different tags:
// snapshot bytes and digest agree. A restored book's orders have tag 0
// until SetTag gives them one, which then shows on their trades.
func TestTagNotInSnapshot(t *testing.T) {
	build := func(tag func(OrderID) uint32) *Book {
		b := New(Config{}, nil)
		for i := range 6 {
			id := OrderID(1 + i)
			side, px := Buy, int64(100-i)
			if i%2 == 1 {
				side, px = Sell, int64(110+i)
			}
			b.Submit(Order{ID: id, Account: 1, Side: side, Price: px, Quantity: 5, Tag: tag(id)})
		}
		b.Amend(3, 101, 6) // a requeued order keeps its tag and stays out of the snapshot
		return b
	}
	a, b := build(tagOf), build(func(OrderID) uint32 { return 0 })
	snap := a.AppendSnapshot(nil)
	if !bytes.Equal(snap, b.AppendSnapshot(nil)) || a.Digest() != b.Digest() {
		t.Fatal("the tags changed the snapshot or the digest")
	}
	var rec recorder
	r := New(Config{}, &rec)
	if err := r.Restore(snap); err != nil {
		t.Fatal(err)
	}
	if o, _ := r.Order(3); o.Tag != 0 {
		t.Fatalf("restored order has tag %#x", o.Tag)
	}
	if r.SetTag(77, 1) {
		t.Fatal("SetTag of an unknown order succeeded")
	}
	copyTags(t, r, a)
	if r.Digest() != a.Digest() {
		t.Fatal("SetTag changed the digest")
	}
	r.Submit(Order{ID: 40, Account: 2, Side: Sell, Type: Market, Quantity: 6 + 5})
	makers, tags := tradeTags(rec.take())
	if !slices.Equal(makers, []OrderID{3, 1}) || !slices.Equal(tags, []uint32{tagOf(3), tagOf(1)}) {
		t.Fatalf("after restore and SetTag: makers %v tags %#x", makers, tags)
	}
	if err := r.Check(); err != nil {
		t.Fatal(err)
	}
}
