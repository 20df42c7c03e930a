package archive

import (
	"errors"
	"fmt"
)

// ErrorCode is a control-protocol error, the wire form of the archive's
// sentinel errors.
type ErrorCode int32

// Error codes. Stable on the wire: only ever add.
const (
	ErrorNone             ErrorCode = 0
	ErrorGeneric          ErrorCode = 1
	ErrorUnknownRecording ErrorCode = 2
	ErrorRecordingActive  ErrorCode = 3
	ErrorInvalidPosition  ErrorCode = 4
	ErrorInvalidParams    ErrorCode = 5
	ErrorDiskFull         ErrorCode = 6
	ErrorRecordingFailed  ErrorCode = 7
	ErrorUnknownTemplate  ErrorCode = 8
	ErrorMalformed        ErrorCode = 9
	ErrorUnknownReplay    ErrorCode = 10
	ErrorClosed           ErrorCode = 11
	// ErrorUnknownReplication: no replication with that id.
	ErrorUnknownReplication ErrorCode = 12
	// ErrorTimeout: a remote archive (a replication's source) did not answer.
	ErrorTimeout ErrorCode = 13
)

// ErrUnknownReplay: no replay session with that id.
var ErrUnknownReplay = errors.New("archive: unknown replay session")

// ErrUnknownReplication: no replication with that id at the server.
var ErrUnknownReplication = errors.New("archive: unknown replication")

// errorCodes pairs each code with its sentinel, in the order errorCodeOf
// tries them.
var errorCodes = []struct {
	code ErrorCode
	err  error
}{
	{ErrorUnknownRecording, ErrUnknownRecording},
	{ErrorRecordingActive, ErrRecordingActive},
	{ErrorInvalidPosition, ErrInvalidPosition},
	{ErrorInvalidParams, ErrInvalidParams},
	{ErrorDiskFull, ErrDiskFull},
	{ErrorRecordingFailed, ErrRecordingFailed},
	{ErrorUnknownTemplate, ErrUnknownTemplate},
	{ErrorMalformed, ErrMalformed},
	{ErrorUnknownReplay, ErrUnknownReplay},
	{ErrorClosed, ErrClosed},
	{ErrorUnknownReplication, ErrUnknownReplication},
	{ErrorTimeout, ErrTimeout},
}

// errorCodeOf maps an error to its wire code.
func errorCodeOf(err error) ErrorCode {
	if err == nil {
		return ErrorNone
	}
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return ErrorGeneric
}

// String names the code.
func (c ErrorCode) String() string {
	if c == ErrorNone {
		return "none"
	}
	if c == ErrorGeneric {
		return "generic"
	}
	for _, e := range errorCodes {
		if e.code == c {
			return e.err.Error()
		}
	}
	return fmt.Sprintf("ErrorCode(%d)", int32(c))
}

// ControlError is an error received in a ControlResponse. errors.Is matches
// it against the sentinel its code stands for, so callers handle a remote
// ErrRecordingActive exactly as a local one.
type ControlError struct {
	Code    ErrorCode
	Message string
}

// Error returns the message the server sent.
func (e *ControlError) Error() string { return e.Message }

// Unwrap returns the sentinel of the error's code, or nil.
func (e *ControlError) Unwrap() error {
	for _, c := range errorCodes {
		if c.code == e.Code {
			return c.err
		}
	}
	return nil
}
