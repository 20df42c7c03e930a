package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"testing"
)

// fuzzSessions are the senders a fuzz input's first byte chooses from.
var fuzzSessions = []SessionID{sAdmin, sT1, sT2, sGW, 99}

// FuzzEngineCommands feeds arbitrary payloads to a configured engine with
// resting orders, from every kind of session: nothing may panic and the
// engine's invariants must hold after every command. Each input is split
// into several messages at 0xFF 0xFE markers so the fuzzer can build
// sequences.
func FuzzEngineCommands(f *testing.F) {
	// A valid command of every template, each from the trader (the first
	// byte selects the session).
	seeds := [][]byte{
		newOrderCmd(no{px: 100, qty: 5, acct: "A1", cl: "x"}),
		newOrderCmd(no{side: SideSell, px: 100, qty: 5, acct: "A2", cl: "y", tif: TimeInForceIOC}),
		cancelCmd(cx{acct: "A1", cl: "c", orig: "rest1"}),
		replaceCmd(cx{acct: "A1", cl: "r", orig: "rest1", px: 101, qty: 3}),
		massCancelCmd(MassCancelScopeAccount, 0, "A1", "", "m"),
		statusCmd(1, "A1", ""),
		newInstrumentList("l"),
		sessionStatusCmd("", SessionStateLoggedOff, true, true),
		instrumentCmd(5, "NEW", TradingStateOpen),
		stateCmd(1, TradingStateClosed, 0),
		accountCmd("A1", "T1", STPModeCancelBoth),
		principalCmd("T1", RoleGateway),
	}
	for i, s := range seeds {
		f.Add(append([]byte{byte(i % len(fuzzSessions))}, s...))
	}
	// Two commands in one input: a new order then its replace.
	f.Add(append(append(append([]byte{1}, newOrderCmd(no{px: 99, qty: 5, acct: "A1", cl: "z"})...), 0xFF, 0xFE),
		replaceCmd(cx{acct: "A1", cl: "z2", orig: "z", px: 100, qty: 1})...))
	f.Add([]byte{1})                                  // an empty payload
	f.Add([]byte{2, 8, 0, 1, 0, 1, 0, 1, 0, 1, 2, 3}) // a short NewOrder body
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		h := newHarness(t)
		h.send(sT1, newOrderCmd(no{px: 100, qty: 10, acct: "A1", cl: "rest1"}))
		h.send(sT2, newOrderCmd(no{side: SideSell, px: 102, qty: 10, acct: "A2", cl: "rest2", tif: TimeInForceGTC}))
		from := fuzzSessions[int(data[0])%len(fuzzSessions)]
		for _, msg := range bytes.Split(data[1:], []byte{0xFF, 0xFE}) {
			h.send(from, msg) // send checks the invariants
		}
		snap := h.e.AppendSnapshot(nil)
		h.restart()
		if !bytes.Equal(snap, h.e.AppendSnapshot(nil)) {
			t.Fatal("snapshot changed across restore")
		}
	})
}

// FuzzRestore feeds corrupted snapshots to Restore: it must return an
// error wrapping ErrSnapshot (never panic) and leave the engine unchanged,
// or restore a consistent engine that snapshots to the same bytes. The
// checksum is recomputed over the mutated bytes so that mutations reach
// the field checks behind it.
func FuzzRestore(f *testing.F) {
	h := newHarness(f)
	h.send(sT1, newOrderCmd(no{px: 100, qty: 10, acct: "A1", cl: "a"}))
	h.send(sT1, replaceCmd(cx{acct: "A1", cl: "b", orig: "a", px: 100, qty: 8}))
	h.send(sT2, newOrderCmd(no{side: SideSell, px: 100, qty: 3, acct: "A2", cl: "s"}))
	h.send(sGW, sessionStatusCmd("G1", SessionStateLoggedOn, true, false))
	h.send(sGW, newOrderCmd(no{seq: 9, px: 90, qty: 1, acct: "G1", cl: "g", principal: "G1", tif: TimeInForceGTC}))
	h.mustAck(stateCmd(2, TradingStateClosed, 99999))
	valid := h.e.AppendSnapshot(nil)
	f.Add(valid, false)                         // a real snapshot, as is
	f.Add(valid[:len(valid)/2], true)           // cut in half
	f.Add(valid[:len(valid)-1], false)          // one byte short
	f.Add([]byte("VNSN\x01\x00\x00\x00"), true) // a header and nothing else
	f.Fuzz(func(t *testing.T, data []byte, fixCRC bool) {
		if fixCRC && len(data) >= snapTrailerLength {
			data = append([]byte(nil), data...)
			end := len(data) - snapTrailerLength
			binary.LittleEndian.PutUint32(data[end:], crc32.Checksum(data[:end], castagnoli))
		}
		e, _ := New(Config{BootstrapAdmin: "ADMIN"})
		before := e.AppendSnapshot(nil)
		if err := e.Restore(data); err != nil {
			if !errors.Is(err, ErrSnapshot) {
				t.Fatalf("error %v does not wrap ErrSnapshot", err)
			}
			if !bytes.Equal(before, e.AppendSnapshot(nil)) {
				t.Fatal("a failed restore changed the engine")
			}
			return
		}
		if err := e.Check(); err != nil {
			t.Fatalf("restored an inconsistent engine: %v", err)
		}
		if !bytes.Equal(data, e.AppendSnapshot(nil)) {
			t.Fatal("a restored snapshot does not re-encode to the same bytes")
		}
	})
}
