// Package reports turns latency measurements into the files users read to
// judge the venue: HdrHistogram percentile distributions, a JSON summary,
// charts, and comparisons between runs.
//
// It owns:
//
//   - recording latencies per path ("order→new", "cancel→canceled", ...) with
//     HdrHistogram, measured from each message's intended send time so that a
//     stalled sender cannot hide its own stall (coordinated omission; see
//     Recorder), with errors and timeouts counted and kept in the percentiles;
//   - the latency-over-time series (one point per Collector.Tick) and the
//     progress line a long run prints;
//   - the report directory (WriteReport): summary.json, one .hgrm per path in
//     HdrHistogram's standard percentile-distribution text format (values in
//     µs), intervals.hlog (every interval histogram, in HdrHistogram's
//     interval log format, for HistogramLogProcessor), and PNG/SVG charts
//     drawn with gonum.org/v1/plot: latency by percentile on the logarithmic
//     "nines" axis, and latency over time;
//   - reading a report directory back, and comparing several runs (one overlay
//     chart plus a table of percentiles and ratios);
//   - the standard latency keys (p50_ns ... max_ns) every `venue bench`
//     prints, via LatencyOf.
//
// A load generator uses it as: NewCollector (paths, timeout) → NewRecorder per
// goroutine → Record(path, intendedNs, doneNs, outcome) per response →
// Restart when the warm-up ends → Tick once a second (print Progress) →
// Finish → WriteReport. A bench uses NewHistogram and LatencyOf.
//
// It does not generate load, talk to the venue, read clocks or decide what a
// path is: the load generator (package loadgen) and the bench commands own
// their schedules and clocks and pass intended and actual times in as int64
// nanoseconds. Surveillance reports from a replayed log belong here too
// (DESIGN.md) but are not written yet.
package reports
