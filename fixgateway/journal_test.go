package fixgateway

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/store/file"
)

// journalModel is what a journal should hold: a simple reference.
type journalModel struct {
	sender, target int
	msgs           map[int][]byte
}

func newJournalModel() *journalModel {
	return &journalModel{sender: 1, target: 1, msgs: map[int][]byte{}}
}

func (m *journalModel) get(begin, end int) [][]byte {
	var nums []int
	for n := range m.msgs {
		if n >= begin && n <= end {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	out := make([][]byte, 0, len(nums))
	for _, n := range nums {
		out = append(out, m.msgs[n])
	}
	return out
}

func testJournal(t *testing.T, fsync bool) (*journal, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "s.journal")
	j, err := openJournal(path, fsync)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return j, path
}

func reopen(t *testing.T, j *journal) *journal {
	t.Helper()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	k, err := openJournal(j.path, j.sync)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	return k
}

func fixMsg(seq int) []byte {
	return []byte(fmt.Sprintf("8=FIX.4.4\x019=20\x0135=8\x0134=%d\x0111=order-%d\x0110=000\x01", seq, seq))
}

// checkJournal compares j with the model: sequence numbers and every
// range of messages (over several index strides).
func checkJournal(t *testing.T, j quickfix.MessageStore, m *journalModel) {
	t.Helper()
	if got := j.NextSenderMsgSeqNum(); got != m.sender {
		t.Fatalf("next sender %d, want %d", got, m.sender)
	}
	if got := j.NextTargetMsgSeqNum(); got != m.target {
		t.Fatalf("next target %d, want %d", got, m.target)
	}
	top := m.sender + 3
	for _, r := range [][2]int{{1, top}, {0, 0}, {1, 1}, {2, 1}, {top / 2, top}, {journalIndexStride, journalIndexStride + 1},
		{journalIndexStride + 3, 3 * journalIndexStride}, {top, top + 10}, {1, 1 << 30}} {
		got, err := j.GetMessages(r[0], r[1])
		if err != nil {
			t.Fatalf("GetMessages(%d, %d): %v", r[0], r[1], err)
		}
		want := m.get(r[0], r[1])
		if len(got) != len(want) {
			t.Fatalf("GetMessages(%d, %d): %d messages, want %d", r[0], r[1], len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("GetMessages(%d, %d)[%d] = %q, want %q", r[0], r[1], i, got[i], want[i])
			}
		}
	}
}

// TestJournalAgainstModel drives a journal and a model with the same
// operations, reopening now and then, and compares them.
func TestJournalAgainstModel(t *testing.T) {
	for _, fsync := range []bool{false, true} {
		t.Run(fmt.Sprintf("fsync=%v", fsync), func(t *testing.T) {
			j, _ := testJournal(t, fsync)
			m := newJournalModel()
			checkJournal(t, j, m)
			steps := 3*journalIndexStride + 7
			if fsync {
				steps = journalIndexStride + 3 // fsyncs are slow
			}
			for i := 0; i < steps; i++ {
				seq := j.NextSenderMsgSeqNum()
				if err := j.SaveMessageAndIncrNextSenderMsgSeqNum(seq, fixMsg(seq)); err != nil {
					t.Fatal(err)
				}
				m.msgs[seq], m.sender = fixMsg(seq), seq+1
				if i%5 == 0 {
					if err := j.IncrNextTargetMsgSeqNum(); err != nil {
						t.Fatal(err)
					}
					m.target++
				}
				if i%17 == 0 {
					checkJournal(t, j, m)
					j = reopen(t, j)
					checkJournal(t, j, m)
				}
			}
			checkJournal(t, j, m)
			j = reopen(t, j)
			checkJournal(t, j, m)
		})
	}
}

// TestJournalSequenceNumbers: the header and the records each decide the
// next sender number on reopening, whichever was written last.
func TestJournalSequenceNumbers(t *testing.T) {
	j, _ := testJournal(t, false)
	m := newJournalModel()
	for seq := 1; seq <= 3; seq++ {
		if err := j.SaveMessageAndIncrNextSenderMsgSeqNum(seq, fixMsg(seq)); err != nil {
			t.Fatal(err)
		}
		m.msgs[seq] = fixMsg(seq)
	}
	m.sender = 4
	// A header written after the records: it decides.
	if err := j.SetNextSenderMsgSeqNum(10); err != nil {
		t.Fatal(err)
	}
	if err := j.SetNextTargetMsgSeqNum(7); err != nil {
		t.Fatal(err)
	}
	m.sender, m.target = 10, 7
	j = reopen(t, j)
	checkJournal(t, j, m)
	// SaveMessage keeps the sender number; records after the header decide.
	if err := j.SaveMessage(10, fixMsg(10)); err != nil {
		t.Fatal(err)
	}
	m.msgs[10] = fixMsg(10)
	j = reopen(t, j)
	checkJournal(t, j, m)
	if err := j.SaveMessageAndIncrNextSenderMsgSeqNum(10, fixMsg(10)); err != nil {
		t.Fatal(err)
	}
	m.sender = 11
	j = reopen(t, j)
	checkJournal(t, j, m)
	// Downwards: 2 and 3 again, stored anew; resends give the last.
	if err := j.SetNextSenderMsgSeqNum(2); err != nil {
		t.Fatal(err)
	}
	for seq := 2; seq <= 3; seq++ {
		b := append(fixMsg(seq), "again"...)
		if err := j.SaveMessageAndIncrNextSenderMsgSeqNum(seq, b); err != nil {
			t.Fatal(err)
		}
		m.msgs[seq] = b
	}
	m.sender = 4
	checkJournal(t, j, m)
	j = reopen(t, j)
	checkJournal(t, j, m)
}

// TestJournalReset: no messages, numbers back to 1, a new creation time,
// and so after reopening.
func TestJournalReset(t *testing.T) {
	j, _ := testJournal(t, false)
	for seq := 1; seq <= 5; seq++ {
		if err := j.SaveMessageAndIncrNextSenderMsgSeqNum(seq, fixMsg(seq)); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.SetNextTargetMsgSeqNum(9); err != nil {
		t.Fatal(err)
	}
	created := j.CreationTime()
	if err := j.Reset(); err != nil {
		t.Fatal(err)
	}
	if !j.CreationTime().After(created) {
		t.Fatalf("creation time %v not after %v", j.CreationTime(), created)
	}
	m := newJournalModel()
	checkJournal(t, j, m)
	j = reopen(t, j)
	checkJournal(t, j, m)
	if err := j.SaveMessageAndIncrNextSenderMsgSeqNum(1, fixMsg(1)); err != nil {
		t.Fatal(err)
	}
	m.msgs[1], m.sender = fixMsg(1), 2
	if err := j.Refresh(); err != nil {
		t.Fatal(err)
	}
	checkJournal(t, j, m)
}

// TestJournalRefuses: bad sequence numbers and oversized messages are
// refused and change nothing.
func TestJournalRefuses(t *testing.T) {
	j, _ := testJournal(t, false)
	for name, err := range map[string]error{
		"zero seq":       j.SaveMessageAndIncrNextSenderMsgSeqNum(0, fixMsg(0)),
		"too long":       j.SaveMessage(1, make([]byte, recordBodyBytesMax+1)),
		"sender zero":    j.SetNextSenderMsgSeqNum(0),
		"target below":   j.SetNextTargetMsgSeqNum(-1),
		"negative seq":   j.SaveMessage(-3, fixMsg(1)),
		"sender below":   j.SetNextSenderMsgSeqNum(-2),
		"target zero":    j.SetNextTargetMsgSeqNum(0),
		"too long again": j.SaveMessageAndIncrNextSenderMsgSeqNum(1, make([]byte, recordBodyBytesMax+1)),
	} {
		if !errors.Is(err, ErrJournal) {
			t.Errorf("%s: %v, want ErrJournal", name, err)
		}
	}
	checkJournal(t, j, newJournalModel())
}

// TestJournalTruncatedEverywhere: a journal cut at every byte offset (a
// crash in the middle of a write, a lost page) opens, keeps every whole
// record before the cut, drops the rest, and takes new records after the
// last whole one.
func TestJournalTruncatedEverywhere(t *testing.T) {
	j, path := testJournal(t, false)
	type rec struct {
		seq int
		end int64
	}
	var recs []rec
	var hdr journalHeader // the last header written
	for seq := 1; seq <= 14; seq++ {
		if err := j.SaveMessageAndIncrNextSenderMsgSeqNum(seq, fixMsg(seq)); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec{seq, j.end})
		if seq%4 == 0 { // the last at 12: 13 and 14 come after it
			if err := j.IncrNextTargetMsgSeqNum(); err != nil {
				t.Fatal(err)
			}
			hdr = j.hdr
		}
	}
	full, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Past its records the open file holds the zeros of its mapped window
	// (TestJournalCrashWithWindow); a cut there is a cut at the end.
	full = full[:j.end]
	dir := t.TempDir()
	for cut := 0; cut <= len(full); cut++ {
		p := filepath.Join(dir, fmt.Sprintf("cut-%d.journal", cut))
		if err := os.WriteFile(p, full[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		k, err := openJournal(p, false)
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		m := newJournalModel()
		switch {
		case cut >= journalRecordsStart: // both header slots whole
			m.sender, m.target = int(hdr.nextSender), int(hdr.nextTarget)
			for _, r := range recs {
				if r.end <= int64(cut) {
					m.msgs[r.seq] = fixMsg(r.seq)
					if uint64(r.end) > hdr.end {
						m.sender = r.seq + 1
					}
				}
			}
		case cut >= journalSlotBytes: // slot 0 alone
			if h, ok := decodeSlot(full[:journalSlotBytes]); ok {
				m.sender, m.target = int(h.nextSender), int(h.nextTarget)
			}
		}
		checkJournal(t, k, m)
		// A new record goes after the last whole one and survives.
		seq := k.NextSenderMsgSeqNum()
		if err := k.SaveMessageAndIncrNextSenderMsgSeqNum(seq, fixMsg(seq)); err != nil {
			t.Fatal(err)
		}
		m.msgs[seq], m.sender = fixMsg(seq), seq+1
		k = reopen(t, k)
		checkJournal(t, k, m)
		k.Close()
		os.Remove(p)
	}
}

// TestJournalCrashWithWindow: a journal without fsync stores records in a
// mapped window of its file (records then zeros to the window's end).
// Records that cross windows read back; the file as a crash leaves it
// (copied while open) recovers every record and takes new ones after the
// last; Close leaves the file ending at its last record.
func TestJournalCrashWithWindow(t *testing.T) {
	j, path := testJournal(t, false)
	m := newJournalModel()
	body := func(seq int) []byte { // records of a fifth of a window and small ones
		if seq%5 == 0 {
			return append(fixMsg(seq), bytes.Repeat([]byte{'x'}, journalMapBytes/5)...)
		}
		return fixMsg(seq)
	}
	for seq := 1; seq <= 40; seq++ {
		if err := j.SaveMessageAndIncrNextSenderMsgSeqNum(seq, body(seq)); err != nil {
			t.Fatal(err)
		}
		m.msgs[seq], m.sender = body(seq), seq+1
	}
	if j.win == nil {
		t.Skip("no mapped window on this platform or file system: records are written with pwrite")
	}
	if err := j.IncrNextTargetMsgSeqNum(); err != nil {
		t.Fatal(err)
	}
	m.target = 2
	checkJournal(t, j, m)
	crashed, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(crashed)) <= j.end || !bytes.Equal(crashed[j.end:], make([]byte, int64(len(crashed))-j.end)) {
		t.Fatalf("open journal is %d bytes with %d of records: want zeros after them", len(crashed), j.end)
	}
	p := filepath.Join(t.TempDir(), "crashed.journal")
	if err := os.WriteFile(p, crashed, 0o600); err != nil {
		t.Fatal(err)
	}
	k, err := openJournal(p, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { k.Close() })
	checkJournal(t, k, m)
	if err := k.SaveMessageAndIncrNextSenderMsgSeqNum(41, body(41)); err != nil {
		t.Fatal(err)
	}
	m.msgs[41], m.sender = body(41), 42
	k = reopen(t, k)
	checkJournal(t, k, m)
	end := j.end
	j = reopen(t, j)
	if st, err := os.Stat(path); err != nil || st.Size() != end {
		t.Fatalf("closed journal: %v, want %d bytes (its records)", st, end)
	}
	delete(m.msgs, 41)
	m.sender = 41
	checkJournal(t, j, m)
	// Reset and Refresh drop the window and cut the file.
	if err := j.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := j.SaveMessageAndIncrNextSenderMsgSeqNum(1, body(1)); err != nil {
		t.Fatal(err)
	}
	if err := j.Refresh(); err != nil {
		t.Fatal(err)
	}
	m = newJournalModel()
	m.msgs[1], m.sender = body(1), 2
	checkJournal(t, j, m)
}

// TestJournalTornHeader: a header slot torn by a crash leaves the other;
// both torn is a fresh journal.
func TestJournalTornHeader(t *testing.T) {
	j, path := testJournal(t, false)
	if err := j.SetNextTargetMsgSeqNum(5); err != nil {
		t.Fatal(err)
	}
	if err := j.SetNextTargetMsgSeqNum(6); err != nil { // the newest slot
		t.Fatal(err)
	}
	newest := int64(j.hdr.gen%journalSlots) * journalSlotBytes
	j.Close()
	for _, tc := range []struct {
		name   string
		offs   []int64
		target int
	}{
		{"newest torn", []int64{newest + slotTargetOffset}, 5},
		{"older torn", []int64{journalSlotBytes - newest + slotGenOffset}, 6},
		{"both torn", []int64{newest + slotCRCOffset, journalSlotBytes - newest + slotMagicOffset}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, off := range tc.offs {
				b[off] ^= 0x5a
			}
			p := filepath.Join(t.TempDir(), "torn.journal")
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			k, err := openJournal(p, false)
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close()
			m := newJournalModel()
			m.target = tc.target
			checkJournal(t, k, m)
		})
	}
}

// TestJournalConcurrentResend: resends read while messages are stored
// (quickfixgo's senders and its session goroutine), and see a prefix.
func TestJournalConcurrentResend(t *testing.T) {
	j, _ := testJournal(t, false)
	const n = 3 * journalIndexStride
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for seq := 1; seq <= n; seq++ {
			if err := j.SaveMessageAndIncrNextSenderMsgSeqNum(seq, fixMsg(seq)); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := 0; i < 50; i++ {
		got, err := j.GetMessages(1, n)
		if err != nil {
			t.Fatal(err)
		}
		for k, b := range got {
			if !bytes.Equal(b, fixMsg(k+1)) {
				t.Fatalf("message %d = %q", k+1, b)
			}
		}
	}
	wg.Wait()
}

// TestJournalFactory: the file name follows quickfixgo's file store, and
// FileStoreSync is honoured (Y when absent).
func TestJournalFactory(t *testing.T) {
	dir := t.TempDir()
	settings, err := quickfix.ParseSettings(strings.NewReader("[DEFAULT]\nFileStorePath=" + dir +
		"\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=DEMO1\n" +
		"\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=DEMO2\nFileStoreSync=N\n"))
	if err != nil {
		t.Fatal(err)
	}
	f := NewJournalStoreFactory(settings)
	for id := range settings.SessionSettings() {
		s, err := f.Create(id)
		if err != nil {
			t.Fatal(err)
		}
		j := s.(*journal)
		if want := filepath.Join(dir, "FIX.4.4-VENUE-"+id.TargetCompID+".journal"); j.path != want {
			t.Errorf("path %s, want %s", j.path, want)
		}
		if want := id.TargetCompID == "DEMO1"; j.sync != want {
			t.Errorf("%v: sync %v, want %v", id, j.sync, want)
		}
		s.Close()
	}
}

// TestJournalAdoptsFileStore: a new journal takes the sequence numbers
// quickfixgo's file store left for its session; an existing journal, or
// one without a file store beside it, does not.
func TestJournalAdoptsFileStore(t *testing.T) {
	dir := t.TempDir()
	settings, err := quickfix.ParseSettings(strings.NewReader("[DEFAULT]\nFileStorePath=" + dir +
		"\nFileStoreSync=N\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=DEMO1\n" +
		"\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=DEMO2\n"))
	if err != nil {
		t.Fatal(err)
	}
	fs, err := file.NewStoreFactory(settings).Create(quickfix.SessionID{BeginString: "FIX.4.4", SenderCompID: "VENUE", TargetCompID: "DEMO1"})
	if err != nil {
		t.Fatal(err)
	}
	for seq := 1; seq <= 4; seq++ {
		if err := fs.SaveMessageAndIncrNextSenderMsgSeqNum(seq, fixMsg(seq)); err != nil {
			t.Fatal(err)
		}
	}
	if err := fs.SetNextTargetMsgSeqNum(9); err != nil {
		t.Fatal(err)
	}
	fs.Close()
	f := NewJournalStoreFactory(settings)
	for _, tc := range []struct {
		compID         string
		sender, target int
	}{{"DEMO1", 5, 9}, {"DEMO2", 1, 1}} {
		id := quickfix.SessionID{BeginString: "FIX.4.4", SenderCompID: "VENUE", TargetCompID: tc.compID}
		for round := range 2 {
			s, err := f.Create(id)
			if err != nil {
				t.Fatal(err)
			}
			m := newJournalModel()
			m.sender, m.target = tc.sender, tc.target
			checkJournal(t, s, m)
			if round == 0 { // the journal's own numbers from here on
				if err := s.SetNextTargetMsgSeqNum(tc.target + 1); err != nil {
					t.Fatal(err)
				}
				tc.target++
			}
			s.Close()
		}
	}
}

// BenchmarkJournalSave is the cost of storing one outbound message
// (FileStoreSync=N), against quickfixgo's file store.
func BenchmarkJournalSave(b *testing.B) {
	j, err := openJournal(filepath.Join(b.TempDir(), "b.journal"), false)
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	msg := bytes.Repeat([]byte("x"), 250)
	b.SetBytes(int64(len(msg)))
	for i := 0; b.Loop(); i++ {
		if err := j.SaveMessageAndIncrNextSenderMsgSeqNum(i+1, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzJournalRecords feeds arbitrary bytes to the record scanner and the
// header slot decoder: no panic, and whatever they accept re-encodes to
// the bytes it was read from (so recovery keeps only records that were
// written whole).
func FuzzJournalRecords(f *testing.F) {
	rec := func(seq, next uint64, body string) []byte {
		return appendRecord(nil, journalRecord{seq: seq, next: next, body: []byte(body)})
	}
	two := append(rec(1, 2, "8=FIX.4.4\x0135=8\x01"), rec(2, 3, "8=FIX.4.4\x0135=9\x01")...)
	var slot [journalSlotBytes]byte
	encodeSlot(&slot, journalHeader{gen: 3, nextSender: 7, nextTarget: 9, end: 200, creation: 1})
	f.Add([]byte{})                                     // empty
	f.Add(rec(1, 2, ""))                                // an empty body
	f.Add(two)                                          // two whole records
	f.Add(two[:len(two)-1])                             // the second torn in its body
	f.Add(two[:len(two)/2+3])                           // the second torn in its header
	f.Add(append(rec(5, 6, "x"), 0, 0, 0, 0, 0, 0))     // a zeroed tail
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4})   // a huge length
	f.Add(append(slot[:], two...))                      // a header slot, then records
	f.Add(append(bytes.Clone(slot[:10]), slot[11:]...)) // a slot missing a byte
	f.Fuzz(func(t *testing.T, data []byte) {
		if h, ok := decodeSlot(data); ok {
			var b [journalSlotBytes]byte
			encodeSlot(&b, h)
			if !bytes.Equal(b[:slotPayloadEnd], data[:slotPayloadEnd]) {
				t.Fatalf("slot %+v re-encodes differently", h)
			}
		}
		s := newRecordScanner(bytes.NewReader(data), 0, int64(len(data)))
		off := int64(0)
		for {
			r, ok := s.next()
			if !ok {
				break
			}
			enc := appendRecord(nil, r)
			if s.off != off+int64(len(enc)) || !bytes.Equal(enc, data[off:s.off]) {
				t.Fatalf("record at %d (%+v) re-encodes differently", off, r)
			}
			off = s.off
		}
		if off > int64(len(data)) {
			t.Fatalf("scanned to %d of %d bytes", off, len(data))
		}
	})
}

// BenchmarkFileStoreSave is BenchmarkJournalSave on quickfixgo's file
// store (FileStoreSync=N).
func BenchmarkFileStoreSave(b *testing.B) {
	settings, err := quickfix.ParseSettings(strings.NewReader("[DEFAULT]\nFileStorePath=" + b.TempDir() +
		"\nFileStoreSync=N\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=DEMO1\n"))
	if err != nil {
		b.Fatal(err)
	}
	s, err := file.NewStoreFactory(settings).Create(quickfix.SessionID{BeginString: "FIX.4.4", SenderCompID: "VENUE", TargetCompID: "DEMO1"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	msg := bytes.Repeat([]byte("x"), 250)
	b.SetBytes(int64(len(msg)))
	for i := 0; b.Loop(); i++ {
		if err := s.SaveMessageAndIncrNextSenderMsgSeqNum(i+1, msg); err != nil {
			b.Fatal(err)
		}
	}
}
