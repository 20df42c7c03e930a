// Package engine is the venue as a replicated service: it decodes the
// commands the cluster sequenced into its log, routes them to instruments'
// order books, and sends execution reports to the sessions that own the
// orders.
//
// # What it owns
//
// The wire schema (codec.schema, generated into codec_gen.go): fixed-layout
// little-endian messages with an 8-byte header (block length, template id,
// schema id, version), read and written in place by flyweights. Commands
// and reports carry client order ids, accounts and principals as fixed
// ASCII fields so that no decode allocates.
//
// The Engine, a pure state machine: instruments and their trading states,
// accounts, principals and their roles, sessions, orders (live and recently
// finished), exactly-once high-water marks, scheduled state changes, and the
// snapshot and digest of all of it. It does not own matching (orderbook),
// transport, consensus, timers' clocks or market-data publishing; it talks to
// them through Egress, Timers and MarketDataSink. engine/clustered adapts it
// to cluster.ClusteredService; engine/flowbench measures it.
//
// # Driving it
//
// Each entry point applies one log entry and mirrors a clustered service's
// callback: OnStart (optionally from a snapshot), OnSessionOpen,
// OnSessionClose, OnSessionMessage, OnTimerEvent, OnTakeSnapshot and
// OnRoleChange. Every one of them ends with MarketDataSink.OnApplied at its
// log position. Reports are encoded into one reused buffer and handed to
// Egress.Send, which must copy what it keeps. Config.ReportTap, if set, sees
// every report first, including those Egress never gets (a principal with
// no session): the feed an offline replay or surveillance should read.
//
// A caller that holds a queue of commands (committed entries, a recorded
// log) may also call Hint with the command HintAhead entries ahead of the
// one it applies next: the engine then fetches that command's ClOrdID
// index slot, order record and book lines while the commands before it
// run (hint.go). Hints change nothing the engine does; they only make the
// memory a command needs arrive earlier.
//
// # Who may do what
//
// A session authenticates as a principal (cluster credentials). Traders act
// for themselves on the accounts SetAccount granted them; a Gateway session
// carries many principals and acts for the Trader named in each command
// (it may also ask for the instrument list for itself);
// Admins also configure the venue. The first Admin is Config.BootstrapAdmin:
// it exists before any command, so the very first configuration (principals,
// accounts, instruments) enters the log from a session that authenticated as
// it. Acting on an account the principal does not trade is NotAuthorized.
// Admin commands and SessionStatus are acknowledged with a BusinessReject
// whose Reason is None.
//
// Reports about an order go to its principal's current session: the latest
// direct session of that principal, or the gateway session that logged it on
// (SessionStatus LoggedOn), so reports follow a gateway that restarted with
// a new cluster session.
//
// # Orders
//
// Order ids are assigned by the engine (a counter). A ClOrdID is unique per
// account among live orders. SenderSeq per principal is the exactly-once
// rule: a command at or below the highest applied SenderSeq is a duplicate,
// answered with the named order's status (ExecType OrderStatus, reason
// DuplicateMessage) or a BusinessReject, and never applied twice; PossResend
// with a known ClOrdID gets a status report. Finished orders and the ClOrdIDs
// replaces left behind are remembered, oldest forgotten first, up to
// RememberedOrdersMax and SupersededClOrdIDsMax, so that late cancels get
// TooLateToCancel and a cancel or replace naming a replaced order by its old
// ClOrdID gets a cancel reject naming the order.
//
// A replace carries the new total quantity (fills included, FIX OrderQty);
// below the filled quantity it is refused, equal to it ends the order as
// Filled. Type, time in force and post-only cannot change.
//
// # Trading states
//
// PreOpen -> Open | Halted | Closed; Open -> Halted | Closed; Halted -> Open |
// Closed | PreOpen; Closed -> PreOpen | Open. Open trades. Halted refuses new
// orders and replaces but allows cancels. Closed refuses new orders and
// replaces; entering it expires resting DAY orders. PreOpen builds the book
// without trading (there is no opening auction): limit GTC/DAY orders that
// would not trade are accepted, anything that would trade, and market, IOC
// and FOK orders, are refused as TradingClosed. SetTradingState with a
// future EffectiveTime schedules a cluster timer; the timer event applies
// the change.
//
// # Cancel on disconnect
//
// When a session closes or times out, every principal whose current session
// it was is disconnected; when a gateway reports LoggedOff, that principal
// is. If cancel-on-disconnect is on for the principal (SessionStatus for a
// gateway's principals, Config.CancelOnDisconnectDefault for direct
// sessions), its resting DAY orders are cancelled with reason
// CancelOnDisconnect, through the log like everything else. The cancels are
// reported before the principal loses its session: to the closing session
// (the cluster drops them, the report tap keeps them) or to the gateway
// that logged the principal off.
//
// # Determinism
//
// The engine never reads a clock, a random source or the environment,
// starts no goroutine and never depends on map iteration order (its own
// indexes are open-addressing tables that are only probed; what is iterated
// is kept in slices or sorted first): the same log gives the same state,
// reports and market-data calls, byte for byte, on every member, after a
// snapshot and restore, and in offline replay. Digest is a SHA-256 of the
// canonical snapshot.
//
// # Bounds
//
// Everything is bounded by a named constant (limits.go); a command that
// would pass a bound is refused with ReasonLimitExceeded. On the hot path
// (new, cancel, replace, fill) nothing allocates once the engine reached its
// steady state.
package engine

//go:generate go run ./internal/codecgen -in codec.schema -out codec_gen.go
