package engine

import (
	"errors"
	"fmt"

	"venue/orderbook"
)

// SessionID is a cluster session's id, as the cluster assigns it.
type SessionID int64

// Egress delivers a report to a cluster session. The engine reuses msg as
// soon as Send returns, so an implementation must copy what it keeps. Send
// is called on every member (only the leader's egress reaches the client)
// and must not fail the engine: a report that cannot be delivered is the
// cluster's business, not the state machine's.
type Egress interface {
	Send(session SessionID, msg []byte)
}

// ReportTap sees every report the engine produces, delivered or not: a
// report for a principal with no current session (counted Undeliverable)
// still reaches the tap, so an offline replay or surveillance feed misses
// no fill or cancel. session is where the report was routed (0: nowhere);
// msg is the very bytes Egress got, reused as soon as OnReport returns, so
// an implementation must copy what it keeps. It is called on every member,
// in log order, and must not fail the engine.
type ReportTap interface {
	OnReport(session SessionID, msg []byte)
}

// Timers schedules cluster timers. A timer is part of the log: when its
// deadline (cluster time, ns) passes, the cluster appends a timer event and
// every member's engine receives it through OnTimerEvent. Scheduling an id
// already scheduled replaces it.
type Timers interface {
	ScheduleTimer(correlationID int64, deadlineNs int64)
	CancelTimer(correlationID int64)
}

// CloseReason says why the cluster closed a session.
type CloseReason uint8

// Close reasons, as the cluster reports them.
const (
	CloseClient  CloseReason = 1 // the client closed it
	CloseService CloseReason = 2 // the service (or an operator) closed it
	CloseTimeout CloseReason = 3 // no keepalive in time
)

// String returns the reason's name.
func (r CloseReason) String() string {
	switch r {
	case CloseClient:
		return "client"
	case CloseService:
		return "service"
	case CloseTimeout:
		return "timeout"
	}
	return fmt.Sprintf("CloseReason(%d)", uint8(r))
}

// Config configures an Engine. Every member of a cluster must use the same
// BootstrapAdmin and CancelOnDisconnectDefault: they shape the replicated
// state.
type Config struct {
	// BootstrapAdmin names the principal that is an Admin from the start,
	// before any SetPrincipal: the very first configuration (instruments,
	// accounts, principals) enters the log from a session that authenticated
	// as it. Empty means none (then only a restored snapshot can hold admins).
	BootstrapAdmin string
	// CancelOnDisconnectDefault is cancel-on-disconnect for principals that
	// connect directly (a Trader or Admin session); gateways set it per
	// principal with SessionStatus.
	CancelOnDisconnectDefault bool
	// Egress receives reports; nil discards them.
	Egress Egress
	// ReportTap, if not nil, receives a copy of every report (see
	// ReportTap); it changes nothing the engine does.
	ReportTap ReportTap
	// Timers schedules trading-state changes; nil means EffectiveTime in the
	// future is refused (ReasonInvalidDefinition).
	Timers Timers
	// MarketData receives the public consequences of the log; nil discards.
	MarketData MarketDataSink
	// OrdersHint is how many resting orders per book to make room for up
	// front, so that books below it never allocate.
	OrdersHint int
}

// ErrConfig marks an invalid Config.
var ErrConfig = errors.New("engine: bad config")

// Engine is the venue's replicated state machine. Drive it from one
// goroutine through the On* entry points, which mirror a clustered
// service's callbacks; everything it does depends only on those calls.
type Engine struct {
	cfg    Config
	egress Egress
	tap    ReportTap // nil: off
	timers Timers
	md     MarketDataSink

	state    // the replicated state (snapshotted)
	ctx      cmdContext
	listener bookListener
	// out is the report buffer, reused for every report: a report is its
	// first outLen bytes. An array, not a slice, so that writing a report
	// stores no slice header.
	out      [reportBufferBytes]byte
	outLen   int
	counters Counters
	role     ClusterRole
	// lastSession caches the last session looked up (a gateway sends
	// almost everything); it is not state, and is dropped whenever the
	// session table changes.
	lastSession *session
	// hints is the prefetch pipeline Hint drives; not state.
	hints hintPipe
	// scratchIDs is reused by the rare operations that collect orders.
	scratchIDs []uint64
	// widened holds a command written before its last fields were
	// appended, widened to the present block (see widenEarlier).
	widened [MassCancelBlockLength]byte
}

// discardEgress drops every report.
type discardEgress struct{}

func (discardEgress) Send(SessionID, []byte) {}

// New returns an engine with empty state (plus the bootstrap admin).
func New(cfg Config) (*Engine, error) {
	if cfg.BootstrapAdmin != "" && (len(cfg.BootstrapAdmin) > principalNameBytes || !ValidChars([]byte(cfg.BootstrapAdmin))) {
		return nil, fmt.Errorf("%w: bootstrap admin %q is not a valid principal name", ErrConfig, cfg.BootstrapAdmin)
	}
	if cfg.OrdersHint < 0 || cfg.OrdersHint > OrdersPerBookMax {
		return nil, fmt.Errorf("%w: OrdersHint %d outside 0..%d", ErrConfig, cfg.OrdersHint, OrdersPerBookMax)
	}
	e := &Engine{cfg: cfg, egress: cfg.Egress, tap: cfg.ReportTap, timers: cfg.Timers, md: cfg.MarketData}
	if e.egress == nil {
		e.egress = discardEgress{}
	}
	if e.md == nil {
		e.md = NopMarketDataSink{}
	}
	e.listener.e = e
	e.state.init()
	if cfg.BootstrapAdmin != "" {
		var name [principalNameBytes]byte
		copy(name[:], cfg.BootstrapAdmin)
		e.addPrincipal(name, RoleAdmin)
	}
	return e, nil
}

// newBook returns an empty book for an instrument's parameters.
func (e *Engine) newBook(tick, lot, band int64) *orderbook.Book {
	return e.newBookWithMax(tick, lot, band, OrdersPerBookMax)
}

func (e *Engine) newBookWithMax(tick, lot, band int64, ordersMax int) *orderbook.Book {
	return orderbook.New(e.bookConfig(tick, lot, band, ordersMax), &e.listener)
}

func (e *Engine) bookConfig(tick, lot, band int64, ordersMax int) orderbook.Config {
	return orderbook.Config{
		TickSize: tick, LotSize: lot, BandTicks: band,
		OrdersMax: ordersMax, OrdersHint: min(e.cfg.OrdersHint, ordersMax),
	}
}

// validBookParams reports whether an instrument's parameters make a valid
// book (orderbook.New panics on an invalid one: parameters from the log
// are checked here first).
func (e *Engine) validBookParams(tick, lot, band, reference int64) bool {
	return e.bookConfig(tick, lot, band, OrdersPerBookMax).Validate() == nil &&
		reference <= orderbook.PriceMax
}

// Counters count what the engine refused or could not deliver. They are
// operational, not replicated state: a restored engine starts them at 0.
type Counters struct {
	Commands          uint64 // session messages applied
	Malformed         uint64 // undecodable or invalid commands
	UnknownTemplate   uint64 // unknown or non-command templates
	NewerVersion      uint64 // commands of a newer schema version
	NotAuthorized     uint64 // commands refused for their sender
	Duplicates        uint64 // commands answered as duplicates (SenderSeq or resend)
	LimitExceeded     uint64 // commands refused by a bound
	Undeliverable     uint64 // reports for a principal with no session
	IgnoredSessions   uint64 // session opens past SessionsMax or with a bad principal
	StaleTimers       uint64 // timer events for no pending change
	InvalidTransition uint64 // state changes refused when applied
	// MakerTagMisses counts trades whose maker's book tag did not name its
	// record, so that the maker was looked up by id (slower, same result).
	// Every resting order is tagged on entry and again on restore: more
	// than 0 is a bug to look into, not a fault.
	MakerTagMisses uint64
}

// Counters returns a copy of the engine's counters.
func (e *Engine) Counters() Counters { return e.counters }

// assert panics on an impossible state: a bug, never bad input.
func assert(ok bool, msg string) {
	if !ok {
		panic("engine: assertion failed: " + msg)
	}
}
