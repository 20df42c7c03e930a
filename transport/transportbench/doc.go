// Package transportbench measures the transport: ping-pong round-trip
// latency and one-way streaming throughput over IPC, UDP unicast and UDP
// multicast on this host. "venue bench transport" is a thin command over
// Run. Each side of a benchmark runs on its own goroutine with its own
// Driver in invoker mode, so that the publisher, sender, receiver and
// subscriber of one side share one duty cycle, as a latency-sensitive
// application would run them.
package transportbench
