package marketdata

import (
	"encoding/binary"
	"errors"
	"strconv"

	"venue/engine"
)

// Packet layout: a 32-byte header followed by Count messages, all
// little-endian. One packet is one datagram.
//
//	 0               1               2               3
//	+---------------+---------------+---------------+---------------+
//	|            Magic              |    Version    |  PacketType   |  0
//	+---------------+---------------+---------------+---------------+
//	|         Packet Length         |         Message Count         |  4
//	+---------------+---------------+---------------+---------------+
//	|                          Session ID                           |  8
//	+---------------------------------------------------------------+
//	|                           Reserved                            | 12
//	+---------------------------------------------------------------+
//	|                   Channel Sequence Number (8)                 | 16
//	+---------------------------------------------------------------+
//	|                      Send Time ns (8)                         | 24
//	+---------------------------------------------------------------+
//	|                         Messages ...                          | 32
//
// The session id names one publisher incarnation (one leadership term of one
// member); the sequence number counts that session's packets on the channel
// from 1, heartbeats included, so a subscriber sees every loss, the tail one
// too at the next heartbeat. Send time is the publisher's clock when the
// packet was sent; only a subscriber sharing that clock (the benchmark) may
// compare it with its own.
const (
	packetMagicOffset    = 0
	packetVersionOffset  = 2
	packetTypeOffset     = 3
	packetLengthOffset   = 4
	packetCountOffset    = 6
	packetSessionOffset  = 8
	packetReservedOffset = 12
	packetSequenceOffset = 16
	packetSendTimeOffset = 24
	packetHeaderLength   = 32

	// packetMagic is "MD" in the first two bytes.
	packetMagic = 0x444D
	// PacketVersion is the version this code writes and reads; packets of
	// other versions are dropped as malformed.
	PacketVersion = 1
)

// Message layout: a 4-byte header (length including the header, type,
// reserved) and a body.
const (
	messageLengthOffset = 0
	messageTypeOffset   = 2
	messageHeaderLength = 4
)

// InstrumentUpdate layout: the whole published state of one instrument —
// conflated updates and snapshot entries alike — so any one of them replaces
// what a subscriber held. Levels follow the fixed part, bids best first, then
// asks best first.
const (
	updateInstrumentOffset    = 4
	updateSymbolOffset        = 8
	updateLogPositionOffset   = 24
	updateClusterTimeOffset   = 32
	updateLastPriceOffset     = 40
	updateLastQtyOffset       = 48
	updateVolumeOffset        = 56
	updateTradeCountOffset    = 64
	updateStateOffset         = 72
	updatePriceDecimalsOffset = 73
	updateBidCountOffset      = 74
	updateAskCountOffset      = 75
	updateFixedLength         = 76

	levelPriceOffset  = 0
	levelQtyOffset    = 8
	levelOrdersOffset = 16
	levelLength       = 20

	// SymbolLength is the size of a NUL-padded symbol in bytes.
	SymbolLength = 16
)

// SnapshotBegin and SnapshotEnd layout: they bracket one full snapshot.
const (
	snapshotIDOffset          = 4
	snapshotInstrumentsOffset = 8
	snapshotMarkerLength      = 12
)

// Trade layout: one trade on the non-conflated trade channel.
const (
	tradeInstrumentOffset  = 4
	tradeAggressorOffset   = 8
	tradeIDOffset          = 12
	tradePriceOffset       = 20
	tradeQtyOffset         = 28
	tradeLogPositionOffset = 36
	tradeClusterTimeOffset = 44
	tradeLength            = 52
)

// PacketType is the header's packet type.
type PacketType uint8

// Packet types.
const (
	// PacketUpdate carries conflated instrument updates.
	PacketUpdate PacketType = 1
	// PacketSnapshot carries snapshot markers and snapshot entries.
	PacketSnapshot PacketType = 2
	// PacketHeartbeat carries no messages; it keeps the sequence visible.
	PacketHeartbeat PacketType = 3
	// PacketTrade carries non-conflated trades.
	PacketTrade PacketType = 4
)

// String returns the packet type's name.
func (t PacketType) String() string {
	switch t {
	case PacketUpdate:
		return "Update"
	case PacketSnapshot:
		return "Snapshot"
	case PacketHeartbeat:
		return "Heartbeat"
	case PacketTrade:
		return "Trade"
	}
	return "PacketType(" + strconv.Itoa(int(t)) + ")"
}

// MessageType is a message header's type.
type MessageType uint8

// Message types.
const (
	// MessageInstrumentUpdate is one instrument's whole published state.
	MessageInstrumentUpdate MessageType = 1
	// MessageSnapshotBegin opens a snapshot: every instrument follows.
	MessageSnapshotBegin MessageType = 2
	// MessageSnapshotEnd closes the snapshot SnapshotBegin opened.
	MessageSnapshotEnd MessageType = 3
	// MessageTrade is one trade on the non-conflated trade channel.
	MessageTrade MessageType = 4
)

// String returns the message type's name.
func (t MessageType) String() string {
	switch t {
	case MessageInstrumentUpdate:
		return "InstrumentUpdate"
	case MessageSnapshotBegin:
		return "SnapshotBegin"
	case MessageSnapshotEnd:
		return "SnapshotEnd"
	case MessageTrade:
		return "Trade"
	}
	return "MessageType(" + strconv.Itoa(int(t)) + ")"
}

// Decode errors: sentinels, so that dropping a malformed packet never allocates.
var (
	ErrTruncated       = errors.New("marketdata: packet truncated")
	ErrBadMagic        = errors.New("marketdata: not a market-data packet")
	ErrBadVersion      = errors.New("marketdata: unsupported packet version")
	ErrBadLength       = errors.New("marketdata: packet length field disagrees with datagram")
	ErrBadPacketType   = errors.New("marketdata: unknown packet type")
	ErrBadMessage      = errors.New("marketdata: malformed message")
	ErrMessageMismatch = errors.New("marketdata: message type not allowed in packet type")
)

var le = binary.LittleEndian

// PacketHeader is a flyweight over a packet header.
type PacketHeader []byte

// Type returns the packet type.
func (h PacketHeader) Type() PacketType { return PacketType(h[packetTypeOffset]) }

// Length returns the packet length field in bytes.
func (h PacketHeader) Length() int { return int(le.Uint16(h[packetLengthOffset:])) }

// Count returns the number of messages.
func (h PacketHeader) Count() int { return int(le.Uint16(h[packetCountOffset:])) }

// Session returns the publisher session id.
func (h PacketHeader) Session() uint32 { return le.Uint32(h[packetSessionOffset:]) }

// Sequence returns the channel sequence number.
func (h PacketHeader) Sequence() uint64 { return le.Uint64(h[packetSequenceOffset:]) }

// SendTimeNs returns the publisher's clock at send.
func (h PacketHeader) SendTimeNs() int64 { return int64(le.Uint64(h[packetSendTimeOffset:])) }

// Message is a flyweight over one message, header included.
type Message []byte

// Type returns the message type.
func (m Message) Type() MessageType { return MessageType(m[messageTypeOffset]) }

// Level is one price level: aggregate quantity and number of orders.
type Level struct {
	Price    int64 `json:"price"`
	Quantity int64 `json:"quantity"`
	Orders   int32 `json:"orders"`
}

// Update is a flyweight over an InstrumentUpdate message.
type Update []byte

// InstrumentID returns the instrument id.
func (u Update) InstrumentID() uint32 { return le.Uint32(u[updateInstrumentOffset:]) }

// Symbol returns the NUL-padded symbol bytes (aliasing the packet).
func (u Update) Symbol() []byte { return u[updateSymbolOffset : updateSymbolOffset+SymbolLength] }

// LogPosition returns the log position of the state shown.
func (u Update) LogPosition() int64 { return int64(le.Uint64(u[updateLogPositionOffset:])) }

// ClusterTime returns the cluster time of the state shown.
func (u Update) ClusterTime() int64 { return int64(le.Uint64(u[updateClusterTimeOffset:])) }

// LastTradePrice returns the last trade's price (0 before the first trade).
func (u Update) LastTradePrice() int64 { return int64(le.Uint64(u[updateLastPriceOffset:])) }

// LastTradeQty returns the last trade's quantity.
func (u Update) LastTradeQty() int64 { return int64(le.Uint64(u[updateLastQtyOffset:])) }

// Volume returns the cumulative traded quantity.
func (u Update) Volume() int64 { return int64(le.Uint64(u[updateVolumeOffset:])) }

// TradeCount returns the cumulative number of trades.
func (u Update) TradeCount() int64 { return int64(le.Uint64(u[updateTradeCountOffset:])) }

// State returns the trading state.
func (u Update) State() engine.TradingState { return engine.TradingState(u[updateStateOffset]) }

// PriceDecimals returns the instrument's price decimals.
func (u Update) PriceDecimals() uint8 { return u[updatePriceDecimalsOffset] }

// BidCount returns the number of bid levels.
func (u Update) BidCount() int { return int(u[updateBidCountOffset]) }

// AskCount returns the number of ask levels.
func (u Update) AskCount() int { return int(u[updateAskCountOffset]) }

// Bid returns bid level i (0 is the best).
func (u Update) Bid(i int) Level { return u.level(i) }

// Ask returns ask level i (0 is the best).
func (u Update) Ask(i int) Level { return u.level(u.BidCount() + i) }

func (u Update) level(i int) Level {
	o := updateFixedLength + i*levelLength
	return Level{
		Price:    int64(le.Uint64(u[o+levelPriceOffset:])),
		Quantity: int64(le.Uint64(u[o+levelQtyOffset:])),
		Orders:   int32(le.Uint32(u[o+levelOrdersOffset:])),
	}
}

// SnapshotMarker is a flyweight over SnapshotBegin or SnapshotEnd.
type SnapshotMarker []byte

// SnapshotID returns the snapshot's number within the session.
func (s SnapshotMarker) SnapshotID() uint32 { return le.Uint32(s[snapshotIDOffset:]) }

// Instruments returns how many instrument entries the snapshot carries.
func (s SnapshotMarker) Instruments() uint32 { return le.Uint32(s[snapshotInstrumentsOffset:]) }

// Trade is a flyweight over a Trade message.
type Trade []byte

// InstrumentID returns the instrument id.
func (t Trade) InstrumentID() uint32 { return le.Uint32(t[tradeInstrumentOffset:]) }

// Aggressor returns the side of the incoming order.
func (t Trade) Aggressor() engine.Side { return engine.Side(t[tradeAggressorOffset]) }

// TradeID returns the engine's trade id.
func (t Trade) TradeID() uint64 { return le.Uint64(t[tradeIDOffset:]) }

// Price returns the trade price.
func (t Trade) Price() int64 { return int64(le.Uint64(t[tradePriceOffset:])) }

// Quantity returns the traded quantity.
func (t Trade) Quantity() int64 { return int64(le.Uint64(t[tradeQtyOffset:])) }

// LogPosition returns the log position of the command that traded.
func (t Trade) LogPosition() int64 { return int64(le.Uint64(t[tradeLogPositionOffset:])) }

// ClusterTime returns the cluster time of the command that traded.
func (t Trade) ClusterTime() int64 { return int64(le.Uint64(t[tradeClusterTimeOffset:])) }
