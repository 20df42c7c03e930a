package engine

import (
	"strconv"
	"testing"

	"venue/orderbook"
)

// BenchmarkNewCancel measures the engine's cost around the book on a
// working set that stays in cache: a resting order entered and cancelled
// by ClOrdID, over and over, with a gateway carrying the trader. One op is
// one command. Compare BenchmarkBookNewCancel, the bare book doing the same.
func BenchmarkNewCancel(b *testing.B) { benchmarkNewCancel(b, false) }

// BenchmarkNewCancelHinted is BenchmarkNewCancel with each command hinted
// HintAhead commands ahead: with everything in cache, what it adds is the
// cost of hinting.
func BenchmarkNewCancelHinted(b *testing.B) { benchmarkNewCancel(b, true) }

func benchmarkNewCancel(b *testing.B, hint bool) {
	h := newHarness(b)
	h.send(sGW, sessionStatusCmd("G1", SessionStateLoggedOn, false, false))
	const distinct = 1024
	news := make([][]byte, distinct)
	cancels := make([][]byte, distinct)
	for i := range distinct {
		cl := "o" + strconv.Itoa(i)
		news[i] = newOrderCmd(no{px: int64(90 + i%10), qty: 5, acct: "G1", cl: cl, principal: "G1", tif: TimeInForceGTC})
		cancels[i] = cancelCmd(cx{acct: "G1", cl: "c" + cl, orig: cl, princ: "G1"})
	}
	e := h.e
	e.egress, e.md = discardEgress{}, NopMarketDataSink{}
	pos := int64(1 << 20)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += 2 {
		if hint {
			// HintAhead commands on in the alternating stream: i counts
			// commands, so that is the new order of i+HintAhead (HintAhead
			// is even).
			e.Hint(news[(i+HintAhead)%distinct])
		}
		pos += 128
		e.OnSessionMessage(sGW, pos, pos, news[i%distinct])
		if hint {
			e.Hint(cancels[(i+HintAhead)%distinct])
		}
		pos += 128
		e.OnSessionMessage(sGW, pos, pos, cancels[i%distinct])
	}
}

func BenchmarkBookNewCancel(b *testing.B) {
	book := orderbook.New(orderbook.Config{}, orderbook.NopListener{})
	b.ReportAllocs()
	for i := 0; i < b.N; i += 2 {
		id := orderbook.OrderID(i + 1)
		book.Submit(orderbook.Order{ID: id, Account: 1, Side: orderbook.Buy, Price: int64(90 + i%10), Quantity: 5})
		book.Cancel(id)
	}
}
