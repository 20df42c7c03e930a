package fixgateway_test

import (
	"bufio"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"

	"venue/engine"
)

// TestLogonRejected: a wrong or missing password gets a Logout with the
// reason and is counted; an unknown CompID is dropped and counted.
func TestLogonRejected(t *testing.T) {
	v := newVenue(t)
	g := startGateway(t, gwSetup{venue: v})
	// quickfixgo's initiator does not surface a Logout received in answer
	// to its Logon, so the wire is checked with a raw client.
	for _, pw := range []string{"wrong", ""} {
		reply := rawLogon(t, g.port, "DEMO1", pw)
		if !strings.Contains(reply, "|35=5|") || !strings.Contains(reply, "|58=invalid password|") {
			t.Fatalf("password %q: got %q, want a Logout saying invalid password", pw, reply)
		}
	}
	if n := g.Stats().LogonsRejected; n != 2 {
		t.Fatalf("rejected logons counted %d, want 2", n)
	}
	bad := newClient(t, clientSetup{compID: "DEMO2", password: "wrong", port: g.port})
	eventually(t, "third rejected logon counted", func() bool { return g.Stats().LogonsRejected >= 3 })
	bad.stop()
	if bad.logons.Load() != 0 {
		t.Fatal("logged on with a wrong password")
	}

	stranger := newClient(t, clientSetup{compID: "NOBODY", port: g.port})
	eventually(t, "unknown CompID counted", func() bool { return g.Stats().UnknownCompIDs >= 1 })
	stranger.stop()
	if stranger.logons.Load() != 0 {
		t.Fatal("unknown CompID logged on")
	}

	// The right password still works.
	good := connect(t, g, "DEMO1")
	good.send("D", "11=ok", "55=ALPHA", "54=1", "38=1", "40=2", "44=100.00")
	good.expect("8", "11=ok", "150=0")
}

// TestCancelOnDisconnect: a session configured for it loses its resting
// DAY orders when it disconnects (the engine cancels them through the
// log); GTC orders and other sessions' orders stay. The engine reports
// the cancels to the principal's session, which it has just cleared, so
// they are not delivered: the client asks for status after its next logon.
func TestCancelOnDisconnect(t *testing.T) {
	v := newVenue(t)
	g := startGateway(t, gwSetup{venue: v, perSess: map[string]string{"DEMO1": "VenueCancelOnDisconnect=Y\n"}})
	c1 := newClient(t, clientSetup{compID: "DEMO1", port: g.port})
	eventually(t, "DEMO1 logon", c1.loggedOn.Load)
	c2 := connect(t, g, "DEMO2")
	script(t, map[string]*fixClient{"DEMO1": c1, "DEMO2": c2}, nil, `
DEMO1 > D 11=day 55=ALPHA 54=1 38=10 40=2 44=99.00 59=0
DEMO1 < 8 11=day 150=0
DEMO1 > D 11=gtc 55=ALPHA 54=1 38=10 40=2 44=99.00 59=1
DEMO1 < 8 11=gtc 150=0
DEMO2 > D 11=other 55=ALPHA 54=1 38=10 40=2 44=99.00 59=0
DEMO2 < 8 11=other 150=0
`)
	c1.stop() // logs out
	// day, gtc and other rested 30 at 99.00; only day goes.
	eventually(t, "DAY order cancelled", func() bool { return v.Level(1, engine.SideBuy, 9900) == 20 })
	// A new client: a fresh store, so it resets sequence numbers.
	c1 = newClient(t, clientSetup{compID: "DEMO1", port: g.port, extra: "ResetOnLogon=Y"})
	eventually(t, "DEMO1 logon again", c1.loggedOn.Load)
	script(t, map[string]*fixClient{"DEMO1": c1}, nil, `
DEMO1 > H 11=day 55=ALPHA 54=1
DEMO1 < 8 11=day 150=I 39=4 58=CancelOnDisconnect
DEMO1 > H 11=gtc 55=ALPHA 54=1
DEMO1 < 8 11=gtc 150=I 39=0
DEMO1 quiet
`)
}

// rawLogon sends a FIX 4.4 Logon over plain TCP and returns what comes
// back before the gateway closes the connection, with SOH shown as '|'.
func rawLogon(t *testing.T, port int, compID, password string) string {
	t.Helper()
	m := quickfix.NewMessage()
	m.Header.SetString(8, "FIX.4.4")
	m.Header.SetString(35, "A")
	m.Header.SetString(49, compID)
	m.Header.SetString(56, "VENUE")
	m.Header.SetInt(34, 1)
	m.Header.SetField(52, quickfix.FIXUTCTimestamp{Time: time.Now().UTC()})
	m.Body.SetString(98, "0")
	m.Body.SetString(108, "30")
	m.Body.SetString(141, "Y")
	if password != "" {
		m.Body.SetString(554, password)
	}
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(waitFor)); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Write([]byte(m.String())); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	r := bufio.NewReader(conn)
	for {
		c, err := r.ReadByte()
		if err != nil {
			break // the gateway closed the connection after its Logout
		}
		if c == 1 {
			c = '|'
		}
		b.WriteByte(c)
	}
	return b.String()
}
