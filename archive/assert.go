package archive

import "fmt"

// assert panics when an invariant that the code relies on does not hold.
// Assertions stay on in production: an archive that continues past a broken
// invariant can corrupt the log that the cluster's safety rests on.
func assert(ok bool, format string, args ...any) {
	if !ok {
		panic(fmt.Sprintf("archive: assertion failed: "+format, args...))
	}
}
