package engine

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

// hintMode is how replayWithHints hints a log.
type hintMode int

const (
	hintRight   hintMode = iota // each message HintAhead entries ahead, as a service would
	hintStale                   // messages already applied (every hint stale)
	hintJunk                    // random bytes and truncated messages
	hintTwice                   // each message hinted twice, the pipeline out of step
	hintRestore                 // right hints, with a snapshot and restore in the middle
)

// replayWithHints applies log to a fresh engine, hinting as mode says,
// and returns its output and digest.
func replayWithHints(t *testing.T, log []logEntry, mode hintMode) ([]byte, [32]byte) {
	t.Helper()
	var out outRecorder
	e := newLogEngine(t, &out, nopTimers{})
	rng := rand.New(rand.NewPCG(7, 7))
	payloadAt := func(j int) []byte {
		if j < 0 || j >= len(log) {
			return nil
		}
		return log[j].payload // nil for opens, closes and timers: hinted as nothing
	}
	for j := range log {
		switch mode {
		case hintRight, hintRestore:
			e.Hint(payloadAt(j + HintAhead))
		case hintStale:
			e.Hint(payloadAt(j - 1 - rng.IntN(50)))
		case hintJunk:
			p := payloadAt(j + rng.IntN(2*HintAhead))
			switch rng.IntN(3) {
			case 0:
				junk := make([]byte, rng.IntN(200))
				for i := range junk {
					junk[i] = byte(rng.Uint32())
				}
				p = junk
			case 1:
				if len(p) > 0 {
					p = p[:rng.IntN(len(p))]
				}
			}
			e.Hint(p)
		case hintTwice:
			e.Hint(payloadAt(j + HintAhead))
			e.Hint(payloadAt(j + HintAhead))
		}
		apply(e, &log[j])
		if mode == hintRestore && j == len(log)/2 {
			// A restore replaces the store the pipeline's references point
			// into; the hints in flight must stay harmless.
			snap := e.AppendSnapshot(nil)
			if err := e.Restore(snap); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := e.Check(); err != nil {
		t.Fatal(err)
	}
	return out.buf.Bytes(), e.Digest()
}

// Hints change nothing the engine does: right, stale, junk or doubled
// hints, and hints across a restore, give the recording run's output
// byte for byte and the digest of an engine given none.
func TestHintsChangeNothing(t *testing.T) {
	log, recorded := recordLog(t, 42, 6000)
	plain := newLogEngine(t, &outRecorder{}, nopTimers{})
	for j := range log {
		apply(plain, &log[j])
	}
	want := plain.Digest()
	for _, tc := range []struct {
		name string
		mode hintMode
	}{
		{"right", hintRight}, {"stale", hintStale}, {"junk", hintJunk}, {"twice", hintTwice}, {"restore", hintRestore},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, digest := replayWithHints(t, log, tc.mode)
			if !bytes.Equal(out, recorded.buf.Bytes()) {
				t.Fatalf("output differs from the recording run at byte %d", firstDiff(out, recorded.buf.Bytes()))
			}
			if digest != want {
				t.Fatal("digest differs from the engine given no hints")
			}
		})
	}
}

// The pipeline walks a cancel's chain: after its second stage it holds
// the record the OrigClOrdID names, after its third the order's id and
// side for the book; a cancel by OrderID gets there through the id index.
// A new order's hint predicts the id it will get.
func TestHintWalksTheChain(t *testing.T) {
	h := newHarness(t)
	h.send(sT1, newOrderCmd(no{px: 100, qty: 10, acct: "A1", cl: "rest1"}))
	h.send(sT1, newOrderCmd(no{side: SideSell, px: 105, qty: 10, acct: "A1", cl: "rest2"}))
	e := h.e
	k := clKey{account: 0, id: clOrdIDKey("rest2")}
	want, _, ok := e.orders.byClOrdHashed(&k, e.clKeyHash(&k))
	if !ok {
		t.Fatal("rest2 not indexed")
	}
	for _, tc := range []struct {
		name string
		cmd  []byte
	}{
		{"by ClOrdID", cancelCmd(cx{acct: "A1", cl: "c1", orig: "rest2"})},
		{"by OrderID", cancelCmd(cx{id: 2, acct: "A1", cl: "c2", side: SideSell})},
		{"replace", replaceCmd(cx{acct: "A1", cl: "r1", orig: "rest2", px: 106, qty: 7})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.hints = hintPipe{}
			e.Hint(tc.cmd)
			slot := (e.hints.next + hintStages - 1) % hintStages
			hn := &e.hints.h[slot]
			if hn.op == hintNone {
				t.Fatal("order-entry command not hinted")
			}
			e.Hint(nil)
			if hn.ref != want {
				t.Fatalf("after hintRecord: ref %d, want %d", hn.ref, want)
			}
			e.Hint(nil)
			if hn.up.ID != 2 || hn.up.Side != sideToBook(SideSell) {
				t.Fatalf("after hintBookFar: %+v", hn.up)
			}
			if tc.name == "replace" && (hn.up.Price != 106 || hn.up.Quantity != 7) {
				t.Fatalf("replace hint: %+v", hn.up)
			}
		})
	}
	e.hints = hintPipe{}
	e.Hint(newOrderCmd(no{px: 99, qty: 1, acct: "A1", cl: "n1"}))
	e.Hint(newOrderCmd(no{px: 99, qty: 1, acct: "A1", cl: "n2"}))
	if got := e.hints.h[1].up.ID; got != 4 {
		t.Fatalf("second pending new order predicted id %d, want 4", got)
	}
	// Pending: nothing was applied, the engine is as it was.
	if e.nextOrderID != 2 {
		t.Fatalf("hints assigned ids: nextOrderID %d", e.nextOrderID)
	}
}

func clOrdIDKey(s string) [clOrdIDBytes]byte {
	var k [clOrdIDBytes]byte
	copy(k[:], s)
	return k
}

// FuzzHint hints arbitrary payloads around valid commands: nothing may
// panic, and the engine must report and end exactly as one given no hints.
func FuzzHint(f *testing.F) {
	f.Add(cancelCmd(cx{acct: "A1", cl: "c", orig: "rest1"}))                   // a right hint
	f.Add(replaceCmd(cx{acct: "A1", cl: "r", orig: "rest1", px: 101, qty: 3})) // a replace
	f.Add(newOrderCmd(no{px: 100, qty: 5, acct: "A1", cl: "x"}))               // a new order
	f.Add(cancelCmd(cx{id: 1 << 40, acct: "A1", cl: "c"}))                     // an id far off the table
	f.Add([]byte{})                                                            // nothing
	f.Add(newOrderCmd(no{px: 100, qty: 5, acct: "A1", cl: "x"})[:20])          // truncated
	f.Fuzz(func(t *testing.T, data []byte) {
		cmds := [][]byte{
			newOrderCmd(no{side: SideSell, px: 101, qty: 4, acct: "A1", cl: "s1", tif: TimeInForceGTC}),
			cancelCmd(cx{acct: "A1", cl: "c", orig: "rest1"}),
			newOrderCmd(no{px: 101, qty: 2, acct: "A1", cl: "b1", tif: TimeInForceIOC}),
		}
		var outs [2][]string
		var digests [2][32]byte
		for i := range outs {
			h := newHarness(t)
			h.send(sT1, newOrderCmd(no{px: 100, qty: 10, acct: "A1", cl: "rest1"}))
			for _, c := range cmds {
				if i == 1 {
					h.e.Hint(data)
					h.e.Hint(c)
				}
				outs[i] = append(outs[i], h.send(sT1, c)...)
			}
			digests[i] = h.e.Digest()
		}
		if len(outs[0]) != len(outs[1]) || digests[0] != digests[1] {
			t.Fatalf("hints changed the outcome:\n%q\n%q", outs[0], outs[1])
		}
		for j := range outs[0] {
			if outs[0][j] != outs[1][j] {
				t.Fatalf("report %d: %q, with hints %q", j, outs[0][j], outs[1][j])
			}
		}
	})
}

// A ClOrdID key's hash is the hash of its account's name and the id, so
// that a command's fields give it without resolving the account: the
// hash a command computes from its own fields is the one its order's
// record and index entry hold, and accounts of other names hash apart.
func TestClHashByAccountName(t *testing.T) {
	h := newHarness(t)
	h.send(sT1, newOrderCmd(no{px: 100, qty: 10, acct: "A1", cl: "o1"}))
	e := h.e
	acct, id := [accountNameBytes]byte{'A', '1'}, clOrdIDKey("o1")
	k := clKey{account: 0, id: id}
	want := hashClID(&acct, &id)
	if got := e.clKeyHash(&k); got != want {
		t.Fatalf("clKeyHash %#x, the command's fields hash to %#x", got, want)
	}
	r, _, ok := e.orders.byClOrdHashed(&k, want)
	if !ok || e.orders.at(r).clHash != want {
		t.Fatalf("order o1 not found by the hash of its command's fields (found %v)", ok)
	}
	other := [accountNameBytes]byte{'A', '2'}
	if hashClID(&other, &id) == want {
		t.Fatal("accounts A1 and A2 hash the same ClOrdID alike")
	}
	if err := e.Check(); err != nil {
		t.Fatal(err)
	}
}
