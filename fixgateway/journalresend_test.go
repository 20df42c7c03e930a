package fixgateway_test

import (
	"fmt"
	"testing"

	"github.com/quickfixgo/quickfix"

	"venue/fixgateway"
)

// sameStoreFactory gives every session the one store it holds, so that a
// second client carries on the first one's numbering.
type sameStoreFactory struct{ s quickfix.MessageStore }

func (f sameStoreFactory) Create(quickfix.SessionID) (quickfix.MessageStore, error) { return f.s, nil }

// TestJournalBoundedResend: a gateway whose journal keeps 64 KiB per
// session sends ~400 execution reports (several times that), then its
// client comes back having lost them all (expecting MsgSeqNum 2) and asks
// for a resend from there. quickfixgo's resend over the bounded journal
// answers with a gap fill for what is no longer kept, then the kept
// reports (PossDupFlag=Y), oldest first, up to the last; and the session
// carries on.
func TestJournalBoundedResend(t *testing.T) {
	const orders = 400
	v := newVenue(t)
	g := startGateway(t, gwSetup{venue: v, sessions: []string{"DEMO1"},
		extra: fmt.Sprintf("FileStoreSync=N\n%s=%d\n", fixgateway.KeyJournalRetainBytes, 64<<10)})
	store, err := quickfix.NewMemoryStoreFactory().Create(quickfix.SessionID{})
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, clientSetup{compID: "DEMO1", port: g.port, store: sameStoreFactory{store}})
	eventually(t, "logon", c.loggedOn.Load)
	settled(t, g)
	for i := 1; i <= orders; i++ {
		c.send("D", fmt.Sprintf("11=k%d", i), "55=ALPHA", "54=1", "38=10", "40=2", "44=99.00")
		if i%100 == 0 { // within the client's receive buffer
			for k := i - 99; k <= i; k++ {
				c.expect("8", fmt.Sprintf("11=k%d", k), "150=0")
			}
		}
	}
	c.stop()
	eventually(t, "logout", func() bool { return !c.loggedOn.Load() })
	// The client lost every report: it expects the gateway's MsgSeqNum 2
	// (after the first Logon) and asks for a resend on the next Logon.
	if err := store.SetNextTargetMsgSeqNum(2); err != nil {
		t.Fatal(err)
	}
	c2 := newClient(t, clientSetup{compID: "DEMO1", port: g.port, store: sameStoreFactory{store}})
	eventually(t, "logon again", c2.loggedOn.Load)
	first := 0
	for k := 0; ; k++ {
		m := c2.next()
		if m == nil {
			t.Fatalf("resend stopped after %d reports (first k%d)", k, first)
		}
		if !m.IsMsgTypeOf("8") {
			continue
		}
		id, _ := m.Body.GetString(11)
		var n int
		if _, err := fmt.Sscanf(id, "k%d", &n); err != nil {
			t.Fatalf("report for %q", id)
		}
		if pd, _ := m.Header.GetBool(43); !pd {
			t.Fatalf("report for %s resent without PossDupFlag", id)
		}
		if k == 0 {
			first = n
			if first <= 1 {
				t.Fatalf("first resent report k%d: want the oldest no longer kept", first)
			}
		} else if n != first+k {
			t.Fatalf("resent report %d is for k%d, want k%d", k, n, first+k)
		}
		if n == orders {
			break
		}
	}
	if kept := orders - first + 1; kept*200 > 64<<10 || kept < 100 {
		t.Fatalf("%d reports kept: not what a 64 KiB bound keeps", kept)
	}
	c2.send("D", "11=after", "55=ALPHA", "54=1", "38=10", "40=2", "44=99.00")
	// Answered in sequence, not as a resend: the client caught up.
	c2.expect("8", "11=after", "150=0", "43=-")
}
