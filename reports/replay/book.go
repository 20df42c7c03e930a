package replay

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"venue/cluster/consensus"
	"venue/reports/surveil"
)

// Book view bounds.
const (
	// DefaultDepth is the levels per side a book view shows unless told.
	DefaultDepth = 10
	// trackedOrdersMax bounds the live orders whose acceptance and last
	// change times a book replay remembers (about 100 bytes each); orders
	// past it show no times.
	trackedOrdersMax = 1 << 20
)

// Start says where a replay begins.
type Start struct {
	// FromSnapshot starts from the newest snapshot at or before the point
	// of interest instead of the log's beginning (a purged log always
	// does).
	FromSnapshot bool
	// ServiceID is the service whose snapshots are used (the engine: 0).
	ServiceID int32
}

// newReplayer starts a replay for a point of interest.
func newReplayer(src *Source, cfg Config, st Start, at Point) (*Replayer, error) {
	cfg.Snapshot = nil
	if st.FromSnapshot || src.Start() > 0 {
		s, ok := startSnapshot(src.Snapshots(st.ServiceID), at, src.Start(), src.End())
		if !ok && src.Start() > 0 {
			return nil, fmt.Errorf("%w: no snapshot of service %d at or before %s", ErrPurged, st.ServiceID, at)
		}
		if ok {
			cfg.Snapshot = &s
		}
	}
	return NewReplayer(src, cfg)
}

// BookConfig configures BookAt.
type BookConfig struct {
	Config // engine settings and progress (Handler and Snapshot are set by BookAt)
	Start
	// Symbol or, if empty, Instrument names the book.
	Symbol     string
	Instrument uint32
	// At is the point the book is shown at (no bound: the log's end).
	At Point
	// Depth is the levels shown per side (0: DefaultDepth).
	Depth int
	// Orders lists each level's orders in time priority.
	Orders bool
}

// BookView is one instrument's book as it stood at a point of the log.
type BookView struct {
	Instrument    uint32             `json:"instrument"`
	Symbol        string             `json:"symbol"`
	TradingState  string             `json:"trading_state"`
	PriceDecimals uint8              `json:"price_decimals"`
	TickSize      int64              `json:"tick_size"`
	LotSize       int64              `json:"lot_size"`
	Position      consensus.Position `json:"position"` // the log position the book reflects
	TimeNs        int64              `json:"time_ns"`  // cluster time of the last entry applied
	BidLevels     int                `json:"bid_levels"`
	AskLevels     int                `json:"ask_levels"`
	LiveOrders    int                `json:"live_orders"`
	Bids          []LevelView        `json:"bids"` // best first, at most Depth
	Asks          []LevelView        `json:"asks"`
}

// LevelView is one price level.
type LevelView struct {
	Price    int64       `json:"price"`
	Quantity int64       `json:"quantity"` // lots open
	Orders   int         `json:"orders"`
	Queue    []OrderView `json:"queue,omitempty"` // in time priority (with Orders)
}

// OrderView is one resting order.
type OrderView struct {
	Rank        int    `json:"rank"` // 1: first in time priority at its level
	OrderID     uint64 `json:"order_id"`
	Account     string `json:"account"`
	Principal   string `json:"principal"`
	ClOrdID     string `json:"clordid"`
	Quantity    int64  `json:"quantity"`
	Filled      int64  `json:"filled"`
	Leaves      int64  `json:"leaves"`
	TimeInForce string `json:"time_in_force"`
	PostOnly    bool   `json:"post_only"`
	// AcceptedNs and AcceptedPosition are when the engine accepted it; 0
	// when that was before the replay began (a snapshot start).
	AcceptedNs       int64 `json:"accepted_ns"`
	AcceptedPosition int64 `json:"accepted_position"`
	// ChangedNs and ChangedPosition are its last replace or partial fill
	// (0: none).
	ChangedNs       int64 `json:"changed_ns"`
	ChangedPosition int64 `json:"changed_position"`
}

// BookAt replays the log to cfg.At and returns the book there.
func BookAt(src *Source, cfg BookConfig) (*BookView, error) {
	tr := &orderTracker{}
	cfg.Handler = nil
	if cfg.Orders {
		cfg.Handler = tr
	}
	r, err := newReplayer(src, cfg.Config, cfg.Start, cfg.At)
	if err != nil {
		return nil, err
	}
	if err := r.AdvanceTo(cfg.At); err != nil {
		return nil, err
	}
	view, err := readSnapView(r.Engine().AppendSnapshot(nil))
	if err != nil {
		return nil, err
	}
	in, ok := view.instrument(cfg.Instrument, cfg.Symbol)
	if !ok {
		return nil, fmt.Errorf("replay: no instrument %q (id %d) at %d", cfg.Symbol, cfg.Instrument, r.Position())
	}
	orders, err := readBookOrders(in.book)
	if err != nil {
		return nil, fmt.Errorf("replay: instrument %d: %w", in.info.ID, err)
	}
	depth := cfg.Depth
	if depth <= 0 {
		depth = DefaultDepth
	}
	bv := &BookView{Instrument: in.info.ID, Symbol: in.info.SymbolString(), TradingState: in.info.State.String(),
		PriceDecimals: in.info.PriceDecimals, TickSize: in.info.TickSize, LotSize: in.info.LotSize,
		Position: r.Position(), TimeNs: r.Stats().LastTimeNs, LiveOrders: len(orders)}
	for _, lv := range levelsOf(orders) {
		side, count := &bv.Asks, &bv.AskLevels
		if lv.buy {
			side, count = &bv.Bids, &bv.BidLevels
		}
		*count++
		if len(*side) >= depth {
			continue
		}
		l := LevelView{Price: lv.price, Quantity: lv.qty, Orders: lv.n}
		if cfg.Orders {
			for k, o := range orders[lv.first : lv.first+lv.n] {
				l.Queue = append(l.Queue, orderView(view, tr, k+1, o))
			}
		}
		*side = append(*side, l)
	}
	return bv, nil
}

func orderView(view *snapView, tr *orderTracker, rank int, o bookOrder) OrderView {
	ov := OrderView{Rank: rank, OrderID: o.id, Account: view.accountName(int32(o.account)), Quantity: o.qty,
		Filled: o.filled, Leaves: o.qty - o.filled, PostOnly: o.postOnly}
	if so, ok := view.order(o.id); ok {
		ov.Principal = view.principalName(so.principal)
		ov.ClOrdID = strings.TrimRight(string(so.clOrdID[:]), "\x00")
		ov.TimeInForce = so.tif.String()
	}
	if t, ok := tr.live[o.id]; ok {
		ov.AcceptedNs, ov.AcceptedPosition, ov.ChangedNs, ov.ChangedPosition = t.acceptedNs, t.acceptedPos, t.changedNs, t.changedPos
	}
	return ov
}

// orderTracker remembers when each live order was accepted and last
// changed, from the event history; it forgets an order when it ends.
type orderTracker struct {
	live    map[uint64]orderTimes
	Dropped uint64 // orders not tracked at trackedOrdersMax
}

type orderTimes struct {
	acceptedNs, acceptedPos int64
	changedNs, changedPos   int64
}

// OnEvent follows one event (surveil.Handler).
func (t *orderTracker) OnEvent(ev *surveil.Event, _ *surveil.Market) {
	if t.live == nil {
		t.live = map[uint64]orderTimes{}
	}
	switch ev.Kind {
	case surveil.KindNew:
		if ev.Leaves == 0 {
			return
		}
		if len(t.live) >= trackedOrdersMax {
			t.Dropped++
			return
		}
		t.live[ev.OrderID] = orderTimes{acceptedNs: ev.ClusterTime, acceptedPos: ev.LogPosition}
	case surveil.KindReplace, surveil.KindFill:
		if ev.Leaves == 0 {
			delete(t.live, ev.OrderID)
		} else if o, ok := t.live[ev.OrderID]; ok {
			o.changedNs, o.changedPos = ev.ClusterTime, ev.LogPosition
			t.live[ev.OrderID] = o
		}
	case surveil.KindCancel, surveil.KindExpire:
		delete(t.live, ev.OrderID)
	}
}

// WriteText prints the book as a ladder (and each level's queue).
func (bv *BookView) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "%s (instrument %d) at log position %d, %s: %s; tick %s, lot %d\n", bv.Symbol, bv.Instrument,
		bv.Position, surveil.FormatTime(bv.TimeNs), bv.TradingState, bv.price(bv.TickSize), bv.LotSize)
	fmt.Fprintf(w, "%d live orders; %d bid levels, %d ask levels (showing %d and %d)\n\n", bv.LiveOrders,
		bv.BidLevels, bv.AskLevels, len(bv.Bids), len(bv.Asks))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "orders\tbid qty\tbid\t\task\task qty\torders\t")
	for i := range max(len(bv.Bids), len(bv.Asks)) {
		var b, a [3]string
		if i < len(bv.Bids) {
			l := bv.Bids[i]
			b = [3]string{strconv.Itoa(l.Orders), strconv.FormatInt(l.Quantity, 10), bv.price(l.Price)}
		}
		if i < len(bv.Asks) {
			l := bv.Asks[i]
			a = [3]string{bv.price(l.Price), strconv.FormatInt(l.Quantity, 10), strconv.Itoa(l.Orders)}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t\t%s\t%s\t%s\t\n", b[0], b[1], b[2], a[0], a[1], a[2])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	bv.writeQueues(w, "bid", bv.Bids)
	bv.writeQueues(w, "ask", bv.Asks)
	return nil
}

func (bv *BookView) writeQueues(w io.Writer, side string, levels []LevelView) {
	for _, l := range levels {
		if len(l.Queue) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s %s: %d lots in %d orders\n", side, bv.price(l.Price), l.Quantity, l.Orders)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  rank\torder\taccount\tprincipal\tclordid\tleaves\tqty\ttif\taccepted\tat position\tchanged")
		for _, o := range l.Queue {
			acc, changed := "before the replay", ""
			if o.AcceptedPosition != 0 {
				acc = surveil.FormatTime(o.AcceptedNs)
			}
			if o.ChangedPosition != 0 {
				changed = surveil.FormatTime(o.ChangedNs)
			}
			fmt.Fprintf(tw, "  %d\t%d\t%s\t%s\t%s\t%d\t%d\t%s\t%s\t%d\t%s\n", o.Rank, o.OrderID, o.Account, o.Principal,
				o.ClOrdID, o.Leaves, o.Quantity, o.TimeInForce, acc, o.AcceptedPosition, changed)
		}
		tw.Flush()
	}
}

// price writes a price in the instrument's decimals.
func (bv *BookView) price(p int64) string { return FormatPrice(p, bv.PriceDecimals) }

// FormatPrice writes an integer price with decimals implied decimal places.
func FormatPrice(p int64, decimals uint8) string {
	s := strconv.FormatInt(p, 10)
	if decimals == 0 {
		return s
	}
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for len(s) <= int(decimals) {
		s = "0" + s
	}
	s = s[:len(s)-int(decimals)] + "." + s[len(s)-int(decimals):]
	if neg {
		s = "-" + s
	}
	return s
}
