// Package multihost runs a venue cluster whose members are on different
// hosts, emulated on one Linux machine with network namespaces, and tests
// it there: each member is a separate process inside its own namespace with
// its own address, reached through a bridge, so that nothing works only
// because every member shares 127.0.0.1 (a response channel advertised as
// loopback, a source check that cannot tell hosts apart, a socket bound to
// the wrong address).
//
// # What multihost owns
//
//   - Lab: a hub namespace holding a bridge, one namespace per host joined
//     to it by a veth pair (eth0 inside, addressed .1, .2, ... of a /24
//     taken from 198.18.0.0/15 that overlaps nothing the root namespace
//     routes), and a veth from the root namespace (.254) so that the calling
//     process is one more host on the switch. Lab.Command runs a program
//     inside a host (ip netns exec); SetSwitchPort and SetHostInterface cut
//     a host off two ways (a pulled cable: sends vanish; its interface down:
//     sends fail). Close deletes everything, Leftovers checks it did.
//   - Sweep: the namespaces and root interfaces of labs whose process no
//     longer runs (a crashed or killed test run), found by their names
//     (NamePrefix, RootLinkPrefix), which carry the creating pid.
//   - The tests: three members as processes (the test binary re-executed
//     inside each host), a client in the root namespace; kill -9 of the
//     leader, the leader's cable pulled, a follower's interface down; each
//     run ends with every member's log read back and checked against what
//     the client was told.
//
// It does not own the member (cluster/member), the member processes'
// supervision and log audit (cluster/failover's Procs and AuditLogs, used
// here with a Command that enters a namespace), the client (cluster/client)
// or the cluster file (cluster/config).
//
// # Requirements
//
// A lab needs root and ip(8) (iproute2) with veth and bridge support in the
// kernel. Without them NewLab returns ErrUnavailable and the tests skip;
// nothing here needs nft, tc or a multicast route. Every name a lab makes
// starts with NamePrefix or RootLinkPrefix followed by the pid of the
// process that made it, so a run never touches another live run's lab and
// the next run deletes a dead run's.
package multihost
