//go:build !unix

package flowbench

import "time"

// processCPU is not available here; CPU-time figures are reported as 0.
func processCPU() time.Duration { return 0 }
