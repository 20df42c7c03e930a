//go:build race

package surveil

// raceEnabled: the race detector slows the engine and chart drawing
// several times over, so the long tests run shorter days under it.
const raceEnabled = true
