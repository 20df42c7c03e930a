package fixgateway_test

import (
	"testing"
)

// TestFIXT11: a FIXT.1.1 / FIX 5.0 SP2 session and a FIX 4.4 session on one
// gateway trade with each other; each hears of it in its own version, and
// the gateway's own rejects work alike in both.
func TestFIXT11(t *testing.T) {
	v := newVenue(t)
	g := startGateway(t, gwSetup{venue: v, sessions: []string{"DEMO1", "DEMO2"}, fixt: map[string]bool{"DEMO2": true}})
	c44 := connect(t, g, "DEMO1")
	c50 := newClient(t, clientSetup{compID: "DEMO2", port: g.port, fixt: true})
	eventually(t, "FIXT logon", c50.loggedOn.Load)
	script(t, map[string]*fixClient{"DEMO1": c44, "DEMO2": c50}, nil, `
DEMO2 > D 11=t1 55=ALPHA 54=1 38=10 40=2 44=100.00
DEMO2 < 8 8=FIXT.1.1 11=t1 150=0 39=0 151=10
DEMO1 > D 11=u1 55=ALPHA 54=2 38=4 40=2 44=100.00
DEMO1 < 8 8=FIX.4.4 11=u1 150=0
DEMO1 < 8 8=FIX.4.4 11=u1 150=F 39=2 32=4
DEMO2 < 8 8=FIXT.1.1 11=t1 150=F 39=1 32=4 14=4 151=6
DEMO2 > G 11=t1r 41=t1 55=ALPHA 54=1 38=8 40=2 44=100.00
DEMO2 < 8 11=t1r 41=t1 150=5 39=1 151=4
DEMO2 > H 11=t1r 55=ALPHA 54=1
DEMO2 < 8 11=t1r 150=I 39=1 151=4
DEMO2 > F 11=t1c 41=t1r 55=ALPHA 54=1
DEMO2 < 8 11=t1c 150=4 39=4

# The gateway's own rejects, in FIXT.1.1: session (3), order-level (8),
# business (j).
DEMO2 > D 11=t2 54=1 38=10 40=2 44=100.00
DEMO2 < 3 373=1 371=55
DEMO2 > D 11=t3 55=NOPE 54=1 38=10 40=2 44=100.00
DEMO2 < 8 8=FIXT.1.1 11=t3 150=8 39=8 103=1
DEMO2 > E 66=L1 68=1
DEMO2 < j 372=E 380=3
DEMO2 > q 11=m1 530=7
DEMO2 < r 11=m1 531=7 533=0
DEMO1 quiet
DEMO2 quiet
`)
}
