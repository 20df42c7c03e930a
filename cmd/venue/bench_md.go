package main

import (
	"encoding/json"
	"fmt"
	"io"
	"time"

	"venue/marketdata"
)

func init() {
	registerBench(benchTarget{
		name:    "md",
		summary: "market data over multicast on loopback: changes absorbed/s, updates delivered/s, latency (--instruments N)",
		run:     runBenchMD,
	})
}

func runBenchMD(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench md", stderr)
	instruments := fs.Int("instruments", 1000, "instruments changing")
	duration := fs.Duration("duration", 2*time.Second, "length of each phase (absorb, deliver, latency)")
	depth := fs.Int("depth", marketdata.DepthDefault, "levels per side published")
	mtu := fs.Int("mtu", marketdata.MTUDefault, "largest datagram in bytes (loopback allows up to 65507)")
	delivery := fs.Int("delivery-rate", 0, "changes per second during the delivery phase (0: the default, 1000000)")
	paced := fs.Int("paced-rate", 0, "changes per second during the latency phase (0: the default, 100000)")
	group := fs.String("group", "239.255.10.250", "multicast group (or unicast address) to run over")
	port := fs.Int("port", 0, "UDP port (0: a free one)")
	iface := fs.String("interface", marketdata.InterfaceDefault, "interface to send and join on")
	noGSO := fs.Bool("no-gso", false, "send each batch by sendmmsg instead of UDP GSO sends (Linux)")
	idle := fs.String("idle", "wake", "publisher idle strategy: wake (sleep until the sink hands over work), yield, backoff or spin")
	asJSON := fs.Bool("json", false, "print one JSON object instead of a summary")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	res, err := marketdata.RunBench(marketdata.BenchConfig{
		Instruments: *instruments, Duration: *duration, Depth: *depth, MTU: *mtu, PacedChangesPerSec: *paced, Idle: *idle,
		DeliveryChangesPerSec: *delivery,
		UDP: marketdata.UDPConfig{Group: *group, Port: *port, Interface: *iface, TTL: marketdata.TTLDefault,
			NoGSO: *noGSO},
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return json.NewEncoder(stdout).Encode(res)
	}
	fmt.Fprintf(stdout, "md over %s, %d instruments, depth %d, MTU %d, idle %s, GSO %v, %.1f s per phase (host load %.1f)\n",
		*group, res.Instruments, res.Depth, res.MTU, res.Idle, res.GSO, res.PhaseSeconds, res.LoadAverage)
	fmt.Fprintf(stdout, "absorbed:  %.2f M changes/s flat out (%.4f allocs/change; subscriber meanwhile %.0f updates/s)\n",
		res.ChangesPerSec/1e6, res.AllocsPerChange, res.SaturatedUpdatesPerSec)
	fmt.Fprintf(stdout, "delivered: %.0f updates/s in %.0f packets/s at %d changes/s (%d packets lost)\n",
		res.UpdatesPerSec, res.PacketsPerSec, res.DeliveryChangesPerSec, res.PacketsLost)
	fmt.Fprintf(stdout, "latency at %d changes/s, change to subscriber: p50 %d ns  p99 %d ns  p99.9 %d ns  max %d ns (%d of %d commands)\n",
		res.PacedPerSec, res.P50Ns, res.P99Ns, res.P999Ns, res.MaxNs, res.LatencySamples, res.LatencyCommands)
	fmt.Fprintf(stdout, "  p99 by stage: hand-off to the sending duty cycle %d ns, duty cycle to applied %d ns "+
		"(encoding to the send %d ns, the send to applied %d ns); process CPU %d ms, waiting for a CPU %d ms; "+
		"the rest of the host %d ms of CPU, the hypervisor's steal %d ms\n",
		res.PickupP99Ns, res.WireP99Ns, res.EncodeP99Ns, res.DeliverP99Ns, res.CPUMs, res.RunDelayMs, res.OtherCPUMs, res.StealMs)
	fmt.Fprintf(stdout, "  the send to applied, p99: to the subscriber's receive %d ns, then applying %d ns\n", res.WakeP99Ns, res.ApplyP99Ns)
	fmt.Fprintf(stdout, "  p50 by stage: hand-off to the duty cycle %d ns, encoding to the send %d ns, the send to applied %d ns "+
		"(to the receive %d ns, applying %d ns)\n",
		res.PickupP50Ns, res.EncodeP50Ns, res.DeliverP50Ns, res.WakeP50Ns, res.ApplyP50Ns)
	return nil
}
