package engine

import (
	"bytes"
	"testing"
)

// recTap records what the report tap sees, as the harness renders it.
type recTap struct {
	lines []string
	raw   []byte
}

func (r *recTap) OnReport(s SessionID, msg []byte) {
	r.raw = append(r.raw, msg...)
	r.lines = append(r.lines, (&recEgress{}).line(s, msg))
}

// The tap sees every report, with the bytes Egress got, and also those
// for a principal with no session, which Egress never sees.
func TestReportTapSeesUndeliverableReports(t *testing.T) {
	h := newHarness(t)
	tap := &recTap{}
	h.e.tap = tap
	h.send(sT1, newOrderCmd(no{px: 100, qty: 2, acct: "A1", cl: "b", tif: TimeInForceGTC}))
	h.close(sT1)
	h.eg.raw = nil
	h.expect(h.send(sT2, newOrderCmd(no{side: SideSell, px: 100, qty: 1, acct: "A2", cl: "s"})),
		"s20 ER New id=2 cl=s st=New px=100 qty=1 leaves=1 cum=0",
		"s20 ER Trade id=2 cl=s st=Filled px=100 qty=1 leaves=0 cum=1 last=1@100 trade=1 aggr=1")
	n := len(tap.lines)
	h.expect(tap.lines[n-3:],
		"s20 ER New id=2 cl=s st=New px=100 qty=1 leaves=1 cum=0",
		"s0 ER Trade id=1 cl=b st=PartiallyFilled px=100 qty=2 leaves=1 cum=1 last=1@100 trade=1 aggr=0",
		"s20 ER Trade id=2 cl=s st=Filled px=100 qty=1 leaves=0 cum=1 last=1@100 trade=1 aggr=1")
	if h.e.Counters().Undeliverable != 1 {
		t.Fatalf("undeliverable %d", h.e.Counters().Undeliverable)
	}
	// Same bytes: the delivered reports are in the tap's stream too.
	if !bytes.Contains(tap.raw, h.eg.raw[:len(h.eg.raw)/2]) {
		t.Fatal("the tap got other bytes than Egress")
	}
}

// Config.ReportTap reaches the engine.
func TestReportTapFromConfig(t *testing.T) {
	tap := &recTap{}
	e, err := New(Config{BootstrapAdmin: "ADMIN", ReportTap: tap})
	if err != nil {
		t.Fatal(err)
	}
	e.OnSessionOpen(1, []byte("ADMIN"), 64, 1)
	e.OnSessionMessage(1, 128, 1, principalCmd("T1", RoleTrader))
	if len(tap.lines) != 1 || tap.lines[0] != "s1 BREJ SetPrincipal reason=None" {
		t.Fatalf("tap: %q", tap.lines)
	}
}
