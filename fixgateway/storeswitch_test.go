package fixgateway

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/store/file"
)

// TestStoreSwitchKeepsNumbers: a session's store switched file → journal
// → file → journal (VenueFIXStore changed between restarts) carries the
// sequence numbers of the store used last each time, not the stale ones
// the other store left behind (which the switch back used to pick up),
// and drops the stale store's messages. Without a switch, the store in
// use keeps its own numbers.
func TestStoreSwitchKeepsNumbers(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "not yet made") // the first store makes it
	settings, err := quickfix.ParseSettings(strings.NewReader("[DEFAULT]\nFileStorePath=" + dir +
		"\nFileStoreSync=N\n[SESSION]\nBeginString=FIX.4.4\nSenderCompID=VENUE\nTargetCompID=DEMO1\n"))
	if err != nil {
		t.Fatal(err)
	}
	id := quickfix.SessionID{BeginString: "FIX.4.4", SenderCompID: "VENUE", TargetCompID: "DEMO1"}
	ctr, err := newCounters(nil, "test")
	if err != nil {
		t.Fatal(err)
	}
	open := func(kind string) quickfix.MessageStore {
		t.Helper()
		s, err := storeFactoryFor(&Config{Settings: settings, FIXStore: kind}, ctr).Create(id)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// age makes a store's files older than anything written after (file
	// times can be coarse).
	age := func(kind string) {
		t.Helper()
		pattern := fileStorePrefix(dir, id) + ".*seqnums"
		if kind == FIXStoreJournal {
			pattern = filepath.Join(dir, journalFileName(id)) + "*"
		}
		paths, _ := filepath.Glob(pattern)
		if len(paths) == 0 {
			t.Fatalf("no %s files to age", kind)
		}
		old := time.Now().Add(-time.Hour)
		for _, p := range paths {
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}
	}
	use := func(s quickfix.MessageStore, upTo, target int) {
		t.Helper()
		for seq := s.NextSenderMsgSeqNum(); seq <= upTo; seq++ {
			if err := s.SaveMessageAndIncrNextSenderMsgSeqNum(seq, fixMsg(seq)); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.SetNextTargetMsgSeqNum(target); err != nil {
			t.Fatal(err)
		}
	}
	want := func(step string, s quickfix.MessageStore, sender, target, stored int) {
		t.Helper()
		msgs, err := s.GetMessages(1, sender)
		if err != nil {
			t.Fatal(err)
		}
		if s.NextSenderMsgSeqNum() != sender || s.NextTargetMsgSeqNum() != target || len(msgs) != stored {
			t.Fatalf("%s: next sender %d, target %d, %d stored messages; want %d, %d, %d", step,
				s.NextSenderMsgSeqNum(), s.NextTargetMsgSeqNum(), len(msgs), sender, target, stored)
		}
		s.Close()
	}

	s := open(FIXStoreFile)
	use(s, 3, 4)
	want("file store first", s, 4, 4, 3)
	age(FIXStoreFile)

	s = open(FIXStoreJournal) // a new journal adopts the numbers
	want("to the journal", s, 4, 4, 0)
	s = open(FIXStoreJournal)
	use(s, 10, 7)
	want("journal used", s, 11, 7, 7)
	age(FIXStoreFile)

	s = open(FIXStoreFile) // its numbers are 4/4, the journal's newer
	want("back to the file store", s, 11, 7, 0)
	s = open(FIXStoreFile)
	use(s, 12, 9)
	want("file store used", s, 13, 9, 2)
	age(FIXStoreJournal)

	s = open(FIXStoreJournal) // its numbers are 11/7, the file store's newer
	want("back to the journal", s, 13, 9, 0)
	s = open(FIXStoreJournal)
	use(s, 14, 10)
	want("journal used again", s, 15, 10, 2)
	age(FIXStoreFile)
	s = open(FIXStoreJournal)
	want("journal reopened", s, 15, 10, 2)

	// The file store untouched since still holds 13/9 of its own.
	fs, err := file.NewStoreFactory(settings).Create(id)
	if err != nil {
		t.Fatal(err)
	}
	want("file store left", fs, 13, 9, 2)
}
