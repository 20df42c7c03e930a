//go:build race

package logstore

// raceEnabled: the race detector slows the crash and model tests several
// times, so under -race they run fewer seeds (the full count runs without).
const raceEnabled = true
