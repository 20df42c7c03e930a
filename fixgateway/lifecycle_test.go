package fixgateway_test

import (
	"testing"
)

// TestOrderLifecycle: two sessions trade ALPHA through every order state.
func TestOrderLifecycle(t *testing.T) {
	v := newVenue(t)
	g := startGateway(t, gwSetup{venue: v})
	c := map[string]*fixClient{"DEMO1": connect(t, g, "DEMO1"), "DEMO2": connect(t, g, "DEMO2")}
	script(t, c, map[string]func(){
		"close ALPHA": func() { v.SetTradingState(1, 4) },
	}, `
# A resting buy, partly then fully filled.
DEMO1 > D 11=b1 55=ALPHA 54=1 38=100 40=2 44=100.00 59=0
DEMO1 < 8 11=b1 150=0 39=0 37=* 17=* 1=DEMO1 55=ALPHA 54=1 38=100 44=100.00 151=100 14=0 6=0 59=0 40=2
DEMO2 > D 11=s1 55=ALPHA 54=2 38=40 40=2 44=99.50
DEMO2 < 8 11=s1 150=0 39=0
DEMO1 < 8 11=b1 150=F 39=1 31=100.00 32=40 14=40 151=60 6=100.000000 880=*
DEMO2 < 8 11=s1 150=F 39=2 31=100.00 32=40 14=40 151=0
DEMO2 > D 11=s2 55=ALPHA 54=2 38=60 40=1
DEMO2 < 8 11=s2 150=0 39=0 40=1 44=-
DEMO1 < 8 11=b1 150=F 39=2 32=60 14=100 151=0
DEMO2 < 8 11=s2 150=F 39=2 32=60 14=60

# Replace (price and quantity), then cancel.
DEMO1 > D 11=b2 55=ALPHA 54=1 38=10 40=2 44=99.00
DEMO1 < 8 11=b2 150=0 39=0
DEMO1 > G 11=b2r 41=b2 55=ALPHA 54=1 38=20 40=2 44=99.10
DEMO1 < 8 11=b2r 41=b2 150=5 39=0 38=20 44=99.10 151=20
DEMO1 > H 11=b2r 55=ALPHA 54=1
DEMO1 < 8 11=b2r 150=I 39=0 151=20
DEMO1 > F 11=b2c 41=b2r 55=ALPHA 54=1
DEMO1 < 8 11=b2c 41=b2r 150=4 39=4 151=0

# IOC remainder cancelled; post-only that would trade rejected.
DEMO2 > D 11=s3 55=ALPHA 54=2 38=5 40=2 44=101.00 59=1
DEMO2 < 8 11=s3 150=0 39=0 59=1
DEMO1 > D 11=b3 55=ALPHA 54=1 38=8 40=2 44=101.00 59=3
DEMO1 < 8 11=b3 150=0 39=0 59=3
DEMO2 < 8 11=s3 150=F 39=2 32=5
DEMO1 < 8 11=b3 150=F 39=1 32=5 151=3
DEMO1 < 8 11=b3 150=4 39=4 14=5 151=0 58=IOCRemainder
DEMO1 > D 11=b4 55=ALPHA 54=2 38=1 40=2 44=90.00 18=6
DEMO1 < 8 11=b4 150=0 39=0 18=6
DEMO2 > D 11=s4 55=ALPHA 54=1 38=1 40=2 44=95.00 18=6
DEMO2 < 8 11=s4 150=8 39=8 103=11 58=PostOnlyWouldTrade

# Mass cancel of everything DEMO1 has, then a DAY order expires at the close.
DEMO1 > D 11=b5 55=ALPHA 54=2 38=3 40=2 44=110.00
DEMO1 < 8 11=b5 150=0 39=0
DEMO1 > q 11=m1 530=7
DEMO1 < 8 11=b4 150=4 39=4 58=MassCancel
DEMO1 < 8 11=b5 150=4 39=4 58=MassCancel
DEMO1 < r 11=m1 530=7 531=7 533=2
DEMO2 > D 11=s5 55=ALPHA 54=2 38=7 40=2 44=105.00
DEMO2 < 8 11=s5 150=0 39=0
! close ALPHA
DEMO2 < 8 11=s5 150=C 39=C 151=0
DEMO1 quiet
`)
	if s := g.Stats(); s.Logons != 2 || s.GatewayRejects != 0 {
		t.Fatalf("stats %+v", s)
	}
}
