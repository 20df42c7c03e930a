package main

import (
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/BurntSushi/toml"

	"venue/cluster"
	"venue/cluster/clusterbench"
	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/cluster/member"
	"venue/cluster/module"
	"venue/engine"
	"venue/engine/clustered"
	"venue/marketdata"
	"venue/transport"
)

func init() {
	register(command{name: "node", summary: "run one cluster member running the engine (--config FILE --id N)", run: runNode})
}

// adminPrincipal is the engine's bootstrap admin: the principal whose
// session provisions instruments, principals and accounts through the log.
const adminPrincipal = "ADMIN"

// venueFile is the part of the cluster file that belongs to the venue (the
// [cluster] and [[member]] tables belong to cluster/config).
type venueFile struct {
	Venue      venueSettings      `toml:"venue"`
	MarketData marketDataSettings `toml:"marketdata"`
}

type venueSettings struct {
	// Admin is the bootstrap admin principal (default ADMIN): the engine's
	// first administrator, and the one principal whose client sessions may
	// ask the cluster for a snapshot (an admin request).
	Admin string `toml:"admin"`
	// Passwords maps principal to password for client sessions
	// ("principal:password" credentials). Empty: every client is accepted
	// under the principal it names — for a trusted host only.
	Passwords map[string]string `toml:"passwords"`
}

// authenticator returns the cluster authenticator the venue file asks for.
func (v venueSettings) authenticator() module.Authenticator {
	if len(v.Passwords) == 0 {
		return module.AllowAll{}
	}
	return module.Passwords(v.Passwords)
}

type marketDataSettings struct {
	// Group is the multicast group the leader publishes on ("" : off).
	Group string `toml:"group"`
	// Port is the feed's UDP port.
	Port int `toml:"port"`
	// Interface is the network interface to send on.
	Interface string `toml:"interface"`
}

func defaultVenueFile() venueFile {
	return venueFile{Venue: venueSettings{Admin: adminPrincipal},
		MarketData: marketDataSettings{Group: marketdata.GroupDefault, Port: marketdata.PortDefault,
			Interface: marketdata.InterfaceDefault}}
}

// loadVenueFile reads the venue's own tables from the cluster file, with
// defaults for what is missing, and rejects unknown keys in them.
func loadVenueFile(path string) (venueFile, error) {
	v := defaultVenueFile()
	data, err := config.ReadFile(path)
	if err != nil {
		return v, err
	}
	md, err := toml.Decode(string(data), &v)
	if err != nil {
		return v, fmt.Errorf("%s: %w", path, err)
	}
	if err := config.UnknownKeys(md, "venue", "marketdata"); err != nil {
		return v, fmt.Errorf("%s: %w", path, err)
	}
	if err := config.CheckTopLevel(md, append([]string{"venue", "marketdata", "gateway"}, config.Tables...)...); err != nil {
		return v, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// memberNode is what the venue commands use of a running member: a
// *member.Node, faked in the supervisor's tests.
type memberNode interface {
	Status() consensus.Status
	Err() error
	Shutdown() (consensus.Position, error)
	Close() error
}

// venueMember is one member running the engine, with the market data
// publisher that sends while it leads.
type venueMember struct {
	node      memberNode
	service   *roleService
	publisher *marketdata.Publisher
	mdRunner  *transport.AgentRunner
	// relaunch starts the member afresh with a new service: after it
	// installed a snapshot from a peer while its service was running
	// (member.ErrRestartToInstall), which only a fresh start loads.
	relaunch func() (*venueMember, error)
}

// roleService is the engine's clustered service plus the role hook that
// makes the leader's market data publisher the one that sends.
type roleService struct {
	*clustered.Service
	id        consensus.MemberID
	publisher *marketdata.Publisher
}

// OnRoleChange implements cluster.ClusteredService.
func (r *roleService) OnRoleChange(role cluster.Role) {
	r.Service.OnRoleChange(role)
	if r.publisher == nil {
		return
	}
	// A new session id for every leadership, so that subscribers see a
	// failover as a new session (the low byte names the member).
	var b [4]byte
	_, _ = cryptorand.Read(b[:])
	r.publisher.SetLeader(role == consensus.RoleLeader, binary.LittleEndian.Uint32(b[:])&^0xff|uint32(r.id))
}

func startVenueMember(cc config.Cluster, vf venueFile, id consensus.MemberID, ctrs *transport.CountersManager) (*venueMember, error) {
	vm := &venueMember{}
	var sink engine.MarketDataSink
	if vf.MarketData.Group != "" {
		conn, err := marketdata.DialUDP(marketdata.UDPConfig{Group: vf.MarketData.Group, Port: vf.MarketData.Port,
			Interface: vf.MarketData.Interface, TTL: marketdata.TTLDefault})
		if err != nil {
			return nil, fmt.Errorf("member %d: market data on %s:%d: %w", id, vf.MarketData.Group, vf.MarketData.Port, err)
		}
		pub, err := marketdata.NewPublisher(marketdata.PublisherConfig{Conn: conn, Counters: ctrs,
			Name: fmt.Sprintf("md-publisher-%d", id)})
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("member %d: %w", id, err)
		}
		vm.publisher, sink = pub, pub
		vm.mdRunner = transport.NewAgentRunner(pub, pub.IdleStrategy(), nil)
		vm.mdRunner.Start()
	}
	svc, err := clustered.New(engine.Config{BootstrapAdmin: vf.Venue.Admin, MarketData: sink})
	if err != nil {
		vm.close()
		return nil, fmt.Errorf("member %d: engine: %w", id, err)
	}
	vm.service = &roleService{Service: svc, id: id, publisher: vm.publisher}
	n, err := member.Launch(cc, id, vm.service, member.Options{Counters: ctrs, Authenticator: vf.Venue.authenticator(),
		AdminPrincipals: []string{vf.Venue.Admin}})
	if err != nil {
		vm.close()
		return nil, err
	}
	vm.node = n
	vm.relaunch = func() (*venueMember, error) { return startVenueMember(cc, vf, id, ctrs) }
	return vm, nil
}

func (vm *venueMember) close() error {
	var err error
	if vm.node != nil {
		err = vm.node.Close()
	}
	if vm.mdRunner != nil {
		if cerr := vm.mdRunner.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func runNode(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("node", stderr)
	path := fs.String("config", "", "the cluster file (TOML; see `venue run`, which writes one)")
	idFlag := fs.Int("id", -1, "this member's id in the cluster file")
	service := fs.String("service", "engine", "the replicated service: engine (the venue) or echo (benchmarks)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *path == "" || *idFlag < 0 {
		return fmt.Errorf("%w: --config and --id are required", errUsage)
	}
	cc, err := config.Load(*path)
	if err != nil {
		return err
	}
	vf, err := loadVenueFile(*path)
	if err != nil {
		return err
	}
	id := consensus.MemberID(*idFlag)
	if _, ok := cc.Member(id); !ok {
		return fmt.Errorf("%w: member %d is not in %s", errUsage, id, *path)
	}
	ctrs, err := openMemberCounters(cc, id)
	if err != nil {
		return err
	}
	defer ctrs.Close()
	var vm *venueMember
	switch *service {
	case "engine":
		vm, err = startVenueMember(cc, vf, id, ctrs)
	case "echo":
		launch := func() (*venueMember, error) {
			n, err := member.Launch(cc, id, clusterbench.Echo{}, member.Options{Counters: ctrs,
				Authenticator: vf.Venue.authenticator(), AdminPrincipals: []string{vf.Venue.Admin}})
			if err != nil {
				return nil, err // not a venueMember holding a nil *member.Node
			}
			return &venueMember{node: n}, nil
		}
		if vm, err = launch(); err == nil {
			vm.relaunch = launch
		}
	default:
		return fmt.Errorf("%w: --service must be engine or echo, not %q", errUsage, *service)
	}
	if err != nil {
		return err
	}
	vms := []*venueMember{vm}
	defer func() { vms[0].close() }() // the member running at the end: superviseMembers may relaunch it
	m := cc.Members[id]
	fmt.Fprintf(stdout, "member %d of %d: clients connect to %s (ingress), consensus on %s, data in %s\n",
		id, len(cc.Members), m.Ingress, m.Consensus, member.DataDir(cc, id))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := superviseMembers(ctx, stdout, vms); err != nil && !errors.Is(err, errAllStopped) {
		return err
	}
	return nil
}

// openMemberCounters creates member id's counters file in its data
// directory, where `venue stat --dir` finds it.
func openMemberCounters(cc config.Cluster, id consensus.MemberID) (*transport.CountersManager, error) {
	dir := member.DataDir(cc, id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("member %d: %w", id, err)
	}
	return transport.CreateCountersFile(filepath.Join(dir, transport.CountersFileName), memberCountersCapacity)
}

// memberCountersCapacity sizes a member's counters file.
const memberCountersCapacity = 256

// statusInterval is how often a running member reports a role change.
const statusInterval = 100 * time.Millisecond

// superviseMembers reports role changes until ctx ends or every member has
// stopped (an orderly shutdown through the log, `venue cluster shutdown` or
// `abort`). It returns an error only if a member died of one. A member that
// installed a peer's snapshot under a running service (its peers had purged
// the log it needed) is started again, in its slot of vms, to load it.
func superviseMembers(ctx context.Context, stdout io.Writer, vms []*venueMember) error {
	last := make([]consensus.Status, len(vms))
	stopped := make([]bool, len(vms))
	tick := time.NewTicker(statusInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fmt.Fprintln(stdout, "stopping")
			return nil
		case <-tick.C:
		}
		running := 0
		for i, vm := range vms {
			if stopped[i] {
				continue
			}
			st := vm.node.Status()
			if st.Role != last[i].Role || st.Term != last[i].Term || st.Leader != last[i].Leader {
				fmt.Fprintf(stdout, "member %d: %s in term %d (leader %s)\n", st.ID, st.Role, st.Term, memberName(st.Leader))
				last[i] = st
			}
			err := vm.node.Err()
			switch {
			case err == nil && st.State != consensus.StateClosed:
				running++
			case err == nil || errors.Is(err, member.ErrClosed):
				stopped[i] = true
				fmt.Fprintf(stdout, "member %d stopped (%s at log position %d)\n", st.ID, st.State, st.Applied)
			case errors.Is(err, member.ErrRestartToInstall) && vm.relaunch != nil:
				// Its log now starts at a peer's snapshot that its running
				// service cannot load in place: start it again from there.
				fmt.Fprintf(stdout, "member %d: %v; restarting it\n", st.ID, err)
				if cerr := vm.close(); cerr != nil {
					fmt.Fprintf(stdout, "member %d: stopping it: %v\n", st.ID, cerr)
				}
				nvm, rerr := vm.relaunch()
				if rerr != nil {
					return fmt.Errorf("member %d: restart after installing a snapshot: %w", st.ID, rerr)
				}
				vms[i], last[i] = nvm, consensus.Status{}
				running++
			default:
				return fmt.Errorf("member %d failed: %w", st.ID, err)
			}
		}
		if running == 0 {
			fmt.Fprintln(stdout, "every member has stopped")
			return errAllStopped
		}
	}
}

// errAllStopped: the members stopped by themselves (through the log or the
// cluster tool); nothing is left to shut down.
var errAllStopped = errors.New("every member stopped")

func memberName(id consensus.MemberID) string {
	if id == consensus.NoMember {
		return "none"
	}
	return strconv.Itoa(int(id))
}

// errNoLeader: the cluster elected no leader in time.
var errNoLeader = errors.New("no leader elected")
