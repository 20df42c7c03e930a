package surveil

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

// ReplayBench is what `venue bench replay` measures: engine replay plus
// every detector over a generated day's recorded log.
type ReplayBench struct {
	Source       string  `json:"source"`
	Seed         uint64  `json:"seed"`
	Events       uint64  `json:"events"`      // order events through the detectors
	Records      uint64  `json:"log_records"` // log records the engine applied
	LogBytes     int64   `json:"log_bytes"`
	Alerts       int     `json:"alerts"`
	Seconds      float64 `json:"seconds"`     // replay + detectors + Finish, wall clock
	CPUSeconds   float64 `json:"cpu_seconds"` // the same, user + system CPU time of the process
	EventsPerSec float64 `json:"events_per_sec"`
	// EventsPerCPUSec is events over CPU time: the rate on an unshared
	// core, when other work on the machine inflates the wall clock.
	EventsPerCPUSec float64 `json:"events_per_cpu_sec"`
	RecordsPerSec   float64 `json:"records_per_sec"`
	GenerateSecs    float64 `json:"generate_seconds"` // untimed: writing the day's log
	PeakRSSBytes    int64   `json:"peak_rss_bytes"`   // the process's, over generation and replay
	HeapBytes       uint64  `json:"heap_inuse_bytes_after"`
	State           State   `json:"detector_state"`
}

// BenchReplay generates a day of about events order events into a
// recorded log under dir, then times its replay through a fresh engine, a
// Recorder and all the detectors. The log is the generator's, not the
// archive's, until `venue replay` reads the archive.
func BenchReplay(events int, seed uint64, dir string) (ReplayBench, error) {
	res := ReplayBench{Source: "generated day (in-process generator, not the archive)", Seed: seed}
	path := filepath.Join(dir, "day.svlog")
	start := time.Now()
	if err := writeDay(path, events, seed); err != nil {
		return res, err
	}
	res.GenerateSecs = time.Since(start).Seconds()
	defer os.Remove(path)
	f, err := os.Open(path)
	if err != nil {
		return res, fmt.Errorf("surveil: bench: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		res.LogBytes = st.Size()
	}
	runtime.GC()
	s := New(DayRules())
	start, cpu0 := time.Now(), cpuTime()
	rr, err := Replay(f, s)
	if err != nil {
		return res, err
	}
	alerts := s.Finish()
	res.Seconds, res.CPUSeconds = time.Since(start).Seconds(), (cpuTime() - cpu0).Seconds()
	res.EventsPerCPUSec = float64(rr.Events) / res.CPUSeconds
	res.Events, res.Records, res.Alerts, res.State = rr.Events, rr.Records, len(alerts), s.State()
	res.EventsPerSec = float64(rr.Events) / res.Seconds
	res.RecordsPerSec = float64(rr.Records) / res.Seconds
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapBytes = ms.HeapInuse
	res.PeakRSSBytes = peakRSS()
	return res, nil
}

func writeDay(path string, events int, seed uint64) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("surveil: bench: %w", err)
	}
	w := bufio.NewWriterSize(f, logBufferBytes)
	_, err = GenerateDay(DayConfig{Seed: seed, Events: events, Inject: true, Log: w}, nopSink{})
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("surveil: bench: writing the day: %w", err)
	}
	return nil
}

// nopSink discards events while the day is written.
type nopSink struct{}

func (nopSink) OnEvent(*Event, *Market) {}

// peakRSS returns the process's peak resident set size (0 if unknown).
func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss * 1024 // kilobytes on Linux
}

// cpuTime returns the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
