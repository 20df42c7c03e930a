package fixgateway

import (
	"bytes"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"

	"venue/engine"
)

// sameOnWire checks that the ExecutionReport r spelled with its body in one
// field (spellExecReportWire) reads back, once on the wire, field for field
// as the one spelled field by field (spellExecReport, the reference).
// With lenient, a reference that quickfixgo cannot parse back (an empty
// value, from arbitrary input) is no failure.
func sameOnWire(t *testing.T, r engine.ExecutionReport, table *instrumentTable, lenient bool) {
	t.Helper()
	var w wireBody
	fm := spellExecReportWire(quickfix.NewMessage(), r, table, &w)
	rm := spellExecReport(quickfix.NewMessage(), r, table)
	for _, m := range []*quickfix.Message{fm, rm} {
		m.Header.SetString(8, BeginStringFIX44) // quickfixgo's sessions add the header
	}
	fast, ref := fm.String(), rm.String()
	got, want := quickfix.NewMessage(), quickfix.NewMessage()
	if err := quickfix.ParseMessage(want, bytes.NewBufferString(ref)); err != nil {
		if lenient {
			return
		}
		t.Fatalf("reference %q does not parse: %v", ref, err)
	}
	if err := quickfix.ParseMessage(got, bytes.NewBufferString(fast)); err != nil {
		t.Fatalf("wire form %q does not parse: %v", fast, err)
	}
	if len(got.Body.Tags()) != len(want.Body.Tags()) || len(fast) != len(ref) {
		t.Fatalf("wire form %q, reference %q", fast, ref)
	}
	for _, tag := range want.Body.Tags() {
		g, err1 := got.Body.GetBytes(tag)
		v, err2 := want.Body.GetBytes(tag)
		if err1 != nil || err2 != nil || !bytes.Equal(g, v) {
			t.Fatalf("tag %d: wire form %q, reference %q\n%q\n%q", tag, g, v, fast, ref)
		}
	}
}

// TestExecReportWire: every kind of ExecutionReport comes out the same on
// the wire through either speller; a value holding SOH falls back to
// spelling field by field.
func TestExecReportWire(t *testing.T) {
	table := fuzzTranslator().instruments
	for _, c := range []struct {
		name string
		set  func(r engine.ExecutionReport)
	}{
		{"new", func(r engine.ExecutionReport) {
			r.SetExecType(engine.ExecTypeNew)
			r.SetOrdType(engine.OrdTypeLimit)
			r.SetPrice(9925)
		}},
		{"no order id", func(r engine.ExecutionReport) {
			r.SetExecType(engine.ExecTypeRejected)
			r.SetReason(engine.ReasonUnknownInstrument)
		}},
		{"trade", func(r engine.ExecutionReport) {
			r.SetExecType(engine.ExecTypeTrade)
			r.SetOrdStatus(engine.OrdStatusPartiallyFilled)
			r.SetLastPx(10001)
			r.SetLastQty(3)
			r.SetTradeID(77)
			r.SetCumQty(3)
			r.SetCumNotional(30003)
		}},
		{"replaced, post-only", func(r engine.ExecutionReport) {
			r.SetExecType(engine.ExecTypeReplaced)
			r.SetOrigClOrdIDBytes([]byte("old"))
			r.SetFlags(flagPostOnly)
		}},
		{"unknown instrument", func(r engine.ExecutionReport) { r.SetInstrument(99) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			buf, r := engine.AppendExecutionReport(nil)
			r.SetInstrument(1)
			r.SetOrderID(12345)
			r.SetExecID(678)
			r.SetQuantity(10)
			r.SetLeavesQty(10)
			r.SetClusterTime(time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC).UnixNano())
			r.SetClOrdIDBytes([]byte("c1"))
			r.SetAccountBytes([]byte("DEMO1"))
			if c.name == "no order id" {
				r.SetOrderID(0)
			}
			c.set(r)
			_, body, err := engine.Decode(buf)
			if err != nil {
				t.Fatal(err)
			}
			sameOnWire(t, engine.ExecutionReport(body), table, false)
		})
	}
	t.Run("SOH in a value", func(t *testing.T) {
		buf, r := engine.AppendExecutionReport(nil)
		r.SetClOrdIDBytes([]byte("a\x01b"))
		_, body, _ := engine.Decode(buf)
		var w wireBody
		m := spellExecReportWire(quickfix.NewMessage(), engine.ExecutionReport(body), table, &w)
		if !w.bad || len(m.Body.Tags()) < 10 {
			t.Fatalf("bad %v, %d body fields: want the field-by-field fallback", w.bad, len(m.Body.Tags()))
		}
	})
}

// FuzzExecReportWire: for any ExecutionReport the engine's codec accepts
// whose values hold no SOH, both spellers agree on the wire.
func FuzzExecReportWire(f *testing.F) {
	buf, r := engine.AppendExecutionReport(nil)
	r.SetExecType(engine.ExecTypeNew)
	r.SetClOrdIDBytes([]byte("o1"))
	f.Add(buf) // a New
	buf, r = engine.AppendExecutionReport(nil)
	r.SetExecType(engine.ExecTypeTrade)
	r.SetCumQty(3)
	r.SetCumNotional(30001)
	f.Add(buf)          // a trade
	f.Add([]byte{1, 2}) // truncated
	table := fuzzTranslator().instruments
	f.Fuzz(func(t *testing.T, msg []byte) {
		tmpl, body, err := engine.Decode(msg)
		if err != nil || tmpl != engine.TemplateExecutionReport {
			return
		}
		r := engine.ExecutionReport(body)
		for _, v := range [][]byte{r.ClOrdID(), r.OrigClOrdID(), r.Account()} {
			if bytes.IndexByte(v, soh) >= 0 {
				return // the fallback: tested above
			}
		}
		sameOnWire(t, r, table, true)
	})
}
