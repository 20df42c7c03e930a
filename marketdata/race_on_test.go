//go:build race

package marketdata

// raceEnabled scales the seeded tests down under the race detector, which
// slows them tenfold; the full seed counts run without it.
const raceEnabled = true
