package engine

import (
	"encoding/binary"
	"testing"
)

func TestCancelOnDisconnectOfADirectSession(t *testing.T) {
	h := newHarness(t)
	h.send(sT1, newOrderCmd(no{px: 100, qty: 1, acct: "A1", cl: "day"}))
	h.send(sT1, newOrderCmd(no{px: 99, qty: 1, acct: "A1", cl: "gtc", tif: TimeInForceGTC}))
	h.send(sT1, newOrderCmd(no{inst: 2, px: 98, qty: 1, acct: "A3", cl: "day2"}))
	// The cancels are reported to the closing session, before it is
	// forgotten (the cluster drops them; the tap and a replay see them).
	h.expect(h.close(sT1),
		"s10 ER Canceled id=1 cl=day st=Canceled px=100 qty=1 leaves=0 cum=0 reason=CancelOnDisconnect",
		"s10 ER Canceled id=3 cl=day2 st=Canceled px=98 qty=1 leaves=0 cum=0 reason=CancelOnDisconnect")
	if h.e.Counters().Undeliverable != 0 {
		t.Fatalf("undeliverable %d", h.e.Counters().Undeliverable)
	}
	h.open(11, "T1")
	h.expect(h.send(11, statusCmd(1, "A1", "")),
		"s11 ER OrderStatus id=1 cl=day st=Canceled px=100 qty=1 leaves=0 cum=0 reason=CancelOnDisconnect")
	h.expect(h.send(11, statusCmd(2, "A1", "")),
		"s11 ER OrderStatus id=2 cl=gtc st=New px=99 qty=1 leaves=1 cum=0")
}

func TestReconnectBeforeTheOldSessionTimesOut(t *testing.T) {
	h := newHarness(t)
	h.send(sT1, newOrderCmd(no{px: 100, qty: 1, acct: "A1", cl: "day"}))
	h.open(11, "T1") // the trader reconnected; reports now go to 11
	h.expect(h.close(sT1))
	h.expect(h.send(sT2, newOrderCmd(no{side: SideSell, px: 100, qty: 1, acct: "A2", cl: "s"})),
		"s20 ER New id=2 cl=s st=New px=100 qty=1 leaves=1 cum=0",
		"s11 ER Trade id=1 cl=day st=Filled px=100 qty=1 leaves=0 cum=1 last=1@100 trade=1 aggr=0",
		"s20 ER Trade id=2 cl=s st=Filled px=100 qty=1 leaves=0 cum=1 last=1@100 trade=1 aggr=1")
}

func TestGatewayPrincipals(t *testing.T) {
	h := newHarness(t)
	h.send(sGW, sessionStatusCmd("G1", SessionStateLoggedOn, true, false))
	h.send(sGW, sessionStatusCmd("G2", SessionStateLoggedOn, false, false))
	h.send(sGW, newOrderCmd(no{px: 100, qty: 1, acct: "G1", cl: "g1", principal: "G1"}))
	h.send(sGW, newOrderCmd(no{px: 99, qty: 1, acct: "G2", cl: "g2", principal: "G2"}))
	h.expect(h.send(sGW, newOrderCmd(no{px: 99, qty: 1, acct: "G2", cl: "x", principal: "G1"})),
		"s30 ER Rejected id=0 cl=x st=Rejected px=99 qty=1 leaves=0 cum=0 reason=NotAuthorized")
	// G1 logs off with cancel-on-disconnect; G2 stays.
	h.expect(h.send(sGW, sessionStatusCmd("G1", SessionStateLoggedOff, false, false)),
		"s30 ER Canceled id=1 cl=g1 st=Canceled px=100 qty=1 leaves=0 cum=0 reason=CancelOnDisconnect",
		"s30 BREJ SessionStatus reason=None")
	h.send(sGW, sessionStatusCmd("G1", SessionStateLoggedOn, true, false))
	h.expect(h.send(sGW, statusWithPrincipal(1, "G1", "G1")),
		"s30 ER OrderStatus id=1 cl=g1 st=Canceled px=100 qty=1 leaves=0 cum=0 reason=CancelOnDisconnect")
	// The gateway restarts with a new cluster session: after its logons
	// the reports follow it.
	h.open(31, "GW")
	h.send(31, sessionStatusCmd("G2", SessionStateLoggedOn, false, false))
	h.expect(h.close(sGW))
	h.expect(h.send(sT1, newOrderCmd(no{side: SideSell, px: 99, qty: 1, acct: "A1", cl: "hit"})),
		"s10 ER New id=3 cl=hit st=New px=99 qty=1 leaves=1 cum=0",
		"s31 ER Trade id=2 cl=g2 st=Filled px=99 qty=1 leaves=0 cum=1 last=1@99 trade=1 aggr=0",
		"s10 ER Trade id=3 cl=hit st=Filled px=99 qty=1 leaves=0 cum=1 last=1@99 trade=1 aggr=1")
}

func statusWithPrincipal(id uint64, acct, principal string) []byte {
	b, m := AppendOrderStatusRequest(nil)
	m.SetOrderID(id)
	m.SetSide(SideBuy)
	m.SetInstrument(1)
	m.SetAccount(acct)
	m.SetPrincipal(principal)
	return b
}

func TestGatewayCloseCancelsForEveryPrincipalWithCOD(t *testing.T) {
	h := newHarness(t)
	h.send(sGW, sessionStatusCmd("G1", SessionStateLoggedOn, true, false))
	h.send(sGW, sessionStatusCmd("G2", SessionStateLoggedOn, false, false))
	h.send(sGW, newOrderCmd(no{px: 100, qty: 1, acct: "G1", cl: "g1", principal: "G1"}))
	h.send(sGW, newOrderCmd(no{px: 99, qty: 1, acct: "G2", cl: "g2", principal: "G2"}))
	h.close(sGW)
	if h.e.orders.live != 1 || h.e.principals[h.e.principalIdx.get1(key16("G2"))].live != 1 {
		t.Fatalf("live %d", h.e.orders.live)
	}
}

func key16(s string) (k [16]byte) { copy(k[:], s); return k }

func TestMassCancel(t *testing.T) {
	setup := func(t *testing.T) *harness {
		h := newHarness(t)
		h.send(sT1, newOrderCmd(no{inst: 1, px: 100, qty: 1, acct: "A1", cl: "a"}))
		h.send(sT1, newOrderCmd(no{inst: 2, px: 100, qty: 1, acct: "A1", cl: "b"}))
		h.send(sT1, newOrderCmd(no{inst: 1, px: 99, qty: 1, acct: "A3", cl: "c"}))
		h.send(sT2, newOrderCmd(no{inst: 1, px: 98, qty: 1, acct: "A2", cl: "d"}))
		return h
	}
	tests := []struct {
		name  string
		from  SessionID
		cmd   []byte
		want  string
		count int
	}{
		{"account", sT1, massCancelCmd(MassCancelScopeAccount, 0, "A1", "", "m"), "s10 MCR Account count=2 reason=None", 2},
		{"instrument", sT1, massCancelCmd(MassCancelScopeInstrument, 1, "", "", "m"), "s10 MCR Instrument count=2 reason=None", 2},
		{"account and instrument", sT1, massCancelCmd(MassCancelScopeAccountInstrument, 1, "A1", "", "m"), "s10 MCR AccountInstrument count=1 reason=None", 1},
		{"principal", sT1, massCancelCmd(MassCancelScopePrincipal, 0, "", "", "m"), "s10 MCR Principal count=3 reason=None", 3},
		{"admin instrument", sAdmin, massCancelCmd(MassCancelScopeInstrument, 1, "", "", "m"), "s1 MCR Instrument count=3 reason=None", 3},
		{"another's account", sT1, massCancelCmd(MassCancelScopeAccount, 0, "A2", "", "m"), "s10 MCR Account count=0 reason=NotAuthorized", 0},
		{"unknown instrument", sT1, massCancelCmd(MassCancelScopeInstrument, 9, "", "", "m"), "s10 MCR Instrument count=0 reason=UnknownInstrument", 0},
		{"bad ClOrdID", sT1, massCancelCmd(MassCancelScopeInstrument, 1, "", "", ""), "s10 MCR Instrument count=0 reason=Malformed", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := setup(t)
			got := h.send(tt.from, tt.cmd)
			if len(got) != tt.count+1 || got[len(got)-1] != tt.want {
				t.Fatalf("got %q", got)
			}
			for _, l := range got[:tt.count] {
				if !contains(l, "reason=MassCancel") {
					t.Fatalf("cancel report %q", l)
				}
			}
		})
	}
}

func contains(s, sub string) bool { return len(s) >= len(sub) && indexOf(s, sub) >= 0 }

func indexOf(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return i
		}
	}
	return -1
}

func TestBadMessagesAreRejectedNotCrashedOn(t *testing.T) {
	h := newHarness(t)
	valid := newOrderCmd(no{px: 1, qty: 1, acct: "A1", cl: "x"})
	mut := func(f func(b []byte)) []byte { b := append([]byte(nil), valid...); f(b); return b }
	report, _ := AppendExecutionReport(nil)
	tests := []struct {
		name string
		msg  []byte
		want string
	}{
		{"empty", nil, "s10 BREJ TemplateID(0) reason=Malformed"},
		{"unknown template", mut(func(b []byte) { binary.LittleEndian.PutUint16(b[2:], 300) }), "s10 BREJ TemplateID(300) reason=UnknownTemplate"},
		{"newer version", mut(func(b []byte) { binary.LittleEndian.PutUint16(b[6:], SchemaVersion+1) }), "s10 BREJ NewOrder reason=UnsupportedVersion"},
		{"truncated", valid[:len(valid)-1], "s10 BREJ NewOrder reason=Malformed"},
		{"bad enum", mut(func(b []byte) { b[HeaderLength+newOrderSideOffset] = 9 }), "s10 BREJ NewOrder reason=Malformed"},
		{"a report as a command", report, "s10 BREJ ExecutionReport reason=UnknownTemplate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.expect(h.send(sT1, tt.msg), tt.want)
		})
	}
	c := h.e.Counters()
	if c.Malformed != 3 || c.UnknownTemplate != 2 || c.NewerVersion != 1 {
		t.Fatalf("counters %+v", c)
	}
}

func TestSessionsBeyondTheLimitAreIgnored(t *testing.T) {
	h := newHarness(t)
	for i := len(h.e.sessions); i < SessionsMax; i++ {
		h.open(SessionID(1000+i), "T2")
	}
	h.open(99999, "T1")
	h.expect(h.send(99999, newOrderCmd(no{px: 1, qty: 1, acct: "A1", cl: "x"})),
		"s99999 ER Rejected id=0 cl=x st=Rejected px=1 qty=1 leaves=0 cum=0 reason=NotAuthorized")
	h.open(sT2, "T2") // a duplicate id is ignored too
	h.open(5, "bad name")
	if h.e.Counters().IgnoredSessions != 3 {
		t.Fatalf("ignored %d", h.e.Counters().IgnoredSessions)
	}
}

func TestPrincipalConfiguredAfterItsSessionOpened(t *testing.T) {
	h := newHarness(t)
	h.open(50, "LATE")
	h.mustAck(principalCmd("LATE", RoleTrader), accountCmd("L", "LATE", STPModeNone))
	h.expect(h.send(50, newOrderCmd(no{px: 1, qty: 1, acct: "L", cl: "x"})),
		"s50 ER New id=1 cl=x st=New px=1 qty=1 leaves=1 cum=0")
}

func TestAccountsAndPrincipalsAdmin(t *testing.T) {
	h := newHarness(t)
	h.expect(h.send(sT1, principalCmd("X", RoleAdmin)), "s10 BREJ SetPrincipal reason=NotAuthorized")
	h.expect(h.send(sAdmin, accountCmd("A9", "NOBODY", STPModeNone)), "s1 BREJ SetAccount reason=NotAuthorized")
	// Revoking a grant stops the principal trading the account.
	b, m := AppendSetAccount(nil)
	m.SetAccount("A3")
	m.SetPrincipal("T1")
	h.mustAck(b)
	h.expect(h.send(sT1, newOrderCmd(no{px: 1, qty: 1, acct: "A3", cl: "x"})),
		"s10 ER Rejected id=0 cl=x st=Rejected px=1 qty=1 leaves=0 cum=0 reason=NotAuthorized")
	for i := len(h.e.principals[h.e.principalIdx.get1(key16("T1"))].accounts); i < AccountsPerPrincipalMax; i++ {
		h.mustAck(accountCmd("X"+strconv3(i), "T1", STPModeNone))
	}
	h.expect(h.send(sAdmin, accountCmd("ONEMORE", "T1", STPModeNone)), "s1 BREJ SetAccount reason=LimitExceeded")
}

func strconv3(i int) string {
	return string([]byte{byte('0' + i/100), byte('0' + i/10%10), byte('0' + i%10)})
}

// When a gateway's cluster session closes, the cancels of the principals
// it carried are reported to it before it is forgotten.
func TestCancelOnDisconnectReportsGoToTheClosingGateway(t *testing.T) {
	h := newHarness(t)
	tap := &recTap{}
	h.e.tap = tap
	h.send(sGW, sessionStatusCmd("G1", SessionStateLoggedOn, true, false))
	h.send(sGW, sessionStatusCmd("G2", SessionStateLoggedOn, false, false))
	h.send(sGW, newOrderCmd(no{px: 100, qty: 1, acct: "G1", cl: "g1", principal: "G1"}))
	h.send(sGW, newOrderCmd(no{px: 99, qty: 1, acct: "G2", cl: "g2", principal: "G2"}))
	n := len(tap.lines)
	want := "s30 ER Canceled id=1 cl=g1 st=Canceled px=100 qty=1 leaves=0 cum=0 reason=CancelOnDisconnect"
	h.expect(h.close(sGW), want)
	h.expect(tap.lines[n:], want)
	if c := h.e.Counters(); c.Undeliverable != 0 {
		t.Fatalf("undeliverable %d", c.Undeliverable)
	}
}

// A SessionStatus is acknowledged to its sender once applied (a
// BusinessReject with Reason None naming the principal), so a gateway
// knows its ResetSeq logon is in the log; a refused one is a reject.
func TestSessionStatusIsAcknowledged(t *testing.T) {
	h := newHarness(t)
	h.eg.raw = nil
	h.expect(h.send(sGW, sessionStatusCmd("G1", SessionStateLoggedOn, true, true)),
		"s30 BREJ SessionStatus reason=None")
	if r := lastBusinessReject(t, h); string(r.Principal()) != "G1" {
		t.Fatalf("ack names %q", r.Principal())
	}
	h.expect(h.send(sGW, sessionStatusCmd("T9", SessionStateLoggedOn, false, false)),
		"s30 BREJ SessionStatus reason=NotAuthorized")
	h.expect(h.send(sGW, sessionStatusCmd("G1", SessionStateLoggedOff, false, false)),
		"s30 BREJ SessionStatus reason=None")
}

func listCmd(principal, id string) []byte {
	b, m := AppendInstrumentListRequest(nil)
	m.SetPrincipal(principal)
	m.SetRequestID(id)
	return b
}

// A Gateway may ask for the instrument list for itself (no Principal, or
// its own name), not only for a Trader it carries; other principals it may
// not name.
func TestGatewayAsksForTheInstrumentListForItself(t *testing.T) {
	h := newHarness(t)
	defs := []string{"s30 DEF 1 ALPHA Open last=0", "s30 DEF 2 BETA Open last=1"}
	h.expect(h.send(sGW, listCmd("", "l1")), defs...)
	h.expect(h.send(sGW, listCmd("GW", "l2")), defs...)
	h.expect(h.send(sGW, listCmd("G1", "l3")), defs...)
	h.expect(h.send(sGW, listCmd("ADMIN", "l4")), "s30 BREJ InstrumentListRequest reason=NotAuthorized")
	h.expect(h.send(sT1, listCmd("GW", "l5")), "s10 BREJ InstrumentListRequest reason=NotAuthorized")
	h.expect(h.send(sT1, listCmd("", "l6")), "s10 DEF 1 ALPHA Open last=0", "s10 DEF 2 BETA Open last=1")
}
