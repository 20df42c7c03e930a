package surveil

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"venue/engine"
)

// A recorded log is the engine's input for a day, as the generator
// applied it: what the cluster's log would carry to the service. It stands
// in for the archive until `venue replay` reads that: `venue surveil
// --input FILE` and `venue bench replay` run on it.
//
// Layout (little-endian): the magic "VSVLOG01", the bootstrap admin's name
// (u8 length, bytes), then records: kind u8, session i64, log position
// i64, cluster time i64, payload length u32 (at most logPayloadMax),
// payload. Payloads: a session message's command; a session open's
// principal name; nothing for a close.
const (
	logMagic        = "VSVLOG01"
	logRecordHeader = 1 + 8 + 8 + 8 + 4
	logPayloadMax   = 1 << 16 // bytes; commands are a few hundred
	logBufferBytes  = 1 << 20
	logNameBytesMax = 255
	logCloseReason  = engine.CloseClient
)

// Record kinds of a recorded log.
const (
	logOpen    = 1
	logMessage = 2
	logClose   = 3
)

// ErrLog marks a recorded log that does not decode.
var ErrLog = errors.New("surveil: bad recorded log")

// logWriter appends records to a recorded log.
type logWriter struct {
	w   *bufio.Writer
	hdr [logRecordHeader]byte
	err error
}

func newLogWriter(w io.Writer, admin string) *logWriter {
	lw := &logWriter{w: bufio.NewWriterSize(w, logBufferBytes)}
	lw.w.WriteString(logMagic)
	lw.w.WriteByte(byte(len(admin)))
	lw.w.WriteString(admin)
	return lw
}

func (lw *logWriter) record(kind byte, session engine.SessionID, pos, now int64, payload []byte) {
	if lw.err != nil {
		return
	}
	h := lw.hdr[:]
	h[0] = kind
	binary.LittleEndian.PutUint64(h[1:], uint64(session))
	binary.LittleEndian.PutUint64(h[9:], uint64(pos))
	binary.LittleEndian.PutUint64(h[17:], uint64(now))
	binary.LittleEndian.PutUint32(h[25:], uint32(len(payload)))
	lw.w.Write(h)
	_, lw.err = lw.w.Write(payload)
}

func (lw *logWriter) flush() error {
	if lw.err != nil {
		return fmt.Errorf("surveil: writing recorded log: %w", lw.err)
	}
	if err := lw.w.Flush(); err != nil {
		return fmt.Errorf("surveil: writing recorded log: %w", err)
	}
	return nil
}

// ReplayResult counts what a replay applied.
type ReplayResult struct {
	Records uint64 // log records applied
	Events  uint64 // order events handed to the handler
}

// Replay applies a recorded log to a fresh engine whose reports and market
// data go through a Recorder to h: the offline replay, from a recorded log
// instead of the archive.
func Replay(r io.Reader, h Handler) (ReplayResult, error) {
	br := bufio.NewReaderSize(r, logBufferBytes)
	admin, err := readLogHeader(br)
	if err != nil {
		return ReplayResult{}, err
	}
	rec := NewRecorder(h)
	e, err := engine.New(engine.Config{BootstrapAdmin: admin, Egress: rec, MarketData: rec})
	if err != nil {
		return ReplayResult{}, fmt.Errorf("%w: %w", ErrLog, err)
	}
	var res ReplayResult
	payload := make([]byte, 0, 1024)
	var hdr [logRecordHeader]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return res, fmt.Errorf("%w: record %d: %w", ErrLog, res.Records, err)
		}
		if payload, err = readPayload(br, hdr[:], payload); err != nil {
			return res, fmt.Errorf("%w: record %d: %w", ErrLog, res.Records, err)
		}
		if err := applyRecord(e, hdr[:], payload); err != nil {
			return res, fmt.Errorf("%w: record %d: %w", ErrLog, res.Records, err)
		}
		res.Records++
	}
	res.Events = rec.Events
	return res, nil
}

func readLogHeader(br *bufio.Reader) (string, error) {
	var magic [len(logMagic) + 1]byte
	if _, err := io.ReadFull(br, magic[:]); err != nil || string(magic[:len(logMagic)]) != logMagic {
		return "", fmt.Errorf("%w: not a recorded log (magic %q)", ErrLog, logMagic)
	}
	name := make([]byte, magic[len(logMagic)])
	if _, err := io.ReadFull(br, name); err != nil {
		return "", fmt.Errorf("%w: header: %w", ErrLog, err)
	}
	return string(name), nil
}

func readPayload(br *bufio.Reader, hdr, buf []byte) ([]byte, error) {
	n := binary.LittleEndian.Uint32(hdr[25:])
	if n > logPayloadMax {
		return buf, fmt.Errorf("payload of %d bytes (at most %d)", n, logPayloadMax)
	}
	buf = slices.Grow(buf[:0], int(n))[:n]
	if _, err := io.ReadFull(br, buf); err != nil {
		return buf, fmt.Errorf("payload: %w", io.ErrUnexpectedEOF)
	}
	return buf, nil
}

func applyRecord(e *engine.Engine, hdr, payload []byte) error {
	session := engine.SessionID(binary.LittleEndian.Uint64(hdr[1:]))
	pos := int64(binary.LittleEndian.Uint64(hdr[9:]))
	now := int64(binary.LittleEndian.Uint64(hdr[17:]))
	switch hdr[0] {
	case logOpen:
		e.OnSessionOpen(session, payload, pos, now)
	case logMessage:
		e.OnSessionMessage(session, pos, now, payload)
	case logClose:
		e.OnSessionClose(session, logCloseReason, pos, now)
	default:
		return fmt.Errorf("unknown record kind %d", hdr[0])
	}
	return nil
}
