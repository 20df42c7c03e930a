//go:build !race

package flowbench

const raceEnabled = false
