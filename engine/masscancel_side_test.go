package engine

import "testing"

// massCancelSideCmd is a MassCancel limited to one side (0: both).
func massCancelSideCmd(scope MassCancelScope, inst uint32, acct, principal string, side Side) []byte {
	b := massCancelCmd(scope, inst, acct, principal, "mc")
	MassCancel(b[HeaderLength:]).SetSide(side)
	return b
}

// A MassCancel with a Side cancels only that side's orders, in every
// scope; Side 0 cancels both; an unknown Side is malformed.
func TestMassCancelHonoursSide(t *testing.T) {
	cases := []struct {
		name  string
		cmd   []byte
		lines []string
	}{
		{"account, sells", massCancelSideCmd(MassCancelScopeAccount, 0, "A1", "", SideSell), []string{
			"s10 ER Canceled id=2 cl=s1 st=Canceled px=110 qty=1 leaves=0 cum=0 reason=MassCancel",
			"s10 ER Canceled id=4 cl=s2 st=Canceled px=110 qty=1 leaves=0 cum=0 reason=MassCancel",
			"s10 MCR Account count=2 reason=None"}},
		{"account+instrument, buys", massCancelSideCmd(MassCancelScopeAccountInstrument, 2, "A1", "", SideBuy), []string{
			"s10 ER Canceled id=3 cl=b2 st=Canceled px=90 qty=1 leaves=0 cum=0 reason=MassCancel",
			"s10 MCR AccountInstrument count=1 reason=None"}},
		{"instrument, sells", massCancelSideCmd(MassCancelScopeInstrument, 1, "", "", SideSell), []string{
			"s10 ER Canceled id=2 cl=s1 st=Canceled px=110 qty=1 leaves=0 cum=0 reason=MassCancel",
			"s10 MCR Instrument count=1 reason=None"}},
		{"principal, buys", massCancelSideCmd(MassCancelScopePrincipal, 0, "", "", SideBuy), []string{
			"s10 ER Canceled id=1 cl=b1 st=Canceled px=90 qty=1 leaves=0 cum=0 reason=MassCancel",
			"s10 ER Canceled id=3 cl=b2 st=Canceled px=90 qty=1 leaves=0 cum=0 reason=MassCancel",
			"s10 MCR Principal count=2 reason=None"}},
		{"instrument, both", massCancelSideCmd(MassCancelScopeInstrument, 1, "", "", 0), []string{
			"s10 ER Canceled id=1 cl=b1 st=Canceled px=90 qty=1 leaves=0 cum=0 reason=MassCancel",
			"s10 ER Canceled id=2 cl=s1 st=Canceled px=110 qty=1 leaves=0 cum=0 reason=MassCancel",
			"s10 MCR Instrument count=2 reason=None"}},
		{"bad side", massCancelSideCmd(MassCancelScopeAccount, 0, "A1", "", 3), []string{
			"s10 BREJ MassCancel reason=Malformed"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			h.send(sT1, newOrderCmd(no{px: 90, qty: 1, acct: "A1", cl: "b1"}))
			h.send(sT1, newOrderCmd(no{side: SideSell, px: 110, qty: 1, acct: "A1", cl: "s1"}))
			h.send(sT1, newOrderCmd(no{inst: 2, px: 90, qty: 1, acct: "A1", cl: "b2"}))
			h.send(sT1, newOrderCmd(no{inst: 2, side: SideSell, px: 110, qty: 1, acct: "A1", cl: "s2"}))
			h.expect(h.send(sT1, c.cmd), c.lines...)
		})
	}
}

// A MassCancel written before Side was appended (a log from then) still
// applies, to both sides; a block shorter still is malformed.
func TestMassCancelFromBeforeSideStillApplies(t *testing.T) {
	h := newHarness(t)
	h.send(sT1, newOrderCmd(no{px: 90, qty: 1, acct: "A1", cl: "b1"}))
	h.send(sT1, newOrderCmd(no{side: SideSell, px: 110, qty: 1, acct: "A1", cl: "s1"}))
	old := func(blockLength int) []byte {
		b := massCancelCmd(MassCancelScopeAccount, 0, "A1", "", "mc")
		b = b[:HeaderLength+blockLength]
		b[0], b[1] = byte(blockLength), byte(blockLength>>8)
		return b
	}
	h.expect(h.send(sT1, old(massCancelBlockLengthBeforeSide-1)), "s10 BREJ MassCancel reason=Malformed")
	h.expect(h.send(sT1, old(massCancelBlockLengthBeforeSide)),
		"s10 ER Canceled id=1 cl=b1 st=Canceled px=90 qty=1 leaves=0 cum=0 reason=MassCancel",
		"s10 ER Canceled id=2 cl=s1 st=Canceled px=110 qty=1 leaves=0 cum=0 reason=MassCancel",
		"s10 MCR Account count=2 reason=None")
}
