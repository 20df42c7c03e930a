package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"venue/marketdata"
)

func init() {
	register(command{name: "md", summary: "market data: 'venue md listen' shows the live books of the multicast feed", run: runMD})
}

func runMD(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdout, "Usage: venue md listen [--group 239.255.10.1] [--port 40101] [--interface lo] [--symbol S] [--json]")
		return nil
	}
	switch args[0] {
	case "listen":
		return runMDListen(args[1:], stdout, stderr)
	}
	return fmt.Errorf("%w: unknown md subcommand %q (have: listen)", errUsage, args[0])
}

func runMDListen(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("md listen", stderr)
	group := fs.String("group", marketdata.GroupDefault, "multicast group (or unicast address) of the feed")
	port := fs.Int("port", marketdata.PortDefault, "UDP port of the feed")
	iface := fs.String("interface", marketdata.InterfaceDefault, "network interface to join the group on")
	symbol := fs.String("symbol", "", "show only this symbol")
	asJSON := fs.Bool("json", false, "print one JSON object per instrument update instead of the live view")
	count := fs.Int("count", 0, "exit after this many instrument updates (0: run until interrupted)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := marketdata.ListenConfig{
		UDP:    marketdata.UDPConfig{Group: *group, Port: *port, Interface: *iface, TTL: marketdata.TTLDefault},
		Symbol: *symbol, JSON: *asJSON, Count: *count,
	}
	return marketdata.Listen(ctx, cfg, stdout)
}
