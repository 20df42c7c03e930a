package fixgateway

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"
)

// TestJournalWindowFault: the journal file cut from outside while its
// window is mapped (an operator's truncate; a failing disk under a shared
// mapping faults the same way). The next store into the window faults —
// SIGBUS, which used to kill the gateway — and the journal turns the fault
// into an error, drops the window, repairs the file (its header rewritten
// with the sequence numbers it holds) and stores the message with pwrite.
// Sequence numbers survive, the messages the file lost are gone, and the
// journal reopens as it was left.
func TestJournalWindowFault(t *testing.T) {
	body := func(seq int) []byte { // about a quarter of a page each
		return append(fixMsg(seq), bytes.Repeat([]byte{'x'}, 1000)...)
	}
	const stored = 12 // past the third page, so a cut leaves the window's page without a file
	for _, tc := range []struct {
		name string
		kept int // records left whole by the cut
	}{{"cut to nothing", -1}, {"cut to the header", 0}, {"cut after record 3", 3}, {"cut inside record 4", 3}} {
		t.Run(tc.name, func(t *testing.T) {
			j, path := testJournal(t, false)
			m := newJournalModel()
			var ends []int64
			for seq := 1; seq <= stored; seq++ {
				if err := j.SaveMessageAndIncrNextSenderMsgSeqNum(seq, body(seq)); err != nil {
					t.Fatal(err)
				}
				ends = append(ends, j.end)
			}
			if j.win == nil {
				t.Skip("no mapped window on this platform or file system: records are written with pwrite")
			}
			if err := j.SetNextTargetMsgSeqNum(4); err != nil {
				t.Fatal(err)
			}
			cut := int64(0)
			switch {
			case tc.kept == 0:
				cut = journalRecordsStart
			case tc.kept > 0 && tc.name == "cut after record 3":
				cut = ends[tc.kept-1]
			case tc.kept > 0:
				cut = ends[tc.kept-1] + recordHeaderBytes + 5
			}
			if err := os.Truncate(path, cut); err != nil {
				t.Fatal(err)
			}
			err := j.SaveMessageAndIncrNextSenderMsgSeqNum(stored+1, body(stored+1))
			if err != nil {
				t.Fatalf("save after the cut: %v, want it stored with pwrite", err)
			}
			if j.mapFaults != 1 || j.win != nil || !j.noMap {
				t.Fatalf("%d faults counted, window %v, noMap %v: want 1, none, true", j.mapFaults, j.win != nil, j.noMap)
			}
			m.target, m.sender = 4, stored+2
			for seq := 1; seq <= tc.kept; seq++ {
				m.msgs[seq] = body(seq)
			}
			m.msgs[stored+1] = body(stored + 1)
			checkJournal(t, j, m)
			// pwrite from here on; the numbers and the messages reopen.
			if err := j.SaveMessageAndIncrNextSenderMsgSeqNum(stored+2, body(stored+2)); err != nil {
				t.Fatal(err)
			}
			m.msgs[stored+2], m.sender = body(stored+2), stored+3
			checkJournal(t, j, m)
			j = reopen(t, j)
			checkJournal(t, j, m)
		})
	}
}

// TestJournalFaultError: only a memory fault (a runtime error with an
// address) becomes an error; any other panic is re-raised.
func TestJournalFaultError(t *testing.T) {
	var addrErr error
	func() {
		defer func() { addrErr = faultError(recover()) }()
		var s []int
		_ = s[len(s)] // index out of range: a runtime.Error without an address
	}()
	for _, tc := range []struct {
		p     any
		fault bool
	}{{"a string", false}, {fmt.Errorf("an error"), false}, {fakeFault{0x1234}, true}} {
		err := faultError(tc.p)
		var mf errMappedFault
		if got := errors.As(err, &mf); got != tc.fault || (!got && !errors.Is(err, errNotAFault)) {
			t.Errorf("faultError(%v) = %v, fault %v", tc.p, err, tc.fault)
		}
	}
	if !errors.Is(addrErr, errNotAFault) {
		t.Errorf("index out of range: %v, want errNotAFault", addrErr)
	}
	defer func() {
		if p := recover(); p == nil {
			t.Error("a panic that is not a fault was swallowed")
		}
	}()
	_ = putRecordMapped(make([]byte, recordHeaderBytes), journalRecord{seq: 1, next: 2, body: []byte("too long for dst")})
}

// fakeFault looks like the runtime's error for a memory fault.
type fakeFault struct{ addr uintptr }

func (f fakeFault) Error() string { return "fault" }
func (f fakeFault) RuntimeError() {}
func (f fakeFault) Addr() uintptr { return f.addr }

// BenchmarkPutRecordMapped is the cost of the fault guard: putRecord of a
// 250-byte message with and without putRecordMapped around it.
func BenchmarkPutRecordMapped(b *testing.B) {
	r := journalRecord{seq: 1, next: 2, body: bytes.Repeat([]byte("x"), 250)}
	dst := make([]byte, recordHeaderBytes+len(r.body))
	b.Run("plain", func(b *testing.B) {
		for b.Loop() {
			putRecord(dst, r)
		}
	})
	b.Run("guarded", func(b *testing.B) {
		for b.Loop() {
			if err := putRecordMapped(dst, r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
