//go:build race

package flowbench

// raceEnabled: the race detector slows a million-record replay tenfold.
const raceEnabled = true
