package engine

import (
	"bytes"
	"testing"
)

// smallRings lowers the remembered-order bounds for one test.
func smallRings(t *testing.T, finished, superseded int) {
	rememberedOrdersMax, supersededClOrdIDsMax = finished, superseded
	t.Cleanup(func() { rememberedOrdersMax, supersededClOrdIDsMax = RememberedOrdersMax, SupersededClOrdIDsMax })
}

func TestFinishedOrdersAreForgottenOldestFirst(t *testing.T) {
	smallRings(t, 2, 2)
	h := newHarness(t)
	for _, cl := range []string{"a", "b", "c"} {
		h.send(sT1, newOrderCmd(no{px: 100, qty: 1, acct: "A1", cl: cl}))
		h.send(sT1, cancelCmd(cx{acct: "A1", cl: "x" + cl, orig: cl}))
	}
	// a was pushed out by c; b and c are remembered.
	h.expect(h.send(sT1, statusCmd(1, "A1", "")),
		"s10 ER OrderStatus id=1 cl= st=Rejected px=0 qty=0 leaves=0 cum=0 reason=UnknownOrder")
	h.expect(h.send(sT1, cancelCmd(cx{acct: "A1", cl: "y", orig: "b"})),
		"s10 CXLREJ Cancel id=2 cl=y orig=b st=Canceled reason=TooLateToCancel")
	h.expect(h.send(sT1, newOrderCmd(no{px: 100, qty: 1, acct: "A1", cl: "c", flags: FlagPossResend})),
		"s10 ER OrderStatus id=3 cl=c st=Canceled px=100 qty=1 leaves=0 cum=0 reason=ClientRequest")
	h.restart()
	h.expect(h.send(sT1, statusCmd(2, "A1", "")),
		"s10 ER OrderStatus id=2 cl=b st=Canceled px=100 qty=1 leaves=0 cum=0 reason=ClientRequest")
}

func TestSupersededClOrdIDsAreForgottenOldestFirst(t *testing.T) {
	smallRings(t, 4, 2)
	h := newHarness(t)
	h.send(sT1, newOrderCmd(no{px: 100, qty: 9, acct: "A1", cl: "a"}))
	h.send(sT1, replaceCmd(cx{acct: "A1", cl: "b", orig: "a", px: 100, qty: 8}))
	h.send(sT1, replaceCmd(cx{acct: "A1", cl: "c", orig: "b", px: 100, qty: 7}))
	h.expect(h.send(sT1, cancelCmd(cx{acct: "A1", cl: "x", orig: "a"})),
		"s10 CXLREJ Cancel id=1 cl=x orig=a st=New reason=UnknownOrder")
	h.send(sT1, replaceCmd(cx{acct: "A1", cl: "d", orig: "c", px: 100, qty: 6}))
	// "a" is forgotten now: the reject cannot name the order any more.
	h.expect(h.send(sT1, cancelCmd(cx{acct: "A1", cl: "x", orig: "a"})),
		"s10 CXLREJ Cancel id=0 cl=x orig=a st=Rejected reason=UnknownOrder")
	h.expect(h.send(sT1, cancelCmd(cx{acct: "A1", cl: "x", orig: "b"})),
		"s10 CXLREJ Cancel id=1 cl=x orig=b st=New reason=UnknownOrder")
	// Replacing back to a superseded ClOrdID makes it current again.
	h.expect(h.send(sT1, replaceCmd(cx{acct: "A1", cl: "b", orig: "d", px: 100, qty: 5})),
		"s10 ER Replaced id=1 cl=b st=New px=100 qty=5 leaves=5 cum=0 orig=d")
	h.restart()
	h.expect(h.send(sT1, cancelCmd(cx{acct: "A1", cl: "z", orig: "b"})),
		"s10 ER Canceled id=1 cl=z st=Canceled px=100 qty=5 leaves=0 cum=0 orig=b reason=ClientRequest")
}

// The determinism run again with tiny rings, so that forgetting happens
// all the time, across snapshots too.
func TestDeterminismWithTinyRings(t *testing.T) {
	smallRings(t, 16, 8)
	log, recorded := recordLog(t, 7, 4000)
	for _, cut := range []int{len(log) / 4, len(log) / 2} {
		var before, after outRecorder
		e := newLogEngine(t, &before, nopTimers{})
		for j := range log[:cut] {
			apply(e, &log[j])
		}
		atCut := before.buf.Len()
		r := newLogEngine(t, &after, nopTimers{})
		if err := r.Restore(e.AppendSnapshot(nil)); err != nil {
			t.Fatal(err)
		}
		for j := cut; j < len(log); j++ {
			apply(r, &log[j])
			apply(e, &log[j])
		}
		if err := r.Check(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(before.buf.Bytes(), recorded.buf.Bytes()) {
			t.Fatal("the same log gave different output")
		}
		if r.Digest() != e.Digest() || !bytes.Equal(append(before.buf.Bytes()[:atCut:atCut], after.buf.Bytes()...), recorded.buf.Bytes()) {
			t.Fatalf("cut %d: restored run differs", cut)
		}
	}
}
