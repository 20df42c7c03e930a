package replay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"venue/cluster/client"
	"venue/cluster/clusterbench"
	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/cluster/member"
	"venue/engine"
	"venue/engine/clustered"
	"venue/transport"
)

// memberWait bounds every wait on the live member (elections, acks,
// snapshots) on a loaded machine.
const memberWait = 30 * time.Second

// A real member's data directory: a one-member cluster on loopback runs
// the engine, clients provision the venue and trade through the cluster,
// a snapshot is taken through the log, trading goes on, and the member
// stops. Replaying its directory ends in the live engine's state, the
// audit finds the member's snapshot equal to the replayed state, and a
// replay from that snapshot shows the same book as one from the start.
func TestReplayOfARealMember(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a cluster member on loopback UDP")
	}
	root := t.TempDir()
	base, err := clusterbench.FreeBasePort(1)
	if err != nil {
		t.Skip(err)
	}
	cc := config.Loopback(1, base, root)
	svc, err := clustered.New(engine.Config{BootstrapAdmin: DefaultAdmin})
	if err != nil {
		t.Fatal(err)
	}
	node, err := member.Launch(cc, 0, svc, member.Options{})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	defer func() {
		if !closed {
			node.Close()
		}
	}()
	ingress := []string{cc.Members[0].Ingress}
	admin := connect(t, ingress, DefaultAdmin)
	for _, cmd := range [][]byte{principalCmd("T1"), principalCmd("T2"), accountCmd("A1", "T1"), accountCmd("A2", "T2"),
		instrumentCmd(1, "ALPHA")} {
		admin.send(t, cmd)
	}
	t1, t2 := connect(t, ingress, "T1"), connect(t, ingress, "T2")
	trade := func(round int) {
		for i := range 5 {
			t1.send(t, orderCmd("A1", fmt.Sprintf("s%d-%d", round, i), engine.SideSell, int64(101+i), 10))
			t2.send(t, orderCmd("A2", fmt.Sprintf("b%d-%d", round, i), engine.SideBuy, int64(99-i), 10))
		}
		t2.send(t, orderCmd("A2", fmt.Sprintf("x%d", round), engine.SideBuy, 102, 15)) // takes two levels
	}
	trade(1)
	snapAt := takeSnapshot(t, node)
	trade(2)
	for _, c := range []*liveClient{admin, t1, t2} {
		c.close()
	}
	if err := node.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	live := svc.Engine().Digest() // the member's goroutine has stopped

	dir := member.DataDir(cc, 0)
	rep, err := Audit(dir, AuditConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK || len(rep.Checks) != 1 || rep.Checks[0].Position != snapAt || rep.Digest != fmt.Sprintf("%x", live) {
		t.Fatalf("audit of the member's directory: %+v\nlive digest %x", rep, live)
	}
	src := mustOpen(t, dir)
	var books []*BookView
	for _, st := range []Start{{}, {FromSnapshot: true}} {
		bv, err := BookAt(src, BookConfig{Start: st, Symbol: "ALPHA", Orders: true})
		if err != nil {
			t.Fatal(err)
		}
		books = append(books, bv)
	}
	if a, b := queues(books[0]), queues(books[1]); a != b || len(books[0].Bids) == 0 {
		t.Fatalf("book from the start %s, from the snapshot %s", a, b)
	}
}

// queues writes a book's levels and their orders in priority order (not
// the acceptance times, which a replay from a snapshot cannot know for
// orders older than it).
func queues(bv *BookView) string {
	var b strings.Builder
	for _, side := range [][]LevelView{bv.Bids, bv.Asks} {
		for _, l := range side {
			fmt.Fprintf(&b, "%d:%d/%d[", l.Price, l.Quantity, l.Orders)
			for _, o := range l.Queue {
				fmt.Fprintf(&b, "%d %s %s %s %d;", o.OrderID, o.Account, o.Principal, o.ClOrdID, o.Leaves)
			}
			b.WriteString("] ")
		}
		b.WriteString("| ")
	}
	return b.String()
}

// liveClient is a cluster client of the test, with its own transport.
type liveClient struct {
	c *client.Client
	d *transport.Driver
}

func connect(t *testing.T, ingress []string, principal string) *liveClient {
	t.Helper()
	d, err := transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingInvoker})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), memberWait)
	defer cancel()
	c, err := client.Connect(ctx, client.Config{Driver: d, InvokeDriver: true, Members: ingress,
		Credentials: []byte(principal)})
	if err != nil {
		d.Close()
		t.Fatalf("connect as %s: %v", principal, err)
	}
	return &liveClient{c: c, d: d}
}

type discard struct{}

func (discard) OnMessage(int64, int64, []byte)         {}
func (discard) OnNewLeader(int32, int64)               {}
func (discard) OnUnknownOutcome(int64, []byte, string) {}

// send offers one command and polls until the cluster acknowledged it.
func (lc *liveClient) send(t *testing.T, msg []byte) {
	t.Helper()
	deadline := time.Now().Add(memberWait)
	for {
		if _, err := lc.c.Offer(msg); err == nil {
			break
		} else if errors.Is(err, client.ErrClosed) || time.Now().After(deadline) {
			t.Fatalf("offer: %v", err)
		}
		lc.c.Poll(discard{}, 0)
	}
	for lc.c.Outstanding() > 0 {
		if time.Now().After(deadline) {
			t.Fatal("no acknowledgement from the cluster")
		}
		if lc.c.Poll(discard{}, 0) == 0 {
			time.Sleep(100 * time.Microsecond) // poll interval; bounded by the deadline
		}
	}
}

func (lc *liveClient) close() {
	lc.c.Close()
	lc.d.Close()
}

// takeSnapshot has the member snapshot through the log and waits until
// the snapshot is on disk.
func takeSnapshot(t *testing.T, node *member.Node) consensus.Position {
	t.Helper()
	deadline := time.Now().Add(memberWait)
	var p consensus.Position
	for {
		var err error
		if p, err = node.Snapshot(); err == nil {
			break
		} else if !errors.Is(err, member.ErrNotLeader) || time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond) // poll interval; bounded by the deadline
	}
	for {
		taken, _, failed, last := node.SnapshotStats()
		if failed != 0 {
			t.Fatalf("%d snapshots failed", failed)
		}
		if taken == 1 && last >= p {
			return last
		}
		if time.Now().After(deadline) {
			t.Fatalf("snapshot at %d not taken", p)
		}
		time.Sleep(time.Millisecond) // poll interval; bounded by the deadline
	}
}

func principalCmd(name string) []byte {
	msg, m := engine.AppendSetPrincipal(nil)
	m.SetPrincipal(name)
	m.SetRole(engine.RoleTrader)
	return msg
}

func accountCmd(account, principal string) []byte {
	msg, m := engine.AppendSetAccount(nil)
	m.SetAccount(account)
	m.SetPrincipal(principal)
	m.SetEnabled(1)
	m.SetSTPMode(engine.STPModeNone)
	return msg
}

func instrumentCmd(id uint32, symbol string) []byte {
	msg, m := engine.AppendAddInstrument(nil)
	m.SetInstrument(id)
	m.SetSymbol(symbol)
	m.SetTickSize(1)
	m.SetLotSize(1)
	m.SetReferencePrice(100)
	m.SetState(engine.TradingStateOpen)
	return msg
}

func orderCmd(account, clOrdID string, side engine.Side, px, qty int64) []byte {
	msg, m := engine.AppendNewOrder(nil)
	m.SetPrice(px)
	m.SetQuantity(qty)
	m.SetInstrument(1)
	m.SetSide(side)
	m.SetOrdType(engine.OrdTypeLimit)
	m.SetTimeInForce(engine.TimeInForceGTC)
	m.SetAccount(account)
	m.SetClOrdIDBytes([]byte(clOrdID))
	return msg
}
