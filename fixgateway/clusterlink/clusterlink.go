// Package clusterlink connects the FIX gateway to a real venue cluster: it
// implements fixgateway.ClusterClient with the cluster's Go client library
// (cluster/client), which follows leader changes by itself and hands back
// every message whose outcome it cannot vouch for.
package clusterlink

import (
	"context"
	"errors"
	"fmt"

	"venue/cluster/client"
	"venue/fixgateway"
	"venue/transport"
)

// Link is a fixgateway.ClusterClient over one cluster session. Its methods
// are called from the gateway's agent goroutine (Close from any).
type Link struct {
	members []string
	driver  *transport.Driver
	c       *client.Client
	h       handler
}

var _ fixgateway.ClusterClient = (*Link)(nil)

// New returns a link to the cluster whose members' ingress endpoints
// ("host:port") are members, in member id order. It owns a transport
// driver with its own goroutine (parked in the poller when idle).
func New(members []string) (*Link, error) {
	if len(members) == 0 {
		return nil, errors.New("clusterlink: no cluster members")
	}
	d, err := transport.NewDriver(transport.DriverConfig{})
	if err != nil {
		return nil, fmt.Errorf("clusterlink: transport: %w", err)
	}
	return &Link{members: members, driver: d}, nil
}

// Connect implements fixgateway.ClusterClient: the gateway's principal is
// its cluster credential (the cluster's authenticator maps it to a
// principal; the default one takes it as is).
func (l *Link) Connect(ctx context.Context, creds fixgateway.Credentials) error {
	cred := creds.Principal
	if creds.Secret != "" {
		cred += ":" + creds.Secret
	}
	c, err := client.Connect(ctx, client.Config{Driver: l.driver, Members: l.members, Credentials: []byte(cred)})
	if err != nil {
		return fmt.Errorf("clusterlink: %w", err)
	}
	l.c = c
	return nil
}

// Offer implements fixgateway.ClusterClient. The position it returns is the
// message's correlation id in its cluster session (increasing, > 0), which
// OnUnknownOutcome hands back.
func (l *Link) Offer(msg []byte) fixgateway.OfferResult {
	if l.c == nil {
		return fixgateway.OfferNotConnected
	}
	corr, err := l.c.Offer(msg)
	switch {
	case err == nil:
		return fixgateway.OfferResult(corr)
	case errors.Is(err, client.ErrBackPressured), errors.Is(err, client.ErrWindowFull):
		return fixgateway.OfferBackPressured
	case errors.Is(err, client.ErrNotConnected):
		return fixgateway.OfferNotConnected
	}
	return fixgateway.OfferClosed
}

// Poll implements fixgateway.ClusterClient.
func (l *Link) Poll(h fixgateway.ClusterHandler, limit int) int {
	if l.c == nil {
		return 0
	}
	l.h.h = h
	n := l.c.Poll(&l.h, limit)
	l.h.h = nil
	return n
}

// Close implements fixgateway.ClusterClient.
func (l *Link) Close() error {
	if l.c != nil {
		l.c.Close()
	}
	return l.driver.Close()
}

// handler adapts client.Handler to fixgateway.ClusterHandler.
type handler struct{ h fixgateway.ClusterHandler }

func (a *handler) OnMessage(_, _ int64, payload []byte) { a.h.OnMessage(payload) }
func (a *handler) OnNewLeader(leader int32, term int64) { a.h.OnNewLeader(leader, term) }
func (a *handler) OnUnknownOutcome(corr int64, payload []byte, _ string) {
	a.h.OnUnknownOutcome(corr, payload)
}
