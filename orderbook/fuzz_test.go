package orderbook

import (
	"bytes"
	"testing"
)

// commandsFromBytes turns fuzz input into commands, four bytes each, so
// that the fuzzer's mutations map onto commands: byte 0 picks the command
// and the order's flags, byte 1 the id, byte 2 the price (a few ticks
// around 100) and byte 3 the quantity and account.
func commandsFromBytes(data []byte) []command {
	var cmds []command
	for len(data) >= 4 {
		op, idb, pb, qb := data[0], data[1], data[2], data[3]
		data = data[4:]
		id := OrderID(idb % 32)
		price := 95 + int64(pb%11)
		qty := int64(qb%16) - 1
		switch op % 16 {
		case 0, 1, 2, 3, 4, 5, 6, 7, 8:
			o := Order{
				ID: id, Price: price, Quantity: qty, Account: Account(qb>>6) + 1,
				Side: Side(op>>4) & 1, TIF: TimeInForce(op>>5) & 3, STP: STPMode(pb>>4) & 3,
				PostOnly: pb&0x80 != 0 && op%9 == 0,
			}
			if op%9 == 8 {
				o.Type = Market
			}
			cmds = append(cmds, command{kind: cmdSubmit, order: o})
		case 9, 10, 11:
			cmds = append(cmds, command{kind: cmdCancel, id: id})
		case 12:
			cmds = append(cmds, command{kind: cmdAmend, id: id, price: price, qty: qty})
		case 13:
			cmds = append(cmds, command{kind: cmdReplace, id: id, price: price, qty: qty})
		case 14:
			cmds = append(cmds, command{kind: cmdCancelAccount, account: Account(qb>>6) + 1})
		default:
			kinds := [...]cmdKind{cmdCancelAll, cmdExpire, cmdReference, cmdExpire}
			cmds = append(cmds, command{kind: kinds[idb%4], price: price})
		}
	}
	return cmds
}

// fuzzConfig picks the instrument from the input's length, so that the
// byte layout of the commands stays fixed: tick 1 or 2, lot 1 or 3, band
// none or 4 ticks, room for 20 or 3 orders.
func fuzzConfig(data []byte) Config {
	n := len(data)
	return Config{
		TickSize:  int64(1 + n%2),
		LotSize:   int64(1 + 2*(n/2%2)),
		BandTicks: int64(4 * (n / 4 % 2)),
		OrdersMax: []int{20, 3}[n/8%2],
	}
}

// FuzzCommands runs arbitrary command sequences on the book and the
// reference book: the events must agree and the book's invariants (not
// crossed, totals add up, index and levels agree) must hold throughout.
func FuzzCommands(f *testing.F) {
	// Two orders that cross: a resting sell, then a buy that trades.
	f.Add([]byte{0x10, 1, 5, 10, 0x00, 2, 5, 10})
	// Rest on both sides, amend one across the spread, cancel the other.
	f.Add([]byte{0x10, 1, 7, 5, 0x00, 2, 3, 5, 12, 2, 8, 5, 9, 1, 0, 0})
	// A DAY order, a GTC order, then expire and cancel-all.
	f.Add([]byte{0x20, 1, 4, 3, 0x00, 2, 4, 3, 15, 1, 0, 0, 15, 0, 0, 0})
	// Self-trade prevention: same account on both sides, STP modes in byte 2.
	f.Add([]byte{0x10, 1, 5, 0x45, 0x00, 2, 0x15, 0x45, 0x00, 3, 0x25, 0x45, 0x00, 4, 0x35, 0x45})
	// FOK and market orders against a thin book.
	f.Add([]byte{0x10, 1, 5, 3, 0x60, 2, 6, 9, 0x08, 3, 0, 9})
	// Zero and negative quantities, duplicate ids, unknown cancels.
	f.Add([]byte{0x00, 1, 5, 0, 0x00, 1, 5, 1, 0x00, 1, 5, 4, 9, 7, 0, 0, 13, 7, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		var rec, refRec recorder
		cfg := fuzzConfig(data)
		b := New(cfg, &rec)
		ref := newRefBook(cfg, &refRec)
		for i, c := range commandsFromBytes(data) {
			if d := applyBoth(c, b, ref, &rec, &refRec); d != "" {
				t.Fatalf("command %d (%v): %s", i, c, d)
			}
		}
	})
}

// FuzzRestore feeds arbitrary bytes to Restore. It must return an error
// or restore a consistent book that re-encodes to exactly the same bytes;
// it must never panic, and a failed restore must leave the book as it was.
// With reseal set the checksum is recomputed first, so that mutations reach
// the structural checks behind it.
func FuzzRestore(f *testing.F) {
	good := sampleSnapshot(f)
	// A valid snapshot of a book with orders on both sides.
	f.Add(good, false)
	// The same snapshot, resealed (a no-op for valid input).
	f.Add(good, true)
	// An empty book's snapshot.
	f.Add(New(Config{}, nil).AppendSnapshot(nil), false)
	// Truncated in the middle of an order.
	f.Add(good[:len(good)-17], true)
	// Header only.
	f.Add(good[:snapHeaderLength], false)
	// Nothing at all.
	f.Add([]byte{}, false)
	f.Fuzz(func(t *testing.T, data []byte, reseal bool) {
		if reseal {
			data = resealed(data)
		}
		b := New(Config{OrdersMax: 64}, nil)
		parseCommand("buy 1 10 1").apply(b)
		before := b.Digest()
		if err := b.Restore(data); err != nil {
			if b.Digest() != before {
				t.Fatalf("failed restore (%v) changed the book", err)
			}
			return
		}
		if err := b.Check(); err != nil {
			t.Fatalf("restored an inconsistent book: %v", err)
		}
		if !bytes.Equal(b.AppendSnapshot(nil), data) {
			t.Fatal("restored book does not re-encode to its snapshot")
		}
	})
}
