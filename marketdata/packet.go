package marketdata

import "venue/engine"

// ParsePacket validates a whole datagram — header, every message's length and
// type, every enum — and returns its header, which spans the packet only.
// Callers apply a packet only after it parsed, so a malformed packet is
// dropped whole and never half applied. It never allocates.
//
// The datagram may carry zero bytes after the packet: the publisher pads the
// packets of one UDP GSO send to one segment size (see UDPConn.SendBatch).
// Any other byte after the header's length makes the datagram malformed.
func ParsePacket(p []byte) (PacketHeader, error) {
	if len(p) < packetHeaderLength {
		return nil, ErrTruncated
	}
	h := PacketHeader(p)
	if le.Uint16(p[packetMagicOffset:]) != packetMagic {
		return nil, ErrBadMagic
	}
	if p[packetVersionOffset] != PacketVersion {
		return nil, ErrBadVersion
	}
	if n := h.Length(); n != len(p) {
		if n > len(p) {
			return nil, ErrTruncated
		}
		if n < packetHeaderLength || !allZero(p[n:]) {
			return nil, ErrBadLength
		}
		h = h[:n]
	}
	if err := validateMessages(h); err != nil {
		return nil, err
	}
	return h, nil
}

// allZero reports whether b is padding: zero bytes only.
func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func validateMessages(h PacketHeader) error {
	t := h.Type()
	switch t {
	case PacketUpdate, PacketSnapshot, PacketTrade:
	case PacketHeartbeat:
		if h.Count() != 0 || len(h) != packetHeaderLength {
			return ErrBadMessage
		}
		return nil
	default:
		return ErrBadPacketType
	}
	off := packetHeaderLength
	for range h.Count() {
		m, err := messageAt(h, off)
		if err != nil {
			return err
		}
		if err := validateMessage(t, m); err != nil {
			return err
		}
		off += len(m)
	}
	if off != len(h) {
		return ErrBadLength
	}
	return nil
}

// messageAt returns the message starting at off, checking only its length.
func messageAt(p []byte, off int) (Message, error) {
	if len(p)-off < messageHeaderLength {
		return nil, ErrTruncated
	}
	n := int(le.Uint16(p[off+messageLengthOffset:]))
	if n < messageHeaderLength {
		return nil, ErrBadMessage
	}
	if len(p)-off < n {
		return nil, ErrTruncated
	}
	return Message(p[off : off+n]), nil
}

func validateMessage(t PacketType, m Message) error {
	switch m.Type() {
	case MessageInstrumentUpdate:
		if t != PacketUpdate && t != PacketSnapshot {
			return ErrMessageMismatch
		}
		return validateUpdate(Update(m))
	case MessageSnapshotBegin, MessageSnapshotEnd:
		if t != PacketSnapshot {
			return ErrMessageMismatch
		}
		if len(m) != snapshotMarkerLength {
			return ErrBadMessage
		}
	case MessageTrade:
		if t != PacketTrade {
			return ErrMessageMismatch
		}
		if len(m) != tradeLength || !Trade(m).Aggressor().Valid() {
			return ErrBadMessage
		}
	default:
		return ErrBadMessage
	}
	return nil
}

func validateUpdate(u Update) error {
	if len(u) < updateFixedLength {
		return ErrBadMessage
	}
	b, a := u.BidCount(), u.AskCount()
	if b > LevelsPerSideMax || a > LevelsPerSideMax {
		return ErrBadMessage
	}
	if len(u) != updateFixedLength+(b+a)*levelLength {
		return ErrBadMessage
	}
	if !u.State().Valid() && u.State() != 0 {
		return ErrBadMessage
	}
	return nil
}

// ForEachMessage calls fn for every message of a packet that ParsePacket
// accepted, in order.
func ForEachMessage(h PacketHeader, fn func(Message)) {
	off := packetHeaderLength
	for range h.Count() {
		n := int(le.Uint16(h[off+messageLengthOffset:]))
		fn(Message(h[off : off+n]))
		off += n
	}
}

// PacketWriter builds packets into one reusable buffer of at most MTU bytes.
// It never allocates after construction.
type PacketWriter struct {
	buf   []byte
	n     int
	count int
}

// NewPacketWriter returns a writer for packets of at most mtu bytes.
func NewPacketWriter(mtu int) *PacketWriter {
	return &PacketWriter{buf: make([]byte, mtu)}
}

// Reset makes the writer build its next packets in buf (at most len(buf)
// bytes), so that several finished packets can wait to be sent in one batch.
func (w *PacketWriter) Reset(buf []byte) { w.buf, w.n, w.count = buf, 0, 0 }

// Begin starts a packet, discarding any unfinished one.
func (w *PacketWriter) Begin(t PacketType, session uint32) {
	b := w.buf[:packetHeaderLength]
	clear(b)
	le.PutUint16(b[packetMagicOffset:], packetMagic)
	b[packetVersionOffset] = PacketVersion
	b[packetTypeOffset] = uint8(t)
	le.PutUint32(b[packetSessionOffset:], session)
	w.n, w.count = packetHeaderLength, 0
}

// Count returns the messages in the current packet.
func (w *PacketWriter) Count() int { return w.count }

// Remaining returns the bytes still free in the current packet.
func (w *PacketWriter) Remaining() int { return len(w.buf) - w.n }

// reserve appends a message of n bytes of type t and returns it, or nil when
// it does not fit.
func (w *PacketWriter) reserve(t MessageType, n int) []byte {
	if w.Remaining() < n {
		return nil
	}
	m := w.buf[w.n : w.n+n]
	le.PutUint16(m[messageLengthOffset:], uint16(n))
	m[messageTypeOffset] = uint8(t)
	m[messageTypeOffset+1] = 0
	w.n += n
	w.count++
	return m
}

// Finish stamps the sequence number, length, count and send time and returns
// the packet; the slice aliases the writer's buffer until the next Begin.
// Sequence numbers are given at Finish so that only packets actually sent
// consume one.
func (w *PacketWriter) Finish(sequence uint64, sendTimeNs int64) []byte {
	b := w.buf[:w.n]
	le.PutUint64(b[packetSequenceOffset:], sequence)
	le.PutUint16(b[packetLengthOffset:], uint16(w.n))
	le.PutUint16(b[packetCountOffset:], uint16(w.count))
	le.PutUint64(b[packetSendTimeOffset:], uint64(sendTimeNs))
	return b
}

// UpdateLength returns the encoded size of an update with the given depths.
func UpdateLength(bids, asks int) int { return updateFixedLength + (bids+asks)*levelLength }

// AppendUpdate appends v as an InstrumentUpdate; false when it does not fit.
func (w *PacketWriter) AppendUpdate(v *View) bool {
	m := w.reserve(MessageInstrumentUpdate, UpdateLength(len(v.Bids), len(v.Asks)))
	if m == nil {
		return false
	}
	le.PutUint32(m[updateInstrumentOffset:], v.InstrumentID)
	copy(m[updateSymbolOffset:updateSymbolOffset+SymbolLength], v.Symbol[:])
	le.PutUint64(m[updateLogPositionOffset:], uint64(v.LogPosition))
	le.PutUint64(m[updateClusterTimeOffset:], uint64(v.ClusterTime))
	le.PutUint64(m[updateLastPriceOffset:], uint64(v.LastTradePrice))
	le.PutUint64(m[updateLastQtyOffset:], uint64(v.LastTradeQty))
	le.PutUint64(m[updateVolumeOffset:], uint64(v.Volume))
	le.PutUint64(m[updateTradeCountOffset:], uint64(v.TradeCount))
	m[updateStateOffset] = uint8(v.State)
	m[updatePriceDecimalsOffset] = v.PriceDecimals
	m[updateBidCountOffset] = uint8(len(v.Bids))
	m[updateAskCountOffset] = uint8(len(v.Asks))
	o := putLevels(m, updateFixedLength, v.Bids)
	putLevels(m, o, v.Asks)
	return true
}

func putLevels(m []byte, o int, levels []Level) int {
	for _, l := range levels {
		le.PutUint64(m[o+levelPriceOffset:], uint64(l.Price))
		le.PutUint64(m[o+levelQtyOffset:], uint64(l.Quantity))
		le.PutUint32(m[o+levelOrdersOffset:], uint32(l.Orders))
		o += levelLength
	}
	return o
}

// AppendSnapshotMarker appends SnapshotBegin or SnapshotEnd; false when it
// does not fit.
func (w *PacketWriter) AppendSnapshotMarker(t MessageType, id, instruments uint32) bool {
	m := w.reserve(t, snapshotMarkerLength)
	if m == nil {
		return false
	}
	le.PutUint32(m[snapshotIDOffset:], id)
	le.PutUint32(m[snapshotInstrumentsOffset:], instruments)
	return true
}

// TradeRecord is one trade as the non-conflated trade channel carries it.
type TradeRecord struct {
	InstrumentID uint32
	Aggressor    engine.Side
	TradeID      uint64
	Price        int64
	Quantity     int64
	LogPosition  int64
	ClusterTime  int64
}

// AppendTrade appends a Trade; false when it does not fit.
func (w *PacketWriter) AppendTrade(t *TradeRecord) bool {
	m := w.reserve(MessageTrade, tradeLength)
	if m == nil {
		return false
	}
	le.PutUint32(m[tradeInstrumentOffset:], t.InstrumentID)
	m[tradeAggressorOffset] = uint8(t.Aggressor)
	m[tradeAggressorOffset+1], m[tradeAggressorOffset+2], m[tradeAggressorOffset+3] = 0, 0, 0
	le.PutUint64(m[tradeIDOffset:], t.TradeID)
	le.PutUint64(m[tradePriceOffset:], uint64(t.Price))
	le.PutUint64(m[tradeQtyOffset:], uint64(t.Quantity))
	le.PutUint64(m[tradeLogPositionOffset:], uint64(t.LogPosition))
	le.PutUint64(m[tradeClusterTimeOffset:], uint64(t.ClusterTime))
	return true
}

// Record decodes the flyweight into a TradeRecord.
func (t Trade) Record() TradeRecord {
	return TradeRecord{InstrumentID: t.InstrumentID(), Aggressor: t.Aggressor(), TradeID: t.TradeID(),
		Price: t.Price(), Quantity: t.Quantity(), LogPosition: t.LogPosition(), ClusterTime: t.ClusterTime()}
}
