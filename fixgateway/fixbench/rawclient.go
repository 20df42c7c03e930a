package fixbench

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// The raw client: a lean FIX 4.4 initiator for the benchmark, so that the
// load generator, which runs in the same process on the same cores, costs
// little next to the gateway it measures. It speaks just enough of the
// session layer for the gateway's quickfixgo acceptor — logon with a
// password and a sequence reset, sequence numbers, heartbeats, test
// requests, resend requests answered with a gap fill — and writes what
// its senders queued in one system call per wake-up, or, for the open
// loop's orders, on the pacer's goroutine (flush): each tick's orders of a
// session go out in one write, without waiting for a writer goroutine to
// be scheduled.

// Raw client bounds.
const (
	rawHeartBtInt = 30 * time.Second
	// rawHeaderBytesMax is room for a message's header fields after
	// BodyLength.
	rawHeaderBytesMax = 128
	// rawBodyBytesMax is room for the body of an order or admin message.
	rawBodyBytesMax = 256
	// rawMessageBytesMax bounds an inbound message (the gateway's are a few
	// hundred bytes).
	rawMessageBytesMax = 64 << 10
	// rawSendingTime is FIX's UTCTimestamp with milliseconds.
	rawSendingTime = "20060102-15:04:05.000"
	// rawReadBufferBytes is the inbound buffer.
	rawReadBufferBytes = 64 << 10
)

// errRawMalformed marks an inbound message the raw client cannot frame.
var errRawMalformed = errors.New("fixbench: malformed FIX message")

// rawHandler receives the application messages the raw client reads.
type rawHandler interface {
	// onExecutionReport is an ExecutionReport's ExecType (150) and
	// ClOrdID (11); the slice is valid only during the call.
	onExecutionReport(execType byte, clOrdID []byte)
	// onRefused is a session Reject (3) or BusinessMessageReject (j): the
	// gateway refused a message (a full queue, say).
	onRefused()
	onLogon()
	onLogout()
}

// rawConn is one raw FIX session over one TCP connection.
type rawConn struct {
	conn     net.Conn
	sender   string // SenderCompID
	target   string // TargetCompID
	password string
	h        rawHandler

	mu   sync.Mutex
	seq  int       // next outbound MsgSeqNum
	out  []byte    // messages queued for the writer
	last time.Time // when the writer last wrote
	kick chan struct{}
	// wmu makes taking what is queued and writing it one step, so that
	// the writer goroutine and flush (the pacer) write messages in
	// sequence order; spare is the other buffer, owned under it.
	wmu   sync.Mutex
	spare []byte

	closed atomic.Bool
	done   chan struct{}
}

// dialRaw connects and sends the logon; h hears of the answer.
func dialRaw(addr, sender, target, password string, h rawHandler) (*rawConn, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("fixbench: dial %s: %w", addr, err)
	}
	r := &rawConn{conn: conn, sender: sender, target: target, password: password, h: h, seq: 1,
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	r.queue("A", func(b []byte, _ int) []byte {
		b = append(b, "98=0\x01108="...)
		b = strconv.AppendInt(b, int64(rawHeartBtInt/time.Second), 10)
		b = append(b, "\x01141=Y\x01554="...)
		b = append(b, password...)
		return append(b, '\x01')
	})
	go r.writeLoop()
	go r.readLoop()
	return r, nil
}

// close drops the connection (the gateway logs the session out).
func (r *rawConn) close() {
	if r.closed.Swap(true) {
		return
	}
	close(r.done)
	r.conn.Close()
}

// queue appends one message of msgType, with the body body appends (given
// the message's MsgSeqNum), to what the writer sends next; sequence
// numbers follow the queue's order.
func (r *rawConn) queue(msgType string, body func(b []byte, seq int) []byte) {
	r.add(msgType, body)
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// add appends one message like queue, without waking the writer: the
// caller writes it with flush.
func (r *rawConn) add(msgType string, body func(b []byte, seq int) []byte) {
	var bb [rawBodyBytesMax]byte
	r.mu.Lock()
	r.out = appendRawMessage(r.out, msgType, r.sender, r.target, r.seq, time.Now(), body(bb[:0], r.seq))
	r.seq++
	r.mu.Unlock()
}

// flush writes everything queued, on the caller's goroutine; an error
// closes the connection.
func (r *rawConn) flush() error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.mu.Lock()
	buf := r.out
	r.out, r.spare = r.spare[:0], nil
	r.last = time.Now()
	r.mu.Unlock()
	if len(buf) == 0 {
		r.spare = buf
		return nil
	}
	if _, err := r.conn.Write(buf); err != nil {
		r.close()
		return fmt.Errorf("fixbench: write: %w", err)
	}
	r.spare = buf[:0]
	return nil
}

// appendRawMessage appends a complete FIX 4.4 message.
func appendRawMessage(dst []byte, msgType, sender, target string, seq int, now time.Time, body []byte) []byte {
	var hb [rawHeaderBytesMax]byte
	h := append(hb[:0], "35="...)
	h = append(h, msgType...)
	h = append(h, "\x0134="...)
	h = strconv.AppendInt(h, int64(seq), 10)
	h = append(h, "\x0149="...)
	h = append(h, sender...)
	h = append(h, "\x0152="...)
	h = now.UTC().AppendFormat(h, rawSendingTime)
	h = append(h, "\x0156="...)
	h = append(h, target...)
	h = append(h, '\x01')
	start := len(dst)
	dst = append(dst, "8=FIX.4.4\x019="...)
	dst = strconv.AppendInt(dst, int64(len(h)+len(body)), 10)
	dst = append(dst, '\x01')
	dst = append(dst, h...)
	dst = append(dst, body...)
	sum := 0
	for _, c := range dst[start:] {
		sum += int(c)
	}
	sum %= 256
	return append(dst, '1', '0', '=', byte('0'+sum/100), byte('0'+sum/10%10), byte('0'+sum%10), '\x01')
}

// writeLoop writes everything queued since its last write in one go, and a
// heartbeat when the session has been quiet for the heartbeat interval.
func (r *rawConn) writeLoop() {
	beat := time.NewTicker(rawHeartBtInt / 2)
	defer beat.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-beat.C:
			r.mu.Lock()
			quiet := time.Since(r.last) >= rawHeartBtInt/2
			r.mu.Unlock()
			if quiet {
				r.queue("0", func(b []byte, _ int) []byte { return b })
			}
			continue
		case <-r.kick:
		}
		if r.flush() != nil {
			return
		}
	}
}

// readLoop reads messages until the connection ends.
func (r *rawConn) readLoop() {
	defer r.h.onLogout()
	defer r.close()
	br := bufio.NewReaderSize(r.conn, rawReadBufferBytes)
	var msg []byte
	for {
		var err error
		if msg, err = readRawMessage(br, msg[:0]); err != nil {
			return
		}
		if !r.dispatch(msg) {
			return
		}
	}
}

// dispatch handles one inbound message; false ends the session.
func (r *rawConn) dispatch(msg []byte) bool {
	typ := rawField(msg, "35")
	switch {
	case len(typ) != 1:
		return true // a type the benchmark does not use
	case typ[0] == '8':
		if et := rawField(msg, "150"); len(et) == 1 {
			r.h.onExecutionReport(et[0], rawField(msg, "11"))
		}
	case typ[0] == 'j' || typ[0] == '3':
		r.h.onRefused()
	case typ[0] == 'A':
		r.h.onLogon()
	case typ[0] == '1': // TestRequest: a heartbeat naming it
		id := rawField(msg, "112")
		r.queue("0", func(b []byte, _ int) []byte {
			b = append(b, "112="...)
			b = append(b, id...)
			return append(b, '\x01')
		})
	case typ[0] == '2': // ResendRequest: the benchmark resends nothing
		r.queue("4", func(b []byte, seq int) []byte {
			b = append(b, "123=N\x0136="...)
			b = strconv.AppendInt(b, int64(seq+1), 10) // after the SequenceReset itself
			return append(b, '\x01')
		})
	case typ[0] == '5':
		return false
	}
	return true
}

// readRawMessage reads one FIX message ("8=...|9=n|<n bytes>10=xxx|")
// into dst.
func readRawMessage(br *bufio.Reader, dst []byte) ([]byte, error) {
	head, err := br.ReadSlice('\x01') // 8=FIX.4.4|
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(head, []byte("8=")) {
		return nil, errRawMalformed
	}
	dst = append(dst, head...)
	lenField, err := br.ReadSlice('\x01') // 9=n|
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(lenField, []byte("9=")) {
		return nil, errRawMalformed
	}
	n, err := strconv.Atoi(string(lenField[2 : len(lenField)-1]))
	if err != nil || n <= 0 || n > rawMessageBytesMax {
		return nil, errRawMalformed
	}
	dst = append(dst, lenField...)
	const trailerBytes = len("10=xxx\x01")
	start := len(dst)
	dst = append(dst, make([]byte, n+trailerBytes)...)
	if _, err := io.ReadFull(br, dst[start:]); err != nil {
		return nil, err
	}
	return dst, nil
}

// rawField returns the value of the first field tag in msg, or nil.
func rawField(msg []byte, tag string) []byte {
	for i := 0; i < len(msg); {
		end := bytes.IndexByte(msg[i:], '\x01')
		if end < 0 {
			return nil
		}
		f := msg[i : i+end]
		if len(f) > len(tag) && f[len(tag)] == '=' && string(f[:len(tag)]) == tag {
			return f[len(tag)+1:]
		}
		i += end + 1
	}
	return nil
}
