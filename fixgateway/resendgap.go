package fixgateway

import (
	"fmt"
	"strconv"
)

// Resends of messages the store no longer has.
//
// quickfixgo (v0.9.10, inSession.resendMessages) answers a ResendRequest
// with what the store's IterateMessages gives: a gap fill (SequenceReset
// with GapFillFlag) before the first message it resends for the numbers
// the store skipped, and one at the end for admin messages it skipped.
// When the store gives nothing at all for the range it sends nothing, and
// the client waits for an answer that never comes. That happens whenever
// none of the range is stored: the journal deleted it (past
// KeyJournalRetainBytes), or the session's numbering was adopted from
// another store (adoptFileStore).
//
// seqStore covers that case for every store: when the inner store gives
// nothing for a range, it gives one placeholder, a Heartbeat numbered the
// range's last number. quickfixgo does not resend an admin message but
// moves past it, so it answers with one gap fill over the whole range,
// as FIX asks for messages that will not be resent.

// IterateMessages implements quickfix.MessageStore: the inner store's
// messages, or the placeholder above when it has none in the range.
func (s *seqStore) IterateMessages(beginSeqNum, endSeqNum int, cb func([]byte) error) error {
	given := false
	err := s.MessageStore.IterateMessages(beginSeqNum, endSeqNum, func(b []byte) error {
		given = true
		return cb(b)
	})
	if err != nil || given || endSeqNum < beginSeqNum || endSeqNum <= 0 {
		return err
	}
	return cb(gapPlaceholder(endSeqNum))
}

// gapPlaceholder is a Heartbeat numbered seq, with a true body length and
// checksum: never sent, only parsed by quickfixgo's resend.
func gapPlaceholder(seq int) []byte {
	body := "35=0\x0134=" + strconv.Itoa(seq) + "\x01"
	m := fmt.Appendf(nil, "8=%s\x019=%d\x01%s", BeginStringFIX44, len(body), body)
	sum := 0
	for _, c := range m {
		sum += int(c)
	}
	return fmt.Appendf(m, "10=%03d\x01", sum%256)
}
