package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"

	"venue/cluster/client"
	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/fixgateway"
	"venue/fixgateway/clusterlink"
	"venue/fixgateway/fakecluster"
	"venue/marketdata"
	"venue/transport"
)

func init() {
	register(command{name: "run", summary: "run the venue: a 3-member cluster on loopback running the engine, in one process", run: runRun})
}

// Embedded default timings.
const (
	// leaderWait bounds the wait for the first leader.
	leaderWait = 10 * time.Second
	// provisionWait bounds provisioning through the log.
	provisionWait = 10 * time.Second
	// terminateWait bounds an orderly shutdown.
	terminateWait = 5 * time.Second
)

// clusterFileName is the cluster file `venue run` writes in its data
// directory and reads on the next start.
const clusterFileName = "cluster.toml"

func runRun(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("run", stderr)
	dir := fs.String("dir", "./venue-data", "data directory (created if missing; an existing one is resumed)")
	members := fs.Int("members", config.DefaultMembers, "cluster members (first start only)")
	basePort := fs.Int("base-port", config.DefaultBasePort, "first UDP port of the loopback layout (first start only)")
	noMD := fs.Bool("no-md", false, "do not publish market data (first start only)")
	fixPort := fs.Int("fix-port", fixgateway.DemoPort, "FIX gateway port (0: no gateway)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runVenue(ctx, runOptions{dir: *dir, members: *members, basePort: *basePort, noMD: *noMD, fixPort: *fixPort}, stdout)
}

type runOptions struct {
	dir      string
	members  int
	basePort int
	noMD     bool
	fixPort  int
	stdout   io.Writer
	// ready, if set, is told the cluster's ingress endpoints once the venue
	// is up (tests).
	ready func(ingress []string)
}

// runVenue runs the embedded venue until ctx ends.
func runVenue(ctx context.Context, o runOptions, stdout io.Writer) error {
	path := filepath.Join(o.dir, clusterFileName)
	if o.stdout == nil {
		o.stdout = stdout
	}
	fresh, err := ensureClusterFile(path, o)
	if err != nil {
		return err
	}
	cc, err := config.Load(path)
	if err != nil {
		return err
	}
	vf, err := loadVenueFile(path)
	if err != nil {
		return err
	}
	var ctrs []*transport.CountersManager
	defer func() { // after the members, which write to them
		for _, c := range ctrs {
			c.Close()
		}
	}()
	var vms []*venueMember
	defer func() {
		for _, vm := range vms {
			vm.close()
		}
	}()
	for i := range cc.Members {
		id := consensus.MemberID(i)
		c, err := openMemberCounters(cc, id)
		if err != nil {
			return err
		}
		ctrs = append(ctrs, c)
		vm, err := startVenueMember(cc, vf, id, c)
		if err != nil {
			return err
		}
		vms = append(vms, vm)
	}
	leader, err := awaitLeader(ctx, vms)
	if err != nil {
		return err
	}
	ingress := make([]string, len(cc.Members))
	for i, m := range cc.Members {
		ingress[i] = m.Ingress
	}
	if fresh {
		if err := provision(ctx, ingress, vf.Venue.Admin); err != nil {
			return err
		}
	}
	if o.fixPort > 0 {
		gw, err := startRunGateway(ctx, o.dir, o.fixPort, clusterlink.Config{Members: ingress, MTU: cc.TransportMTU(),
			WindowMax: cc.SessionIngressLimit}, stdout)
		if err != nil {
			return err
		}
		defer gw.stop() // before the members: its session closes through the log
	}
	printListening(stdout, cc, vf, path, leader)
	if o.fixPort > 0 {
		fmt.Fprintf(stdout, "  FIX gateway: 127.0.0.1:%d, FIX 4.4 and FIXT.1.1, TargetCompID %s, SenderCompID DEMO1..DEMO4, password %s\n",
			o.fixPort, fixgateway.DemoTargetCompID, fixgateway.DemoPassword)
	}
	if o.ready != nil {
		o.ready(ingress)
	}
	switch err := superviseMembers(ctx, stdout, vms); {
	case errors.Is(err, errAllStopped):
		return nil
	case err != nil:
		return err
	}
	return shutdown(vms, stdout)
}

// ensureClusterFile writes the embedded default's cluster file if there is
// none and reports whether it did (a fresh venue to provision).
func ensureClusterFile(path string, o runOptions) (bool, error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return false, err
	}
	cc := config.Loopback(o.members, o.basePort, filepath.Dir(path))
	if err := cc.Validate(); err != nil {
		return false, err
	}
	body, err := config.Marshal(cc)
	if err != nil {
		return false, err
	}
	vf := defaultVenueFile()
	if o.noMD {
		vf.MarketData.Group = ""
	} else if err := probeMarketData(vf.MarketData); err != nil {
		// Multicast on this host's interface does not work (a container
		// without it, lo without MULTICAST): run without market data rather
		// than not at all, and say so.
		fmt.Fprintf(o.stdout, "market data off: %v (set [marketdata] in %s once multicast works)\n", err, path)
		vf.MarketData.Group = ""
	}
	var buf bytes.Buffer
	buf.Write(body)
	buf.WriteString("\n")
	if err := toml.NewEncoder(&buf).Encode(vf); err != nil {
		return false, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, buf.Bytes(), 0o600); err != nil {
		return false, err
	}
	return true, os.Rename(tmp, path)
}

func awaitLeader(ctx context.Context, vms []*venueMember) (consensus.MemberID, error) {
	ctx, cancel := context.WithTimeout(ctx, leaderWait)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		for _, vm := range vms {
			if st := vm.node.Status(); st.Role == consensus.RoleLeader {
				return st.ID, nil
			}
		}
		select {
		case <-ctx.Done():
			return consensus.NoMember, fmt.Errorf("%w within %v: check the members' ports are free", errNoLeader, leaderWait)
		case <-tick.C:
		}
	}
}

// provision lists the default instruments and the demo principals and
// accounts through the log, from the bootstrap admin's session.
func provision(ctx context.Context, ingress []string, admin string) error {
	ctx, cancel := context.WithTimeout(ctx, provisionWait)
	defer cancel()
	d, err := transport.NewDriver(transport.DriverConfig{Threading: transport.ThreadingInvoker})
	if err != nil {
		return err
	}
	defer d.Close()
	c, err := client.Connect(ctx, client.Config{Driver: d, InvokeDriver: true, Members: ingress,
		Credentials: []byte(admin)})
	if err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	defer c.Close()
	var h discard
	for _, m := range fakecluster.ProvisionMessages(fakecluster.DemoSpec()) {
		for {
			if _, err := c.Offer(m); err == nil {
				break
			} else if errors.Is(err, client.ErrClosed) {
				return fmt.Errorf("provision: %w", err)
			}
			if ctx.Err() != nil {
				return fmt.Errorf("provision: %w", ctx.Err())
			}
			c.Poll(&h, 0)
		}
	}
	for c.Outstanding() > 0 {
		if ctx.Err() != nil {
			return fmt.Errorf("provision: %d commands not acknowledged: %w", c.Outstanding(), ctx.Err())
		}
		if c.Poll(&h, 0) == 0 {
			d.WaitReadable(time.Millisecond)
		}
	}
	if h.unknown > 0 {
		return fmt.Errorf("provision: %d commands not in the log", h.unknown)
	}
	return nil
}

// discard is a client.Handler that counts what it ignores.
type discard struct{ unknown int }

func (*discard) OnMessage(int64, int64, []byte)           {}
func (*discard) OnNewLeader(int32, int64)                 {}
func (d *discard) OnUnknownOutcome(int64, []byte, string) { d.unknown++ }

func printListening(stdout io.Writer, cc config.Cluster, vf venueFile, path string, leader consensus.MemberID) {
	fmt.Fprintf(stdout, "venue: %d members on loopback, member %d leads; data in %s\n", len(cc.Members), leader, cc.DataDir)
	for _, m := range cc.Members {
		fmt.Fprintf(stdout, "  member %d: client ingress %s, consensus %s\n", m.ID, m.Ingress, m.Consensus)
	}
	if vf.MarketData.Group != "" {
		fmt.Fprintf(stdout, "  market data: %s:%d on %s  (watch: venue md listen --group %s --port %d)\n",
			vf.MarketData.Group, vf.MarketData.Port, vf.MarketData.Interface, vf.MarketData.Group, vf.MarketData.Port)
	}
	fmt.Fprintf(stdout, "  instruments ALPHA BETA GAMMA (tick 0.01, lot 1, ref 100.00, band ±10%%); admin principal %s\n", vf.Venue.Admin)
	fmt.Fprintf(stdout, "  counters: venue stat --dir %s\n", filepath.Join(cc.DataDir, "member-0"))
	fmt.Fprintf(stdout, "  cluster file: %s (run members as processes: venue node --config %s --id N)\n", path, path)
	fmt.Fprintln(stdout, "Ctrl-C stops the venue; the next `venue run` resumes it.")
}

// shutdown snapshots and stops the cluster in order: the leader appends a
// snapshot and a shutdown to the log; every member snapshots and stops once
// it has applied them (and Close waits for its snapshot to reach disk).
func shutdown(vms []*venueMember, stdout io.Writer) error {
	for _, vm := range vms {
		if vm.node.Status().Role != consensus.RoleLeader {
			continue
		}
		p, err := vm.node.Shutdown()
		if err != nil {
			fmt.Fprintf(stdout, "orderly shutdown refused (%v); stopping anyway\n", err)
			return nil
		}
		deadline := time.Now().Add(terminateWait)
		for time.Now().Before(deadline) {
			done := true
			for _, o := range vms {
				if st := o.node.Status(); st.State != consensus.StateClosed && st.Applied < p {
					done = false
				}
			}
			if done {
				fmt.Fprintf(stdout, "stopped at log position %d\n", p)
				return nil
			}
			time.Sleep(10 * time.Millisecond) // poll interval
		}
		fmt.Fprintln(stdout, "not every member confirmed the shutdown in time; stopping anyway")
	}
	return nil
}

// probeMarketData opens (and closes) the market data feed's socket.
func probeMarketData(md marketDataSettings) error {
	conn, err := marketdata.DialUDP(marketdata.UDPConfig{Group: md.Group, Port: md.Port, Interface: md.Interface,
		TTL: marketdata.TTLDefault})
	if err != nil {
		return err
	}
	return conn.Close()
}
