package fixgateway_test

import (
	"testing"

	"venue/engine"
)

// TestRejects: every gateway-level reject path answers with the FIX 4.4
// reject its case calls for, and the engine's own rejects come through.
func TestRejects(t *testing.T) {
	v := newVenue(t)
	g := startGateway(t, gwSetup{venue: v})
	c := map[string]*fixClient{"DEMO1": connect(t, g, "DEMO1")}
	script(t, c, nil, `
# Session-level Reject (3): required tag missing (373=1), bad format (373=6),
# value out of range for the tag (373=5).
DEMO1 > D 11=r1 54=1 38=10 40=2 44=100.00
DEMO1 < 3 373=1 371=55 372=D
DEMO1 > D 11=r2 55=ALPHA 54=1 40=2 44=100.00
DEMO1 < 3 373=1 371=38
DEMO1 > D 11=r3 55=ALPHA 54=1 38=10 40=2 44=100.00 60=-
DEMO1 < 3 373=1 371=60
DEMO1 > D 55=ALPHA 54=1 38=10 40=2 44=100.00
DEMO1 < 3 373=1 371=11
DEMO1 > D 11=r4 55=ALPHA 54=1 38=ten 40=2 44=100.00
DEMO1 < 3 373=6 371=38
DEMO1 > D 11=r5 55=ALPHA 54=Z 38=10 40=2 44=100.00
DEMO1 < 3 373=5 371=54
DEMO1 > D 11=r6 55=ALPHA 54=1 38=10 40=Q 44=100.00
DEMO1 < 3 373=5 371=40
DEMO1 > D 11=r7 55=ALPHA 54=1 38=10 40=2 44=1e2
DEMO1 < 3 373=6 371=44
DEMO1 > D 11=0123456789012345678901234567890123 55=ALPHA 54=1 38=10 40=2 44=100.00
DEMO1 < 3 373=5 371=11
DEMO1 > F 11=r8 55=ALPHA 54=1
DEMO1 < 3 373=1 371=41
DEMO1 > q 11=r9 530=9
DEMO1 < 3 373=5 371=530

# Order-level rejects by the gateway: ExecutionReport Rejected with OrdRejReason.
DEMO1 > D 11=e1 55=NOPE 54=1 38=10 40=2 44=100.00
DEMO1 < 8 11=e1 150=8 39=8 103=1 37=NONE 55=NOPE 14=0 151=0
DEMO1 > D 11=e2 55=ALPHA 54=1 38=0 40=2 44=100.00
DEMO1 < 8 11=e2 150=8 39=8 103=13
DEMO1 > D 11=e3 55=ALPHA 54=1 38=-5 40=2 44=100.00
DEMO1 < 8 11=e3 150=8 39=8 103=13
DEMO1 > D 11=e4 55=ALPHA 54=1 38=2.5 40=2 44=100.00
DEMO1 < 8 11=e4 150=8 39=8 103=13
DEMO1 > D 11=e5 55=ALPHA 54=1 38=10 40=3 44=100.00
DEMO1 < 8 11=e5 150=8 39=8 103=11
DEMO1 > D 11=e6 55=ALPHA 54=1 38=10 40=2 44=100.00 59=6
DEMO1 < 8 11=e6 150=8 39=8 103=11
DEMO1 > D 11=e7 55=ALPHA 54=5 38=10 40=2 44=100.00
DEMO1 < 8 11=e7 150=8 39=8 103=11
DEMO1 > D 11=e8 55=ALPHA 54=1 38=10 40=2 44=100.001
DEMO1 < 8 11=e8 150=8 39=8 103=99
DEMO1 > D 11=e9 55=ALPHA 54=1 38=10 40=2
DEMO1 < 8 11=e9 150=8 39=8 103=99
DEMO1 > D 11=e10 55=ALPHA 54=1 38=10 40=2 44=100.00 1=DEMO2
DEMO1 < 8 11=e10 150=8 39=8 103=15

# ... OrderCancelReject for F and G, OrderMassCancelReport for q.
DEMO1 > F 11=c1 41=x 55=NOPE 54=1
DEMO1 < 9 11=c1 41=x 434=1 102=1 39=8 37=NONE
DEMO1 > G 11=c2 41=x 55=ALPHA 54=1 38=0 40=2 44=100.00
DEMO1 < 9 11=c2 41=x 434=2 102=99
DEMO1 > q 11=m1 530=3
DEMO1 < r 11=m1 531=0 532=0 533=0
DEMO1 > q 11=m2 530=1 55=NOPE
DEMO1 < r 11=m2 531=0 532=1
DEMO1 > q 11=m3 530=7 54=1
DEMO1 < r 11=m3 531=0 532=99

# BusinessMessageReject (j) for a message type the venue does not support.
DEMO1 > E 66=L1 68=1
DEMO1 < j 372=E 380=3

# Rejects the engine decides: off tick (BETA ticks in 0.05), unknown order.
DEMO1 > D 11=k1 55=BETA 54=1 38=10 40=2 44=100.01
DEMO1 < 8 11=k1 150=8 39=8 103=99 58=OffTick
DEMO1 > F 11=k2 41=never 55=ALPHA 54=1
DEMO1 < 9 11=k2 41=never 434=1 102=1
DEMO1 > H 11=never 55=ALPHA 54=1
DEMO1 < 8 11=never 150=I 39=8 58=UnknownOrder
DEMO1 quiet
`)
	if s := g.Stats(); s.GatewayRejects != 27 {
		t.Fatalf("gateway rejects %d, want 27 (%+v)", s.GatewayRejects, s)
	}
}

// TestCancelReplaceRaces: the classic races, answered from the engine's
// state.
func TestCancelReplaceRaces(t *testing.T) {
	v := newVenue(t)
	g := startGateway(t, gwSetup{venue: v})
	c := map[string]*fixClient{"DEMO1": connect(t, g, "DEMO1"), "DEMO2": connect(t, g, "DEMO2")}
	script(t, c, nil, `
# Cancel after a full fill: too late, and the reject says Filled.
DEMO1 > D 11=a1 55=GAMMA 54=1 38=10 40=2 44=100.00
DEMO1 < 8 11=a1 150=0 39=0
DEMO2 > D 11=z1 55=GAMMA 54=2 38=10 40=2 44=100.00
DEMO2 < 8 11=z1 150=0
DEMO1 < 8 11=a1 150=F 39=2
DEMO2 < 8 11=z1 150=F 39=2
DEMO1 > F 11=a1c 41=a1 55=GAMMA 54=1
DEMO1 < 9 11=a1c 41=a1 434=1 102=0 39=2 37=*

# Replace below the filled quantity: refused, the order keeps working.
DEMO1 > D 11=a2 55=GAMMA 54=1 38=100 40=2 44=100.00
DEMO1 < 8 11=a2 150=0 39=0
DEMO2 > D 11=z2 55=GAMMA 54=2 38=40 40=2 44=100.00
DEMO2 < 8 11=z2 150=0
DEMO1 < 8 11=a2 150=F 39=1 14=40
DEMO2 < 8 11=z2 150=F 39=2
DEMO1 > G 11=a2r 41=a2 55=GAMMA 54=1 38=30 40=2 44=100.00
DEMO1 < 9 11=a2r 41=a2 434=2 102=99 39=1 58=InvalidQuantity
# ... and a replace down to exactly the filled quantity ends it Filled.
DEMO1 > G 11=a2s 41=a2 55=GAMMA 54=1 38=40 40=2 44=100.00
DEMO1 < 8 11=a2s 41=a2 150=5 39=2 151=0 14=40

# Replace of a replaced order by its old ClOrdID: unknown order.
DEMO1 > D 11=a3 55=GAMMA 54=1 38=10 40=2 44=99.00
DEMO1 < 8 11=a3 150=0 39=0
DEMO1 > G 11=a3r 41=a3 55=GAMMA 54=1 38=5 40=2 44=99.00
DEMO1 < 8 11=a3r 41=a3 150=5 39=0 38=5
DEMO1 > G 11=a3s 41=a3 55=GAMMA 54=1 38=4 40=2 44=99.00
DEMO1 < 9 11=a3s 41=a3 434=2 102=1 39=0
# ... and a cancel by the old ClOrdID too; by the current one it works.
DEMO1 > F 11=a3c 41=a3 55=GAMMA 54=1
DEMO1 < 9 11=a3c 41=a3 434=1 102=1
DEMO1 > F 11=a3d 41=a3r 55=GAMMA 54=1
DEMO1 < 8 11=a3d 41=a3r 150=4 39=4
# A cancel of the cancelled order: too late.
DEMO1 > F 11=a3e 41=a3r 55=GAMMA 54=1
DEMO1 < 9 11=a3e 434=1 102=0 39=4
DEMO1 quiet
DEMO2 quiet
`)
}

// TestDuplicates: ClOrdID reuse and application-level resends.
func TestDuplicates(t *testing.T) {
	v := newVenue(t)
	g := startGateway(t, gwSetup{venue: v})
	c := map[string]*fixClient{"DEMO1": connect(t, g, "DEMO1")}
	script(t, c, nil, `
DEMO1 > D 11=d1 55=ALPHA 54=1 38=10 40=2 44=99.00
DEMO1 < 8 11=d1 150=0 39=0
# Reused without PossResend while live: rejected as a duplicate.
DEMO1 > D 11=d1 55=ALPHA 54=1 38=10 40=2 44=99.00
DEMO1 < 8 11=d1 150=8 39=8 103=6 58=DuplicateClOrdID
# PossResend=Y with a known ClOrdID: the order's status, no second order.
DEMO1 > D 11=d1 55=ALPHA 54=1 38=10 40=2 44=99.00 97=Y
DEMO1 < 8 11=d1 150=I 39=0 151=10
# PossResend=Y with an unknown ClOrdID: a new order after all.
DEMO1 > D 11=d2 55=ALPHA 54=1 38=10 40=2 44=99.00 97=Y
DEMO1 < 8 11=d2 150=0 39=0
DEMO1 quiet
`)
	// d1 and d2 rest once each: 20 at 99.00, not 30.
	if q := v.Level(1, engine.SideBuy, 9900); q != 20 {
		t.Fatalf("ALPHA bid 99.00 holds %d, want 20", q)
	}
}
