package engine

import (
	"bytes"
	"testing"
)

// tagLogCommands is the length of the generated log the tag tests replay.
const tagLogCommands = 4000

// replayTail restores snap into a new engine, lets mangle change the
// restored engine (nil: nothing), applies the rest of the log, and returns
// the engine, its output and the trades it made.
func replayTail(t *testing.T, snap []byte, tail []logEntry, mangle func(*Engine)) (*Engine, []byte, uint64) {
	t.Helper()
	var out outRecorder
	r := newLogEngine(t, &out, nopTimers{})
	if err := r.OnStart(snap); err != nil {
		t.Fatal(err)
	}
	if mangle != nil {
		mangle(r)
	}
	trades := r.nextTradeID
	for j := range tail {
		apply(r, &tail[j])
	}
	return r, out.buf.Bytes(), r.nextTradeID - trades
}

// TestRestoreRetagsRestingOrders: a book snapshot holds no maker tags, so
// Restore tags every resting order with its record again. After a restore
// every trade finds its maker by the tag (no misses), and the output and
// digest are those of an engine that never stopped.
func TestRestoreRetagsRestingOrders(t *testing.T) {
	log, _ := recordLog(t, 7, tagLogCommands)
	var whole outRecorder
	w := newLogEngine(t, &whole, nopTimers{})
	for j := range log {
		apply(w, &log[j])
	}
	if n := w.Counters().MakerTagMisses; n != 0 {
		t.Fatalf("an engine that never stopped missed %d maker tags", n)
	}
	for _, cut := range []int{len(log) / 4, len(log) / 2} {
		var before outRecorder
		e := newLogEngine(t, &before, nopTimers{})
		for j := range log[:cut] {
			apply(e, &log[j])
		}
		snap := e.AppendSnapshot(nil)
		r, _, _ := replayTail(t, snap, nil, nil)
		if err := r.Check(); err != nil { // includes: each resting order is tagged with its record
			t.Fatalf("cut %d: restored engine: %v", cut, err)
		}
		r, after, trades := replayTail(t, snap, log[cut:], nil)
		if trades == 0 {
			t.Fatalf("cut %d: no trades after the restore: the test proves nothing", cut)
		}
		if n := r.Counters().MakerTagMisses; n != 0 {
			t.Fatalf("cut %d: %d of %d trades after the restore missed the maker tag", cut, n, trades)
		}
		if err := r.Check(); err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		if r.Digest() != w.Digest() || !bytes.Equal(append(before.buf.Bytes(), after...), whole.buf.Bytes()) {
			t.Fatalf("cut %d: the restored engine's output or digest differs from the one that never stopped", cut)
		}
	}
}

// TestWrongMakerTagsChangeNothing gives the restored books' resting orders
// wrong tags (none, one past the slab, another order's record, a
// superseded-kind reference): the trades fall back to the id lookup, and
// output and digest are unchanged.
func TestWrongMakerTagsChangeNothing(t *testing.T) {
	log, _ := recordLog(t, 11, tagLogCommands)
	cut := len(log) / 2
	var before, whole outRecorder
	e := newLogEngine(t, &before, nopTimers{})
	w := newLogEngine(t, &whole, nopTimers{})
	for j := range log {
		if j < cut {
			apply(e, &log[j])
		}
		apply(w, &log[j])
	}
	snap := e.AppendSnapshot(nil)
	retagged := 0
	r, after, trades := replayTail(t, snap, log[cut:], func(r *Engine) {
		s := &r.orders
		var prev orderRef // the previous live order's record: another order's
		for i := range s.records {
			o := &s.records[i]
			if !s.held(o) || o.done() {
				continue
			}
			wrong := [...]uint32{0, uint32(recordRef(int32(len(s.records)))), uint32(prev), uint32(supersededRef(i)), 1<<32 - 1}[retagged%5]
			if !r.instrument(o.instrument).book.SetTag(orderIDToBook(o.id), wrong) {
				t.Fatalf("order %d does not rest in its book", o.id)
			}
			prev = recordRef(int32(i))
			retagged++
		}
	})
	if retagged == 0 || trades == 0 {
		t.Fatalf("%d orders retagged, %d trades: the test proves nothing", retagged, trades)
	}
	if r.Counters().MakerTagMisses == 0 {
		t.Fatal("no trade missed its maker tag")
	}
	if r.Digest() != w.Digest() || !bytes.Equal(append(before.buf.Bytes(), after...), whole.buf.Bytes()) {
		t.Fatal("wrong maker tags changed the output or the digest")
	}
}
