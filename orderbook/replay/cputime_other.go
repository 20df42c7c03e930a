//go:build !unix

package replay

// processCPUNs is not available here; CPU-time figures are reported as 0.
func processCPUNs() int64 { return 0 }
