package marketdata

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the listener's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDefaultsMatchVenueRun: `venue md listen` with no flags joins exactly
// the channel `venue run` publishes on.
func TestDefaultsMatchVenueRun(t *testing.T) {
	c := DefaultUDPConfig()
	if c.Group != "239.255.10.1" || c.Port != 40101 || c.Interface != "lo" {
		t.Fatalf("defaults %+v", c)
	}
}

// startFeed publishes cmds on a loopback multicast channel until the test ends.
func startFeed(t *testing.T, cfg UDPConfig, cmds [][]call) {
	conn, err := DialUDP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pub := mustPublisher(t, PublisherConfig{Conn: conn, SnapshotInterval: 10 * time.Millisecond})
	for _, cmd := range cmds {
		fanout{pub}.run(cmd)
	}
	pub.SetLeader(true, 1)
	run := &udpRun{t: t, stop: make(chan struct{})}
	run.startPublisher(pub)
	t.Cleanup(run.close)
}

// TestListenJSONLines: --json prints one object per instrument update with
// the fields the issue names, filtered by --symbol.
func TestListenJSONLines(t *testing.T) {
	cfg := loopbackChannel(t, "239.255.10.203")
	ref, cmds := precompute(21, 5, 500, DepthDefault)
	out := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Listen(ctx, ListenConfig{UDP: cfg, JSON: true, Symbol: "SYM003", Count: 1}, out) }()
	startFeed(t, cfg, cmds)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if ctx.Err() != nil {
		t.Fatal("no update arrived")
	}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	lines := 0
	for sc.Scan() {
		lines++
		var got BookJSON
		if err := json.Unmarshal(sc.Bytes(), &got); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		want := ref.final[3]
		if got.Symbol != "SYM003" || got.InstrumentID != 3 || got.LogPosition != want.LogPosition ||
			got.ClusterTime != want.ClusterTime || got.Volume != want.Volume || got.TradeCount != want.TradeCount ||
			got.TradingState != want.State.String() || !levelsEqual(got.Bids, want.Bids) || !levelsEqual(got.Asks, want.Asks) ||
			got.LastTrade.Price != want.LastTradePrice {
			t.Fatalf("line %s\nwant %s", sc.Text(), describe(&want))
		}
	}
	if lines != 1 {
		t.Fatalf("%d lines for --count 1", lines)
	}
	for _, key := range []string{`"bids":[{"price":`, `"quantity":`, `"orders":`, `"last_trade":{`, `"trading_state":`, `"log_position":`, `"cluster_time":`} {
		if !strings.Contains(out.String(), key) {
			t.Errorf("JSON line lacks %s: %s", key, out.String())
		}
	}
}

// TestListenCountIsExact: --count N prints exactly N lines, however many
// updates race with the stop.
func TestListenCountIsExact(t *testing.T) {
	cfg := loopbackChannel(t, "239.255.10.205")
	_, cmds := precompute(23, 50, 500, DepthDefault)
	out := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Listen(ctx, ListenConfig{UDP: cfg, JSON: true, Count: 3}, out) }()
	startFeed(t, cfg, cmds)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 3 {
		t.Fatalf("%d lines for count 3", n)
	}
}

// TestListenTerminalView: the terminal view draws a ladder per instrument.
func TestListenTerminalView(t *testing.T) {
	cfg := loopbackChannel(t, "239.255.10.204")
	_, cmds := precompute(22, 3, 300, DepthDefault)
	out := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Listen(ctx, ListenConfig{UDP: cfg, Count: 3, Refresh: time.Millisecond}, out) }()
	startFeed(t, cfg, cmds)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"venue md listen", "SYM001", "bid", "ask", "pos "} {
		if !strings.Contains(s, want) {
			t.Fatalf("view lacks %q:\n%s", want, s)
		}
	}
}

// TestFormatPrice: integer prices with decimals.
func TestFormatPrice(t *testing.T) {
	for _, c := range []struct {
		p    int64
		d    uint8
		want string
	}{{12345, 2, "123.45"}, {5, 2, "0.05"}, {-5, 3, "-0.005"}, {42, 0, "42"}} {
		if got := formatPrice(c.p, c.d); got != c.want {
			t.Errorf("formatPrice(%d, %d) = %q, want %q", c.p, c.d, got, c.want)
		}
	}
}
