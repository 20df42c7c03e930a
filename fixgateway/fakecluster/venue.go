package fakecluster

import (
	"context"
	"fmt"
	"sort"

	"venue/engine"
	"venue/fixgateway"
)

// AdminPrincipal is the fake venue's bootstrap admin.
const AdminPrincipal = "ADMIN"

// Instrument is one instrument to list.
type Instrument struct {
	ID             uint32
	Symbol         string
	PriceDecimals  uint8
	TickSize       int64 // in price units
	LotSize        int64
	ReferencePrice int64
	BandBps        uint32
}

// Spec is what a fake venue is provisioned with, through the log as an
// admin would: instruments, gateway principals, and traders with their
// accounts.
type Spec struct {
	Instruments []Instrument
	Gateways    []string
	Traders     map[string][]string // principal -> accounts
}

// DemoSpec is the embedded default: ALPHA, BETA and GAMMA (2 decimals,
// tick 0.01, lot 1, reference 100.00, band ±10%), the GATEWAY principal,
// and traders DEMO1..DEMO4 each with the account of its own name.
func DemoSpec() Spec {
	s := Spec{Gateways: []string{"GATEWAY"}, Traders: map[string][]string{}}
	for i, sym := range []string{"ALPHA", "BETA", "GAMMA"} {
		s.Instruments = append(s.Instruments, Instrument{ID: uint32(i + 1), Symbol: sym, PriceDecimals: 2,
			TickSize: 1, LotSize: 1, ReferencePrice: 10000, BandBps: 1000})
	}
	for _, id := range fixgateway.DemoCompIDs() {
		s.Traders[id] = []string{id}
	}
	return s
}

// Venue is a fake cluster running the venue's engine.
type Venue struct {
	*Cluster
	Engine *EngineService
	admin  *Client
}

// NewVenue returns a fake cluster running the venue's engine, provisioned
// with spec through the log by the bootstrap admin.
func NewVenue(spec Spec) (*Venue, error) {
	v := &Venue{Cluster: New(nil)}
	e, err := NewEngineService(AdminPrincipal, v.Cluster.Send)
	if err != nil {
		return nil, err
	}
	v.Engine = e
	v.Cluster.SetService(e)
	return v.provision(spec)
}

// Level returns the resting quantity at one price level.
func (v *Venue) Level(instrument uint32, side engine.Side, price int64) int64 {
	return v.Engine.Level(LevelKey{instrument, side, price})
}

func (v *Venue) provision(spec Spec) (*Venue, error) {
	v.admin = v.NewClient()
	if err := v.admin.Connect(context.Background(), fixgateway.Credentials{Principal: AdminPrincipal}); err != nil {
		return nil, err
	}
	msgs := ProvisionMessages(spec)
	for _, m := range msgs {
		if r := v.admin.Offer(m); !r.Accepted() {
			return nil, fmt.Errorf("fakecluster: provision: %v", r)
		}
	}
	return v, nil
}

func sortedKeys(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func setPrincipal(name string, role engine.Role) []byte {
	buf, m := engine.AppendSetPrincipal(nil)
	m.SetRole(role)
	m.SetPrincipal(name)
	return buf
}

// SetTradingState changes an instrument's trading state through the log;
// Closed expires its DAY orders.
func (v *Venue) SetTradingState(instrument uint32, s engine.TradingState) {
	buf, m := engine.AppendSetTradingState(nil)
	m.SetInstrument(instrument)
	m.SetState(s)
	v.admin.Offer(buf)
}

// SpecFor is DemoSpec's instruments with the principals and accounts a
// gateway configuration names, so that the gateway can run against an
// embedded fake venue.
func SpecFor(cfg *fixgateway.Config) Spec {
	s := DemoSpec()
	s.Gateways = []string{cfg.GatewayPrincipal}
	s.Traders = map[string][]string{}
	for _, sc := range cfg.Sessions {
		s.Traders[sc.Principal] = sc.Accounts
	}
	return s
}
