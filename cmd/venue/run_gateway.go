package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"venue/fixgateway"
	"venue/fixgateway/clusterlink"
	"venue/transport"
)

// runGatewayHandle is the FIX gateway `venue run` starts beside the cluster.
type runGatewayHandle struct {
	g    *fixgateway.Gateway
	ctrs *transport.CountersManager
}

// startRunGateway starts the demo FIX gateway (DEMO1..DEMO4 on port) as a
// client of the cluster (its members, MTU and the session window cluster
// names).
func startRunGateway(ctx context.Context, dataDir string, port int, cluster clusterlink.Config, stdout io.Writer) (*runGatewayHandle, error) {
	cfg, err := gatewayConfig("", true, port, dataDir, stdout)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(dataDir, "gateway")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ctrs, err := transport.CreateCountersFile(filepath.Join(dir, transport.CountersFileName), gatewayCountersCapacity)
	if err != nil {
		return nil, err
	}
	link, err := clusterlink.NewWithConfig(cluster)
	if err != nil {
		ctrs.Close()
		return nil, err
	}
	g, err := fixgateway.New(cfg, fixgateway.Options{Client: link, Counters: ctrs})
	if err != nil {
		link.Close()
		ctrs.Close()
		return nil, err
	}
	if err := g.Start(ctx); err != nil {
		ctrs.Close()
		return nil, fmt.Errorf("FIX gateway: %w", err)
	}
	return &runGatewayHandle{g: g, ctrs: ctrs}, nil
}

func (h *runGatewayHandle) stop() {
	h.g.Stop()
	h.ctrs.Close()
}
