package orderbook

import (
	"math/rand/v2"
	"testing"
)

// Benchmarks of the hot paths. Each reports allocations; in steady state
// every one must show 0 allocs/op.

// benchDepth is how many price levels per side the benchmark books hold,
// benchPerLevel how many orders per level.
const (
	benchDepth    = 50
	benchPerLevel = 20
	benchMid      = 10_000
)

// deepBook returns a book with benchDepth levels of benchPerLevel orders on
// each side around benchMid, ids 1..n, and the next free id.
func deepBook(b *testing.B) (*Book, OrderID) {
	bk := New(Config{OrdersHint: 4 * benchDepth * benchPerLevel}, nil)
	id := OrderID(1)
	for lvl := int64(1); lvl <= benchDepth; lvl++ {
		for range benchPerLevel {
			bk.Submit(Order{ID: id, Side: Buy, Price: benchMid - lvl, Quantity: 10, Account: 1})
			bk.Submit(Order{ID: id + 1, Side: Sell, Price: benchMid + lvl, Quantity: 10, Account: 2})
			id += 2
		}
	}
	if bk.Len() != 2*benchDepth*benchPerLevel {
		b.Fatalf("book holds %d orders", bk.Len())
	}
	return bk, id
}

// BenchmarkSubmitCancel adds a passive order at an existing level and
// cancels it: the common case of an order that rests and never trades. Two
// commands per op.
func BenchmarkSubmitCancel(b *testing.B) {
	bk, id := deepBook(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p := benchMid - 1 - int64(i%benchDepth)
		bk.Submit(Order{ID: id, Side: Buy, Price: p, Quantity: 5, Account: 3})
		bk.Cancel(id)
		id++
	}
}

// BenchmarkSubmitCancelNewLevel adds and removes a level each time, so the
// btree is touched on every op. Two commands per op.
func BenchmarkSubmitCancelNewLevel(b *testing.B) {
	bk, id := deepBook(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		p := benchMid - benchDepth - 1 - int64(i%64)
		bk.Submit(Order{ID: id, Side: Buy, Price: p, Quantity: 5, Account: 3})
		bk.Cancel(id)
		id++
	}
}

// BenchmarkAggressiveIOC replenishes the best ask and takes it with an IOC
// buy that trades: two commands and one trade per op.
func BenchmarkAggressiveIOC(b *testing.B) {
	bk, id := deepBook(b)
	b.ReportAllocs()
	for b.Loop() {
		bk.Submit(Order{ID: id, Side: Sell, Price: benchMid, Quantity: 10, Account: 4})
		bk.Submit(Order{ID: id + 1, Side: Buy, Price: benchMid, Quantity: 10, TIF: IOC, Account: 5})
		id += 2
	}
}

// BenchmarkSweepLevels takes three whole levels with a market order and
// rebuilds them: 3*benchPerLevel fills per op.
func BenchmarkSweepLevels(b *testing.B) {
	bk, id := deepBook(b)
	b.ReportAllocs()
	for b.Loop() {
		bk.Submit(Order{ID: id, Side: Buy, Type: Market, Quantity: 3 * benchPerLevel * 10, Account: 6})
		id++
		for lvl := int64(1); lvl <= 3; lvl++ {
			for range benchPerLevel {
				bk.Submit(Order{ID: id, Side: Sell, Price: benchMid + lvl, Quantity: 10, Account: 2})
				id++
			}
		}
	}
}

// BenchmarkAmend moves one order between two prices (losing priority) and
// then shrinks it in place. Two commands per op.
func BenchmarkAmend(b *testing.B) {
	bk, id := deepBook(b)
	bk.Submit(Order{ID: id, Side: Buy, Price: benchMid - 2, Quantity: 1000, Account: 3})
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		qty := int64(1000 - i%500)
		bk.Amend(id, benchMid-2-int64(i%2), qty+1)
		bk.Amend(id, benchMid-2-int64(i%2), qty)
	}
}

// BenchmarkRandomStream replays a pre-generated random command stream
// (the property test's generator) on one book; one command per op.
func BenchmarkRandomStream(b *testing.B) {
	g := newGenerator(1)
	g.cfg = Config{}
	cmds := make([]command, 1<<16)
	for i := range cmds {
		cmds[i] = g.next()
	}
	bk := New(Config{}, nil)
	for _, c := range cmds {
		c.apply(bk)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c := &cmds[i&(len(cmds)-1)]
		c.apply(bk)
	}
}

// BenchmarkDigest measures a snapshot-and-hash of a deep book.
func BenchmarkDigest(b *testing.B) {
	bk, _ := deepBook(b)
	b.ReportAllocs()
	for b.Loop() {
		bk.Digest()
	}
}

// Many books out of cache: manyBooksCount books of deepBook's size (over
// 100 MB of orders, levels and tables together) take a stream of passive
// orders and cancels, each at a random book, so that nearly every command
// finds its book out of cache, as on the 100-instrument order flow.
const (
	manyBooksCount = 256
	// manyBooksStream is the length of the command stream, which repeats;
	// manyBooksLive is how many commands after its submit an order is
	// cancelled (wrapping around, so the stream is a cycle in steady state).
	manyBooksStream = 1 << 16
	manyBooksLive   = 1 << 10
)

type bookCommand struct {
	book int
	c    command
}

func manyBooks(b *testing.B) ([]*Book, []bookCommand) {
	books := make([]*Book, manyBooksCount)
	for i := range books {
		books[i], _ = deepBook(b)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cmds := make([]bookCommand, 0, 2*manyBooksStream)
	where := make([]int, manyBooksStream)
	for k := range manyBooksStream {
		where[k] = rng.IntN(manyBooksCount)
		side := Side(rng.IntN(2))
		price := benchMid - 1 - int64(rng.IntN(benchDepth))
		if side == Sell {
			price = 2*benchMid - price
		}
		id := OrderID(1<<40 + k)
		cmds = append(cmds, bookCommand{where[k], command{kind: cmdSubmit, order: Order{ID: id, Side: side, Price: price, Quantity: 5, Account: 3}}})
		old := (k - manyBooksLive + manyBooksStream) % manyBooksStream
		cmds = append(cmds, bookCommand{where[old], command{kind: cmdCancel, id: OrderID(1<<40 + old)}})
	}
	for _, c := range cmds { // reach the steady state
		c.c.apply(books[c.book])
	}
	return books, cmds
}

// BenchmarkManyBooks applies one command per op to a book out of cache.
func BenchmarkManyBooks(b *testing.B) {
	books, cmds := manyBooks(b)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c := &cmds[i%len(cmds)]
		c.c.apply(books[c.book])
	}
}

// BenchmarkManyBooksHinted is BenchmarkManyBooks with each command hinted
// (Book.Prefetch) 4 and 2 commands ahead, as the replay does.
func BenchmarkManyBooksHinted(b *testing.B) {
	books, cmds := manyBooks(b)
	hints := make([]Upcoming, len(cmds))
	for i := range cmds {
		hints[i] = upcomingOf(cmds[i].c)
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if j := (i + 2) % len(cmds); cmds[j].book != cmds[i%len(cmds)].book {
			books[cmds[j].book].Prefetch(&hints[j], PrefetchNear)
		}
		if j := (i + 4) % len(cmds); cmds[j].book != cmds[i%len(cmds)].book {
			books[cmds[j].book].Prefetch(&hints[j], PrefetchFar)
		}
		c := &cmds[i%len(cmds)]
		c.c.apply(books[c.book])
	}
}
