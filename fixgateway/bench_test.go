package fixgateway

import (
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"

	"venue/engine"
)

// BenchmarkTranslateNewOrder: a NewOrderSingle into an engine command.
func BenchmarkTranslateNewOrder(b *testing.B) {
	tr := fuzzTranslator()
	m := quickfix.NewMessage()
	m.Header.SetString(tagMsgType, msgTypeNewOrderSingle)
	for _, f := range []struct {
		t quickfix.Tag
		v string
	}{{tagClOrdID, "123456"}, {tagSymbol, "ALPHA"}, {tagSide, "1"}, {tagOrderQty, "10"}, {tagOrdType, "2"},
		{tagPrice, "99.25"}, {tagTimeInForce, "0"}} {
		m.Body.SetString(f.t, f.v)
	}
	m.Body.SetField(tagTransactTime, quickfix.FIXUTCTimestamp{Time: time.Unix(1e9, 0)})
	buf := make([]byte, 0, commandBufferBytes)
	b.ReportAllocs()
	for b.Loop() {
		if _, rej := tr.translate(m, msgTypeNewOrderSingle, 7, resendFlag(m), buf); rej != nil {
			b.Fatal(rej.text)
		}
	}
}

// BenchmarkExecReportFIX: an engine ExecutionReport New spelled in FIX
// and built into bytes, as the sender does before quickfixgo stores it.
func BenchmarkExecReportFIX(b *testing.B) {
	table := fuzzTranslator().instruments
	buf, r := engine.AppendExecutionReport(nil)
	r.SetExecType(engine.ExecTypeNew)
	r.SetOrdStatus(engine.OrdStatusNew)
	r.SetInstrument(1)
	r.SetOrderID(123456)
	r.SetExecID(987654)
	r.SetQuantity(10)
	r.SetLeavesQty(10)
	r.SetPrice(9925)
	r.SetOrdType(engine.OrdTypeLimit)
	r.SetClusterTime(time.Now().UnixNano())
	r.SetClOrdIDBytes([]byte("123456"))
	r.SetAccountBytes([]byte("DEMO1"))
	r.SetPrincipalBytes([]byte("DEMO1"))
	_, body, err := engine.Decode(buf)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("new", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if execReportFIX(engine.ExecutionReport(body), table).String() == "" {
				b.Fatal("empty")
			}
		}
	})
	b.Run("reused", func(b *testing.B) {
		m := quickfix.NewMessage()
		b.ReportAllocs()
		for b.Loop() {
			if spellExecReport(m, engine.ExecutionReport(body), table).String() == "" {
				b.Fatal("empty")
			}
		}
	})
	b.Run("wire+header", func(b *testing.B) { // and the header quickfixgo fills when it sends
		m := quickfix.NewMessage()
		var w wireBody
		now := quickfix.FIXUTCTimestamp{Time: time.Now()}
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			spellExecReportWire(m, engine.ExecutionReport(body), table, &w)
			m.Header.SetString(quickfix.Tag(8), "FIX.4.4")
			m.Header.SetString(quickfix.Tag(49), "VENUE")
			m.Header.SetString(quickfix.Tag(56), "DEMO1")
			m.Header.SetField(quickfix.Tag(52), now)
			m.Header.SetInt(quickfix.Tag(34), i+1)
			if m.String() == "" {
				b.Fatal("empty")
			}
		}
	})
	b.Run("wire", func(b *testing.B) { // what the senders do: the body in one field
		m := quickfix.NewMessage()
		var w wireBody
		b.ReportAllocs()
		for b.Loop() {
			if spellExecReportWire(m, engine.ExecutionReport(body), table, &w).String() == "" {
				b.Fatal("empty")
			}
		}
	})
}
