package multihost

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Lab bounds and layout.
const (
	// HostsMax bounds LabConfig.Hosts: a cluster's members and a few
	// spare hosts, far below the /24's addresses.
	HostsMax = 16
	// ipTimeout bounds one ip(8) command.
	ipTimeout = 10 * time.Second
	// ifNameLengthMax is the kernel's interface name limit (IFNAMSIZ - 1).
	ifNameLengthMax = 15
	// labsPerProcessMax bounds the labs one process makes: the lab number
	// is part of the root end's interface name, which must fit
	// ifNameLengthMax with a 7-digit pid ("vnt" + pid + "k" + lab).
	labsPerProcessMax = 9999
	// subnetProbesMax bounds the candidate subnets tried before giving up.
	subnetProbesMax = 64
	// subnetPrefixBits: each lab is one /24.
	subnetPrefixBits = 24
	// clientHostOctet is the root namespace's address in a lab's /24; hosts
	// take .1, .2, ...
	clientHostOctet = 254
	// hostInterface is every host's end of its veth, inside its namespace.
	hostInterface = "eth0"
	// bridgeName is the switch, inside the hub namespace.
	bridgeName = "br0"
	// clientPort is the hub's port to the root namespace.
	clientPort = "client"
)

// NamePrefix starts every namespace a lab creates ("vnt-<pid>-<lab>-hub",
// "vnt-<pid>-<lab>-h<i>"); RootLinkPrefix starts its one interface in the
// root namespace ("vnt<pid>k<lab>"). Both carry the creating process's pid,
// so that Sweep can tell a crashed run's leftovers from a running lab's.
const (
	NamePrefix     = "vnt-"
	RootLinkPrefix = "vnt"
)

// labSpace is where lab subnets come from: 198.18.0.0/15, set aside for
// network benchmarks (RFC 2544) and so never a real network's, unlike the
// much used 10/8.
var labSpace = netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 0, 0}), labSpaceBits)

// labSpaceBits is labSpace's prefix length; labSubnets is how many /24s
// it holds.
const (
	labSpaceBits = 15
	labSubnets   = 1 << (subnetPrefixBits - labSpaceBits)
)

// ErrUnavailable: this machine cannot make a lab (not root, no ip(8), or
// the kernel refused a namespace, bridge or veth). Tests skip on it.
var ErrUnavailable = errors.New("multihost: network namespaces unavailable")

// labCount numbers a process's labs.
var labCount atomic.Int64

// LabConfig configures NewLab.
type LabConfig struct {
	// Hosts is how many host namespaces to make (1..HostsMax).
	Hosts int
	// Logf, if set, receives every ip command run, with its duration and
	// outcome.
	Logf func(format string, args ...any)
}

// Lab is a switched network of emulated hosts on this machine: a hub
// namespace holding a bridge, one namespace per host joined to the bridge by
// a veth pair (the host's end is eth0, addressed .1, .2, ... in the lab's
// /24), and a veth from the root namespace to the bridge addressed .254, so
// that the calling process reaches every host as a separate machine. Close
// deletes all of it. A Lab is used from one goroutine.
type Lab struct {
	cfg      LabConfig
	prefix   string
	hub      string
	hosts    []string
	rootLink string
	subnet   netip.Prefix
	// made are the namespaces created, in order; rootMade: the root
	// namespace's veth exists.
	made     []string
	rootMade bool
}

// Available reports (ErrUnavailable) why this process cannot make a lab:
// not root, or no ip(8) on the path.
func Available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: not root (euid %d)", ErrUnavailable, os.Geteuid())
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// NewLab sweeps up the leftovers of crashed runs (Sweep), picks a free /24
// and builds the lab. On any failure it deletes what it made; the error
// wraps ErrUnavailable when the kernel refused to make a namespace, bridge
// or veth.
func NewLab(cfg LabConfig) (*Lab, error) {
	if cfg.Hosts < 1 || cfg.Hosts > HostsMax {
		return nil, fmt.Errorf("multihost: %d hosts: want 1 to %d", cfg.Hosts, HostsMax)
	}
	if err := Available(); err != nil {
		return nil, err
	}
	if _, err := Sweep(cfg.Logf); err != nil {
		logf(cfg.Logf, "sweep: %v", err) // a leftover only costs a name; the lab's names are new
	}
	n := labCount.Add(1)
	if n > labsPerProcessMax {
		return nil, fmt.Errorf("multihost: more than %d labs in one process", labsPerProcessMax)
	}
	pid := os.Getpid()
	l := &Lab{cfg: cfg, prefix: fmt.Sprintf("%s%d-%d-", NamePrefix, pid, n),
		rootLink: fmt.Sprintf("%s%dk%d", RootLinkPrefix, pid, n)}
	if len(l.rootLink) > ifNameLengthMax {
		return nil, fmt.Errorf("multihost: interface name %q longer than %d", l.rootLink, ifNameLengthMax)
	}
	l.hub = l.prefix + "hub"
	for i := range cfg.Hosts {
		l.hosts = append(l.hosts, fmt.Sprintf("%sh%d", l.prefix, i))
	}
	taken, err := l.takenPrefixes()
	if err != nil {
		return nil, err
	}
	var ok bool
	if l.subnet, ok = pickSubnet(pid, int(n), taken); !ok {
		return nil, fmt.Errorf("multihost: no free /24 in %v after %d tries", labSpace, subnetProbesMax)
	}
	if err := l.build(); err != nil {
		if cerr := l.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
		return nil, err
	}
	return l, nil
}

// build makes the hub and its bridge, the hosts, and the root's port.
func (l *Lab) build() error {
	if err := l.addNamespace(l.hub); err != nil {
		return err
	}
	if err := l.ipUnavailable("-n", l.hub, "link", "add", bridgeName, "type", "bridge"); err != nil {
		return err
	}
	if err := l.ip("-n", l.hub, "link", "set", bridgeName, "up"); err != nil {
		return err
	}
	for i := range l.hosts {
		if err := l.buildHost(i); err != nil {
			return err
		}
	}
	if err := l.ipUnavailable("link", "add", l.rootLink, "type", "veth", "peer", "name", clientPort,
		"netns", l.hub); err != nil {
		return err
	}
	l.rootMade = true
	steps := [][]string{
		{"-n", l.hub, "link", "set", clientPort, "master", bridgeName, "up"},
		{"addr", "add", prefixOf(l.ClientAddr(), l.subnet), "dev", l.rootLink},
		{"link", "set", l.rootLink, "up"},
	}
	for _, s := range steps {
		if err := l.ip(s...); err != nil {
			return err
		}
	}
	return nil
}

// buildHost makes host i's namespace and its cable to the bridge.
func (l *Lab) buildHost(i int) error {
	ns, port := l.hosts[i], hubPort(i)
	if err := l.addNamespace(ns); err != nil {
		return err
	}
	if err := l.ipUnavailable("-n", l.hub, "link", "add", port, "type", "veth", "peer", "name", hostInterface,
		"netns", ns); err != nil {
		return err
	}
	steps := [][]string{
		{"-n", l.hub, "link", "set", port, "master", bridgeName, "up"},
		{"-n", ns, "addr", "add", prefixOf(l.HostAddr(i), l.subnet), "dev", hostInterface},
		{"-n", ns, "link", "set", hostInterface, "up"},
		{"-n", ns, "link", "set", "lo", "up"},
	}
	for _, s := range steps {
		if err := l.ip(s...); err != nil {
			return err
		}
	}
	return nil
}

func (l *Lab) addNamespace(name string) error {
	if err := l.ipUnavailable("netns", "add", name); err != nil {
		return err
	}
	l.made = append(l.made, name)
	return nil
}

// hubPort is the bridge's port to host i.
func hubPort(i int) string { return "h" + strconv.Itoa(i) }

func prefixOf(a netip.Addr, subnet netip.Prefix) string {
	return netip.PrefixFrom(a, subnet.Bits()).String()
}

// Hosts returns the number of hosts.
func (l *Lab) Hosts() int { return len(l.hosts) }

// Namespace returns host i's network namespace.
func (l *Lab) Namespace(i int) string { return l.hosts[i] }

// Subnet returns the lab's /24.
func (l *Lab) Subnet() netip.Prefix { return l.subnet }

// HostAddr returns host i's address (.i+1).
func (l *Lab) HostAddr(i int) netip.Addr { return nthAddr(l.subnet, i+1) }

// ClientAddr returns the root namespace's address in the lab (.254): bind
// a socket to it to talk to the hosts from this process.
func (l *Lab) ClientAddr() netip.Addr { return nthAddr(l.subnet, clientHostOctet) }

func nthAddr(p netip.Prefix, n int) netip.Addr {
	b := p.Masked().Addr().As4()
	b[3] = byte(n)
	return netip.AddrFrom4(b)
}

// Command returns a command that runs name with args inside host i's
// namespace (ip netns exec, which execs the program in place: the
// command's process is the program's, so signalling it signals the
// program).
func (l *Lab) Command(i int, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", l.hosts[i], name}, args...)...)
}

// SetSwitchPort takes the bridge's port to host i down or up: a pulled
// cable. The host's own interface stays up and loses what it sends
// silently.
func (l *Lab) SetSwitchPort(i int, up bool) error {
	return l.ip("-n", l.hub, "link", "set", hubPort(i), upDown(up))
}

// SetHostInterface takes host i's own interface down or up: its sends fail
// (no route) until it is up again, and its address stays.
func (l *Lab) SetHostInterface(i int, up bool) error {
	return l.ip("-n", l.hosts[i], "link", "set", hostInterface, upDown(up))
}

func upDown(up bool) string {
	if up {
		return "up"
	}
	return "down"
}

// Close deletes the root namespace's veth (its peer on the bridge goes with
// it) and every namespace the lab made, hosts first. Processes still inside
// a namespace keep it alive (unnamed) until they exit: stop them first. It
// returns every failure, and is safe to call again.
func (l *Lab) Close() error {
	var errs []error
	if l.rootMade {
		if err := l.ip("link", "del", l.rootLink); err != nil {
			errs = append(errs, err)
		} else {
			l.rootMade = false
		}
	}
	var kept []string
	for i := len(l.made) - 1; i >= 0; i-- {
		if err := l.ip("netns", "del", l.made[i]); err != nil {
			errs = append(errs, err)
			kept = append(kept, l.made[i])
		}
	}
	l.made = kept
	return errors.Join(errs...)
}

// Leftovers returns the lab's namespaces and root interface that still
// exist (none after a successful Close).
func (l *Lab) Leftovers() ([]string, error) {
	names, err := listNamespaces(l.cfg.Logf)
	if err != nil {
		return nil, err
	}
	var left []string
	for _, n := range names {
		if strings.HasPrefix(n, l.prefix) {
			left = append(left, "netns "+n)
		}
	}
	if _, err := net.InterfaceByName(l.rootLink); err == nil {
		left = append(left, "link "+l.rootLink)
	}
	return left, nil
}

// takenPrefixes returns the root namespace's addresses and routes, which a
// lab's /24 must not overlap.
func (l *Lab) takenPrefixes() ([]netip.Prefix, error) {
	out, err := runIP(l.cfg.Logf, "-4", "route", "show", "table", "all")
	if err != nil {
		return nil, err
	}
	taken := parseRoutes(out)
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("multihost: interface addresses: %w", err)
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Is4() {
			taken = append(taken, p.Masked())
		}
	}
	return taken, nil
}

// pickSubnet returns the first /24 of labSpace, probing from a start
// spread by pid and lab number, that overlaps nothing in taken.
func pickSubnet(pid, lab int, taken []netip.Prefix) (netip.Prefix, bool) {
	start := (pid*31 + lab*7) % labSubnets
	for try := range subnetProbesMax {
		p := subnetAt((start + try) % labSubnets)
		free := true
		for _, t := range taken {
			if t.Overlaps(p) {
				free = false
				break
			}
		}
		if free {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// subnetAt returns labSpace's k-th /24.
func subnetAt(k int) netip.Prefix {
	b := labSpace.Addr().As4()
	b[2] += byte(k & 0xff)
	b[1] += byte(k >> 8)
	return netip.PrefixFrom(netip.AddrFrom4(b), subnetPrefixBits)
}

// parseRoutes reads `ip -4 route show table all`: the destination of each
// line, which is its first field that is an address or a prefix (a type
// such as "local" or "broadcast" may come first). "default" lines are
// skipped: a default route does not make a subnet busy.
func parseRoutes(out []byte) []netip.Prefix {
	var ps []netip.Prefix
	for line := range strings.Lines(string(out)) {
		for _, f := range strings.Fields(line) {
			if f == "default" {
				break
			}
			if p, err := netip.ParsePrefix(f); err == nil {
				if p.Addr().Is4() {
					ps = append(ps, p.Masked())
				}
				break
			}
			if a, err := netip.ParseAddr(f); err == nil {
				if a.Is4() {
					ps = append(ps, netip.PrefixFrom(a, 32))
				}
				break
			}
		}
	}
	return ps
}

// Sweep deletes what labs of processes that no longer run left behind
// (their namespaces and root interfaces, found by name and pid) and returns
// what it deleted. A running lab's names are never touched: their pid is
// alive.
func Sweep(logf func(format string, args ...any)) ([]string, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	var deleted []string
	var errs []error
	self := os.Getpid()
	names, err := listNamespaces(logf)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if pid, ok := namespaceOwner(n); ok && pid != self && !alive(pid) {
			if _, err := runIP(logf, "netns", "del", n); err != nil {
				errs = append(errs, err)
				continue
			}
			deleted = append(deleted, "netns "+n)
		}
	}
	ifs, err := net.Interfaces()
	if err != nil {
		return deleted, errors.Join(append(errs, fmt.Errorf("multihost: interfaces: %w", err))...)
	}
	for _, ifc := range ifs {
		if pid, ok := rootLinkOwner(ifc.Name); ok && pid != self && !alive(pid) {
			if _, err := runIP(logf, "link", "del", ifc.Name); err != nil {
				errs = append(errs, err)
				continue
			}
			deleted = append(deleted, "link "+ifc.Name)
		}
	}
	return deleted, errors.Join(errs...)
}

// listNamespaces returns the names `ip netns list` shows.
func listNamespaces(lf func(format string, args ...any)) ([]string, error) {
	out, err := runIP(lf, "netns", "list")
	if err != nil {
		return nil, err
	}
	return parseNamespaces(out), nil
}

// parseNamespaces reads `ip netns list`: one namespace a line, its name
// first ("name" or "name (id: 3)").
func parseNamespaces(out []byte) []string {
	var names []string
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

// namespaceOwner returns the pid in a lab namespace's name
// ("vnt-<pid>-<lab>-...").
func namespaceOwner(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, NamePrefix)
	if !ok {
		return 0, false
	}
	digits, tail, ok := strings.Cut(rest, "-")
	if !ok || tail == "" {
		return 0, false
	}
	return parsePID(digits)
}

// rootLinkOwner returns the pid in a lab's root interface name
// ("vnt<pid>k<lab>").
func rootLinkOwner(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, RootLinkPrefix)
	if !ok {
		return 0, false
	}
	digits, lab, ok := strings.Cut(rest, "k")
	if !ok {
		return 0, false
	}
	if _, ok := parsePID(lab); !ok {
		return 0, false
	}
	return parsePID(digits)
}

// parsePID accepts decimal digits only (no sign, no spaces) naming a
// positive int32.
func parsePID(s string) (int, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n <= 0 {
		return 0, false
	}
	return int(n), true
}

// alive reports whether process pid exists (signal 0 checks without
// sending; EPERM means it exists under another user).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// ip runs one ip command.
func (l *Lab) ip(args ...string) error {
	_, err := runIP(l.cfg.Logf, args...)
	return err
}

// ipUnavailable runs an ip command that makes a namespace or a link: its
// failure means the kernel cannot make labs here (ErrUnavailable).
func (l *Lab) ipUnavailable(args ...string) error {
	if _, err := runIP(l.cfg.Logf, args...); err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return nil
}

// runIP runs ip with args under ipTimeout and returns its standard output.
func runIP(lf func(format string, args ...any), args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), ipTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	line := "ip " + strings.Join(args, " ")
	if err != nil {
		logf(lf, "%s (%v): %v: %s", line, took.Round(time.Microsecond), err, bytes.TrimSpace(stderr.Bytes()))
		return nil, fmt.Errorf("multihost: %s: %w: %s", line, err, bytes.TrimSpace(stderr.Bytes()))
	}
	logf(lf, "%s (%v)", line, took.Round(time.Microsecond))
	return stdout.Bytes(), nil
}

func logf(lf func(format string, args ...any), format string, args ...any) {
	if lf != nil {
		lf(format, args...)
	}
}
