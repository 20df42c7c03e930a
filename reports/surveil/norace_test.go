//go:build !race

package surveil

const raceEnabled = false
