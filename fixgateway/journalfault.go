package fixgateway

import (
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
)

// Faults on the mapped window.
//
// A store into a shared mapping of a file raises SIGBUS, which kills the
// process, when the page it lands in has no file behind it any more: the
// file was cut from outside while the gateway ran, or the disk failed to
// read the page in. The reservation made when the window is mapped
// (mapJournalWindow) rules out the common case, a full disk, but not
// these. Every access to the window therefore goes through
// putRecordMapped, which turns such a fault on its goroutine into a
// recoverable panic (runtime/debug.SetPanicOnFault) and that into an
// error. The journal then drops the window for good (records are written
// with pwrite from then on, whose failures are errors), reads its file
// again, writes its header back with the sequence numbers it holds, and
// stores the record with pwrite. If any of that fails, the save fails and
// quickfixgo does not send the message. Either way the sequence numbers
// stay those the journal had: the messages the file lost are lost (a
// resend of one is a gap fill), but none is sent twice under two numbers
// and none is numbered twice.

// errMappedFault is a fault on the mapped window turned into an error.
type errMappedFault struct{ addr uintptr }

func (e errMappedFault) Error() string {
	return fmt.Sprintf("memory fault at %#x (file cut or disk error under the mapping)", e.addr)
}

// errNotAFault marks a panic putRecordMapped does not own (re-raised).
var errNotAFault = errors.New("not a memory fault")

// putRecordMapped is putRecord into dst, a slice of the mapped window,
// with a fault on dst returned as an errMappedFault instead of killing
// the process. SetPanicOnFault is per goroutine and quickfixgo calls the
// store from several (each session's, and the senders through it), so it
// is set here, around the one access, and restored after: a couple of
// nanoseconds (BenchmarkJournalSave).
func putRecordMapped(dst []byte, r journalRecord) (err error) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if p := recover(); p != nil {
			err = faultError(p)
			if errors.Is(err, errNotAFault) {
				panic(p) // a bug, not the file: not ours to hide
			}
		}
	}()
	putRecord(dst, r)
	return nil
}

// faultError is the error for a recovered panic value: errMappedFault for
// a memory fault (a runtime.Error with the faulting address), else
// errNotAFault.
func faultError(p any) error {
	re, ok := p.(runtime.Error)
	if !ok {
		return errNotAFault
	}
	a, ok := re.(interface{ Addr() uintptr })
	if !ok {
		return errNotAFault
	}
	return errMappedFault{addr: a.Addr()}
}

// afterFaultLocked handles a fault on the mapped window (cause): it
// counts it, drops the window for good, reads the file again (cutting
// what it lost) and writes the header back with the sequence numbers the
// journal holds, in both slots (the file may have lost the header too).
// It returns cause wrapped when the file cannot be repaired; the record
// that faulted is then not stored.
func (j *journal) afterFaultLocked(cause error) error {
	j.mapFaults++
	if j.faults != nil {
		j.faults.Increment()
	}
	held := j.hdr
	j.noMap = true
	// The munmap of a window whose pages are gone still succeeds; if it
	// did not, the window is forgotten all the same and never touched.
	_ = j.unmapLocked()
	if err := j.recover(); err != nil {
		return fmt.Errorf("%w; repair: %w", cause, err)
	}
	j.hdr.nextSender, j.hdr.nextTarget, j.hdr.creation = held.nextSender, held.nextTarget, held.creation
	j.hdr.gen = max(j.hdr.gen, held.gen)
	for range journalSlots {
		if err := j.writeHeaderLocked(); err != nil {
			return fmt.Errorf("%w; repair: %w", cause, err)
		}
	}
	return nil
}
