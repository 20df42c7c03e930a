package protocol

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

func roundTripCases() []Message {
	return []Message{
		{Type: Connect, CorrelationID: 7, StreamID: 102, Channel: []byte("udp?endpoint=127.0.0.1:4000"), Credentials: []byte("alice:pw")},
		{Type: Connect, CorrelationID: 1, StreamID: 1, Channel: []byte("ipc"), Credentials: []byte{}},
		{Type: SessionMessage, SessionID: 3, CorrelationID: 99, Payload: []byte("order")},
		{Type: SessionMessage, SessionID: 3, CorrelationID: 100, Payload: []byte{}},
		{Type: KeepAlive, SessionID: 3, CorrelationID: 0},
		{Type: CloseSession, SessionID: 3},
		{Type: ChallengeResponse, CorrelationID: 7, SessionID: 3, Credentials: []byte("answer")},
		{Type: Challenge, CorrelationID: 7, SessionID: 3, Credentials: []byte("nonce")},
		{Type: SessionEvent, CorrelationID: 7, SessionID: 3, Leader: 2, Code: EventRedirect, Detail: []byte("leader is 2")},
		{Type: NewLeader, SessionID: 3, Term: 4, CorrelationID: 98, Leader: 1},
		{Type: Egress, SessionID: 3, TimestampNs: 123456789, Position: 4096, Payload: []byte("report")},
		{Type: Ack, SessionID: 3, CorrelationID: 98, Position: 8192},
		{Type: AdminRequest, SessionID: 3, CorrelationID: 1, Request: AdminSnapshot},
		{Type: AdminResponse, SessionID: 3, CorrelationID: 1, Position: 12288, Request: AdminSnapshot, Code: EventOK},
		{Type: AdminResponse, SessionID: 3, CorrelationID: 2, Request: AdminSnapshot, Code: EventAuthRejected,
			Detail: []byte("principal may not")},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, m := range roundTripCases() {
		b, err := Append(nil, &m)
		if err != nil {
			t.Fatalf("%v: %v", m.Type, err)
		}
		if len(b) != Length(&m) {
			t.Fatalf("%v: Length %d, encoded %d", m.Type, Length(&m), len(b))
		}
		var got Message
		if err := Decode(b, &got); err != nil {
			t.Fatalf("%v: decode: %v", m.Type, err)
		}
		normalize(&m)
		normalize(&got)
		if !reflect.DeepEqual(m, got) {
			t.Fatalf("%v: round trip\n got %+v\nwant %+v", m.Type, got, m)
		}
		if !m.Type.IsIngress() && !m.Type.IsEgress() {
			t.Fatalf("%v is neither ingress nor egress", m.Type)
		}
	}
}

// normalize maps empty byte fields to nil so DeepEqual compares content.
func normalize(m *Message) {
	for _, f := range []*[]byte{&m.Channel, &m.Credentials, &m.Detail, &m.Payload} {
		if len(*f) == 0 {
			*f = nil
		}
	}
}

func TestHeaderHelpersMatchAppend(t *testing.T) {
	m := Message{Type: Egress, SessionID: 5, TimestampNs: 6, Position: 7, Payload: []byte("xyz")}
	want, _ := Append(nil, &m)
	if got := append(AppendEgressHeader(nil, 5, 6, 7), "xyz"...); !bytes.Equal(got, want) {
		t.Fatalf("egress header\n got %x\nwant %x", got, want)
	}
	s := Message{Type: SessionMessage, SessionID: 5, CorrelationID: 9, Payload: []byte("abc")}
	want, _ = Append(nil, &s)
	if got := append(AppendSessionMessageHeader(nil, 5, 9), "abc"...); !bytes.Equal(got, want) {
		t.Fatalf("session message header\n got %x\nwant %x", got, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	good, _ := Append(nil, &Message{Type: Connect, CorrelationID: 1, StreamID: 2, Channel: []byte("ipc"), Credentials: []byte("c")})
	mut := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name string
		buf  []byte
		want error
	}{
		{"empty", nil, ErrTruncated},
		{"short header", good[:5], ErrTruncated},
		{"short block", good[:HeaderLength+4], ErrTruncated},
		{"missing var", good[:HeaderLength+connBlockLength+1], ErrTruncated},
		{"cut var", good[:len(good)-1], ErrTruncated},
		{"trailing", append(append([]byte(nil), good...), 0), ErrMalformed},
		{"foreign schema", mut(func(b []byte) []byte { b[headerSchemaIDOffset] ^= 1; return b }), ErrForeignSchema},
		{"version 0", mut(func(b []byte) []byte { b[headerVersionOffset], b[headerVersionOffset+1] = 0, 0; return b }), ErrVersion},
		{"unknown template", mut(func(b []byte) []byte { b[headerTemplateIDOffset] = 77; return b }), ErrUnknownTemplate},
		{"short block length", mut(func(b []byte) []byte { b[headerBlockLengthOffset] = 4; return b }), ErrMalformed},
		{"var too long", mut(func(b []byte) []byte {
			le.PutUint16(b[HeaderLength+connBlockLength:], ChannelLengthMax+1)
			return b
		}), ErrMalformed},
	}
	var c DecodeCounters
	for _, tc := range cases {
		var m Message
		if err := c.Decode(tc.buf, &m); !errors.Is(err, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, err, tc.want)
		}
	}
	if c.Total() != uint64(len(cases)) {
		t.Fatalf("counted %d of %d", c.Total(), len(cases))
	}
}

func TestNewerVersionLongerBlockAccepted(t *testing.T) {
	b, _ := Append(nil, &Message{Type: Ack, SessionID: 1, CorrelationID: 2, Position: 3})
	// A version-2 sender appends 8 bytes to Ack's block.
	nb := append(append([]byte(nil), b...), make([]byte, 8)...)
	le.PutUint16(nb[headerBlockLengthOffset:], ackBlockLength+8)
	le.PutUint16(nb[headerVersionOffset:], 2)
	var m Message
	if err := Decode(nb, &m); err != nil || m.Position != 3 {
		t.Fatalf("newer version: %v %+v", err, m)
	}
}

func TestAppendRejectsOversizedFields(t *testing.T) {
	_, err := Append(nil, &Message{Type: Connect, Channel: make([]byte, ChannelLengthMax+1)})
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v", err)
	}
	if _, err := Append(nil, &Message{Type: TemplateNone}); !errors.Is(err, ErrUnknownTemplate) {
		t.Fatalf("got %v", err)
	}
}

func TestDecodeDoesNotAllocate(t *testing.T) {
	b, _ := Append(nil, &Message{Type: SessionMessage, SessionID: 1, CorrelationID: 2, Payload: make([]byte, 200)})
	var m Message
	if n := testing.AllocsPerRun(100, func() { _ = Decode(b, &m) }); n != 0 {
		t.Fatalf("Decode allocates %.1f", n)
	}
	buf := make([]byte, 0, 512)
	if n := testing.AllocsPerRun(100, func() { buf, _ = Append(buf[:0], &m) }); n != 0 {
		t.Fatalf("Append allocates %.1f", n)
	}
}

// FuzzDecode: any bytes decode or fail cleanly, and whatever decodes
// re-encodes to an equivalent message.
func FuzzDecode(f *testing.F) {
	for _, m := range roundTripCases() {
		b, _ := Append(nil, &m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Message
		if Decode(b, &m) != nil {
			return
		}
		enc, err := Append(nil, &m)
		if err != nil {
			t.Fatalf("decoded %+v does not re-encode: %v", m, err)
		}
		var again Message
		if err := Decode(enc, &again); err != nil {
			t.Fatalf("re-encoded does not decode: %v", err)
		}
		normalize(&m)
		normalize(&again)
		if !reflect.DeepEqual(m, again) {
			t.Fatalf("re-decode differs\n%+v\n%+v", m, again)
		}
	})
}
