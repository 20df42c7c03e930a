//go:build unix

package replay

import "syscall"

// processCPUNs returns the CPU time (user and system) the process has used,
// in nanoseconds. On a shared machine the throughput pass's CPU time is a
// steadier figure than its wall time, which counts time spent descheduled.
func processCPUNs() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
