package consensus

import (
	"bytes"
	"errors"
	"testing"
)

func sampleEntries() []LogEntry {
	return []LogEntry{
		{Type: EntrySessionMessage, SessionID: 7, CorrelationID: 42, Timestamp: 1_000, Payload: []byte("order")},
		{Type: EntrySessionMessage, SessionID: 7, CorrelationID: 43, Timestamp: 1_001},
		{Type: EntrySessionOpen, SessionID: 8, CorrelationID: 1, Timestamp: 1_002, Payload: []byte("principal")},
		{Type: EntrySessionClose, SessionID: 8, Timestamp: 1_003, Reason: CloseTimeout},
		{Type: EntryTimer, CorrelationID: 99, Timestamp: 1_004},
		{Type: EntryClusterAction, Timestamp: 1_005, Action: ActionSnapshot},
		{Type: EntryNewLeadershipTerm, TermID: 3, TermBase: 4096, Timestamp: 1_006, LeaderID: 2},
	}
}

func TestEntryRoundTrip(t *testing.T) {
	var log []byte
	for _, e := range sampleEntries() {
		before := len(log)
		log = AppendEntry(log, &e)
		if len(log)-before != EntryLength(&e) || len(log)%entryAlignment != 0 {
			t.Fatalf("%v: appended %d, EntryLength %d", e.Type, len(log)-before, EntryLength(&e))
		}
	}
	for i, want := range sampleEntries() {
		var got LogEntry
		n, err := DecodeEntry(log, &got)
		if err != nil {
			t.Fatalf("entry %d: %v", i, err)
		}
		if got.Type != want.Type || got.SessionID != want.SessionID || got.CorrelationID != want.CorrelationID ||
			got.Timestamp != want.Timestamp || got.Reason != want.Reason || got.Action != want.Action ||
			got.TermID != want.TermID || got.TermBase != want.TermBase || got.LeaderID != want.LeaderID ||
			!bytes.Equal(got.Payload, want.Payload) {
			t.Fatalf("entry %d: got %+v want %+v", i, got, want)
		}
		log = log[n:]
	}
	if len(log) != 0 {
		t.Fatalf("%d bytes left", len(log))
	}
}

func TestEntryTruncated(t *testing.T) {
	for _, e := range sampleEntries() {
		buf := AppendEntry(nil, &e)
		for n := range len(buf) {
			var got LogEntry
			if _, err := DecodeEntry(buf[:n], &got); !errors.Is(err, ErrBadEntry) {
				t.Fatalf("%v cut to %d: err %v", e.Type, n, err)
			}
		}
	}
}

// FuzzDecodeEntry: arbitrary bytes never panic the entry decoder, and a
// decoded entry re-encodes to the same bytes.
func FuzzDecodeEntry(f *testing.F) {
	for _, e := range sampleEntries() {
		f.Add(AppendEntry(nil, &e)) // each entry type, valid
	}
	all := []byte{}
	for _, e := range sampleEntries() {
		all = AppendEntry(all, &e)
	}
	f.Add(all)                             // a whole log: only the first entry is decoded
	f.Add(all[:20])                        // header of the first entry only
	f.Add([]byte{0xff, 0xff, 0xff, 0x7f})  // huge frame length, 4 bytes
	f.Add(make([]byte, EntryHeaderLength)) // zero frame length
	f.Fuzz(func(t *testing.T, data []byte) {
		var e LogEntry
		n, err := DecodeEntry(data, &e)
		if err != nil {
			return
		}
		if n > len(data) || n%entryAlignment != 0 {
			t.Fatalf("length %d of %d", n, len(data))
		}
		re := AppendEntry(nil, &e)
		var e2 LogEntry
		if _, err := DecodeEntry(re, &e2); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if e2.Type != e.Type || e2.Timestamp != e.Timestamp || !bytes.Equal(e2.Payload, e.Payload) {
			t.Fatalf("re-decode differs: %+v %+v", e, e2)
		}
	})
}

func TestSessionOpenPayloadRoundTrip(t *testing.T) {
	in := SessionOpen{ResponseStreamID: 102, ResponseChannel: []byte("udp?endpoint=127.0.0.1:5000"), Principal: []byte("alice")}
	var out SessionOpen
	if err := DecodeSessionOpen(AppendSessionOpen(nil, &in), &out); err != nil {
		t.Fatal(err)
	}
	if out.ResponseStreamID != 102 || string(out.ResponseChannel) != string(in.ResponseChannel) || string(out.Principal) != "alice" {
		t.Fatalf("got %+v", out)
	}
	for _, bad := range [][]byte{nil, {1, 2, 3}, {0, 0, 0, 0, 9, 0, 'a'}} {
		if err := DecodeSessionOpen(bad, &out); err == nil {
			t.Fatalf("%x decoded", bad)
		}
	}
}
