package fixgateway

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/quickfixgo/quickfix"
	"github.com/quickfixgo/quickfix/config"
	"github.com/quickfixgo/quickfix/store/file"
)

// Switching stores (KeyFIXStore) keeps the sessions' numbering.
//
// The journal and quickfixgo's file store keep their files side by side
// in FileStorePath, under the same session prefix, and neither writes
// the other's. A gateway switched from one to the other would find the
// other's files as it left them: nothing on a first switch (quickfixgo
// starts at 1), stale numbers on a switch back — and the client would be
// logged out for a sequence number too low, or asked for a resend of
// messages it never got. So the store being opened takes the other's
// sequence numbers when the other's files were written last (their
// modification times): the journal's newest segment against the file
// store's sequence number files. Its own stored messages are then of an
// older numbering: it is reset first (they are dropped), and a resend of
// the other store's messages is answered with a gap fill (resendgap.go).
// Nothing is copied when the store's own files are the newer: the store
// in use since the switch keeps its numbers.

// fileStoreSeqNumSuffixes name quickfixgo's file store sequence number
// files (after the session prefix).
var fileStoreSeqNumSuffixes = [...]string{".senderseqnums", ".targetseqnums"}

// fileStorePrefix is the path prefix of a session's quickfixgo file store
// files in dir (the journal's name without its suffix).
func fileStorePrefix(dir string, id quickfix.SessionID) string {
	return filepath.Join(dir, strings.TrimSuffix(journalFileName(id), journalFileSuffix))
}

// fileStoreModTime is when quickfixgo's file store last wrote a session's
// sequence numbers in dir; ok is false when it has none there.
func fileStoreModTime(dir string, id quickfix.SessionID) (t time.Time, ok bool) {
	prefix := fileStorePrefix(dir, id)
	for _, s := range fileStoreSeqNumSuffixes {
		if st, err := os.Stat(prefix + s); err == nil && st.ModTime().After(t) {
			t, ok = st.ModTime(), true
		}
	}
	return t, ok
}

// journalModTime is when a journal (segment 0 at base) last wrote its
// files; ok is false when it has none.
func journalModTime(base string) (t time.Time, ok bool, err error) {
	nums, err := listSegments(base)
	if err != nil {
		return t, false, err
	}
	for _, n := range nums {
		if st, err := os.Stat(segmentPath(base, n)); err == nil && st.ModTime().After(t) {
			t, ok = st.ModTime(), true
		}
	}
	return t, ok, nil
}

// journalSeqNums reads a journal's sequence numbers (opening it recovers
// it; with the largest bound, so that nothing is deleted).
func journalSeqNums(base string) (sender, target int, err error) {
	j, err := openJournalRetain(base, false, journalRetainBytesMax)
	if err != nil {
		return 0, 0, err
	}
	sender, target = j.NextSenderMsgSeqNum(), j.NextTargetMsgSeqNum()
	if err := j.Close(); err != nil {
		return 0, 0, err
	}
	return sender, target, nil
}

// fileStoreFactory is quickfixgo's file store (FIXStoreFile) taking the
// journal's sequence numbers when the journal was written last.
type fileStoreFactory struct {
	settings *quickfix.Settings
	inner    quickfix.MessageStoreFactory
}

// newFileStoreFactory returns quickfixgo's file store factory for
// settings, wrapped as above.
func newFileStoreFactory(settings *quickfix.Settings) quickfix.MessageStoreFactory {
	return fileStoreFactory{settings: settings, inner: file.NewStoreFactory(settings)}
}

// Create implements quickfix.MessageStoreFactory.
func (f fileStoreFactory) Create(id quickfix.SessionID) (quickfix.MessageStore, error) {
	s, ok := f.settings.SessionSettings()[id]
	if !ok {
		s = f.settings.GlobalSettings()
	}
	dir, err := s.Setting(config.FileStorePath)
	if err != nil {
		return nil, fmt.Errorf("fixgateway: file store for %v: %w", id, err)
	}
	base := filepath.Join(dir, journalFileName(id))
	jt, jok, err := journalModTime(base)
	if err != nil {
		return nil, err
	}
	ft, fok := fileStoreModTime(dir, id) // before Create writes them
	store, err := f.inner.Create(id)
	if err != nil {
		return nil, fmt.Errorf("fixgateway: file store for %v: %w", id, err)
	}
	if jok && (!fok || jt.After(ft)) {
		if err := adoptJournal(store, base); err != nil {
			store.Close()
			return nil, fmt.Errorf("fixgateway: file store for %v: %w", id, err)
		}
	}
	return store, nil
}

// adoptJournal resets store and gives it the journal's sequence numbers.
func adoptJournal(store quickfix.MessageStore, base string) error {
	sender, target, err := journalSeqNums(base)
	if err != nil {
		return fmt.Errorf("take the sequence numbers of journal %s: %w", base, err)
	}
	if err := errors.Join(store.Reset(), store.SetNextSenderMsgSeqNum(sender), store.SetNextTargetMsgSeqNum(target)); err != nil {
		return fmt.Errorf("take the sequence numbers of journal %s: %w", base, err)
	}
	return nil
}
