package fixbench

import (
	"bufio"
	"bytes"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
)

// TestRawMessage: what the raw client writes quickfixgo parses, with the
// fields it was given, and the raw reader frames it back.
func TestRawMessage(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC)
	var buf []byte
	buf = appendRawMessage(buf, "D", "BENCH1", "VENUE", 7, now, []byte("11=42\x0155=ALPHA\x01"))
	buf = appendRawMessage(buf, "0", "BENCH1", "VENUE", 8, now, nil)
	m := quickfix.NewMessage()
	first := buf[:bytes.Index(buf, []byte("\x0110="))+8]
	if err := quickfix.ParseMessage(m, bytes.NewBuffer(append([]byte(nil), first...))); err != nil {
		t.Fatalf("quickfixgo cannot parse %q: %v", first, err)
	}
	for tag, want := range map[quickfix.Tag]string{35: "D", 34: "7", 49: "BENCH1", 56: "VENUE", 52: "20260102-03:04:05.006"} {
		if got, _ := m.Header.GetString(tag); got != want {
			t.Errorf("header %d = %q, want %q", tag, got, want)
		}
	}
	if got, _ := m.Body.GetString(11); got != "42" {
		t.Errorf("ClOrdID %q", got)
	}
	// quickfixgo checks the checksum and body length when it receives.
	if s := m.String(); s != string(first) {
		t.Errorf("quickfixgo rebuilds %q from %q", s, first)
	}
	br := bufio.NewReader(bytes.NewReader(buf))
	for i, typ := range []string{"D", "0"} {
		msg, err := readRawMessage(br, nil)
		if err != nil || string(rawField(msg, "35")) != typ {
			t.Fatalf("message %d: %q, %v", i, msg, err)
		}
	}
	if _, err := readRawMessage(br, nil); err == nil {
		t.Fatal("read past the end")
	}
}

// TestRawField: fields are found by whole tag.
func TestRawField(t *testing.T) {
	msg := []byte("8=FIX.4.4\x019=5\x01135=x\x0135=8\x01150=0\x0110=000\x01")
	for tag, want := range map[string]string{"35": "8", "150": "0", "135": "x", "5": ""} {
		if got := string(rawField(msg, tag)); got != want {
			t.Errorf("field %s = %q, want %q", tag, got, want)
		}
	}
}

// FuzzReadRawMessage: the raw client's reader never panics on what a
// gateway (or anything else) might send, and never returns more than it
// read.
func FuzzReadRawMessage(f *testing.F) {
	f.Add([]byte("8=FIX.4.4\x019=5\x0135=0\x0110=000\x01")) // a heartbeat
	f.Add([]byte("8=FIX.4.4\x019=99999999\x01"))            // a body length past the bound
	f.Add([]byte("8=FIX.4.4\x019=-1\x01"))                  // a negative body length
	f.Add([]byte("9=5\x0135=0\x01"))                        // no BeginString
	f.Add([]byte("8=FIX.4.4\x019=20\x0135=0\x01"))          // truncated
	f.Fuzz(func(t *testing.T, in []byte) {
		br := bufio.NewReader(bytes.NewReader(in))
		for {
			msg, err := readRawMessage(br, nil)
			if err != nil {
				return
			}
			if len(msg) > len(in) {
				t.Fatalf("read %d bytes from %d", len(msg), len(in))
			}
			_ = rawField(msg, "35")
		}
	})
}

// TestRunQuickfixgoClient: the benchmark with quickfixgo's initiators.
func TestRunQuickfixgoClient(t *testing.T) {
	r, err := Run(t.Context(), Config{Sessions: 2, Rate: 0, Window: 8, Duration: 200 * time.Millisecond, Client: ClientQuickfixgo, Dir: t.TempDir(), Cluster: ClusterInProcess})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sent == 0 || r.Acked != r.Sent || r.FIXClient != ClientQuickfixgo || !strings.Contains(r.Cluster, "in-process") {
		t.Fatalf("result %+v", r)
	}
}

// recorder is a rawHandler that remembers what it heard.
type recorder struct {
	reports         []string
	refused, logons int
	loggedOut       bool
}

func (r *recorder) onExecutionReport(et byte, id []byte) {
	r.reports = append(r.reports, string(et)+":"+string(id))
}
func (r *recorder) onRefused() { r.refused++ }
func (r *recorder) onLogon()   { r.logons++ }
func (r *recorder) onLogout()  { r.loggedOut = true }

// TestRawDispatch: what the raw client does with each message type, and
// that the benchmark counts an order refused by a reject as done.
func TestRawDispatch(t *testing.T) {
	h := &recorder{}
	r := &rawConn{h: h, sender: "BENCH1", target: "VENUE", seq: 5, kick: make(chan struct{}, 1)}
	msg := func(fields string) []byte {
		return appendRawMessage(nil, fields[:1], "VENUE", "BENCH1", 9, time.Now(), []byte(fields[2:]))
	}
	for _, m := range [][]byte{msg("A "), msg("8 150=0\x0111=7\x01"), msg("8 150=8\x0111=8\x01"), msg("j 380=4\x01379=9\x01"),
		msg("3 373=1\x01"), msg("1 112=ping\x01"), msg("0 ")} {
		if !r.dispatch(m) {
			t.Fatalf("%q ended the session", m)
		}
	}
	if r.dispatch(msg("5 ")) {
		t.Fatal("a Logout did not end the session")
	}
	if h.logons != 1 || h.refused != 2 || strings.Join(h.reports, ",") != "0:7,8:8" {
		t.Fatalf("heard %+v", h)
	}
	if !bytes.Contains(r.out, []byte("\x0135=0\x01")) || !bytes.Contains(r.out, []byte("\x01112=ping\x01")) {
		t.Fatalf("no heartbeat answering the test request in %q", r.out)
	}

	c := &client{window: make(chan struct{}, 2), closedLoop: true, sentAt: make([]int64, 10)}
	c.window <- struct{}{}
	c.window <- struct{}{}
	c.onExecutionReport('8', []byte("1"))
	c.onRefused()
	if c.refused.Load() != 2 || len(c.window) != 0 || c.acked.Load() != 0 {
		t.Fatalf("refused %d, window %d, acked %d", c.refused.Load(), len(c.window), c.acked.Load())
	}
}

// TestRawFlushOrder: the pacer's flush and the writer goroutine write on
// one connection at once, and the messages still reach it in sequence
// order (each write takes what is queued and writes it as one step).
func TestRawFlushOrder(t *testing.T) {
	const perWriter = 300
	client, server := net.Pipe()
	defer server.Close()
	r := &rawConn{conn: client, sender: "BENCH1", target: "VENUE", seq: 1, h: &recorder{},
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	defer r.close()
	go r.writeLoop()
	body := func(b []byte, _ int) []byte { return append(b, "58=x\x01"...) }
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // the pacer
		defer wg.Done()
		for range perWriter {
			r.add("D", body)
			if err := r.flush(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	go func() { // admin messages through the writer goroutine
		defer wg.Done()
		for range perWriter {
			r.queue("0", body)
		}
	}()
	br := bufio.NewReader(server)
	var msg []byte
	for want := 1; want <= 2*perWriter; want++ {
		var err error
		if msg, err = readRawMessage(br, msg[:0]); err != nil {
			t.Fatalf("message %d: %v", want, err)
		}
		if got := string(rawField(msg, "34")); got != strconv.Itoa(want) {
			t.Fatalf("message %d has MsgSeqNum %s", want, got)
		}
	}
	wg.Wait()
}
