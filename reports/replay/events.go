package replay

import (
	"fmt"
	"io"

	"venue/reports/surveil"
)

// EventsConfig configures WriteEvents.
type EventsConfig struct {
	Config // engine settings and progress (Handler and Snapshot are set by WriteEvents)
	Start
	// Symbol and Account select events (either may be empty; both empty:
	// every event). An account selects its own events and the fills
	// against it.
	Symbol, Account string
	// From and To bound the window (see Point).
	From, To Point
	Format   surveil.EventFormat
}

// WriteEvents replays the log and writes the order event history in the
// window as CSV or JSON lines (surveil.EventWriter's columns). It returns
// the replay's statistics and how many events it wrote.
func WriteEvents(src *Source, w io.Writer, cfg EventsConfig) (Stats, uint64, error) {
	if cfg.Format != surveil.FormatCSV && cfg.Format != surveil.FormatJSONL {
		return Stats{}, 0, fmt.Errorf("replay: events format %d", cfg.Format)
	}
	ew := surveil.NewEventWriter(w, cfg.Format, surveil.EventFilter{})
	win := &window{from: cfg.From, symbol: cfg.Symbol, next: ew}
	if cfg.Account != "" {
		win.account, win.byAccount = surveil.MakeName(cfg.Account), true
	}
	cfg.Handler = win
	r, err := newReplayer(src, cfg.Config, cfg.Start, cfg.From)
	if err != nil {
		return Stats{}, 0, err
	}
	err = r.AdvanceTo(cfg.To)
	if ferr := ew.Flush(); err == nil {
		err = ferr
	}
	return r.Stats(), win.passed, err
}

// window hands on the events after from, of one symbol and one account
// (its own and the fills against it). The symbol is
// matched against the instrument's definition in the market, so it needs
// no lookup before the log defines it.
type window struct {
	from   Point
	symbol string
	// account, if byAccount, selects the account's events.
	account   surveil.Name
	byAccount bool
	next      surveil.Handler
	known     map[uint32]bool // instrument -> its symbol is the one wanted
	passed    uint64
}

// OnEvent filters one event (surveil.Handler).
func (w *window) OnEvent(ev *surveil.Event, m *surveil.Market) {
	if !w.from.admits(ev.LogPosition, ev.ClusterTime) || !w.symbolMatches(ev.Instrument, m) ||
		(w.byAccount && ev.Account != w.account && (ev.Kind != surveil.KindFill || ev.Counter.Account != w.account)) {
		return
	}
	w.passed++
	w.next.OnEvent(ev, m)
}

func (w *window) symbolMatches(inst uint32, m *surveil.Market) bool {
	if w.symbol == "" {
		return true
	}
	if ok, seen := w.known[inst]; seen {
		return ok
	}
	b := m.Book(inst)
	if b == nil || b.Info.ID == 0 || b.Info.Symbol == [16]byte{} {
		return false // not defined yet; asked again next time
	}
	if w.known == nil {
		w.known = map[uint32]bool{}
	}
	ok := b.Info.SymbolString() == w.symbol
	w.known[inst] = ok // one entry per instrument: bounded by the engine's instruments
	return ok
}
