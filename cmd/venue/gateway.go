package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"venue/fixgateway"
	"venue/fixgateway/clusterlink"
	"venue/fixgateway/fakecluster"
	"venue/transport"
)

func init() {
	register(command{name: "gateway", summary: "run a FIX gateway, FIX 4.4 and FIXT 1.1 / FIX 5.0 SP2 (--config FILE, or --demo)", run: runGateway})
}

// gatewayCountersCapacity sizes the gateway's counters file.
const gatewayCountersCapacity = 64

func runGateway(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("gateway", stderr)
	cfgPath := fs.String("config", "", "gateway settings: a quickfixgo acceptor file with the Venue* keys (see fixgateway.Config)")
	demo := fs.Bool("demo", false, "use the demo configuration (DEMO1..DEMO4, password demo) instead of --config")
	port := fs.Int("port", fixgateway.DemoPort, "FIX port for --demo")
	data := fs.String("data", "./venue-data", "data directory (FIX store for --demo, counters file)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := gatewayConfig(*cfgPath, *demo, *port, *data, stdout)
	if err != nil {
		return err
	}
	dir := filepath.Join(*data, "gateway")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	ctrs, err := transport.CreateCountersFile(filepath.Join(dir, transport.CountersFileName), gatewayCountersCapacity)
	if err != nil {
		return err
	}
	defer ctrs.Close()
	var client fixgateway.ClusterClient
	if len(cfg.ClusterEndpoints) > 0 {
		link, err := clusterlink.New(cfg.ClusterEndpoints)
		if err != nil {
			return err
		}
		client = link
		fmt.Fprintf(stdout, "cluster: members' ingress %v\n", cfg.ClusterEndpoints)
	} else {
		venue, err := fakecluster.NewVenue(fakecluster.SpecFor(cfg))
		if err != nil {
			return err
		}
		client = venue.NewClient()
		fmt.Fprintf(stdout, "NOTE: %s is not set: this gateway runs the engine in an EMBEDDED IN-PROCESS fake cluster\n", fixgateway.KeyClusterEndpoints)
		fmt.Fprintln(stdout, "      (one process, no replication, state lost on exit; instruments ALPHA, BETA, GAMMA).")
		fmt.Fprintln(stdout, "      For the real venue use `venue run`, or set it to the members' ingress endpoints.")
	}
	g, err := fixgateway.New(cfg, fixgateway.Options{Client: client, Counters: ctrs})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := g.Start(ctx); err != nil {
		return err
	}
	for _, s := range cfg.Sessions {
		fmt.Fprintf(stdout, "FIX session %s: SenderCompID=%s TargetCompID=%s, principal %s, accounts %v\n",
			s.ID.BeginString, s.ID.TargetCompID, s.ID.SenderCompID, s.Principal, s.Accounts)
	}
	fmt.Fprintln(stdout, "gateway running; Ctrl-C stops it")
	<-ctx.Done()
	g.Stop()
	fmt.Fprintln(stdout, "gateway stopped")
	return nil
}

// gatewayConfig loads --config, or writes and loads the demo configuration.
func gatewayConfig(path string, demo bool, port int, data string, stdout io.Writer) (*fixgateway.Config, error) {
	switch {
	case demo && path != "":
		return nil, fmt.Errorf("%w: --config and --demo are exclusive", errUsage)
	case !demo && path == "":
		return nil, fmt.Errorf("%w: --config FILE or --demo is required", errUsage)
	case path != "":
		return fixgateway.LoadConfig(path)
	}
	dir := filepath.Join(data, "gateway")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path = filepath.Join(dir, "gateway.cfg")
	if err := os.WriteFile(path, []byte(fixgateway.DemoAcceptorSettings(port, filepath.Join(dir, "fixstore"))), 0o644); err != nil {
		return nil, err
	}
	ini, err := fixgateway.WriteDemoInitiatorSettings(data, port)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "demo gateway settings: %s\nFIX initiator settings for DEMO1..DEMO4 (password demo, tag 554): %s\n", path, ini)
	return fixgateway.LoadConfig(path)
}
