//go:build !linux

package fixgateway

import (
	"errors"
	"os"
)

// mapJournalWindow is not available here: the journal writes each record
// with a positioned write.
func mapJournalWindow(*os.File, int64, int) ([]byte, error) {
	return nil, errors.New("fixgateway: journal mapping not supported on this platform")
}

func unmapJournalWindow([]byte) error { return nil }

var journalPageBytes = int64(os.Getpagesize())
