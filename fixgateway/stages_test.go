package fixgateway_test

import (
	"testing"
)

// TestStages: every answered order is timed through all five stages,
// quantiles in order; a gateway reject (answered by the gateway itself,
// never offered) is not.
func TestStages(t *testing.T) {
	v := newVenue(t)
	g := startGateway(t, gwSetup{venue: v})
	if s := g.Stages(); s.FIXIn.Count != 0 || s.Ingress.Count != 0 || s.Cluster.Count != 0 || s.Egress.Count != 0 || s.FIXOut.Count != 0 {
		t.Fatalf("stages before any order: %+v", s)
	}
	c := map[string]*fixClient{"DEMO1": connect(t, g, "DEMO1")}
	script(t, c, nil, `
DEMO1 > D 11=a1 55=ALPHA 54=1 38=10 40=2 44=100.00
DEMO1 < 8 11=a1 150=0 39=0
DEMO1 > D 11=a2 55=ALPHA 54=1 38=10 40=2 44=100.00
DEMO1 < 8 11=a2 150=0 39=0
DEMO1 > D 11=a3 55=NOSUCH 54=1 38=10 40=2 44=100.00
DEMO1 < 8 11=a3 150=8 39=8
DEMO1 > F 11=c1 41=a1 55=ALPHA 54=1
DEMO1 < 8 11=c1 41=a1 150=4 39=4
`)
	// The sender times a report once quickfixgo has it, which may be just
	// after the client saw it.
	eventually(t, "egress timed", func() bool { s := g.Stages(); return s.Egress.Count == 3 && s.FIXOut.Count == 3 })
	s := g.Stages()
	for name, l := range map[string]struct{ count, p50, p99, max int64 }{
		"fix in":  {s.FIXIn.Count, s.FIXIn.P50, s.FIXIn.P99, s.FIXIn.Max},
		"ingress": {s.Ingress.Count, s.Ingress.P50, s.Ingress.P99, s.Ingress.Max},
		"cluster": {s.Cluster.Count, s.Cluster.P50, s.Cluster.P99, s.Cluster.Max},
		"egress":  {s.Egress.Count, s.Egress.P50, s.Egress.P99, s.Egress.Max},
		// Each report the sender handed to quickfixgo is matched to a
		// hand-off to the writer (the reject, sent from FromApp, may take
		// one's place).
		"fix out": {s.FIXOut.Count, s.FIXOut.P50, s.FIXOut.P99, s.FIXOut.Max},
	} {
		if l.count != 3 || l.p50 <= 0 || l.p99 < l.p50 || l.max < l.p99 {
			t.Errorf("%s: %+v, want 3 timed, 0 < p50 <= p99 <= max", name, l)
		}
	}
}
