package archive

import "fmt"

// assert panics when an invariant that the code relies on does not hold.
// Assertions stay on in production: an archive that continues past a broken
// invariant can corrupt the log that the cluster's safety rests on.
//
// On hot paths write `if !cond { assertFailed(...) }` instead: the
// arguments of assert are boxed (and allocated) even when the check passes.
func assert(ok bool, format string, args ...any) {
	if !ok {
		assertFailed(format, args...)
	}
}

// assertFailed panics with the formatted message of a failed assertion.
func assertFailed(format string, args ...any) {
	panic(fmt.Sprintf("archive: assertion failed: "+format, args...))
}
