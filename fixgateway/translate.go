package fixgateway

import (
	"errors"
	"strconv"

	"github.com/quickfixgo/quickfix"

	"venue/engine"
)

// instrument is what the gateway knows of one listed instrument: enough to
// turn a FIX symbol and decimal price into the engine's integers and back.
type instrument struct {
	id       uint32
	symbol   string
	decimals int // prices are integers in units of 10^-decimals
}

// instrumentTable maps symbols to instruments. It is immutable once
// published; the agent replaces it whole when definitions change.
type instrumentTable struct {
	bySymbol map[string]*instrument
	byID     map[uint32]*instrument
}

func newInstrumentTable(list []instrument) *instrumentTable {
	t := &instrumentTable{bySymbol: map[string]*instrument{}, byID: map[uint32]*instrument{}}
	for i := range list {
		in := list[i]
		t.bySymbol[in.symbol] = &in
		t.byID[in.id] = &in
	}
	return t
}

// requestKind is the FIX application message a request came from.
type requestKind uint8

const (
	requestNewOrder requestKind = iota + 1
	requestCancel
	requestReplace
	requestMassCancel
	requestStatus
	requestSessionStatus  // not from FIX: a logon or logoff
	requestInstrumentList // not from FIX: the gateway learning symbols
)

// String names the kind.
func (k requestKind) String() string {
	switch k {
	case requestNewOrder:
		return "NewOrderSingle"
	case requestCancel:
		return "OrderCancelRequest"
	case requestReplace:
		return "OrderCancelReplaceRequest"
	case requestMassCancel:
		return "OrderMassCancelRequest"
	case requestStatus:
		return "OrderStatusRequest"
	case requestSessionStatus:
		return "SessionStatus"
	case requestInstrumentList:
		return "InstrumentListRequest"
	}
	return "requestKind(" + strconv.Itoa(int(k)) + ")"
}

// request is one FIX application message translated into an engine
// command, with what the gateway needs to recognise the command's answer
// and to ask for its status.
type request struct {
	kind       requestKind
	msg        []byte // the encoded engine command
	clOrdID    string
	account    string
	instrument uint32
	side       engine.Side
	orderID    uint64
}

// rejectHow is which FIX message a gateway-level reject is answered with.
type rejectHow uint8

const (
	// rejectSession: session-level Reject (3) — malformed, missing
	// required tag, value out of range for the tag.
	rejectSession rejectHow = iota + 1
	// rejectBusiness: BusinessMessageReject (j) — unsupported message
	// type, application not available.
	rejectBusiness
	// rejectExecution: ExecutionReport (8) Rejected (for D) or Order
	// Status Rejected (for H) — the order-level reject.
	rejectExecution
	// rejectCancel: OrderCancelReject (9) for F and G.
	rejectCancel
	// rejectMassCancel: OrderMassCancelReport (r) with the request rejected.
	rejectMassCancel
)

// String names the reject form.
func (h rejectHow) String() string {
	switch h {
	case rejectSession:
		return "Reject(3)"
	case rejectBusiness:
		return "BusinessMessageReject(j)"
	case rejectExecution:
		return "ExecutionReport(8)"
	case rejectCancel:
		return "OrderCancelReject(9)"
	case rejectMassCancel:
		return "OrderMassCancelReport(r)"
	}
	return "rejectHow(" + strconv.Itoa(int(h)) + ")"
}

// gwReject is a reject the gateway answers itself, without the cluster.
type gwReject struct {
	how    rejectHow
	reason int          // the reason code of that reject form
	tag    quickfix.Tag // RefTagID, for session rejects
	text   string
}

func sessionReject(reason int, tag quickfix.Tag, text string) *gwReject {
	return &gwReject{how: rejectSession, reason: reason, tag: tag, text: text}
}

// orderReject answers a request with the reject form its kind calls for.
func orderReject(k requestKind, ordRej, cxlRej int, text string) *gwReject {
	switch k {
	case requestCancel, requestReplace:
		return &gwReject{how: rejectCancel, reason: cxlRej, text: text}
	case requestMassCancel:
		return &gwReject{how: rejectMassCancel, reason: massCxlRejOther, text: text}
	default:
		return &gwReject{how: rejectExecution, reason: ordRej, text: text}
	}
}

// translator turns one session's FIX application messages into engine
// commands. It is pure: no I/O, no clock, so it can be fuzzed.
type translator struct {
	session     *SessionConfig
	instruments *instrumentTable
}

// fields reads a message body; absent and empty fields are both "missing".
type fields struct{ m *quickfix.Message }

func (f fields) get(t quickfix.Tag) ([]byte, bool) {
	if !f.m.Body.Has(t) {
		return nil, false
	}
	b, err := f.m.Body.GetBytes(t)
	if err != nil || len(b) == 0 {
		return nil, false
	}
	return b, true
}

// required returns a required field or the session reject for its absence.
func (f fields) required(t quickfix.Tag) ([]byte, *gwReject) {
	b, ok := f.get(t)
	if !ok {
		return nil, sessionReject(sessRejRequiredTagMissing, t, "Required tag missing")
	}
	return b, nil
}

// translate validates m (of msgType) and encodes its engine command into
// buf. seq is the message's MsgSeqNum (the command's SenderSeq); resend is
// PossResend=Y or PossDupFlag=Y. Exactly one of the results is set.
func (t *translator) translate(m *quickfix.Message, msgType string, seq uint64, resend bool, buf []byte) (request, *gwReject) {
	f := fields{m}
	switch msgType {
	case msgTypeNewOrderSingle:
		return t.newOrder(f, seq, resend, buf)
	case msgTypeOrderCancel:
		return t.cancel(f, seq, buf)
	case msgTypeOrderCancelReplace:
		return t.replace(f, seq, resend, buf)
	case msgTypeOrderMassCancel:
		return t.massCancel(f, seq, buf)
	case msgTypeOrderStatusRequest:
		return t.status(f, buf)
	}
	return request{}, &gwReject{how: rejectBusiness, reason: bizRejUnsupportedMessageType, text: "Unsupported Message Type"}
}

// common holds the fields every order message shares.
type common struct {
	clOrdID string
	inst    *instrument
	side    engine.Side
	account string
}

// readCommon validates ClOrdID, Symbol, Side and Account (and TransactTime
// when the message type requires it).
func (t *translator) readCommon(k requestKind, f fields, needTime bool) (common, *gwReject) {
	var c common
	id, rej := f.required(tagClOrdID)
	if rej != nil {
		return c, rej
	}
	if len(id) > clOrdIDBytesMax || !engine.ValidChars(id) {
		return c, sessionReject(sessRejValueIncorrect, tagClOrdID, "ClOrdID must be 1..32 printable characters without spaces")
	}
	c.clOrdID = string(id)
	sym, rej := f.required(tagSymbol)
	if rej != nil {
		return c, rej
	}
	if k != requestMassCancel {
		side, rej := f.required(tagSide)
		if rej != nil {
			return c, rej
		}
		if c.side, rej = t.side(k, side); rej != nil {
			return c, rej
		}
	}
	if needTime {
		if rej := transactTime(f); rej != nil {
			return c, rej
		}
	}
	if c.account, rej = t.account(k, f); rej != nil {
		return c, rej
	}
	if c.inst = t.instruments.bySymbol[string(sym)]; c.inst == nil {
		return c, orderReject(k, ordRejUnknownSymbol, cxlRejUnknownOrder, "Unknown symbol "+quoted(sym))
	}
	return c, nil
}

func transactTime(f fields) *gwReject {
	if _, rej := f.required(tagTransactTime); rej != nil {
		return rej
	}
	if _, err := f.m.Body.GetTime(tagTransactTime); err != nil {
		return sessionReject(sessRejIncorrectFormat, tagTransactTime, "Incorrect data format for value")
	}
	return nil
}

// side maps FIX Side: Buy and Sell are supported; the other FIX 4.4 sides
// are valid FIX the venue does not offer (an order-level reject); anything
// else is not a Side at all (a session reject).
func (t *translator) side(k requestKind, v []byte) (engine.Side, *gwReject) {
	if len(v) == 1 {
		switch c := v[0]; {
		case c == fixSideBuy:
			return engine.SideBuy, nil
		case c == fixSideSell:
			return engine.SideSell, nil
		case c >= '3' && c <= '9', c >= 'A' && c <= 'G':
			return 0, orderReject(k, ordRejUnsupportedOrderCha, cxlRejOther, "Side "+string(v)+" not supported")
		}
	}
	return 0, sessionReject(sessRejValueIncorrect, tagSide, "Value is incorrect (out of range) for this tag")
}

func (t *translator) ordType(k requestKind, v []byte) (engine.OrdType, *gwReject) {
	if len(v) == 1 {
		switch c := v[0]; {
		case c == fixOrdTypeMarket:
			return engine.OrdTypeMarket, nil
		case c == fixOrdTypeLimit:
			return engine.OrdTypeLimit, nil
		case c >= '3' && c <= '9', c >= 'A' && c <= 'K', c == 'P':
			return 0, orderReject(k, ordRejUnsupportedOrderCha, cxlRejOther, "OrdType "+string(v)+" not supported")
		}
	}
	return 0, sessionReject(sessRejValueIncorrect, tagOrdType, "Value is incorrect (out of range) for this tag")
}

func (t *translator) timeInForce(k requestKind, f fields) (engine.TimeInForce, *gwReject) {
	v, ok := f.get(tagTimeInForce)
	if !ok {
		return engine.TimeInForceDay, nil // FIX's default
	}
	if len(v) == 1 {
		switch c := v[0]; {
		case c == fixTIFDay:
			return engine.TimeInForceDay, nil
		case c == fixTIFGTC:
			return engine.TimeInForceGTC, nil
		case c == fixTIFIOC:
			return engine.TimeInForceIOC, nil
		case c == fixTIFFOK:
			return engine.TimeInForceFOK, nil
		case c >= '2' && c <= '7':
			return 0, orderReject(k, ordRejUnsupportedOrderCha, cxlRejOther, "TimeInForce "+string(v)+" not supported")
		}
	}
	return 0, sessionReject(sessRejValueIncorrect, tagTimeInForce, "Value is incorrect (out of range) for this tag")
}

// account returns the order's account: the session's default when absent;
// one the session may not trade is an order-level reject.
func (t *translator) account(k requestKind, f fields) (string, *gwReject) {
	a, ok := f.get(tagAccount)
	if !ok {
		return t.session.Accounts[0], nil
	}
	if !t.session.mayTrade(a) {
		return "", orderReject(k, ordRejUnknownAccount, cxlRejOther, "Account "+quoted(a)+" not allowed for this session")
	}
	return string(a), nil
}

// quantity reads OrderQty: required, a whole positive number.
func (t *translator) quantity(k requestKind, f fields) (int64, *gwReject) {
	v, rej := f.required(tagOrderQty)
	if rej != nil {
		return 0, rej
	}
	q, err := parseScaled(v, 0)
	switch {
	case errors.Is(err, errDecimalFormat):
		return 0, sessionReject(sessRejIncorrectFormat, tagOrderQty, "Incorrect data format for value")
	case err != nil:
		return 0, orderReject(k, ordRejIncorrectQuantity, cxlRejOther, "OrderQty must be a whole number below 10^18")
	case q <= 0:
		return 0, orderReject(k, ordRejIncorrectQuantity, cxlRejOther, "OrderQty must be positive")
	}
	return q, nil
}

// price reads Price for a limit order, exactly at the instrument's
// precision. Off-tick is the engine's call; a price that needs more digits
// than the instrument has is the gateway's reject.
func (t *translator) price(k requestKind, f fields, ot engine.OrdType, in *instrument) (int64, *gwReject) {
	if ot != engine.OrdTypeLimit {
		return 0, nil
	}
	v, ok := f.get(tagPrice)
	if !ok {
		return 0, orderReject(k, ordRejOther, cxlRejOther, "Price (44) is required for a limit order")
	}
	p, err := parseScaled(v, in.decimals)
	switch {
	case errors.Is(err, errDecimalFormat):
		return 0, sessionReject(sessRejIncorrectFormat, tagPrice, "Incorrect data format for value")
	case err != nil:
		return 0, orderReject(k, ordRejOther, cxlRejOther, "Price "+quoted(v)+" not representable with "+strconv.Itoa(in.decimals)+" decimals")
	}
	return p, nil
}

// orderID reads the optional OrderID; the engine's ids are decimal.
func orderID(f fields) uint64 {
	v, ok := f.get(tagOrderID)
	if !ok {
		return 0
	}
	id, err := strconv.ParseUint(string(v), 10, 64)
	if err != nil {
		return 0 // not one of ours ("NONE"): the engine goes by OrigClOrdID
	}
	return id
}

func (t *translator) flags(f fields, resend bool) uint8 {
	var fl uint8
	if v, ok := f.get(tagExecInst); ok {
		for _, c := range v {
			if c == fixExecInstParticipateDontInitiate {
				fl |= flagPostOnly
			}
		}
	}
	if resend {
		fl |= flagPossResend
	}
	return fl
}

// terms are an order's priced terms, shared by NewOrderSingle and
// OrderCancelReplaceRequest.
type terms struct {
	ordType engine.OrdType
	tif     engine.TimeInForce
	qty     int64
	price   int64
}

// readTerms reads and checks OrdType, TimeInForce, OrderQty and Price, in
// that order, so the first missing or invalid field is the one rejected.
func (t *translator) readTerms(k requestKind, f fields, inst *instrument) (terms, *gwReject) {
	ov, rej := f.required(tagOrdType)
	if rej != nil {
		return terms{}, rej
	}
	ot, rej := t.ordType(k, ov)
	if rej != nil {
		return terms{}, rej
	}
	tif, rej := t.timeInForce(k, f)
	if rej != nil {
		return terms{}, rej
	}
	qty, rej := t.quantity(k, f)
	if rej != nil {
		return terms{}, rej
	}
	px, rej := t.price(k, f, ot, inst)
	if rej != nil {
		return terms{}, rej
	}
	return terms{ordType: ot, tif: tif, qty: qty, price: px}, nil
}

func (t *translator) newOrder(f fields, seq uint64, resend bool, buf []byte) (request, *gwReject) {
	const k = requestNewOrder
	c, rej := t.readCommon(k, f, true)
	if rej != nil {
		return request{}, rej
	}
	o, rej := t.readTerms(k, f, c.inst)
	if rej != nil {
		return request{}, rej
	}
	buf, m := engine.AppendNewOrder(buf[:0])
	m.SetSenderSeq(seq)
	m.SetPrice(o.price)
	m.SetQuantity(o.qty)
	m.SetInstrument(c.inst.id)
	m.SetSide(c.side)
	m.SetOrdType(o.ordType)
	m.SetTimeInForce(o.tif)
	m.SetFlags(t.flags(f, resend))
	m.SetAccount(c.account)
	m.SetPrincipal(t.session.Principal)
	m.SetClOrdID(c.clOrdID)
	return c.request(k, buf, 0), nil
}

func (c common) request(k requestKind, msg []byte, orderID uint64) request {
	r := request{kind: k, msg: msg, clOrdID: c.clOrdID, account: c.account, side: c.side, orderID: orderID}
	if c.inst != nil {
		r.instrument = c.inst.id
	}
	return r
}

// origClOrdID reads the required OrigClOrdID.
func origClOrdID(f fields) (string, *gwReject) {
	v, rej := f.required(tagOrigClOrdID)
	if rej != nil {
		return "", rej
	}
	if len(v) > clOrdIDBytesMax || !engine.ValidChars(v) {
		return "", sessionReject(sessRejValueIncorrect, tagOrigClOrdID, "OrigClOrdID must be 1..32 printable characters without spaces")
	}
	return string(v), nil
}

func (t *translator) cancel(f fields, seq uint64, buf []byte) (request, *gwReject) {
	const k = requestCancel
	orig, rej := origClOrdID(f)
	if rej != nil {
		return request{}, rej
	}
	c, rej := t.readCommon(k, f, true)
	if rej != nil {
		return request{}, rej
	}
	id := orderID(f)
	buf, m := engine.AppendCancelOrder(buf[:0])
	m.SetSenderSeq(seq)
	m.SetOrderID(id)
	m.SetInstrument(c.inst.id)
	m.SetSide(c.side)
	m.SetAccount(c.account)
	m.SetPrincipal(t.session.Principal)
	m.SetClOrdID(c.clOrdID)
	m.SetOrigClOrdID(orig)
	return c.request(k, buf, id), nil
}

func (t *translator) replace(f fields, seq uint64, resend bool, buf []byte) (request, *gwReject) {
	const k = requestReplace
	orig, rej := origClOrdID(f)
	if rej != nil {
		return request{}, rej
	}
	c, rej := t.readCommon(k, f, true)
	if rej != nil {
		return request{}, rej
	}
	o, rej := t.readTerms(k, f, c.inst)
	if rej != nil {
		return request{}, rej
	}
	id := orderID(f)
	buf, m := engine.AppendReplaceOrder(buf[:0])
	m.SetSenderSeq(seq)
	m.SetOrderID(id)
	m.SetPrice(o.price)
	m.SetQuantity(o.qty)
	m.SetInstrument(c.inst.id)
	m.SetSide(c.side)
	m.SetOrdType(o.ordType)
	m.SetTimeInForce(o.tif)
	m.SetFlags(t.flags(f, resend))
	m.SetAccount(c.account)
	m.SetPrincipal(t.session.Principal)
	m.SetClOrdID(c.clOrdID)
	m.SetOrigClOrdID(orig)
	return c.request(k, buf, id), nil
}

// massCancel supports MassCancelRequestType 1 (a security's orders) and 7
// (all orders), narrowed to one account when Account is given. Side
// filters are not supported: cancelling both sides when one was asked for
// would cancel orders the client meant to keep.
func (t *translator) massCancel(f fields, seq uint64, buf []byte) (request, *gwReject) {
	const k = requestMassCancel
	id, rej := f.required(tagClOrdID)
	if rej != nil {
		return request{}, rej
	}
	if len(id) > clOrdIDBytesMax || !engine.ValidChars(id) {
		return request{}, sessionReject(sessRejValueIncorrect, tagClOrdID, "ClOrdID must be 1..32 printable characters without spaces")
	}
	typ, rej := f.required(tagMassCancelRequestType)
	if rej != nil {
		return request{}, rej
	}
	if rej := transactTime(f); rej != nil {
		return request{}, rej
	}
	c := common{clOrdID: string(id)}
	n, err := strconv.Atoi(string(typ))
	switch {
	case err != nil || n < 1 || n > 7:
		return request{}, sessionReject(sessRejValueIncorrect, tagMassCancelRequestType, "Value is incorrect (out of range) for this tag")
	case n != fixMassCancelSecurity && n != fixMassCancelAll:
		return request{}, &gwReject{how: rejectMassCancel, reason: massCxlRejUnsupported, text: "MassCancelRequestType " + string(typ) + " not supported"}
	}
	if _, ok := f.get(tagSide); ok {
		return request{}, &gwReject{how: rejectMassCancel, reason: massCxlRejOther, text: "mass cancel by side not supported"}
	}
	a, named := f.get(tagAccount)
	if named && !t.session.mayTrade(a) {
		return request{}, &gwReject{how: rejectMassCancel, reason: massCxlRejOther, text: "Account " + quoted(a) + " not allowed for this session"}
	}
	c.account = string(a)
	scope := engine.MassCancelScopePrincipal
	if named {
		scope = engine.MassCancelScopeAccount
	}
	if n == fixMassCancelSecurity {
		sym, rej := f.required(tagSymbol)
		if rej != nil {
			return request{}, rej
		}
		if c.inst = t.instruments.bySymbol[string(sym)]; c.inst == nil {
			return request{}, &gwReject{how: rejectMassCancel, reason: massCxlRejUnknownSec, text: "Unknown symbol " + quoted(sym)}
		}
		scope = engine.MassCancelScopeInstrument
		if named {
			scope = engine.MassCancelScopeAccountInstrument
		}
	}
	buf, m := engine.AppendMassCancel(buf[:0])
	m.SetSenderSeq(seq)
	if c.inst != nil {
		m.SetInstrument(c.inst.id)
	}
	m.SetScope(scope)
	m.SetAccount(c.account)
	m.SetPrincipal(t.session.Principal)
	m.SetClOrdID(c.clOrdID)
	return c.request(k, buf, 0), nil
}

func (t *translator) status(f fields, buf []byte) (request, *gwReject) {
	const k = requestStatus
	c, rej := t.readCommon(k, f, false)
	if rej != nil {
		return request{}, rej
	}
	id := orderID(f)
	return c.request(k, encodeStatus(buf, id, c.inst.id, c.side, c.account, t.session.Principal, c.clOrdID), id), nil
}

// encodeStatus encodes an OrderStatusRequest; the gateway also sends one
// itself to resolve a command whose outcome is unknown.
func encodeStatus(buf []byte, orderID uint64, inst uint32, side engine.Side, account, principal, clOrdID string) []byte {
	buf, m := engine.AppendOrderStatusRequest(buf[:0])
	m.SetOrderID(orderID)
	m.SetInstrument(inst)
	m.SetSide(side)
	m.SetAccount(account)
	m.SetPrincipal(principal)
	m.SetClOrdID(clOrdID)
	return buf
}

// quoted returns v for a reject's Text, cut to a sane length.
func quoted(v []byte) string {
	const textValueBytesMax = 40
	if len(v) > textValueBytesMax {
		v = v[:textValueBytesMax]
	}
	return strconv.Quote(string(v))
}
