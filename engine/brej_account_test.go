package engine

import "testing"

// lastBusinessReject decodes the last report h's egress got, which must be
// a BusinessReject.
func lastBusinessReject(t *testing.T, h *harness) BusinessReject {
	t.Helper()
	raw := h.eg.raw
	var last []byte
	for len(raw) > 0 {
		tid, body, err := Decode(raw)
		if err != nil {
			t.Fatal(err)
		}
		if tid == TemplateBusinessReject {
			last = body
		} else {
			last = nil
		}
		raw = raw[HeaderLength+len(body):]
	}
	if last == nil {
		t.Fatal("the last report is not a BusinessReject")
	}
	return BusinessReject(last)
}

// A refused command's BusinessReject names the account and instrument the
// command carried, so per-account counts see it.
func TestBusinessRejectCarriesAccountAndInstrument(t *testing.T) {
	h := newHarness(t)
	cases := []struct {
		name       string
		s          SessionID
		cmd        []byte
		reason     Reason
		account    string
		instrument uint32
	}{
		{"new order", sGW, newOrderCmd(no{seq: 7, inst: 2, px: 100, qty: 1, acct: "G1", cl: "a", principal: "G1"}), ReasonNone, "", 0},
		{"duplicate new order", sGW, newOrderCmd(no{seq: 7, inst: 2, px: 100, qty: 1, acct: "G1", cl: "b", principal: "G1"}), ReasonDuplicateMessage, "G1", 2},
		{"duplicate cancel", sGW, cancelCmd(cx{seq: 6, inst: 2, acct: "G1", cl: "c", orig: "zz", princ: "G1"}), ReasonDuplicateMessage, "G1", 2},
		{"duplicate replace", sGW, replaceCmd(cx{seq: 5, inst: 2, acct: "G1", cl: "r", orig: "zz", princ: "G1", px: 1, qty: 1}), ReasonDuplicateMessage, "G1", 2},
		{"duplicate mass cancel", sGW, withSeq(massCancelCmd(MassCancelScopeAccountInstrument, 2, "G1", "G1", "m"), 4), ReasonDuplicateMessage, "G1", 2},
		{"set account", sAdmin, accountCmd("A9", "T1", STPModeNone), ReasonNone, "A9", 0},
		{"set account unauthorized", sT1, accountCmd("A9", "T1", STPModeNone), ReasonNotAuthorized, "A9", 0},
		{"trading state", sAdmin, stateCmd(2, TradingStateHalted, 0), ReasonNone, "", 2},
		{"instrument", sAdmin, instrumentCmd(3, "GAMMA", TradingStateOpen), ReasonNone, "", 3},
	}
	for _, c := range cases {
		h.eg.raw = nil
		h.send(c.s, c.cmd)
		if c.name == "new order" {
			continue // accepted: an ExecutionReport
		}
		r := lastBusinessReject(t, h)
		if r.Reason() != c.reason || string(r.Account()) != c.account || r.Instrument() != c.instrument {
			t.Errorf("%s: reason %v account %q instrument %d, want %v %q %d",
				c.name, r.Reason(), r.Account(), r.Instrument(), c.reason, c.account, c.instrument)
		}
	}
}

// withSeq sets a MassCancel's SenderSeq.
func withSeq(msg []byte, seq uint64) []byte {
	MassCancel(msg[HeaderLength:]).SetSenderSeq(seq)
	return msg
}
