package multihost

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"venue/cluster/config"
	"venue/cluster/consensus"
	"venue/cluster/failover"
	"venue/cluster/member"
	"venue/transport"
)

// The test binary is also the member process: TestMain runs one member when
// memberEnv is set ("config path|member id"), so that a test runs real
// member processes inside namespaces without building the venue binary.
const memberEnv = "VENUE_MULTIHOST_TEST_MEMBER"

// abandonEnv makes the test binary build a lab of that many hosts, print
// its names and exit without deleting it: a crashed run, for Sweep to find.
const abandonEnv = "VENUE_MULTIHOST_TEST_ABANDON"

// abandonUnavailable is the abandoning process's exit code when it cannot
// make a lab.
const abandonUnavailable = 3

// memberCountersCapacity sizes a test member's counters file (venue node's
// memberCountersCapacity).
const memberCountersCapacity = 256

// memberErrPoll is how often a test member checks that it still runs.
const memberErrPoll = 50 * time.Millisecond

func TestMain(m *testing.M) {
	if spec := os.Getenv(memberEnv); spec != "" {
		os.Exit(runMember(spec))
	}
	if hosts := os.Getenv(abandonEnv); hosts != "" {
		os.Exit(abandonLab(hosts))
	}
	os.Exit(m.Run())
}

// memberCommand returns a failover.Command that runs member id of the
// cluster at configPath as this test binary inside lab host id.
func memberCommand(l *Lab) failover.Command {
	return func(configPath string, id consensus.MemberID) *exec.Cmd {
		exe, err := os.Executable()
		if err != nil {
			exe = os.Args[0]
		}
		// -test.run=^$: were the variable lost, the binary would run no test.
		cmd := l.Command(int(id), exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%d", memberEnv, configPath, id))
		return cmd
	}
}

// abandonLab builds a lab, prints "<namespace prefix> <root link>" and
// returns without closing it.
func abandonLab(hosts string) int {
	n, err := strconv.Atoi(hosts)
	if err != nil {
		fmt.Fprintf(os.Stderr, "bad %s=%q\n", abandonEnv, hosts)
		return 2
	}
	l, err := NewLab(LabConfig{Hosts: n})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		if errors.Is(err, ErrUnavailable) {
			return abandonUnavailable
		}
		return 1
	}
	fmt.Println(l.prefix, l.rootLink)
	return 0
}

// runMember runs one member with a counting echo service until SIGTERM or
// its failure. It first prints the addresses it sees, which show that it
// runs inside its host's namespace.
func runMember(spec string) int {
	path, idText, ok := strings.Cut(spec, "|")
	id, err := strconv.Atoi(idText)
	if !ok || err != nil {
		fmt.Fprintf(os.Stderr, "bad %s=%q\n", memberEnv, spec)
		return 2
	}
	cc, err := config.Load(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	mid := consensus.MemberID(id)
	if err := os.MkdirAll(member.DataDir(cc, mid), 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	addrs, _ := net.InterfaceAddrs()
	fmt.Fprintf(os.Stderr, "member %d pid %d sees addresses %v\n", id, os.Getpid(), addrs)
	cm, err := transport.CreateCountersFile(failover.CountersPath(cc, mid), memberCountersCapacity)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cm.Close()
	echo, err := failover.NewCountingEcho(cm, mid)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	n, err := member.Launch(cc, mid, echo, member.Options{Counters: cm})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	code := waitMember(n)
	if err := n.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "close:", err)
	}
	return code
}

// waitMember blocks until SIGTERM (0) or the member fails (1).
func waitMember(n *member.Node) int {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	tick := time.NewTicker(memberErrPoll)
	defer tick.Stop()
	for {
		select {
		case <-sig:
			return 0
		case <-tick.C:
			if err := n.Err(); err != nil {
				fmt.Fprintln(os.Stderr, "member failed:", err)
				return 1
			}
		}
	}
}
