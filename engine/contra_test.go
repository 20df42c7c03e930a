package engine

import "testing"

// reportsOf decodes the ExecutionReports among raw concatenated reports.
func reportsOf(t *testing.T, raw []byte) []ExecutionReport {
	t.Helper()
	var out []ExecutionReport
	for len(raw) > 0 {
		tid, body, err := Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		if tid == TemplateExecutionReport {
			out = append(out, ExecutionReport(body))
		}
		raw = raw[HeaderLength+len(body):]
	}
	return out
}

// Each side's Trade report names the other side's order, and only Trade
// reports name one; the counterparty's account is not on it.
func TestTradeReportsNameTheContraOrder(t *testing.T) {
	h := newHarness(t)
	h.send(sT1, newOrderCmd(no{px: 100, qty: 1, acct: "A1", cl: "m1"}))
	h.send(sT1, newOrderCmd(no{px: 100, qty: 1, acct: "A1", cl: "m2"}))
	h.eg.raw = nil
	h.send(sT2, newOrderCmd(no{side: SideSell, px: 100, qty: 2, acct: "A2", cl: "t"}))
	type want struct {
		et            ExecType
		order, contra uint64
		account       string
	}
	wants := []want{
		{ExecTypeNew, 3, 0, "A2"},
		{ExecTypeTrade, 1, 3, "A1"},
		{ExecTypeTrade, 3, 1, "A2"},
		{ExecTypeTrade, 2, 3, "A1"},
		{ExecTypeTrade, 3, 2, "A2"},
	}
	got := reportsOf(t, h.eg.raw)
	if len(got) != len(wants) {
		t.Fatalf("%d reports, want %d", len(got), len(wants))
	}
	for i, w := range wants {
		r := got[i]
		if r.ExecType() != w.et || r.OrderID() != w.order || r.ContraOrderID() != w.contra || string(r.Account()) != w.account {
			t.Errorf("report %d: %v order %d contra %d account %s, want %+v", i, r.ExecType(), r.OrderID(), r.ContraOrderID(), r.Account(), w)
		}
	}
}
