package fixgateway

import "github.com/quickfixgo/quickfix"

// FIX 4.4 tags the gateway reads or writes. They are named here rather than
// taken from the generated quickfixgo/tag module so that the gateway depends
// on the engine core only.
const (
	tagAccount                quickfix.Tag = 1
	tagAvgPx                  quickfix.Tag = 6
	tagClOrdID                quickfix.Tag = 11
	tagCumQty                 quickfix.Tag = 14
	tagExecID                 quickfix.Tag = 17
	tagExecInst               quickfix.Tag = 18
	tagLastPx                 quickfix.Tag = 31
	tagLastQty                quickfix.Tag = 32
	tagMsgSeqNum              quickfix.Tag = 34
	tagMsgType                quickfix.Tag = 35
	tagOrderID                quickfix.Tag = 37
	tagOrderQty               quickfix.Tag = 38
	tagOrdStatus              quickfix.Tag = 39
	tagOrdType                quickfix.Tag = 40
	tagOrigClOrdID            quickfix.Tag = 41
	tagPossDupFlag            quickfix.Tag = 43
	tagPrice                  quickfix.Tag = 44
	tagRefSeqNum              quickfix.Tag = 45
	tagSenderCompID           quickfix.Tag = 49
	tagSide                   quickfix.Tag = 54
	tagSymbol                 quickfix.Tag = 55
	tagText                   quickfix.Tag = 58
	tagTimeInForce            quickfix.Tag = 59
	tagTransactTime           quickfix.Tag = 60
	tagPossResend             quickfix.Tag = 97
	tagCxlRejReason           quickfix.Tag = 102
	tagOrdRejReason           quickfix.Tag = 103
	tagResetSeqNumFlag        quickfix.Tag = 141
	tagExecType               quickfix.Tag = 150
	tagLeavesQty              quickfix.Tag = 151
	tagRefMsgType             quickfix.Tag = 372
	tagBusinessRejectRefID    quickfix.Tag = 379
	tagBusinessRejectReason   quickfix.Tag = 380
	tagCxlRejResponseTo       quickfix.Tag = 434
	tagMassCancelRequestType  quickfix.Tag = 530
	tagMassCancelResponse     quickfix.Tag = 531
	tagMassCancelRejectReason quickfix.Tag = 532
	tagTotalAffectedOrders    quickfix.Tag = 533
	tagPassword               quickfix.Tag = 554
	tagTrdMatchID             quickfix.Tag = 880
)

// FIX message types the gateway handles.
const (
	msgTypeExecutionReport      = "8"
	msgTypeOrderCancelReject    = "9"
	msgTypeLogon                = "A"
	msgTypeNewOrderSingle       = "D"
	msgTypeOrderCancel          = "F"
	msgTypeOrderCancelReplace   = "G"
	msgTypeOrderStatusRequest   = "H"
	msgTypeBusinessReject       = "j"
	msgTypeOrderMassCancel      = "q"
	msgTypeOrderMassCancelReply = "r"
)

// FIX 4.4 enumerated values the gateway produces or accepts.
const (
	fixSideBuy  = '1'
	fixSideSell = '2'

	fixOrdTypeMarket = '1'
	fixOrdTypeLimit  = '2'

	fixTIFDay = '0'
	fixTIFGTC = '1'
	fixTIFIOC = '3'
	fixTIFFOK = '4'

	// fixExecInstParticipateDontInitiate (ExecInst 6) is FIX's post-only.
	fixExecInstParticipateDontInitiate = '6'

	fixMassCancelSecurity = 1 // MassCancelRequestType: orders for a security
	fixMassCancelAll      = 7 // MassCancelRequestType: all orders

	fixMassCancelRejected = 0 // MassCancelResponse: request rejected

	// OrdRejReason values (tag 103).
	ordRejBrokerOption        = 0
	ordRejUnknownSymbol       = 1
	ordRejExchangeClosed      = 2
	ordRejExceedsLimit        = 3
	ordRejUnknownOrder        = 5
	ordRejDuplicateOrder      = 6
	ordRejUnsupportedOrderCha = 11
	ordRejIncorrectQuantity   = 13
	ordRejUnknownAccount      = 15
	ordRejOther               = 99

	// CxlRejReason values (tag 102).
	cxlRejTooLate         = 0
	cxlRejUnknownOrder    = 1
	cxlRejBrokerOption    = 2
	cxlRejDuplicateClOrd  = 6
	cxlRejOther           = 99
	massCxlRejUnknownSec  = 1  // MassCancelRejectReason: invalid or unknown security
	massCxlRejUnsupported = 0  // MassCancelRejectReason: mass cancel not supported
	massCxlRejOther       = 99 // MassCancelRejectReason: other

	// BusinessRejectReason values (tag 380).
	bizRejOther                  = 0
	bizRejUnknownID              = 1
	bizRejUnsupportedMessageType = 3
	bizRejApplicationUnavailable = 4
	bizRejNotAuthorized          = 6

	// SessionRejectReason values (tag 373), for session-level Reject (3).
	sessRejRequiredTagMissing = 1
	sessRejValueIncorrect     = 5
	sessRejIncorrectFormat    = 6
)

// Order flags (NewOrder.Flags, ReplaceOrder.Flags), as the schema defines
// them.
const (
	flagPostOnly   uint8 = 1 << 0 // must not trade on entry (FIX ExecInst 6)
	flagPossResend uint8 = 1 << 1 // FIX PossResend=Y: a known ClOrdID gets a status report
)
