package engine

// Bounds on the replicated state. Every one is enforced where the state
// grows, and a command that would pass it is rejected with ReasonLimitExceeded
// (or, for a session the cluster opened, counted and ignored); nothing in the
// engine grows without bound. TestLimitsRelationships checks how they relate.
const (
	// InstrumentsMax bounds the instruments the venue lists.
	InstrumentsMax = 1024
	// AccountsMax bounds the accounts the venue knows.
	AccountsMax = 1 << 14
	// PrincipalsMax bounds the principals (traders, gateways, admins).
	PrincipalsMax = 1 << 14
	// SessionsMax bounds the cluster sessions the engine tracks at once.
	SessionsMax = 1 << 12
	// AccountsPerPrincipalMax bounds the accounts one principal may trade.
	AccountsPerPrincipalMax = 256
	// OrdersPerBookMax bounds the resting orders of one instrument's book.
	OrdersPerBookMax = 1 << 20
	// LiveOrdersMax bounds the live orders of the whole venue.
	LiveOrdersMax = 1 << 22
	// RememberedOrdersMax bounds the finished orders (and so their client
	// order ids) the engine remembers for status requests, resends and
	// cancel rejects; the oldest is forgotten first.
	RememberedOrdersMax = 1 << 14
	// SupersededClOrdIDsMax bounds the client order ids replaced away that
	// the engine remembers, so that a cancel or replace naming one is
	// answered with a cancel reject naming the order; oldest forgotten first.
	SupersededClOrdIDsMax = 1 << 14
	// PendingStateChangesMax bounds scheduled trading-state changes.
	PendingStateChangesMax = 1024

	// AllInstruments in SetTradingState.Instrument addresses every
	// instrument.
	AllInstruments uint32 = 0xFFFFFFFF
	// basisPointsPerUnit converts a band in basis points to a fraction.
	basisPointsPerUnit = 10_000
	// reportBufferBytes is the initial capacity of the reused report
	// buffer: one report of the largest template with room to spare.
	reportBufferBytes = 512
)

// The ring bounds in use: the constants, lowered by tests that exercise
// forgetting.
var (
	rememberedOrdersMax   = RememberedOrdersMax
	supersededClOrdIDsMax = SupersededClOrdIDsMax
)

// Order flags (NewOrder.Flags, ReplaceOrder.Flags, ExecutionReport.Flags).
const (
	// FlagPostOnly: the order must not trade on entry.
	FlagPostOnly uint8 = 1 << 0
	// FlagPossResend: the sender may have sent this command before (FIX
	// PossResend=Y); a known ClOrdID gets a status report, not a new order.
	FlagPossResend uint8 = 1 << 1
	flagsKnown           = FlagPostOnly | FlagPossResend
)
