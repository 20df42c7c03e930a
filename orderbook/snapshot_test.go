package orderbook

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

// TestSnapshotRoundTripMidStream snapshots a book in the middle of a
// random stream, restores it into a fresh book, and continues both: the
// events and digests must be identical, as if the book had never stopped.
func TestSnapshotRoundTripMidStream(t *testing.T) {
	const seeds, commands = 100, 400
	for seed := range uint64(seeds) {
		g := newGenerator(seed)
		var recA, recB recorder
		a := New(g.cfg, &recA)
		cut := 50 + int(seed)%300
		for range cut {
			g.next().apply(a)
		}
		recA.take()
		snap := a.AppendSnapshot(nil)
		b := New(Config{OrdersMax: g.cfg.OrdersMax}, &recB)
		if err := b.Restore(snap); err != nil {
			t.Fatalf("seed %d: restore: %v", seed, err)
		}
		if len(recB.take()) != 0 {
			t.Fatalf("seed %d: restore emitted events", seed)
		}
		if a.Digest() != b.Digest() || !bytes.Equal(snap, b.AppendSnapshot(nil)) {
			t.Fatalf("seed %d: restored book encodes differently", seed)
		}
		// The snapshot holds no tags (a's orders have them, b's are 0 and
		// encode the same); the owner tags the restored orders again.
		copyTags(t, b, a)
		for i := cut; i < commands; i++ {
			c := g.next()
			c.apply(a)
			c.apply(b)
			if d := diffRecorded(recB.take(), recA.take()); d != "" {
				t.Fatalf("seed %d command %d (%v): restored book diverged: %s", seed, i, c, d)
			}
		}
		if a.Digest() != b.Digest() {
			t.Fatalf("seed %d: digests differ after continuing", seed)
		}
		if err := b.Check(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
	}
}

// TestSnapshotIsCanonical reaches one state by two paths that leave the
// slab, tables and level pool laid out differently; the bytes must agree.
func TestSnapshotIsCanonical(t *testing.T) {
	a := New(Config{}, nil)
	for _, line := range []string{"buy 1 100 5", "buy 2 100 6", "sell 3 105 1 day", "buy 4 99 1", "cancel 1", "sell 8 101 2 post"} {
		parseCommand(line).apply(a)
	}
	b := New(Config{OrdersHint: 100}, nil)
	for _, line := range []string{"sell 7 190 1", "buy 9 80 3", "sell 10 200 3", "cancel 7", "cancel 9", "cancel 10",
		"buy 2 100 6", "buy 4 99 1", "sell 3 105 1 day", "sell 8 101 2 post"} {
		parseCommand(line).apply(b)
	}
	if !bytes.Equal(a.AppendSnapshot(nil), b.AppendSnapshot(nil)) || a.Digest() != b.Digest() {
		t.Fatal("same state, different snapshots")
	}
	parseCommand("amend 2 100 5").apply(b)
	if a.Digest() == b.Digest() {
		t.Fatal("different states, same digest")
	}
}

// sampleSnapshot is a small valid snapshot with orders on both sides,
// several levels, a partial fill, a DAY order, post-only and STP flags.
func sampleSnapshot(t testing.TB) []byte {
	b := New(Config{TickSize: 1, LotSize: 1, BandTicks: 50}, nil)
	for _, line := range []string{
		"reference 100", "buy 1 100 5", "buy 2 99 6 day", "buy 3 99 7 acct=2 stp=both",
		"sell 4 101 8 post", "sell 5 102 9 acct=3", "buy 6 101 3 acct=2",
	} {
		parseCommand(line).apply(b)
	}
	if err := b.Check(); err != nil {
		t.Fatal(err)
	}
	return b.AppendSnapshot(nil)
}

// resealed returns data with its trailing CRC recomputed, so that a
// structural corruption is not caught by the checksum alone.
func resealed(data []byte) []byte {
	out := bytes.Clone(data)
	if len(out) < snapTrailerLength {
		return out
	}
	end := len(out) - snapTrailerLength
	binary.LittleEndian.PutUint32(out[end:], crc32.Checksum(out[:end], castagnoli))
	return out
}

func TestRestoreRejectsCorruption(t *testing.T) {
	good := sampleSnapshot(t)
	orderAt := func(i, field int) int { return snapHeaderLength + i*snapOrderLength + field }
	cases := []struct {
		name   string
		mutate func([]byte) []byte
	}{
		{"empty", func(b []byte) []byte { return nil }},
		{"header only", func(b []byte) []byte { return b[:snapHeaderLength] }},
		{"truncated mid-order", func(b []byte) []byte { return resealed(b[:len(b)-20]) }},
		{"trailing garbage", func(b []byte) []byte { return resealed(append(b, make([]byte, snapOrderLength)...)) }},
		{"flipped bit, checksum kept", func(b []byte) []byte { b[60] ^= 1; return b }},
		{"bad magic", func(b []byte) []byte { b[0] = 'X'; return resealed(b) }},
		{"future version", func(b []byte) []byte { b[snapVersionOffset] = 2; return resealed(b) }},
		{"zero tick", func(b []byte) []byte { clear(b[snapTickOffset : snapTickOffset+8]); return resealed(b) }},
		{"negative band", func(b []byte) []byte { b[snapBandOffset+7] = 0x80; return resealed(b) }},
		{"reference out of range", func(b []byte) []byte { b[snapRefOffset+7] = 0x40; return resealed(b) }},
		{"reference without its flag", func(b []byte) []byte { b[snapFlagsOffset] = 0; return resealed(b) }},
		{"unknown header flag", func(b []byte) []byte { b[snapFlagsOffset] |= 2; return resealed(b) }},
		{"count too large", func(b []byte) []byte { b[snapCountOffset] += 1; return resealed(b) }},
		{"bad side", func(b []byte) []byte { b[orderAt(0, snapOrderSideOff)] = 2; return resealed(b) }},
		{"IOC resting", func(b []byte) []byte { b[orderAt(0, snapOrderTIFOff)] = byte(IOC); return resealed(b) }},
		{"bad STP mode", func(b []byte) []byte { b[orderAt(0, snapOrderSTPOff)] = 9; return resealed(b) }},
		{"unknown order flag", func(b []byte) []byte { b[orderAt(0, snapOrderFlagsOff)] |= 4; return resealed(b) }},
		{"filled equals quantity", func(b []byte) []byte {
			copy(b[orderAt(0, snapOrderFilOffset):], b[orderAt(0, snapOrderQtyOffset):orderAt(0, snapOrderQtyOffset)+8])
			return resealed(b)
		}},
		{"zero quantity", func(b []byte) []byte {
			clear(b[orderAt(0, snapOrderQtyOffset) : orderAt(0, snapOrderQtyOffset)+8])
			return resealed(b)
		}},
		{"duplicate id", func(b []byte) []byte {
			b[orderAt(1, snapOrderIDOffset)] = b[orderAt(0, snapOrderIDOffset)]
			return resealed(b)
		}},
		{"bids out of order", func(b []byte) []byte { b[orderAt(0, snapOrderPxOffset)] = 98; return resealed(b) }},
		{"crossed book", func(b []byte) []byte { b[orderAt(3, snapOrderPxOffset)] = 100; return resealed(b) }},
		{"bid after asks", func(b []byte) []byte { b[orderAt(4, snapOrderSideOff)] = byte(Buy); return resealed(b) }},
		{"price out of range", func(b []byte) []byte { b[orderAt(0, snapOrderPxOffset)+7] = 0x7f; return resealed(b) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			bk := New(Config{}, nil)
			parseCommand("buy 77 50 1").apply(bk)
			before := bk.Digest()
			err := bk.Restore(tc.mutate(bytes.Clone(good)))
			if !errors.Is(err, ErrSnapshot) {
				t.Fatalf("restore returned %v, want ErrSnapshot", err)
			}
			if bk.Digest() != before {
				t.Fatal("a failed restore changed the book")
			}
		})
	}
}

func TestRestoreSampleAndOrdersMax(t *testing.T) {
	good := sampleSnapshot(t)
	b := New(Config{}, nil)
	if err := b.Restore(good); err != nil {
		t.Fatal(err)
	}
	if b.Len() != 5 {
		t.Fatalf("restored %d orders, want 5", b.Len())
	}
	if o, ok := b.Order(4); !ok || o.Filled != 3 || !o.PostOnly || o.Remaining != 5 {
		t.Fatalf("order 4 restored as %+v", o)
	}
	if ref, ok := b.Reference(); !ok || ref != 100 || b.Config().BandTicks != 50 {
		t.Fatalf("instrument parameters not restored: ref %d %v, %+v", ref, ok, b.Config())
	}
	small := New(Config{OrdersMax: 4}, nil)
	if err := small.Restore(good); !errors.Is(err, ErrSnapshot) {
		t.Fatalf("restoring 5 orders into OrdersMax 4: %v", err)
	}
}
