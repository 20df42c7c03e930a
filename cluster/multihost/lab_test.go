package multihost

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestParseRoutes(t *testing.T) {
	out := `default via 192.0.2.1 dev eth0
192.0.2.0/24 dev eth0 proto kernel scope link src 192.0.2.2
local 127.0.0.0/8 dev lo table local proto kernel scope host src 127.0.0.1
local 127.0.0.1 dev lo table local proto kernel scope host src 127.0.0.1
broadcast 192.0.2.255 dev eth0 table local proto kernel scope link src 192.0.2.2
unreachable 10.9.0.0/16
198.18.7.5/24 dev x
fe80::/64 dev eth0

garbage line here
`
	want := []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"),
		netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("127.0.0.1/32"),
		netip.MustParsePrefix("192.0.2.255/32"),
		netip.MustParsePrefix("10.9.0.0/16"),
		netip.MustParsePrefix("198.18.7.0/24"), // masked
	}
	if got := parseRoutes([]byte(out)); !slices.Equal(got, want) {
		t.Fatalf("parseRoutes:\n got %v\nwant %v", got, want)
	}
}

func TestParseNamespaces(t *testing.T) {
	got := parseNamespaces([]byte("vnt-12-1-h0 (id: 3)\nvnt-12-1-hub\n\n  other (id: 0)\n"))
	want := []string{"vnt-12-1-h0", "vnt-12-1-hub", "other"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestNameOwners(t *testing.T) {
	for _, c := range []struct {
		name string
		ns   bool // namespace name (else root interface name)
		pid  int
		ok   bool
	}{
		{"vnt-1234-1-hub", true, 1234, true},
		{"vnt-4194304-9999-h15", true, 4194304, true},
		{"vnt-1234-", true, 0, false},            // nothing after the pid
		{"vnt-probe-1234-hub", true, 0, false},   // not a pid
		{"vnt--1-hub", true, 0, false},           // empty pid
		{"vnt-+12-1-hub", true, 0, false},        // signed
		{"vnt-0-1-hub", true, 0, false},          // pid 0
		{"vnt-99999999999-1-h0", true, 0, false}, // beyond int32
		{"xvnt-12-1-hub", true, 0, false},
		{"vnt1234k1", false, 1234, true},
		{"vnt4194304k9999", false, 4194304, true},
		{"vnt1234k", false, 0, false},
		{"vnt1234", false, 0, false},
		{"vntk1", false, 0, false},
		{"vnt12x4k1", false, 0, false},
		{"veth0", false, 0, false},
	} {
		owner := rootLinkOwner
		if c.ns {
			owner = namespaceOwner
		}
		pid, ok := owner(c.name)
		if pid != c.pid || ok != c.ok {
			t.Errorf("%q: got %d %v, want %d %v", c.name, pid, ok, c.pid, c.ok)
		}
	}
}

// The longest root interface name a lab can make fits the kernel's limit.
func TestRootLinkNameFits(t *testing.T) {
	const pidMax = 4194304 // PID_MAX_LIMIT on 64-bit Linux
	if n := fmt.Sprintf("%s%dk%d", RootLinkPrefix, pidMax, labsPerProcessMax); len(n) > ifNameLengthMax {
		t.Fatalf("%q is %d bytes, limit %d", n, len(n), ifNameLengthMax)
	}
	if HostsMax+1 >= clientHostOctet {
		t.Fatalf("hosts .1..%d reach the client's .%d", HostsMax, clientHostOctet)
	}
}

func TestSubnets(t *testing.T) {
	seen := map[netip.Prefix]bool{}
	for k := range labSubnets {
		p := subnetAt(k)
		if !labSpace.Contains(p.Addr()) || p.Bits() != subnetPrefixBits || p.Masked() != p || seen[p] {
			t.Fatalf("subnet %d = %v", k, p)
		}
		seen[p] = true
	}
	// Everything taken but one /24: the probe finds it only if it is within
	// subnetProbesMax of the start.
	start := (77*31 + 1*7) % labSubnets
	for _, c := range []struct {
		free int // offset from start of the one free subnet
		ok   bool
	}{{0, true}, {subnetProbesMax - 1, true}, {subnetProbesMax, false}} {
		var taken []netip.Prefix
		for k := range labSubnets {
			if k != (start+c.free)%labSubnets {
				taken = append(taken, subnetAt(k))
			}
		}
		p, ok := pickSubnet(77, 1, taken)
		if ok != c.ok || (ok && p != subnetAt((start+c.free)%labSubnets)) {
			t.Errorf("free at +%d: got %v %v", c.free, p, ok)
		}
	}
	// A route covering the whole space leaves nothing; a default route
	// does not count as taken (parseRoutes drops it).
	if _, ok := pickSubnet(1, 1, []netip.Prefix{netip.MustParsePrefix("198.16.0.0/12")}); ok {
		t.Error("picked a subnet inside a taken /12")
	}
	if p, ok := pickSubnet(1, 1, parseRoutes([]byte("default via 198.18.0.1 dev eth0\n"))); !ok || !labSpace.Contains(p.Addr()) {
		t.Errorf("default route: got %v %v", p, ok)
	}
}

func FuzzParseRoutes(f *testing.F) {
	f.Add([]byte("default via 192.0.2.1 dev eth0\n192.0.2.0/24 dev eth0 proto kernel\n"))   // main table
	f.Add([]byte("local 127.0.0.1 dev lo table local\nbroadcast 127.255.255.255 dev lo\n")) // typed routes
	f.Add([]byte("fe80::/64 dev eth0\n::1 dev lo\n"))                                       // IPv6 ignored
	f.Add([]byte("198.18.1.9/33\n1.2.3.4/-1\n\x00\xff\n"))                                  // malformed
	f.Add([]byte("vnt-12-1-h0 (id: 3)\nvnt-99-1-hub\n"))                                    // netns list
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, p := range parseRoutes(b) {
			if !p.IsValid() || !p.Addr().Is4() || p.Masked() != p {
				t.Fatalf("bad prefix %v", p)
			}
		}
		for _, n := range parseNamespaces(b) {
			if n == "" {
				t.Fatal("empty namespace name")
			}
			if pid, ok := namespaceOwner(n); ok && pid <= 0 {
				t.Fatalf("%q: pid %d", n, pid)
			}
			if pid, ok := rootLinkOwner(n); ok && pid <= 0 {
				t.Fatalf("%q: pid %d", n, pid)
			}
		}
	})
}

// labOrSkip builds a lab or skips when this machine cannot.
func labOrSkip(t *testing.T, hosts int) *Lab {
	t.Helper()
	l, err := NewLab(LabConfig{Hosts: hosts, Logf: t.Logf})
	if errors.Is(err, ErrUnavailable) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// A lab is built where its names say, the hosts reach each other across
// the bridge, and Close leaves nothing behind.
func TestLabBuildsAndCleansUp(t *testing.T) {
	l := labOrSkip(t, 2)
	closed := false
	t.Cleanup(func() {
		if !closed {
			closeLab(t, l)
		}
	})
	names, err := listNamespaces(nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range l.Hosts() {
		if !slices.Contains(names, l.Namespace(i)) {
			t.Errorf("namespace %s missing from %v", l.Namespace(i), names)
		}
		out, err := l.Command(i, "ip", "-4", "-o", "addr", "show", "dev", hostInterface).CombinedOutput()
		if err != nil {
			t.Fatalf("host %d: %v: %s", i, err, out)
		}
		if want := prefixOf(l.HostAddr(i), l.Subnet()); !slices.Contains(strings.Fields(string(out)), want) {
			t.Errorf("host %d: %s has no %s", i, out, want)
		}
	}
	if _, err := net.InterfaceByName(l.rootLink); err != nil {
		t.Errorf("root interface: %v", err)
	}
	if left, err := l.Leftovers(); err != nil || len(left) != 3+1 {
		t.Errorf("before close: got %v %v, want hub, 2 hosts and the root interface", left, err)
	}
	closed = true
	closeLab(t, l)
	if err := l.Close(); err != nil { // again: nothing to do
		t.Errorf("second close: %v", err)
	}
}

// delNamespaceIfPresent deletes namespace name unless it is gone already.
func delNamespaceIfPresent(t *testing.T, name string) {
	names, err := listNamespaces(nil)
	if err != nil {
		t.Error(err)
		return
	}
	if slices.Contains(names, name) {
		if _, err := runIP(t.Logf, "netns", "del", name); err != nil {
			t.Error(err)
		}
	}
}

// Sweep deletes a dead process's leftovers (found by name) and leaves a
// live one's alone.
func TestSweepDeletesDeadRunsLeftovers(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	// A pid that certainly ran and ended: a child reaped here.
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip(err)
	}
	dead := cmd.Process.Pid
	if alive(dead) {
		t.Skipf("pid %d reused already", dead)
	}
	deadNS := fmt.Sprintf("%s%d-1-hub", NamePrefix, dead)
	deadLink := fmt.Sprintf("%s%dk1", RootLinkPrefix, dead)
	// The parent (go test) outlives this test; were the test killed, a
	// later run sweeps the namespace once the parent is gone too.
	liveNS := fmt.Sprintf("%s%d-1-hub", NamePrefix, os.Getppid())
	if _, err := runIP(t.Logf, "netns", "add", deadNS); err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { delNamespaceIfPresent(t, deadNS) })
	if _, err := runIP(t.Logf, "netns", "add", liveNS); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { delNamespaceIfPresent(t, liveNS) })
	if _, err := runIP(t.Logf, "link", "add", deadLink, "type", "veth", "peer", "name", deadLink+"p"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := net.InterfaceByName(deadLink); err == nil {
			_, _ = runIP(t.Logf, "link", "del", deadLink)
		}
	})
	deleted, err := Sweep(t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"netns " + deadNS, "link " + deadLink} {
		if !slices.Contains(deleted, want) {
			t.Errorf("Sweep deleted %v, not %s", deleted, want)
		}
	}
	if slices.Contains(deleted, "netns "+liveNS) {
		t.Errorf("Sweep deleted a live process's namespace %s", liveNS)
	}
	names, err := listNamespaces(nil)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(names, deadNS) || !slices.Contains(names, liveNS) {
		t.Errorf("after Sweep: namespaces %v", names)
	}
	for _, l := range []string{deadLink, deadLink + "p"} {
		if _, err := net.InterfaceByName(l); err == nil {
			t.Errorf("after Sweep: interface %s still there", l)
		}
	}
}

// A run that dies with its lab built (here a process that exits without
// Close) leaves namespaces and a root interface; the next Sweep deletes
// them all.
func TestSweepAfterCrashedRun(t *testing.T) {
	if err := Available(); err != nil {
		t.Skip(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), abandonEnv+"=2")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var exit *exec.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == abandonUnavailable {
		t.Skip(stderr.String())
	}
	if err != nil {
		t.Fatalf("abandoning run: %v: %s", err, stderr.String())
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		t.Fatalf("abandoning run printed %q", out)
	}
	prefix, rootLink := f[0], f[1]
	left := func() []string {
		names, err := listNamespaces(nil)
		if err != nil {
			t.Fatal(err)
		}
		var l []string
		for _, n := range names {
			if strings.HasPrefix(n, prefix) {
				l = append(l, "netns "+n)
			}
		}
		if _, err := net.InterfaceByName(rootLink); err == nil {
			l = append(l, "link "+rootLink)
		}
		slices.Sort(l)
		return l
	}
	t.Cleanup(func() { // only if Sweep failed
		for _, x := range left() {
			kind, name, _ := strings.Cut(x, " ")
			if kind == "netns" {
				_, _ = runIP(t.Logf, "netns", "del", name)
			} else {
				_, _ = runIP(t.Logf, "link", "del", name)
			}
		}
	})
	before := left()
	if len(before) != 2+1+1 {
		t.Fatalf("the crashed run left %v, want its hub, 2 hosts and its root interface", before)
	}
	deleted, err := Sweep(t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range before {
		if !slices.Contains(deleted, x) {
			t.Errorf("Sweep deleted %v, not %s", deleted, x)
		}
	}
	if after := left(); len(after) != 0 {
		t.Errorf("after Sweep: %v left", after)
	}
}
