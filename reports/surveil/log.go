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
	var (
		rec *Recorder
		e   *engine.Engine
		res ReplayResult
	)
	_, err := ReadLog(r, func(admin string) error {
		rec = NewRecorder(h)
		var err error
		e, err = engine.New(engine.Config{BootstrapAdmin: admin, Egress: rec, MarketData: rec})
		return err
	}, func(lr *LogRecord) error {
		if err := lr.Apply(e); err != nil {
			return err
		}
		res.Records++
		return nil
	})
	if rec != nil {
		res.Events = rec.Events
	}
	return res, err
}

// LogKind is what a recorded log's record holds.
type LogKind uint8

// Record kinds of a recorded log.
const (
	LogOpen    LogKind = logOpen    // a session opened; Payload is its principal's name
	LogMessage LogKind = logMessage // a session's command; Payload is the encoded command
	LogClose   LogKind = logClose   // a session closed (by its client); no payload
)

// LogRecord is one record of a recorded log: one engine entry point's
// arguments. Payload is only valid during the callback that receives it.
type LogRecord struct {
	Kind        LogKind
	Session     engine.SessionID
	Position    int64 // the generator's log position of the entry
	ClusterTime int64
	Payload     []byte
}

// LogCloseReason is the reason a LogClose record's session closed with.
const LogCloseReason = logCloseReason

// Apply applies the record to e, as Replay does.
func (lr *LogRecord) Apply(e *engine.Engine) error {
	switch lr.Kind {
	case LogOpen:
		e.OnSessionOpen(lr.Session, lr.Payload, lr.Position, lr.ClusterTime)
	case LogMessage:
		e.OnSessionMessage(lr.Session, lr.Position, lr.ClusterTime, lr.Payload)
	case LogClose:
		e.OnSessionClose(lr.Session, logCloseReason, lr.Position, lr.ClusterTime)
	default:
		return fmt.Errorf("unknown record kind %d", lr.Kind)
	}
	return nil
}

// ReadLog reads a recorded log in one pass with bounded memory: it hands
// the bootstrap admin's name to start, then every record in order to fn.
// An error from start or fn stops it and is returned wrapped in ErrLog, as
// is any malformed input; it returns the number of records read.
func ReadLog(r io.Reader, start func(admin string) error, fn func(*LogRecord) error) (uint64, error) {
	br := bufio.NewReaderSize(r, logBufferBytes)
	admin, err := readLogHeader(br)
	if err != nil {
		return 0, err
	}
	if err := start(admin); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrLog, err)
	}
	var n uint64
	payload := make([]byte, 0, 1024)
	var hdr [logRecordHeader]byte
	for {
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, fmt.Errorf("%w: record %d: %w", ErrLog, n, err)
		}
		if payload, err = readPayload(br, hdr[:], payload); err != nil {
			return n, fmt.Errorf("%w: record %d: %w", ErrLog, n, err)
		}
		lr := LogRecord{Kind: LogKind(hdr[0]), Session: engine.SessionID(binary.LittleEndian.Uint64(hdr[1:])),
			Position: int64(binary.LittleEndian.Uint64(hdr[9:])), ClusterTime: int64(binary.LittleEndian.Uint64(hdr[17:])),
			Payload: payload}
		if err := fn(&lr); err != nil {
			return n, fmt.Errorf("%w: record %d: %w", ErrLog, n, err)
		}
		n++
	}
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
