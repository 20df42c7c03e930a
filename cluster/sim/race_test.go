//go:build race

package sim

// raceEnabled: the race detector slows the simulator about 5x, so plain
// `go test -race` runs fewer seeds (raceSeeds).
const raceEnabled = true
