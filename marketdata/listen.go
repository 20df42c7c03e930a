package marketdata

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ListenConfig configures Listen, the body of `venue md listen`.
type ListenConfig struct {
	UDP    UDPConfig
	Symbol string // only this symbol; "" shows every instrument
	JSON   bool   // JSON lines, one per instrument update, instead of the terminal view
	// Refresh is the terminal view's redraw interval (default listenRefreshDefault).
	Refresh time.Duration
	// Count stops after this many instrument updates (0: until ctx ends).
	Count int
}

const (
	// listenRefreshDefault redraws the terminal view four times a second:
	// faster than a reader can follow gains nothing.
	listenRefreshDefault = 250 * time.Millisecond
	// listenDepthMax is the depth the terminal view draws per side.
	listenDepthMax = 5
	// listenBooksMax is how many books the terminal view draws; --symbol
	// picks one out of a larger feed.
	listenBooksMax = 20
)

// BookJSON is one JSON line of `venue md listen --json`.
type BookJSON struct {
	Symbol       string    `json:"symbol"`
	InstrumentID uint32    `json:"instrument_id"`
	LogPosition  int64     `json:"log_position"`
	ClusterTime  int64     `json:"cluster_time"`
	Bids         []Level   `json:"bids"`
	Asks         []Level   `json:"asks"`
	LastTrade    LastTrade `json:"last_trade"`
	Volume       int64     `json:"volume"`
	TradeCount   int64     `json:"trade_count"`
	TradingState string    `json:"trading_state"`
	Stale        bool      `json:"stale"`
}

// LastTrade is the last trade of a BookJSON.
type LastTrade struct {
	Price    int64 `json:"price"`
	Quantity int64 `json:"quantity"`
}

// ToJSON returns b's JSON-line form.
func (b *Book) ToJSON() BookJSON {
	j := BookJSON{Symbol: b.SymbolString(), InstrumentID: b.InstrumentID, LogPosition: b.LogPosition,
		ClusterTime: b.ClusterTime, Bids: append([]Level{}, b.Bids...), Asks: append([]Level{}, b.Asks...),
		LastTrade: LastTrade{Price: b.LastTradePrice, Quantity: b.LastTradeQty},
		Volume:    b.Volume, TradeCount: b.TradeCount, TradingState: stateName(b), Stale: b.Stale}
	return j
}

func stateName(b *Book) string {
	if b.State == 0 {
		return "Unknown"
	}
	return b.State.String()
}

// Listen joins a channel and writes what it sees to w until ctx ends or
// Count updates have arrived.
func Listen(ctx context.Context, cfg ListenConfig, w io.Writer) error {
	conn, err := ListenUDP(cfg.UDP)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := &listenOutput{w: w, cfg: cfg, cancel: cancel}
	sub, err := NewSubscriber(SubscriberConfig{OnUpdate: out.onUpdate})
	if err != nil {
		conn.Close()
		return err
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- sub.Run(conn, stop) }()
	if !cfg.JSON {
		out.drawLoop(ctx, sub)
	}
	<-ctx.Done()
	close(stop)
	err = <-done
	conn.Close()
	if err == nil {
		err = out.err
	}
	return err
}

// listenOutput turns subscriber callbacks into output; its fields are
// touched on the subscriber goroutine only, except err after Run returns.
type listenOutput struct {
	w      io.Writer
	cfg    ListenConfig
	cancel context.CancelFunc
	mu     sync.Mutex
	seen   int
	err    error
}

func (o *listenOutput) onUpdate(b *Book) {
	if o.cfg.Symbol != "" && b.SymbolString() != o.cfg.Symbol {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.cfg.Count > 0 && o.seen >= o.cfg.Count {
		return // updates that raced with the cancel
	}
	if o.cfg.JSON && o.err == nil {
		line, err := json.Marshal(b.ToJSON())
		if err == nil {
			_, err = o.w.Write(append(line, '\n'))
		}
		if err != nil {
			o.err = fmt.Errorf("marketdata: listen: write: %w", err)
			o.cancel()
		}
	}
	o.seen++
	if o.cfg.Count > 0 && o.seen >= o.cfg.Count {
		o.cancel()
	}
}

// drawLoop redraws the terminal view until ctx ends.
func (o *listenOutput) drawLoop(ctx context.Context, sub *Subscriber) {
	t := time.NewTicker(cmp0(o.cfg.Refresh, listenRefreshDefault))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			o.draw(sub) // the final state, for Count runs and Ctrl-C alike
			return
		case <-t.C:
			o.draw(sub)
		}
	}
}

func (o *listenOutput) draw(sub *Subscriber) {
	var books []Book
	sub.ForEachBook(func(b *Book) {
		if o.cfg.Symbol == "" || b.SymbolString() == o.cfg.Symbol {
			books = append(books, b.Clone())
		}
	})
	var sb strings.Builder
	sb.WriteString("\x1b[H\x1b[2J") // home and clear
	fmt.Fprintf(&sb, "venue md listen %s:%d on %s — %d instruments", o.cfg.UDP.Group, o.cfg.UDP.Port, o.cfg.UDP.Interface, len(books))
	if sub.Recovering() {
		sb.WriteString(" (waiting for a snapshot)")
	}
	sb.WriteString("\n")
	sort.Slice(books, func(i, j int) bool { return books[i].SymbolString() < books[j].SymbolString() })
	for i := range min(len(books), listenBooksMax) {
		RenderBook(&sb, &books[i], listenDepthMax)
	}
	if len(books) > listenBooksMax {
		fmt.Fprintf(&sb, "\n... and %d more (--symbol S shows one)\n", len(books)-listenBooksMax)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, err := io.WriteString(o.w, sb.String()); err != nil && o.err == nil {
		o.err = fmt.Errorf("marketdata: listen: write: %w", err)
		o.cancel()
	}
}

// RenderBook writes a short ladder of b: a summary line, then bids and asks
// side by side, best first, at most depth rows.
func RenderBook(sb *strings.Builder, b *Book, depth int) {
	fmt.Fprintf(sb, "\n%-8s %-8s pos %d  last %s x %d  vol %d  trades %d", b.SymbolString(), stateName(b),
		b.LogPosition, formatPrice(b.LastTradePrice, b.PriceDecimals), b.LastTradeQty, b.Volume, b.TradeCount)
	if b.Stale {
		sb.WriteString("  STALE")
	}
	fmt.Fprintf(sb, "\n  %6s %8s %12s | %-12s %-8s %-6s\n", "orders", "qty", "bid", "ask", "qty", "orders")
	for i := range min(depth, max(len(b.Bids), len(b.Asks))) {
		bid, ask := "", ""
		if i < len(b.Bids) {
			l := b.Bids[i]
			bid = fmt.Sprintf("%6d %8d %12s", l.Orders, l.Quantity, formatPrice(l.Price, b.PriceDecimals))
		}
		if i < len(b.Asks) {
			l := b.Asks[i]
			ask = fmt.Sprintf("%-12s %-8d %-6d", formatPrice(l.Price, b.PriceDecimals), l.Quantity, l.Orders)
		}
		fmt.Fprintf(sb, "  %28s | %s\n", bid, ask)
	}
}

// formatPrice renders an integer price with its instrument's decimals.
func formatPrice(p int64, decimals uint8) string {
	if decimals == 0 {
		return strconv.FormatInt(p, 10)
	}
	s := strconv.FormatInt(abs(p), 10)
	for len(s) <= int(decimals) {
		s = "0" + s
	}
	s = s[:len(s)-int(decimals)] + "." + s[len(s)-int(decimals):]
	if p < 0 {
		s = "-" + s
	}
	return s
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}
