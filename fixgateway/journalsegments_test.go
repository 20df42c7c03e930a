package fixgateway

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
)

// segBody is a message of about 300 bytes, an execution report's size.
func segBody(seq int) []byte {
	return append(fixMsg(seq), bytes.Repeat([]byte{'x'}, 250)...)
}

func testJournalRetain(t *testing.T, fsync bool, retain int64) (*journal, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.journal")
	j, err := openJournalRetain(path, fsync, retain)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j, path
}

func reopenRetain(t *testing.T, j *journal, retain int64) *journal {
	t.Helper()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	k, err := openJournalRetain(j.base, j.sync, retain)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

// checkBounded checks a bounded journal against the model of everything
// stored: it keeps a suffix of the messages (the newest, down to some
// number), within retain bytes and no less than retain less two segments;
// its files are its segments; its index has an entry per stride of each.
func checkBounded(t *testing.T, j *journal, m *journalModel, retain int64) {
	t.Helper()
	top := m.sender - 1
	got, err := j.GetMessages(1, top)
	if err != nil {
		t.Fatal(err)
	}
	var kept int64
	for i, b := range got {
		seq := top - len(got) + 1 + i
		if !bytes.Equal(b, m.msgs[seq]) {
			t.Fatalf("kept message %d of %d = %q, want %d: %q", i, len(got), b, seq, m.msgs[seq])
		}
		kept += int64(recordHeaderBytes + len(b))
	}
	segBytes := retain / journalSegmentsPerRetain
	if kept > retain+int64(recordHeaderBytes+len(segBody(top))) {
		t.Fatalf("%d bytes of records kept, over the bound %d", kept, retain)
	}
	if all := int64(len(m.msgs)) * int64(recordHeaderBytes+len(segBody(top))); all > retain && kept < retain-2*segBytes {
		t.Fatalf("%d bytes of records kept, want at least %d", kept, retain-2*segBytes)
	}
	m2 := &journalModel{sender: m.sender, target: m.target, msgs: map[int][]byte{}}
	for i := range got {
		m2.msgs[top-len(got)+1+i] = got[i]
	}
	checkJournal(t, j, m2)
	nums, err := listSegments(j.base)
	if err != nil {
		t.Fatal(err)
	}
	if len(nums) != len(j.segs)+1 || nums[len(nums)-1] != j.active {
		t.Fatalf("segment files %v, journal has %d older and %d active", nums, len(j.segs), j.active)
	}
	want := (j.activeRecords + journalIndexStride - 1) / journalIndexStride
	for _, s := range j.segs {
		want += (s.records + journalIndexStride - 1) / journalIndexStride
	}
	if uint64(len(j.index)) != want {
		t.Fatalf("%d index entries, want %d", len(j.index), want)
	}
}

// TestJournalSegments: a journal keeping 64 KiB (8 KiB segments) takes
// 1,000 messages of ~300 bytes (5 times the bound), reopened now and
// then, with and without fsync: it keeps the newest within the bound,
// its sequence numbers survive every roll and reopen, and a resend
// reads across segments.
func TestJournalSegments(t *testing.T) {
	for _, fsync := range []bool{false, true} {
		t.Run(fmt.Sprintf("fsync=%v", fsync), func(t *testing.T) {
			const retain = journalRetainBytesMin
			j, _ := testJournalRetain(t, fsync, retain)
			m := newJournalModel()
			n := 1000
			if fsync {
				n = 300
			}
			for i := 0; i < n; i++ {
				seq := j.NextSenderMsgSeqNum()
				if err := j.SaveMessageAndIncrNextSenderMsgSeqNum(seq, segBody(seq)); err != nil {
					t.Fatal(err)
				}
				m.msgs[seq], m.sender = segBody(seq), seq+1
				if i%7 == 0 {
					if err := j.IncrNextTargetMsgSeqNum(); err != nil {
						t.Fatal(err)
					}
					m.target++
				}
				if i%97 == 0 {
					checkBounded(t, j, m, retain)
					j = reopenRetain(t, j, retain)
					checkBounded(t, j, m, retain)
				}
			}
			if j.active < 4 {
				t.Fatalf("active segment %d after %d messages: want several rolls", j.active, n)
			}
			checkBounded(t, j, m, retain)
			j = reopenRetain(t, j, retain)
			checkBounded(t, j, m, retain)
			// A smaller bound on reopening (or a crash between a roll and
			// its deletions) deletes down to it.
			j = reopenRetain(t, j, retain/2)
			checkBounded(t, j, m, retain/2)
			// Reset: one empty segment, numbers at 1.
			if err := j.Reset(); err != nil {
				t.Fatal(err)
			}
			if nums, _ := listSegments(j.base); len(nums) != 1 {
				t.Fatalf("segments %v after a reset", nums)
			}
			checkJournal(t, j, newJournalModel())
			j = reopenRetain(t, j, retain)
			checkJournal(t, j, newJournalModel())
		})
	}
}

// TestJournalRollCutShort: a crash while a new segment is created leaves
// it empty or with a torn header (its header is synced before any record
// goes in): recovery deletes it and goes on in the segment before, with
// its numbers. A segment with records is never taken for one.
func TestJournalRollCutShort(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content []byte
		deleted bool
	}{
		{"empty", nil, true},
		{"torn header", bytes.Repeat([]byte{0xa5}, journalSlotBytes+9), true},
		{"zeros", make([]byte, journalMapBytes/4), true},
		{"a record without header", append(make([]byte, journalRecordsStart), appendRecord(nil, journalRecord{seq: 999, next: 1000, body: segBody(999)})...), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const retain = journalRetainBytesMin
			j, _ := testJournalRetain(t, false, retain)
			m := newJournalModel()
			for seq := 1; seq <= 100; seq++ {
				if err := j.SaveMessageAndIncrNextSenderMsgSeqNum(seq, segBody(seq)); err != nil {
					t.Fatal(err)
				}
				m.msgs[seq], m.sender = segBody(seq), seq+1
			}
			if err := j.SetNextTargetMsgSeqNum(33); err != nil {
				t.Fatal(err)
			}
			m.target = 33
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			next := segmentPath(j.base, j.active+1)
			if err := os.WriteFile(next, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			k, err := openJournalRetain(j.base, false, retain)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { k.Close() })
			if !tc.deleted {
				if k.active != j.active+1 {
					t.Fatalf("active segment %d, want the one with a record, %d", k.active, j.active+1)
				}
				return
			}
			if _, err := os.Stat(next); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("unused segment %s left: %v", next, err)
			}
			checkBounded(t, k, m, retain)
			seq := k.NextSenderMsgSeqNum()
			if err := k.SaveMessageAndIncrNextSenderMsgSeqNum(seq, segBody(seq)); err != nil {
				t.Fatal(err)
			}
			m.msgs[seq], m.sender = segBody(seq), seq+1
			k = reopenRetain(t, k, retain)
			checkBounded(t, k, m, retain)
		})
	}
}

// TestJournalSegmentNames: only base and base.<n> (canonical decimal) are
// the journal's segments.
func TestJournalSegmentNames(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "FIX.4.4-VENUE-DEMO1.journal")
	for _, name := range []string{"FIX.4.4-VENUE-DEMO1.journal", "FIX.4.4-VENUE-DEMO1.journal.3", "FIX.4.4-VENUE-DEMO1.journal.12",
		"FIX.4.4-VENUE-DEMO1.journal.03", "FIX.4.4-VENUE-DEMO1.journal.+4", "FIX.4.4-VENUE-DEMO1.journal.0",
		"FIX.4.4-VENUE-DEMO1.journal.x", "FIX.4.4-VENUE-DEMO12.journal", "FIX.4.4-VENUE-DEMO1.body", "FIX.4.4-VENUE-DEMO1.journal.5.tmp"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	nums, err := listSegments(base)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(nums) != "[0 3 12]" {
		t.Fatalf("segments %v, want [0 3 12]", nums)
	}
}

// TestJournalRetainSetting: VenueJournalRetainBytes (session or default
// section) sets the bound; out of range is a config error; absent is the
// default. A journal whose segment 0 was deleted still exists: it does
// not adopt the older numbers of a file store beside it.
func TestJournalRetainSetting(t *testing.T) {
	dir := t.TempDir()
	text := "[DEFAULT]\nConnectionType=acceptor\nSocketAcceptPort=9999\nFileStorePath=" + dir + "\nFileStoreSync=N\nVenueFIXStore=journal\n" +
		"VenueJournalRetainBytes=%s\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=DEMO1\nVenuePassword=demo\n%s" +
		"\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=DEMO2\nVenuePassword=demo\n"
	for _, bad := range []string{"0", "65535", "x", "17179869185", "-1"} {
		if _, err := ParseConfig(strings.NewReader(fmt.Sprintf(text, bad, ""))); !errors.Is(err, ErrConfig) {
			t.Errorf("%s=%s: %v, want ErrConfig", KeyJournalRetainBytes, bad, err)
		}
	}
	cfg, err := ParseConfig(strings.NewReader(fmt.Sprintf(text, "1048576", KeyJournalRetainBytes+"=65536\n")))
	if err != nil {
		t.Fatal(err)
	}
	f := NewJournalStoreFactory(cfg.Settings)
	for _, tc := range []struct {
		id     string
		retain int64
	}{{"DEMO1", 65536}, {"DEMO2", 1 << 20}} {
		s, err := f.Create(quickfix.SessionID{BeginString: "FIX.4.4", SenderCompID: "VENUE", TargetCompID: tc.id})
		if err != nil {
			t.Fatal(err)
		}
		if j := s.(*journal); j.retainBytes != tc.retain {
			t.Errorf("%s: retain %d, want %d", tc.id, j.retainBytes, tc.retain)
		}
		s.Close()
	}
	// DEMO1 past its bound: segment 0 deleted. A file store's sequence
	// numbers beside it are not adopted again.
	id := quickfix.SessionID{BeginString: "FIX.4.4", SenderCompID: "VENUE", TargetCompID: "DEMO1"}
	s, err := f.Create(id)
	if err != nil {
		t.Fatal(err)
	}
	for seq := 1; seq <= 400; seq++ {
		if err := s.SaveMessageAndIncrNextSenderMsgSeqNum(seq, segBody(seq)); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	base := filepath.Join(dir, "FIX.4.4-VENUE-DEMO1.journal")
	if _, err := os.Stat(base); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("segment 0 still there after 400 messages: %v", err)
	}
	seqnums := filepath.Join(dir, "FIX.4.4-VENUE-DEMO1.senderseqnums")
	if err := os.WriteFile(seqnums, []byte("0000000000000000007"), 0o600); err != nil {
		t.Fatal(err)
	}
	// Older than the journal (one written since would be a switch back:
	// TestStoreSwitchKeepsNumbers).
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(seqnums, old, old); err != nil {
		t.Fatal(err)
	}
	s, err = f.Create(id)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := s.NextSenderMsgSeqNum(); got != 401 {
		t.Fatalf("next sender %d after reopening, want 401", got)
	}
}

// TestResendGapPlaceholder: for a range of which the store has nothing,
// the gateway's store wrapper gives a Heartbeat numbered the range's end
// (quickfixgo then gap-fills the whole range); otherwise exactly what the
// store has.
func TestResendGapPlaceholder(t *testing.T) {
	j, _ := testJournalRetain(t, false, journalRetainBytesMin)
	for seq := 1; seq <= 400; seq++ {
		if err := j.SaveMessageAndIncrNextSenderMsgSeqNum(seq, segBody(seq)); err != nil {
			t.Fatal(err)
		}
	}
	s := newSeqStore(j, 1)
	first := 0
	if msgs, _ := j.GetMessages(1, 400); len(msgs) > 0 && len(msgs) < 400 {
		first = 400 - len(msgs) + 1
	} else {
		t.Fatalf("%d messages kept: want some trimmed", len(msgs))
	}
	for _, tc := range []struct {
		begin, end int
		want       []int // seqs given; -n: the placeholder numbered n
	}{
		{1, 5, []int{-5}},
		{1, first - 1, []int{-(first - 1)}},
		{1, first, []int{first}},
		{first - 3, first + 1, []int{first, first + 1}},
		{400, 400, []int{400}},
		{401, 500, []int{-500}},
		{5, 4, nil},
		{0, 0, nil},
	} {
		var got []int
		err := s.IterateMessages(tc.begin, tc.end, func(b []byte) error {
			if !bytes.Contains(b, []byte("\x0135=0\x01")) {
				// A stored message (fixMsg's body length is not true).
				var seq int
				_, err := fmt.Sscanf(string(b[bytes.Index(b, []byte("\x0134="))+4:]), "%d", &seq)
				got = append(got, seq)
				return err
			}
			// The placeholder: quickfixgo must parse it (body length and
			// checksum checked).
			m := quickfix.NewMessage()
			if err := quickfix.ParseMessage(m, bytes.NewBuffer(b)); err != nil {
				return err
			}
			seq, err := m.Header.GetInt(34)
			got = append(got, -seq)
			return err
		})
		if err != nil {
			t.Fatalf("%d..%d: %v", tc.begin, tc.end, err)
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%d..%d gave %v, want %v", tc.begin, tc.end, got, tc.want)
		}
	}
}
