package clustered

import (
	"bytes"
	"os"
	"testing"

	"venue/cluster"
	"venue/cluster/consensus"
	"venue/cluster/container"
	"venue/engine"
	"venue/engine/flowbench"
	"venue/orderbook/orderflow"
)

// rawEgress keeps every egress message's bytes, in order.
type rawEgress struct{ b []byte }

func (r *rawEgress) Send(s cluster.SessionID, p []byte) cluster.OfferStatus {
	r.b = append(r.b, byte(s))
	r.b = append(r.b, p...)
	return cluster.OfferOK
}

// unhinted is a Service without its MessageHinter methods.
type unhinted struct{ cluster.ClusteredService }

// countingHints is a Service that counts the hints the container gives.
type countingHints struct {
	*Service
	hints int
}

func (c *countingHints) HintSessionMessage(p []byte) { c.hints++; c.Service.HintSessionMessage(p) }

// The container hints the engine's commands ahead (cluster.MessageHinter)
// and the engine reports and ends up exactly as without hints, on a
// recorded order flow applied in batches of several sizes.
func TestContainerHintsChangeNothing(t *testing.T) {
	const path = "../../../shared/orderflow/tiny.bin"
	if _, err := os.Stat(path); err != nil {
		t.Skipf("%s not present: %v", path, err)
	}
	f, err := orderflow.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	flow, err := flowbench.Encode(f)
	if err != nil {
		t.Fatal(err)
	}
	// The log: the two sessions, the gateway's principal, the setup, then
	// every order-entry command from the gateway's session.
	var log []byte
	var ts int64
	add := func(e consensus.LogEntry) {
		ts++
		e.Timestamp = ts
		log = consensus.AppendEntry(log, &e)
	}
	open := func(id cluster.SessionID, principal string) {
		add(consensus.LogEntry{Type: consensus.EntrySessionOpen, SessionID: id,
			Payload: consensus.AppendSessionOpen(nil, &consensus.SessionOpen{Principal: []byte(principal)})})
	}
	open(1, "ADMIN")
	open(2, "GW")
	gw, p := engine.AppendSetPrincipal(nil)
	p.SetPrincipal("GW")
	p.SetRole(engine.RoleGateway)
	add(consensus.LogEntry{Type: consensus.EntrySessionMessage, SessionID: 1, Payload: gw})
	for i, msg := range flow.Setup {
		add(consensus.LogEntry{Type: consensus.EntrySessionMessage, SessionID: cluster.SessionID(flow.SetupBy[i]), Payload: msg})
	}
	for j := range flow.Len() {
		add(consensus.LogEntry{Type: consensus.EntrySessionMessage, SessionID: 2, Payload: flow.Command(j)})
	}

	run := func(svc cluster.ClusteredService, engineOf *Service, batchBytes int) ([]byte, [32]byte) {
		t.Helper()
		eg := &rawEgress{}
		c := container.New(0, svc, eg)
		if err := c.Start(nil, 0); err != nil {
			t.Fatal(err)
		}
		c.SetRole(consensus.RoleLeader)
		// Cut the log into batches of whole entries of about batchBytes.
		var e consensus.LogEntry
		for from := 0; from < len(log); {
			to := from
			for to < len(log) && (to == from || to-from < batchBytes) {
				n, err := consensus.DecodeEntry(log[to:], &e)
				if err != nil {
					t.Fatal(err)
				}
				to += n
			}
			if err := c.Apply(cluster.Position(from), log[from:to]); err != nil {
				t.Fatal(err)
			}
			from = to
		}
		if n := engineOf.Engine().Counters(); n.Malformed+n.NotAuthorized+n.LimitExceeded != 0 {
			t.Fatalf("setup refused: %+v", n)
		}
		return eg.b, engineOf.Engine().Digest()
	}

	plain, err := New(engine.Config{BootstrapAdmin: "ADMIN"})
	if err != nil {
		t.Fatal(err)
	}
	wantEgress, wantDigest := run(unhinted{plain}, plain, len(log))
	if len(wantEgress) == 0 {
		t.Fatal("no egress: the flow did not reach the engine")
	}
	for _, batch := range []int{1, 300, 4096, len(log)} {
		svc, err := New(engine.Config{BootstrapAdmin: "ADMIN"})
		if err != nil {
			t.Fatal(err)
		}
		h := &countingHints{Service: svc}
		gotEgress, gotDigest := run(h, svc, batch)
		if !bytes.Equal(gotEgress, wantEgress) || gotDigest != wantDigest {
			t.Fatalf("batches of %d bytes: egress or digest differs with hints", batch)
		}
		if batch > 1 && h.hints == 0 {
			t.Fatalf("batches of %d bytes: no hints given", batch)
		}
	}
}
