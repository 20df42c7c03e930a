package consensus

import (
	"bytes"
	"errors"
	"testing"
)

// sampleMessages has one message of every type with every field it encodes
// set to a distinct value.
func sampleMessages() []Message {
	return []Message{
		{Type: MsgCanvassPosition, From: 1, LogTerm: 3, Position: 4096, Term: 4},
		{Type: MsgRequestVote, From: 2, LogTerm: 3, Position: 4096, Term: 5},
		{Type: MsgVote, From: 0, To: 2, Term: 5, LogTerm: 3, Position: 2048, Granted: true},
		{Type: MsgVote, From: 1, To: 2, Term: 5, LogTerm: 3, Position: 2048},
		{Type: MsgNewLeadershipTerm, From: 2, Term: 5, TermBase: 4096, Position: 4160, Commit: 4000},
		{Type: MsgAppendPosition, From: 1, Term: 5, Position: 4160},
		{Type: MsgCommitPosition, From: 2, Term: 5, Position: 4160},
		{Type: MsgCatchupPosition, From: 1, Term: 5, Position: 3000, LogTerm: 2, TermBase: 1024},
		{Type: MsgStopCatchup, From: 2, To: 1, Term: 5},
		{Type: MsgTermination, From: 2, Term: 5, Position: 9000},
		{Type: MsgAppendLog, From: 2, Term: 5, Position: 4096, PrevLogTerm: 3, LogTerm: 5, Data: []byte("0123456789abcdef")},
		{Type: MsgAppendLog, From: 2, Term: 5, Position: 4096, PrevLogTerm: 3, LogTerm: 5},
		{Type: MsgInstallSnapshot, From: 2, To: 1, Term: 5, Position: 8192, LogTerm: 4, TermBase: 4096},
		{Type: MsgSnapshotChunkRequest, From: 1, Term: 5, Position: 8192, Offset: 16384},
		{Type: MsgSnapshotChunk, From: 2, Term: 5, Position: 8192, Offset: 16384, Length: 16400,
			Checksum: 0xdeadbeef, Data: []byte("0123456789abcdef")},
		{Type: MsgSnapshotChunk, From: 2, Term: 5, Position: 8192, Length: 0, Checksum: 0}, // an empty snapshot's one chunk
	}
}

// TestSnapshotMessageRejects: snapshot transfer fields that no correct
// member sends are malformed, never trusted.
func TestSnapshotMessageRejects(t *testing.T) {
	cases := []struct {
		name string
		m    Message
	}{
		{"install at 0", Message{Type: MsgInstallSnapshot, From: 2, Term: 5, LogTerm: 4}},
		{"install of term 0", Message{Type: MsgInstallSnapshot, From: 2, Term: 5, Position: 64}},
		{"install log term above term", Message{Type: MsgInstallSnapshot, From: 2, Term: 5, Position: 64, LogTerm: 6}},
		{"install base at position", Message{Type: MsgInstallSnapshot, From: 2, Term: 5, Position: 64, LogTerm: 5, TermBase: 64}},
		{"request negative offset", Message{Type: MsgSnapshotChunkRequest, From: 1, Term: 5, Position: 64, Offset: -1}},
		{"chunk past length", Message{Type: MsgSnapshotChunk, From: 2, Term: 5, Position: 64, Offset: 10, Length: 12, Data: []byte("abc")}},
		{"chunk length too big", Message{Type: MsgSnapshotChunk, From: 2, Term: 5, Position: 64, Length: SnapshotLengthMax + 1}},
	}
	for _, tc := range cases {
		buf := AppendMessage(nil, &tc.m)
		var m Message
		if err := DecodeMessage(buf, &m); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err %v, want ErrMalformed", tc.name, err)
		}
	}
	big := Message{Type: MsgSnapshotChunk, From: 2, Term: 5, Position: 64, Length: 1 << 20,
		Data: make([]byte, SnapshotChunkBytesMax+1)}
	var m Message
	if err := DecodeMessage(AppendMessage(nil, &big), &m); !errors.Is(err, ErrMalformed) {
		t.Errorf("oversized chunk: err %v, want ErrMalformed", err)
	}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range sampleMessages() {
		buf := AppendMessage(nil, &m)
		if len(buf) != EncodedLength(&m) {
			t.Fatalf("%v: encoded %d bytes, EncodedLength says %d", m.Type, len(buf), EncodedLength(&m))
		}
		got := Message{To: m.To}
		if err := DecodeMessage(buf, &got); err != nil {
			t.Fatalf("%v: decode: %v", m.Type, err)
		}
		if got.String() != m.String() || !bytes.Equal(got.Data, m.Data) {
			t.Fatalf("round trip:\n got %v\nwant %v", &got, &m)
		}
	}
}

// TestMessageTruncated: every proper prefix of every message is an error,
// never a panic, and counted.
func TestMessageTruncated(t *testing.T) {
	var c DecodeCounters
	for _, m := range sampleMessages() {
		buf := AppendMessage(nil, &m)
		for n := range len(buf) {
			var got Message
			if err := c.Decode(buf[:n], &got); !errors.Is(err, ErrTruncated) {
				t.Fatalf("%v cut to %d of %d: err %v, want ErrTruncated", m.Type, n, len(buf), err)
			}
		}
	}
	if c.Truncated == 0 || c.Total() != c.Truncated {
		t.Fatalf("counters %+v", c)
	}
}

func TestMessageRejects(t *testing.T) {
	base := sampleMessages()[4] // NewLeadershipTerm
	cases := []struct {
		name   string
		mutate func(b []byte)
		want   error
	}{
		{"foreign schema", func(b []byte) { b[headerSchemaIDOffset] ^= 0xff }, ErrForeignSchema},
		{"version 0", func(b []byte) { b[headerVersionOffset], b[headerVersionOffset+1] = 0, 0 }, ErrVersion},
		{"unknown template", func(b []byte) { b[headerTemplateIDOffset] = 200 }, ErrUnknownTemplate},
		{"short block", func(b []byte) { b[headerBlockLengthOffset] = 8 }, ErrMalformed},
		{"negative position", func(b []byte) { b[HeaderLength+nltLogPositionOffset+7] = 0x80 }, ErrMalformed},
	}
	for _, tc := range cases {
		buf := AppendMessage(nil, &base)
		tc.mutate(buf)
		var m Message
		if err := DecodeMessage(buf, &m); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestMessageNewerVersion: a newer version with a longer block decodes; the
// decoder reads the fields it knows.
func TestMessageNewerVersion(t *testing.T) {
	m := Message{Type: MsgAppendLog, From: 1, Term: 2, Position: 64, PrevLogTerm: 1, LogTerm: 2, Data: []byte("payload!")}
	old := AppendMessage(nil, &m)
	// Rebuild with 8 extra block bytes between the known block and the data.
	buf := append([]byte(nil), old[:HeaderLength+appendBlockLength]...)
	buf = append(buf, make([]byte, 8)...)
	buf = append(buf, m.Data...)
	le.PutUint16(buf[headerBlockLengthOffset:], appendBlockLength+8)
	le.PutUint16(buf[headerVersionOffset:], SchemaVersion+1)
	var got Message
	if err := DecodeMessage(buf, &got); err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != "payload!" || got.Position != 64 {
		t.Fatalf("got %v", &got)
	}
}

func TestDecodeMessageDoesNotAllocate(t *testing.T) {
	m := sampleMessages()[10]
	buf := AppendMessage(nil, &m)
	var got Message
	if n := testing.AllocsPerRun(100, func() { _ = DecodeMessage(buf, &got) }); n != 0 {
		t.Fatalf("DecodeMessage allocates %v times", n)
	}
}

// FuzzDecodeMessage: decoding arbitrary bytes never panics, and whatever
// decodes re-encodes to bytes that decode to the same message.
func FuzzDecodeMessage(f *testing.F) {
	for _, m := range sampleMessages() {
		f.Add(AppendMessage(nil, &m)) // every template, valid
	}
	f.Add([]byte{})                                       // empty
	f.Add([]byte{40, 0, 4, 0})                            // header cut in half
	f.Add(AppendMessage(nil, &sampleMessages()[10])[:30]) // AppendLog cut inside the block
	f.Add([]byte{0, 0, 99, 0, 0x43, 0x56, 1, 0})          // unknown template 99
	f.Add([]byte{40, 0, 4, 0, 0, 0, 1, 0})                // foreign schema 0
	f.Add(AppendMessage(nil, &sampleMessages()[14])[:60]) // SnapshotChunk cut inside its data
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Message
		if err := DecodeMessage(data, &m); err != nil {
			return
		}
		re := AppendMessage(nil, &m)
		var m2 Message
		m2.To = m.To
		if err := DecodeMessage(re, &m2); err != nil {
			t.Fatalf("re-decode of %v: %v", &m, err)
		}
		if m2.String() != m.String() || !bytes.Equal(m.Data, m2.Data) {
			t.Fatalf("re-decode differs:\n%v\n%v", &m, &m2)
		}
	})
}
